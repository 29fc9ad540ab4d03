"""Benchmark: GeneBERT's vectorized motif scanner vs Biopython's ``PSSM.calculate``.

Both score the same real sequences (200-bp ENCODE DHS sequences from the embedded
mini-atlas) with the same 579 JASPAR 2018 CORE vertebrate log-odds matrices on both
strands, and keep the maximum per sequence and motif. Throughput is reported as
bp x motifs per second. The CPUs here run in fast and slow phases, so the two scanners
are timed alternately (Biopython, torch, Biopython, torch, ...) in one process and the
median of the per-round ratios is reported. The scores are checked equal to 1e-4.

    python benchmarks/motif_scan.py [--rounds 5] [--bio-seqs 16] [--torch-seqs 512] [--device cpu] [--peers]

``--peers`` also times the best peers on the same work (the 579 motifs, the ``--torch-seqs`` sequences, both
strands), alternating with ours round by round, each after an untimed warm-up (numba compiles on first use):
memelite's ``fimo`` (numba; from one-hot input, p < 1e-4, ``return_counts=True`` so that no DataFrames are
built; JASPAR PPMs from the same log-odds matrices) and MOODS (``MOODS-python``, C++, p < 1e-4 thresholds,
if it is installed). Their work is not identical to ours: they also turn scores into p-values and report
hits above a threshold, where we keep the best score per sequence and motif; so only the rates are compared.
Timing is CPU time of this process (other jobs may share the core).

The last line is ``motif scan speedup vs Biopython: <ratio>x`` (``... vs memelite fimo: <ratio>x`` with ``--peers``).
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
    ap.add_argument("--peers", action="store_true", help="also time memelite's fimo and MOODS (if installed) on the same work")
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
    if args.peers:
        return peers(args, seqs[: args.torch_seqs], motifs, run_torch, bp_torch * m)
    return ratio


def peers(args, seqs, motifs, run_torch, work: float) -> float:
    """Ours against memelite's fimo and MOODS on the same sequences and motifs, alternating, CPU time."""
    bg = np.array([motifs.background[b] for b in "ACGT"])
    ppms = []
    for pssm in motifs.pssms:  # the PPMs behind the log-odds matrices (JASPAR's pseudocounts), as explain.motifs does
        p = bg[:, None] * np.power(2.0, pssm)
        ppms.append(p / p.sum(0, keepdims=True))
    contenders = {"ours (MotifScanner.scan, max)": run_torch}
    try:
        from memelite import fimo

        one_hot = np.zeros((len(seqs), 4, len(seqs[0])), dtype=np.float32)
        for i, s in enumerate(seqs):
            for j, base in enumerate("ACGT"):
                one_hot[i, j] = np.frombuffer(s.upper().encode(), dtype=np.uint8) == ord(base)
        named = {f"{motifs.ids[k]}_{k}": ppms[k] for k in range(len(ppms))}
        contenders["memelite fimo (p < 1e-4)"] = lambda: fimo(named, one_hot, threshold=1e-4, return_counts=True)
    except ImportError:
        print("memelite is not installed: skipped")
    try:
        import MOODS.scan
        import MOODS.tools

        bg_list = [float(b) for b in bg]
        matrices = [[list(map(float, row)) for row in pssm] for pssm in motifs.pssms]
        matrices += [MOODS.tools.reverse_complement(mat) for mat in matrices]
        thresholds = [MOODS.tools.threshold_from_p(mat, bg_list, 1e-4) for mat in matrices]
        scanner = MOODS.scan.Scanner(7)
        scanner.set_motifs(matrices, bg_list, thresholds)
        contenders["MOODS (p < 1e-4)"] = lambda: [scanner.scan(s) for s in seqs]
    except ImportError:
        print("MOODS-python is not installed: skipped")
    for run in contenders.values():
        run()  # warm-up (numba compiles fimo's kernels on the first call)
    rates = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            t = time.process_time()
            run()
            rates[name].append(work / (time.process_time() - t))
    ours = statistics.median(rates["ours (MotifScanner.scan, max)"])
    for name, values in rates.items():
        print(f"{name:<34}{statistics.median(values) / 1e6:10.1f} M bp x motifs/s (CPU time, median of {args.rounds})"
              f"   ours / it: {ours / statistics.median(values):.2f}x")
    fimo_name = "memelite fimo (p < 1e-4)"
    if fimo_name not in rates:
        return ours
    ratio = ours / statistics.median(rates[fimo_name])
    print(f"motif scan speedup vs memelite fimo: {ratio:.2f}x")
    return ratio


if __name__ == "__main__":
    main()
