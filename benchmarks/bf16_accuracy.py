"""Does bf16 autocast change the answers? bf16 against fp32 on real inputs, for the inference paths.

    python benchmarks/bf16_accuracy.py --pretrained FOLDER --variants DIR [--elements HBB] [--max_variants 150]
        [--classifier FOLDER --sequences FASTA [--ism_sequences 8]]

* ``--pretrained`` + ``--variants`` (the folder holding ``kircher_mpra/``): Kircher et al. 2019 saturation
  MPRA variants of ``--elements`` scored by ``VariantScorer`` (LLR + embedding shift, both strands) with
  ``precision="fp32"`` and ``"bf16"``: Spearman of each score between the two (issue 21 asks >= 0.99).
* ``--classifier`` + ``--sequences``: ISM deltas (every single-base substitution, both strands) of the first
  ``--ism_sequences`` sequences, Pearson between fp32 and bf16 (>= 0.99 asked), and the classifier logits'
  max abs difference.

It runs anywhere: where the CPU has no bf16 units (``benchmarks/efficiency.py`` says), bf16 is emulated and
slow, but its numbers are the same rounding, so the check holds for machines that do have them.
Last line: ``bf16 vs fp32: variant scores Spearman <s>, ISM deltas Pearson <p>, max |logit diff| <d>``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_scoring import kircher  # noqa: E402 (the benchmark's own Kircher reader)

from dataset_scripts.sequence_input import read_sequences  # noqa: E402
from modeling_genebert.explain import load_classifier, saturation_mutagenesis  # noqa: E402
from modeling_genebert.precision import inference_precision  # noqa: E402
from modeling_genebert.variants import VariantScorer  # noqa: E402


class _FirstVariants(VariantScorer):
    """A scorer that scores only the first ``limit`` variants of each call (keeps emulated bf16 affordable)."""

    limit: int | None = None

    def score(self, pairs):
        return super().score(list(pairs)[: self.limit] if self.limit else pairs)


def variant_agreement(args) -> dict[str, float]:
    frames = {}
    with tempfile.TemporaryDirectory() as workdir:
        for precision in ("fp32", "bf16"):
            scorer = _FirstVariants(model=args.pretrained, motifs=False, scores=["llr", "embedding"], precision=precision)
            scorer.limit = args.max_variants
            started = time.perf_counter()
            frames[precision] = _scores(args, scorer, workdir)
            print(f"{precision}: {len(frames[precision])} variants scored in {time.perf_counter() - started:.0f} s", flush=True)
    out = {}
    for column in ("llr_masked", "embedding_cosine_distance_mean"):
        a, b = frames["fp32"][column].to_numpy(), frames["bf16"][column].to_numpy()
        keep = np.isfinite(a) & np.isfinite(b)
        out[column] = spearmanr(a[keep], b[keep]).statistic
        print(f"  {column}: Spearman bf16 vs fp32 {out[column]:.4f} over {keep.sum()} variants; "
              f"max |diff| {np.abs(a[keep] - b[keep]).max():.2e}, score sd {a[keep].std():.2e}")
    return out


def _scores(args, scorer, workdir):
    captured = []
    score = scorer.score
    scorer.score = lambda pairs: captured.append(score(pairs)) or captured[-1]
    kircher(args.variants, scorer, args.elements.split(","), args.window, workdir)
    import pandas as pd  # noqa: PLC0415

    return pd.concat(captured, ignore_index=True)


def ism_agreement(args) -> tuple[float, float]:
    explained = load_classifier(args.classifier)
    _, sequences, _ = read_sequences(args.sequences, "sequence", alphabet="ACGTN")
    sequences = [s[: explained.window] for s in sequences[: args.ism_sequences]]
    deltas, logits = {}, {}
    for precision in ("fp32", "bf16"):
        started = time.perf_counter()
        with torch.no_grad(), inference_precision(precision, "cpu"):
            deltas[precision] = np.concatenate([np.asarray(d).ravel() for d in
                                                saturation_mutagenesis(explained, sequences, None, "both")])
            enc = explained.tokenizer(sequences, padding=True, return_tensors="pt")
            logits[precision] = explained.model(**enc).logits.float()
        print(f"{precision}: ISM of {len(sequences)} sequences in {time.perf_counter() - started:.0f} s", flush=True)
    changed = deltas["fp32"] != 0
    pearson = pearsonr(deltas["fp32"][changed], deltas["bf16"][changed]).statistic
    diff = (logits["fp32"] - logits["bf16"]).abs().max().item()
    print(f"  ISM deltas: Pearson bf16 vs fp32 {pearson:.4f} over {changed.sum()} substitutions; "
          f"classifier logits max |diff| {diff:.2e}")
    return pearson, diff


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pretrained", help="a pre-training folder (MGM head) for the variant scores")
    p.add_argument("--variants", help="folder holding kircher_mpra/ (the package's test data layout)")
    p.add_argument("--elements", default="HBB", help="comma-separated Kircher elements")
    p.add_argument("--max_variants", type=int, default=150, help="first N variants per element (bf16 may be emulated: slow)")
    p.add_argument("--window", type=int, default=200, help="bases per variant window")
    p.add_argument("--classifier", help="a fine-tuned classifier folder for the ISM check")
    p.add_argument("--sequences", help="FASTA / CSV of sequences for the ISM check")
    p.add_argument("--ism_sequences", type=int, default=8, help="sequences for the ISM check")
    args = p.parse_args(argv)
    spearman, pearson, diff = float("nan"), float("nan"), float("nan")
    if args.pretrained and args.variants:
        spearman = min(variant_agreement(args).values())
    if args.classifier and args.sequences:
        pearson, diff = ism_agreement(args)
    print(f"bf16 vs fp32: variant scores Spearman {spearman:.4f}, ISM deltas Pearson {pearson:.4f}, "
          f"max |logit diff| {diff:.2e}")


if __name__ == "__main__":
    main()
