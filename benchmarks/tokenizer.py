"""Tokenizer throughput: GeneBERT's vectorized k-mer tokenizer vs DNABERT's pipeline.

DNABERT's way is ``seq2kmer`` (a Python list of k-mer strings joined by spaces) then a
``BertTokenizer`` over DNABERT's vocab with ``do_lower_case=False`` (in transformers 5
``BertTokenizer`` is the Rust-backed fast one). Both produce padded ``input_ids`` +
``attention_mask`` torch tensors for 510 bp windows (512 tokens with [CLS]/[SEP]).
These CPUs switch between fast and slow phases, so the two are interleaved round by
round in one process and the median of the per-round ratios is reported.

    python benchmarks/tokenizer.py [--n 10000] [--rounds 5]
"""

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertTokenizer

from modeling_genebert import GeneBertTokenizer

ROOT = Path(__file__).resolve().parents[1]
GENOME = ROOT.parent / "shared" / "data" / "genome" / "chr1_piece.fa.gz"
FALLBACK = ROOT / "tests" / "data" / "gue_tf0_dev_200.csv"


def seq2kmer(seq: str, k: int) -> str:
    """DNABERT's own k-merizer (motif/motif_utils.py)."""
    return " ".join(seq[x : x + k] for x in range(len(seq) + 1 - k))


def windows(n: int, length: int, seed: int = 0) -> list[str]:
    """n real-DNA windows: from the chr1 piece when present, else from the test subset."""
    if GENOME.exists():
        with gzip.open(GENOME, "rt") as handle:
            dna = "".join(line.strip() for line in handle if not line.startswith(">")).upper()
    else:
        rows = FALLBACK.read_text().splitlines()[1:]
        dna = "".join(row.split(",")[0] for row in rows)
        dna = dna * (length // len(dna) + 2)
    starts = np.random.default_rng(seed).integers(0, len(dna) - length, n)
    return [dna[s : s + length] for s in starts]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="sequences per GeneBERT call")
    parser.add_argument("--dnabert-n", type=int, default=1_000, help="sequences per DNABERT call (it is slow)")
    parser.add_argument("--length", type=int, default=510)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    seqs = windows(args.n, args.length)
    ours = GeneBertTokenizer(k=args.k)
    with tempfile.TemporaryDirectory() as tmp:
        ours.save_vocabulary(tmp)  # byte-identical to DNABERT's vocab.txt (tested)
        # from a folder, as DNABERT loads it: transformers 5's BertTokenizer(vocab_file=...)
        # silently ignores the file and keeps a 5-token vocabulary
        dnabert = BertTokenizer.from_pretrained(tmp, do_lower_case=False)
    call = dict(padding="max_length", truncation=True, max_length=args.length + 2, return_tensors="pt")
    subset = seqs[: args.dnabert_n]

    def run_ours():
        return ours(seqs, **call)

    def run_dnabert():
        return dnabert([seq2kmer(s, args.k) for s in subset], **call)

    ratios = []
    for round_ in range(args.rounds):
        t_ours, enc = timed(run_ours)
        t_dna, ref = timed(run_dnabert)
        if round_ == 0:  # same ids and mask as DNABERT, or the comparison means nothing
            assert torch.equal(enc["input_ids"][: len(subset)], ref["input_ids"])
            assert torch.equal(enc["attention_mask"][: len(subset)], ref["attention_mask"])
        bps_ours, bps_dna = len(seqs) * args.length / t_ours, len(subset) * args.length / t_dna
        ratios.append(bps_ours / bps_dna)
        print(f"round {round_}: GeneBERT {bps_ours / 1e6:8.2f} Mbp/s   DNABERT {bps_dna / 1e6:6.3f} Mbp/s   "
              f"ratio {ratios[-1]:6.1f}x")
    print(f"{len(seqs)} x {args.length} bp, k={args.k}, padded to {args.length + 2} tokens, torch tensors")
    print(f"tokenizer speedup vs DNABERT: {statistics.median(ratios):.1f}x")


if __name__ == "__main__":
    main()
