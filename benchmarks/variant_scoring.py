"""Variant scoring on real data: CTCF allele-specific binding and the Kircher et al. 2019 saturation MPRA.

    python benchmarks/variant_scoring.py --data path/to/variants [--model_name_or_path FOLDER [--atlas DATASET]]
        [--elements HBB,HNF4A | all] [--output_dir runs/variants] [--dhs path/to/dhs [--dhs_rows 3000]]

* CTCF ASB (396 pairs, 100 bp, differ at index 49): alleles scored as ref = bound allele,
  alt = unbound allele. Direction accuracy = share of pairs where the bound allele scores
  higher (Δ < 0 for the CTCF motif, LLR < 0 for the MGM); AUC = bound vs unbound alleles by
  their best CTCF (MA0139.1) site overlapping the variant base. Motif significance: the pairs
  whose CTCF site passes ``--motif_pvalue`` in either allele, and among those the share whose
  ``motif_top`` names CTCF first (or lists it at all) and the CTCF direction accuracy.
* Kircher MPRA: each element's reference sequence becomes a contig of a small genome FASTA;
  its variants go through the same ``--variants`` + ``--genome`` path as user data (1-bp
  deletions written VCF-style with the preceding base as anchor). Spearman / Pearson of
  each score against the measured log2 effect (``Coefficient``): the signed LLR against the
  signed effect, the unsigned scores (|Δ motif| and |Δ -log10 p| over the significant motifs,
  embedding distance) against |effect|, and with
  ``--atlas`` each cell type's signed ``srm_delta`` against the signed effect.
* Speed: variants per second of the full scorer (batched) on the CTCF pairs, and the batched MGM
  LLR against one stock forward pass per variant (same numbers, checked) on 64 CTCF pairs.
* ``--dhs DIR``: the deltaSVM-style baseline, measured in the same run. ``--dhs_rows`` accessible
  regions (K562 + HepG2 DHS tables, deduplicated, ACGT only, seeded subsample, centre crop of
  ``--dhs_crop`` bases) are written to ``<output_dir>/dhs_positives.fa``; the same seeded
  dinucleotide shuffles the ``tfbs`` task makes (``build_tfbs_dataset``, seed 0) are the negatives.
  A logistic regression on ``--kmer``-mer counts (both strands) scores each variant by the
  Δ decision value (alt - ref): CTCF direction accuracy (bound allele higher: Δ < 0), and on
  the MPRA elements Spearman / Pearson of the signed Δ against the effect and of |Δ| against
  |effect| (windows of ``--window`` bases from the element reference). The same FASTA is what
  ``genebert-finetune --task tfbs --seed 0`` fine-tunes on for the supervised Δ (``--classifier``).

Everything runs through :mod:`modeling_genebert.variants` (the package API).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

import numpy as np
import pandas as pd
import torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import roc_auc_score

from dataset_scripts.sequences import reverse_complement
from dataset_scripts.variants import read_paired_fasta, read_variant_table
from modeling_genebert.variants import MotifEffects, VariantScorer
from modeling_genebert.variants.scoring import iter_pairs


def ctcf(data: str, scorer: VariantScorer) -> tuple[dict, float]:
    pairs = list(read_paired_fasta(f"{data}/ctcf_asb/ctcf_binding_alleles.fa", f"{data}/ctcf_asb/ctcf_nonbinding_alleles.fa"))
    started = time.time()
    frame = scorer.score(pairs)
    rate = len(pairs) / (time.time() - started)
    effects: MotifEffects = scorer.motif_effects
    j = effects.index("MA0139.1")
    lens = [1] * len(pairs)
    bound = effects._best_overlapping([effects._local(p.ref_seq, p.offset, 1)[0] for p in pairs],
                                      [effects._local(p.ref_seq, p.offset, 1)[1] for p in pairs], lens)[:, j]
    unbound = effects._best_overlapping([effects._local(p.alt_seq, p.offset, 1)[0] for p in pairs],
                                        [effects._local(p.alt_seq, p.offset, 1)[1] for p in pairs], lens)[:, j]
    y = np.r_[np.ones(len(pairs)), np.zeros(len(pairs))]
    label = effects.labels[j]
    delta = frame[f"motif_delta:{label}"].to_numpy()
    significant = frame[f"motif_effect:{label}"].to_numpy() != ""
    first = frame["motif_top"].str.split("; ").str[0].str.split(" ").str[0].fillna("")
    listed = frame["motif_top"].str.split("; ").apply(lambda entries: [e.split(" ")[0] for e in entries if e])
    out = {"pairs": len(pairs),
           f"CTCF motif Δ: direction accuracy (all pairs)": float((delta < 0).mean()),
           "CTCF motif Δ: ties (Δ = 0)": float((delta == 0).mean()),
           "CTCF motif score: AUC bound vs unbound allele": float(roc_auc_score(y, np.r_[bound, unbound])),
           f"pairs with a CTCF site at p <= {effects.pvalue:g} (ref or alt)": int(significant.sum()),
           "  of those: motif_top names CTCF first": float((first[significant] == label).mean()),
           "  of those: CTCF or CTCFL first": float(first[significant].str.startswith("CTCF").mean()),
           "  of those: CTCF within motif_top": float(listed[significant].apply(lambda e: label in e).mean()),
           "  of those: CTCF direction accuracy (Δ log-odds < 0)": float((delta[significant] < 0).mean()),
           "  of those: CTCF effect strong / weak / neutral": "/".join(
               str(int((frame.loc[significant, f"motif_effect:{label}"] == e).sum())) for e in ("strong", "weak", "neutral")),
           "pairs with any significant motif": int((frame["motif_significant"] > 0).sum()),
           "  motif_top first entry names CTCF (all pairs)": float((first == label).mean())}
    if "llr_masked" in frame:
        llr = frame["llr_masked"].to_numpy()
        out["MGM LLR: direction accuracy"] = float((llr < 0).mean())
    for column in frame.columns:
        if column.startswith("srm_delta:"):  # the bound allele should look more like accessible DNA
            out[f"cell-type {column}: direction accuracy"] = float((frame[column] < 0).mean())
        if column.startswith("delta_logit:"):
            out[f"supervised {column}: direction accuracy"] = float((frame[column] < 0).mean())
    return out, rate


def kircher(data: str, scorer: VariantScorer, elements: list[str], window: int, workdir: str) -> pd.DataFrame:
    ref = {}
    name = None
    for line in open(f"{data}/kircher_mpra/element_reference_GRCh38.fa"):
        if line.startswith(">"):
            name, coords = line[1:].split()[:2]
            start = int(re.match(r"\S+:(\d+)-", coords).group(1))
            ref[name] = [start, []]
        else:
            ref[name][1].append(line.strip())
    genome = os.path.join(workdir, "elements.fa")
    with open(genome, "w") as fh:
        for element in elements:
            fh.write(f">{element}\n{''.join(ref[element][1])}\n")
    table = pd.read_csv(f"{data}/kircher_mpra/mpra_satmut_GRCh38.tsv.gz", sep="\t")
    rows = []
    for element in elements:
        start, seq = ref[element][0], "".join(ref[element][1])
        sub = table[(table["Element"] == element) & table["Pos"].notna()].reset_index(drop=True)  # 11 rows lack coordinates
        variants = os.path.join(workdir, f"{element}.tsv")
        with open(variants, "w") as fh:
            fh.write("chrom\tpos\tref\talt\tid\n")
            for i, r in sub.iterrows():
                pos = int(r["Pos"]) - start + 1
                if r["Alt"] == "-":  # 1-bp deletion, VCF-style with the preceding base as anchor
                    if pos < 2:
                        continue
                    fh.write(f"{element}\t{pos - 1}\t{seq[pos - 2]}{r['Ref']}\t{seq[pos - 2]}\t{i}\n")
                else:
                    fh.write(f"{element}\t{pos}\t{r['Ref']}\t{r['Alt']}\t{i}\n")
        pairs = list(iter_pairs(read_variant_table(variants), genome, window))
        frame = scorer.score(pairs)
        effect = sub.loc[frame["id"].astype(int), "Coefficient"].to_numpy()
        cell_type_columns = [(c, True) for c in frame.columns if c.startswith("srm_delta:")]
        for column, signed in (("llr_masked", True), ("motif_max_abs_delta", False), ("motif_max_abs_delta_log10p", False),
                               ("embedding_cosine_distance_mean", False), *cell_type_columns):
            if column not in frame:
                continue
            score = frame[column].to_numpy()
            keep = np.isfinite(score)
            target = effect if signed else np.abs(effect)
            rows.append({"element": element, "score": column + ("" if signed else " vs |effect|"), "variants": int(keep.sum()),
                         "spearman": spearmanr(score[keep], target[keep]).statistic,
                         "pearson": pearsonr(score[keep], target[keep]).statistic})
    return pd.DataFrame(rows)


def dhs_positives(dhs: str, path: str, rows: int, crop: int, seed: int = 0, holdout: int = 0) -> str:
    """Accessible regions (K562 + HepG2 DHS tables) -> a positives FASTA of centre crops; ``holdout``
    more rows (disjoint) go to ``<path stem>.holdout.fa`` for a validation split."""
    seqs = []
    for name in sorted(os.listdir(dhs)):
        if name.endswith((".txt.gz", ".tsv.gz")):
            table = pd.read_csv(os.path.join(dhs, name), sep="\t", usecols=["sequence"])
            seqs.extend(table["sequence"].str.upper())
    seqs = sorted({s for s in seqs if len(s) >= crop and re.fullmatch("[ACGT]+", s)})
    order = np.random.default_rng(seed).permutation(len(seqs))
    chosen = [seqs[i] for i in order[:rows + holdout]]
    cut = [s[(len(s) - crop) // 2:(len(s) - crop) // 2 + crop] for s in chosen]
    with open(path, "w") as fh:
        fh.writelines(f">dhs{i}\n{s}\n" for i, s in enumerate(cut[:rows]))
    if holdout:
        with open(path.replace(".fa", ".holdout.fa"), "w") as fh:
            fh.writelines(f">dhs_holdout{i}\n{s}\n" for i, s in enumerate(cut[rows:]))
    return path


class KmerBaseline:
    """deltaSVM-style: logistic regression on k-mer counts (both strands), scored by Δ decision value."""

    def __init__(self, k: int = 6):
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.k = k
        self.model = make_pipeline(CountVectorizer(analyzer=self._kmers), StandardScaler(with_mean=False),
                                   LogisticRegression(C=0.01, max_iter=2000))

    def _kmers(self, seq: str) -> list[str]:
        rc = reverse_complement(seq)
        return [s[i:i + self.k] for s in (seq, rc) for i in range(len(s) - self.k + 1)]

    def fit(self, sequences, labels) -> "KmerBaseline":
        self.model.fit(list(sequences), np.asarray(labels))
        return self

    def decision(self, sequences) -> np.ndarray:
        return self.model.decision_function(list(sequences))


def kmer_baseline(data: str, positives: str, k: int, elements: list[str], window: int, workdir: str) -> tuple[dict, pd.DataFrame]:
    from dataset_scripts.finetuning_data import build_tfbs_dataset

    train = build_tfbs_dataset({"train": positives}, seed=0)["train"]
    started = time.time()
    base = KmerBaseline(k).fit(train["sequence"], train["label"])
    out = {"training rows (positives + shuffles)": len(train), "fit seconds": time.time() - started}
    holdout = positives.replace(".fa", ".holdout.fa")
    if os.path.exists(holdout):
        test = build_tfbs_dataset({"test": holdout}, seed=1)["test"]
        out["held-out AUC, accessible vs shuffled"] = float(roc_auc_score(test["label"], base.decision(test["sequence"])))
    pairs = list(read_paired_fasta(f"{data}/ctcf_asb/ctcf_binding_alleles.fa", f"{data}/ctcf_asb/ctcf_nonbinding_alleles.fa"))
    delta = base.decision([p.alt_seq for p in pairs]) - base.decision([p.ref_seq for p in pairs])
    out["k-mer LR Δ: CTCF direction accuracy"] = float((delta < 0).mean())
    out["k-mer LR Δ: CTCF ties (Δ = 0)"] = float((delta == 0).mean())
    table = pd.read_csv(f"{data}/kircher_mpra/mpra_satmut_GRCh38.tsv.gz", sep="\t")
    rows = []
    for element in elements:
        sub = table[(table["Element"] == element) & table["Pos"].notna()].reset_index(drop=True)
        variants = os.path.join(workdir, f"{element}.tsv")  # written by kircher(): the same variants
        pairs = list(iter_pairs(read_variant_table(variants), os.path.join(workdir, "elements.fa"), window))
        delta = base.decision([p.alt_seq for p in pairs]) - base.decision([p.ref_seq for p in pairs])
        effect = sub.loc[[int(p.variant.id) for p in pairs], "Coefficient"].to_numpy()
        for name, score, target in ((f"{k}-mer LR Δ", delta, effect), (f"|{k}-mer LR Δ| vs |effect|", np.abs(delta), np.abs(effect))):
            rows.append({"element": element, "score": name, "variants": len(pairs),
                         "spearman": spearmanr(score, target).statistic, "pearson": pearsonr(score, target).statistic})
    return out, pd.DataFrame(rows)


def per_variant_forward(model, tokenizer, sequence: str, position: int, onehot: torch.Tensor) -> np.ndarray:
    """The naive way, same numbers: tokenize one variant's window, mask the k tokens covering the base, one stock
    forward pass (``model(...)``, MGM logits at every token), marginalise each covering token (offset o = 0..k-1)
    onto the base with a precomputed table; ``[k, 4]`` log-marginals."""
    k = tokenizer.kmer
    enc = tokenizer(sequence, return_tensors="pt")
    ids = enc["input_ids"].clone()
    tokens = [position - o for o in range(k)]  # token j covers bases j .. j+k-1
    ids[0, [j + 1 for j in tokens]] = tokenizer.mask_token_id  # +1: [CLS]
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=enc["attention_mask"]).prediction_logits[0]
    kmer = onehot.sum(-1).sum(0) > 0  # k-mer tokens only, as the package does
    probs = logits[[j + 1 for j in tokens]].masked_fill(~kmer, float("-inf")).softmax(-1)
    return torch.einsum("kv,kvc->kc", probs, onehot).log().double().numpy()


def speedup(data: str, scorer: VariantScorer, n: int = 64, repeats: int = 3) -> float:
    """Batched MGM LLR (the package) vs one stock forward pass per variant, interleaved A B A B; median ratio."""
    from modeling_genebert.variants.marginals import kmer_base_onehot, masked_log_marginals

    pairs = list(read_paired_fasta(f"{data}/ctcf_asb/ctcf_binding_alleles.fa", f"{data}/ctcf_asb/ctcf_nonbinding_alleles.fa"))[:n]
    seqs, pos = [p.ref_seq for p in pairs], [p.offset for p in pairs]
    onehot = kmer_base_onehot(scorer.tokenizer)  # built once: the loop pays only its forward passes
    ratios = []
    for _ in range(repeats):
        t = time.perf_counter()
        masked_log_marginals(scorer.mlm, scorer.tokenizer, seqs, pos, batch_size=64)
        batched = time.perf_counter() - t
        t = time.perf_counter()
        for s_, p_ in zip(seqs, pos):
            per_variant_forward(scorer.mlm, scorer.tokenizer, s_, p_, onehot)
        loop = time.perf_counter() - t
        print(f"  round: batched {1000 * batched / n:.2f} ms/variant, loop {1000 * loop / n:.2f} ms/variant, ratio {loop / batched:.1f}x")
        ratios.append(loop / batched)
    return float(np.median(ratios))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, metavar="path/to/variants",
                        help="folder with ctcf_asb/ and kircher_mpra/ (sources: docs/data.md#public-data-used-in-the-results)")
    parser.add_argument("--model_name_or_path", default=None, help="GeneBERT folder for the MGM LLR and embedding shift")
    parser.add_argument("--classifier", default=None, help="fine-tuned classifier folder for the supervised Δ")
    parser.add_argument("--elements", default="HBB,HNF4A", help="Kircher elements to score (comma-separated, or 'all')")
    parser.add_argument("--atlas", default=None, help="pre-training dataset folder: adds the per-cell-type SRM score (srm_delta:<cell type>)")
    parser.add_argument("--window", type=int, default=200, help="context bases per variant for the MPRA elements")
    parser.add_argument("--output_dir", default="runs/variant_scoring", help="where the small genome / tables go")
    parser.add_argument("--dhs", default=None, metavar="path/to/dhs", help="DHS tables folder: train and measure the k-mer baseline")
    parser.add_argument("--dhs_rows", type=int, default=3000, help="accessible regions (positives) for the baseline")
    parser.add_argument("--dhs_crop", type=int, default=100, help="centre crop of each region (CTCF alleles are 100 bp)")
    parser.add_argument("--kmer", type=int, default=6, help="k of the k-mer baseline")
    parser.add_argument("--motif_pvalue", type=float, default=1e-4, help="p-value a motif site must pass (ref or alt)")
    parser.add_argument("--skip_speed", action="store_true", help="skip the batched-vs-loop LLR timing")
    args = parser.parse_args(argv)
    if not os.path.isdir(os.path.join(args.data, "ctcf_asb")):
        parser.error(f"--data {args.data}: no ctcf_asb/ folder there (it holds ctcf_asb/ and kircher_mpra/)")
    os.makedirs(args.output_dir, exist_ok=True)
    if args.elements == "all":
        table = pd.read_csv(f"{args.data}/kircher_mpra/mpra_satmut_GRCh38.tsv.gz", sep="\t", usecols=["Element"])
        args.elements = ",".join(sorted(table["Element"].dropna().unique()))
    scorer = VariantScorer(args.model_name_or_path, classifier=args.classifier, atlas=args.atlas, report_motifs=["MA0139.1"],
                           batch_size=64, motif_pvalue=args.motif_pvalue)
    result, rate = ctcf(args.data, scorer)
    print("CTCF allele-specific binding (Shi et al. 2016; 396 pairs)")
    for key, value in result.items():
        print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    print(f"  scorer speed: {rate:.1f} variants/s ({', '.join(scorer.info()['scores'])}; both strands)")
    frame = kircher(args.data, scorer, [e.strip() for e in args.elements.split(",")], args.window, args.output_dir)
    print("Kircher et al. 2019 saturation-mutagenesis MPRA")
    print(frame.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(frame.groupby("score")[["spearman", "pearson"]].mean().to_string(float_format=lambda x: f"{x:.3f}"))
    if args.dhs:
        positives = dhs_positives(args.dhs, os.path.join(args.output_dir, "dhs_positives.fa"), args.dhs_rows,
                                  args.dhs_crop, holdout=max(args.dhs_rows // 6, 1))
        result, base = kmer_baseline(args.data, positives, args.kmer, [e.strip() for e in args.elements.split(",")],
                                     args.window, args.output_dir)
        print(f"deltaSVM-style baseline: {args.kmer}-mer logistic regression, DHS positives vs dinucleotide shuffles")
        for key, value in result.items():
            print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
        print(base.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print(base.groupby("score")[["spearman", "pearson"]].mean().to_string(float_format=lambda x: f"{x:.3f}"))
    if scorer.mlm is not None and not args.skip_speed:
        print(f"variant scoring vs per-variant loop: {speedup(args.data, scorer):.1f}x")


if __name__ == "__main__":
    sys.exit(main())
