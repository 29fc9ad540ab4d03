"""Benchmark: GeneBERT's vectorized motif scanner vs Biopython's ``PSSM.calculate``.

Both score the same real sequences (200-bp ENCODE DHS sequences from the embedded
mini-atlas) with the same 579 JASPAR 2018 CORE vertebrate log-odds matrices on both
strands, and keep the maximum per sequence and motif. Throughput is reported as
bp x motifs per second. The CPUs here run in fast and slow phases, so the two scanners
are timed alternately (Biopython, torch, Biopython, torch, ...) in one process and the
median of the per-round ratios is reported. The scores are checked equal to 1e-4.

    python benchmarks/motif_scan.py [--rounds 5] [--bio-seqs 16] [--torch-seqs 512] [--device cpu]

The last line is ``motif scan speedup vs Biopython: <ratio>x``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="alternating timing rounds (default 5)")
    ap.add_argument("--bio-seqs", type=int, default=16, help="sequences Biopython scans per round (default 16)")
    ap.add_argument("--torch-seqs", type=int, default=512, help="sequences the torch scanner scans per round (default 512)")
    ap.add_argument("--device", default="cpu", help="torch device for the vectorized scanner (default cpu)")
    args = ap.parse_args(argv)

    import torch

    from dataset_scripts.motif_scan import MotifScanner
    from dataset_scripts.motifs import fetch_jaspar_bio_motifs, load_jaspar_motifs
    from dataset_scripts.pretraining_build import default_atlas_path
    from dataset_scripts.readers import read_dhs_table

    regions = read_dhs_table(default_atlas_path())
    seqs = [r.sequence for rs in regions.values() for r in rs]
    need = max(args.bio_seqs, args.torch_seqs)
    seqs = seqs[:need]
    bp_bio = sum(len(s) for s in seqs[: args.bio_seqs])
    bp_torch = sum(len(s) for s in seqs[: args.torch_seqs])

    motifs = load_jaspar_motifs()  # JASPAR2018 CORE vertebrates, latest versions: 579
    m = len(motifs)
    bio = fetch_jaspar_bio_motifs()
    bio_pssms = []
    for bm, ref in zip(bio, motifs.pssms):
        from Bio.motifs.jaspar import calculate_pseudocounts

        bm.pseudocounts = calculate_pseudocounts(bm)
        p = bm.pssm
        bio_pssms.append((p, p.reverse_complement()))
        assert np.allclose(np.array([p[b] for b in "ACGT"]), ref)
    scanner = MotifScanner(motifs, device=args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; "
          f"{m} motifs (JASPAR2018 CORE vertebrates), both strands, 200-bp DHS sequences")

    def run_bio():
        out = np.empty((args.bio_seqs, m))
        for k, (p, rc) in enumerate(bio_pssms):
            for i, s in enumerate(seqs[: args.bio_seqs]):
                out[i, k] = max(np.nanmax(p.calculate(s)), np.nanmax(rc.calculate(s)))
        return out

    def run_torch():
        res = scanner.scan(seqs[: args.torch_seqs])
        if args.device != "cpu":
            torch.cuda.synchronize()
        return res

    run_torch()  # warm-up
    ratios, bio_rates, torch_rates = [], [], []
    max_diff = 0.0
    for rnd in range(args.rounds):
        t = time.perf_counter()
        ref = run_bio()
        tb = time.perf_counter() - t
        t = time.perf_counter()
        got = run_torch()
        tt = time.perf_counter() - t
        max_diff = max(max_diff, float(np.abs(got[: args.bio_seqs] - ref).max()))
        rb, rt = bp_bio * m / tb, bp_torch * m / tt
        bio_rates.append(rb)
        torch_rates.append(rt)
        ratios.append(rt / rb)
        print(f"round {rnd}: Biopython {rb / 1e6:8.2f} M bp x motifs/s   torch {rt / 1e6:8.1f} M bp x motifs/s   ratio {rt / rb:6.1f}x")
    print(f"median: Biopython {statistics.median(bio_rates) / 1e6:.2f} M bp x motifs/s, "
          f"torch {statistics.median(torch_rates) / 1e6:.1f} M bp x motifs/s; max |score diff| {max_diff:.2e}")
    if max_diff > 1e-4:
        raise SystemExit(f"scores differ from Biopython by {max_diff} > 1e-4")
    ratio = statistics.median(ratios)
    print(f"motif scan speedup vs Biopython: {ratio:.1f}x")
    return ratio


if __name__ == "__main__":
    main()
