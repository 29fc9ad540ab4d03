"""Explain and variant-scoring speed against the machine's own limit, measured in one run.

    python benchmarks/explain_speed.py [--sequences 8] [--ig_sequences 4] [--variants 256] [--profile]
        [--skip ...] [--output runs/explain_speed.json]

Run it on one core (``taskset -c 0``, ``OMP_NUM_THREADS=1``; the script sets ``torch.set_num_threads(1)``
unless ``--threads``) and compare only figures of one run: shared machines swing several-fold between runs.
Times are CPU seconds of this process (``time.process_time``), so other jobs on the same core do not count;
wall seconds are kept in ``--output``. Rows marked "before" re-run the paths as they were at 85afa35
(ISM one sequence at a time through the full model; IG by autograd through the 4^k-wide k-mer mixture).

1. **The limit**: fp32 and bf16 matmul throughput (a square 1024 matmul and the tiny model's own shapes,
   16 and 64 windows x 97 tokens into 128 and 512), measured at the start and again at the end; the best
   of each is the peak the MFU is taken against.
2. **Each path** on the tiny preset (k 6, 2 layers x 128; random weights: speed does not depend on
   them) and 101-bp sequences (seeded, random bases; every window distinct):

   * ``ism loop``: the naive way, one tokenizer call and one forward pass per single-base mutant;
   * ``ism``: :func:`~modeling_genebert.explain.saturation_mutagenesis`, both strands, fp32 (and bf16);
   * ``ig bases`` (50 steps, both strands) and ``ig tokens`` (captum, 50 steps, forward strand);
   * ``attention``: :func:`~modeling_genebert.explain.attention_maps` per sequence;
   * ``motifs``: TF-MoDISco + Tomtom (:func:`~modeling_genebert.explain.motifs.discover_motifs`) on
     ``--motif_sequences`` synthetic attribution tracks with a planted CTCF-like motif (numba, no FLOPs counted);
   * ``variants <score>``: :class:`~modeling_genebert.variants.VariantScorer` on ``--variants`` SNVs in
     101-bp windows, both strands, one score at a time and all together (cell type: a random
     2-cell-type atlas; supervised: a tiny classifier folder).

   Each row: wall seconds, items/s, FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode`` over
   the same call (attention through the math kernel, which does the same matmuls), GFLOP/s and MFU
   against the fp32 and the bf16 peak. ``--profile`` (or any torch path under 30% of the fp32 peak)
   prints a ``torch.profiler`` table of its top operators.

Last line: ``explain speed: ISM <r>x the per-mutant loop, IG <s> ms per sequence, ... (<cpu>)``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from efficiency import describe_machine, matmul_peak  # noqa: E402  (the peak measure efficiency.py uses)
from ism import per_mutant_loop  # noqa: E402  (the per-mutant baseline benchmarks/ism.py times)

from dataset_scripts.sequences import reverse_complement  # noqa: E402
from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertForSequenceClassification, GeneBertTokenizer  # noqa: E402
from modeling_genebert.explain import ExplainedModel, attention_maps, integrated_gradients, saturation_mutagenesis  # noqa: E402
from modeling_genebert.explain.integrated_gradients import _base_ig_reference  # noqa: E402
from modeling_genebert.explain.tokens import class_score  # noqa: E402

LENGTH = 101
PEAK_SHAPES = [(1024, 1024, 1024), (16 * 97, 128, 128), (16 * 97, 128, 512), (64 * 97, 128, 128), (64 * 97, 128, 512)]


@dataclass
class Row:
    path: str
    seconds: float  # CPU seconds of this process
    items: int
    unit: str
    flops: float | None
    peak_fp32: float = 0.0
    peak_bf16: float = 0.0
    note: str = ""
    wall: float = 0.0

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    @property
    def gflops(self) -> float | None:
        return self.flops / self.seconds / 1e9 if self.flops else None

    def line(self) -> str:
        g = self.gflops
        flops = f"{self.flops / 1e9:10.1f}" if self.flops else f"{'-':>10}"
        perf = (f"{g:9.1f}{100 * g / self.peak_fp32:8.1f}%{100 * g / self.peak_bf16:8.1f}%" if g else f"{'-':>9}{'-':>9}{'-':>9}")
        return f"{self.path:<28}{self.seconds:9.2f}{self.rate:>11.2f} {self.unit:<10}{flops}{perf}  {self.note}"


HEADER = (f"{'path':<28}{'CPU s':>9}{'items/s':>11} {'item':<10}{'GFLOP':>10}{'GFLOP/s':>9}{'MFU32':>9}{'MFU16':>9}"
          "  (MFU against the fp32 / bf16 peak of this run)")


def count_flops(fn) -> float:
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        fn()
    return float(counter.get_total_flops())


def timed(fn) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds): on a core other jobs share, CPU time is this job's own."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def profile_table(fn, rows: int = 10) -> str:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=48)


def random_sequences(n: int, seed: int = 0, length: int = LENGTH) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def ism_before(explained, sequences, batch_size: int = 256) -> None:
    """ISM as it ran before this benchmark was written (commit 85afa35): one sequence at a time, mutant ids
    from the mutant codes, the full model, ``batch_size`` windows per pass, both strands."""
    from modeling_genebert.explain.tokens import KmerIds, encode_codes, reverse_complement_codes

    for s in sequences:
        codes = encode_codes(s)
        pos = np.repeat(np.arange(len(s)), 3)
        base = np.array([[b for b in range(4) if b != c] for c in codes]).reshape(-1)
        rows = np.repeat(codes[None], len(pos) + 1, axis=0)
        rows[np.arange(1, len(pos) + 1), pos] = base
        rc = reverse_complement_codes(rows)
        for ids in (KmerIds(explained.tokenizer, s).ids(rows), KmerIds(explained.tokenizer, "".join("ACGTN"[c] for c in rc[0])).ids(rc)):
            with torch.no_grad():
                for a in range(0, len(ids), batch_size):
                    batch = torch.from_numpy(ids[a:a + batch_size])
                    class_score(explained.model(input_ids=batch, attention_mask=torch.ones_like(batch)).logits, 1)


def ig_before(explained, sequences) -> None:
    """Per-base IG as it ran before (commit 85afa35): autograd through the 4^k-wide k-mer mixture, one sequence
    and one strand at a time, the 50 steps in one pass (kept as ``_base_ig_reference``)."""
    _base_ig_reference(explained, sequences, 1, 50)
    _base_ig_reference(explained, [reverse_complement(s) for s in sequences], 1, 50)


def agreement(explained, seqs: list[str]) -> dict:
    """bf16 autocast against fp32 (class 1) on the same windows, and each precision's dependence on batch-mates:
    Pearson r and max |diff| (relative to the largest fp32 value) of ISM deltas and IG hypothetical contributions;
    the first sequence explained alone (64 per pass) against among the others (7 per pass)."""
    def ism(group, size, bf16):
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            return saturation_mutagenesis(explained, group, 1, batch_size=size)

    def ig(group, size, bf16):
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            return integrated_gradients(explained, group, 1, n_steps=50, strands="both", internal_batch_size=size).hypothetical

    out = {}
    for name, fn in (("ism deltas", ism), ("ig hypothetical", ig)):
        fp32, bf16 = fn(seqs, 64, False), fn(seqs, 64, True)
        scale = float(np.abs(fp32).max())
        out[f"{name}: bf16 vs fp32 Pearson"] = float(np.corrcoef(fp32.ravel(), bf16.ravel())[0, 1])
        out[f"{name}: bf16 vs fp32 max |diff| / max |fp32|"] = float(np.abs(fp32 - bf16).max() / scale)
        for label, bf in (("fp32", False), ("bf16", True)):
            alone, crowd = fn(seqs[:1], 64, bf)[0], fn(seqs[::-1], 7, bf)[-1]
            out[f"{name}: {label} alone vs among others, max |diff| / max |fp32|"] = float(np.abs(alone - crowd).max() / scale)
    return out


def planted_attributions(n: int, seed: int = 0):
    """One-hot ``(n, L, 4)`` and hypothetical contributions with a CTCF-like core planted once per sequence."""
    rng = np.random.default_rng(seed)
    motif = "CCGCGNGGNGGCAG".replace("N", "A")
    seqs = []
    for _ in range(n):
        s = list(rng.choice(list("ACGT"), LENGTH))
        at = rng.integers(10, LENGTH - len(motif) - 10)
        s[at:at + len(motif)] = motif
        seqs.append(("".join(s), at))
    oh = np.zeros((n, LENGTH, 4), dtype=np.float32)
    hyp = rng.normal(0, 0.05, (n, LENGTH, 4)).astype(np.float32)
    for i, (s, at) in enumerate(seqs):
        oh[i, np.arange(LENGTH), ["ACGT".index(c) for c in s]] = 1
        hyp[i, at:at + len(motif)] += 1.0 * oh[i, at:at + len(motif)]
    hyp -= hyp.mean(-1, keepdims=True)
    return oh, hyp


def variant_pairs(n: int, seed: int = 1):
    from dataset_scripts.variants import AllelePair, Variant

    pairs = []
    for i, seq in enumerate(random_sequences(n, seed)):
        alt = "A" if seq[50] != "A" else "C"
        pairs.append(AllelePair(Variant("chr1", 51, seq[50], alt, id=f"v{i}"), seq, seq[:50] + alt + seq[51:], 50, 1, 1))
    return pairs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sequences", type=int, default=8, help="101-bp sequences for ISM and attention")
    p.add_argument("--ig_sequences", type=int, default=4, help="sequences for Integrated Gradients (bases and tokens)")
    p.add_argument("--loop_mutants", type=int, default=60, help="mutants for the per-mutant loop")
    p.add_argument("--motif_sequences", type=int, default=300, help="synthetic attribution tracks for motif discovery (0: skip)")
    p.add_argument("--variants", type=int, default=256, help="SNVs for variant scoring")
    p.add_argument("--ism_batch_sizes", type=int, nargs="*", default=[16, 32, 64, 128, 256], help="ISM windows per pass to try (2 sequences each)")
    p.add_argument("--ig_rows", type=int, nargs="*", default=[16, 32, 64, 128], help="IG path points per pass to try (2 sequences each)")
    p.add_argument("--agreement_model", default=None, help="a fine-tuned classifier folder for the bf16 / batch-mate agreement (default: the random tiny model)")
    p.add_argument("--agreement_input", default=None, help="sequences (FASTA, ...) for --agreement_model")
    p.add_argument("--agreement_sequences", type=int, default=8, help="how many of --agreement_input")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: run under taskset -c <core>)")
    p.add_argument("--profile", action="store_true", help="print the top operators of every torch path")
    p.add_argument("--skip", nargs="*", default=[], help="paths to skip (prefixes: ism, ig, attention, motifs, variants)")
    p.add_argument("--output", default=None, help="write the rows to this JSON file")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    machine = describe_machine(torch.device("cpu"))
    print(f"machine: {machine}; load average {os.getloadavg()[0]:.1f}")

    def peaks():
        fp32 = matmul_peak(torch.device("cpu"), torch.float32, PEAK_SHAPES)
        bf16 = matmul_peak(torch.device("cpu"), torch.bfloat16, PEAK_SHAPES)
        return fp32, bf16

    start_fp32, start_bf16 = peaks()
    print("matmul GFLOP/s at the start: " + ", ".join(f"{s} fp32 {start_fp32[s]:.0f} bf16 {start_bf16[s]:.0f}" for s in start_fp32))

    torch.manual_seed(0)
    config = GeneBertConfig.from_preset("tiny", num_labels=2)
    explained = ExplainedModel(GeneBertForSequenceClassification(config).eval(), GeneBertTokenizer(k=6), ["unbound", "bound"])
    seqs = random_sequences(max(a.sequences, a.ig_sequences))
    rows: list[Row] = []
    profiles: dict[str, str] = {}
    skip = tuple(a.skip)

    def run(name, fn, items, unit, flops_fn=None, note=""):
        if skip and name.startswith(skip):
            return None
        flops = count_flops(flops_fn[0]) * flops_fn[1] if flops_fn else None
        seconds, wall = timed(fn)
        row = Row(name, seconds, items, unit, flops, note=note, wall=wall)
        rows.append(row)
        print(f"  {name}: {seconds:.2f} CPU s ({wall:.2f} s wall)", flush=True)
        if flops:
            profiles[name] = flops_fn[0]
        return row

    bf16 = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    n, ni = a.sequences, a.ig_sequences
    mutants = 3 * LENGTH * n * 2
    # warm-ups
    saturation_mutagenesis(explained, seqs[:1], 1, strands="forward")
    per_mutant_loop(explained, seqs[0], 5)

    run("ism loop (fp32)", lambda: per_mutant_loop(explained, seqs[0], a.loop_mutants), a.loop_mutants, "mutants",
        (lambda: per_mutant_loop(explained, seqs[0], 3), a.loop_mutants / 3), note="one tokenizer call + forward per mutant")
    run("ism before (fp32)", lambda: ism_before(explained, seqs[:n]), mutants, "mutants",
        (lambda: ism_before(explained, seqs[:1]), n), note="per sequence, full model, 256 per pass (85afa35)")
    run("ism (fp32)", lambda: saturation_mutagenesis(explained, seqs[:n], 1, strands="both"), mutants, "mutants",
        (lambda: saturation_mutagenesis(explained, seqs[:1], 1, strands="both"), n), note="both strands")

    def ism_bf16(m):
        with bf16():
            saturation_mutagenesis(explained, seqs[:m], 1, strands="both")

    run("ism (bf16)", lambda: ism_bf16(n), mutants, "mutants", (lambda: ism_bf16(1), n), note="both strands")
    run("ig bases before (fp32)", lambda: ig_before(explained, seqs[:ni]), ni, "sequences",
        (lambda: ig_before(explained, seqs[:1]), ni), note="autograd through 4^k mixtures, per sequence (85afa35)")
    run("ig bases (fp32)", lambda: integrated_gradients(explained, seqs[:ni], 1, n_steps=50, strands="both"), ni, "sequences",
        (lambda: integrated_gradients(explained, seqs[:1], 1, n_steps=50, strands="both"), ni), note="50 steps, both strands")
    run("ig tokens (fp32)", lambda: integrated_gradients(explained, seqs[:ni], 1, n_steps=50, path="tokens"), ni, "sequences",
        (lambda: integrated_gradients(explained, seqs[:1], 1, n_steps=50, path="tokens"), ni), note="captum, 50 steps, forward")
    run("attention (fp32)", lambda: [attention_maps(explained, s) for s in seqs[:n]], n, "sequences",
        (lambda: attention_maps(explained, seqs[0]), n))

    def ig_bf16(m):
        with bf16():
            integrated_gradients(explained, seqs[:m], 1, n_steps=50, strands="both")

    run("ig bases (bf16)", lambda: ig_bf16(ni), ni, "sequences", (lambda: ig_bf16(1), ni), note="50 steps, both strands; not offered by genebert-explain")
    if a.agreement_model:  # a trained classifier: deltas well above bf16's rounding
        from modeling_genebert.explain import load_classifier, read_sequences

        agree = agreement(load_classifier(a.agreement_model), read_sequences(a.agreement_input)[1][:a.agreement_sequences])
    else:
        agree = {} if "agreement" in skip else agreement(explained, seqs[:4])
    for size in a.ism_batch_sizes:
        run(f"ism batch {size} (fp32)", lambda size=size: saturation_mutagenesis(explained, seqs[:2], 1, batch_size=size),
            3 * LENGTH * 2 * 2, "mutants", note="tuning: windows per pass")
    for size in a.ig_rows:
        run(f"ig rows {size} (fp32)", lambda size=size: integrated_gradients(explained, seqs[:2], 1, n_steps=50, strands="both",
                                                                              internal_batch_size=size), 2, "sequences",
            note="tuning: path points per pass")

    if a.motif_sequences and "motifs" not in skip:
        from modeling_genebert.explain.motifs import discover_motifs

        oh, hyp = planted_attributions(a.motif_sequences)
        found = []
        row = run("motifs (modisco+tomtom)", lambda: found.append(discover_motifs(oh, hyp, verbose=False)), a.motif_sequences,
                  "sequences")
        if row:
            row.note = f"{len(found[0])} motif(s) from a planted CTCF-like core"

    if "variants" not in skip:
        from modeling_genebert.variants import VariantScorer

        with tempfile.TemporaryDirectory() as tmp:
            torch.manual_seed(0)
            pre = GeneBertForPreTraining(GeneBertConfig.from_preset("tiny")).eval()
            clf_dir = Path(tmp) / "classifier"
            GeneBertForSequenceClassification(GeneBertConfig.from_preset("tiny", num_labels=2)).save_pretrained(clf_dir)
            GeneBertTokenizer(k=6).save_pretrained(clf_dir)
            rcfg = pre.config.region_config
            rng = np.random.default_rng(0)
            atlas = {c: rng.normal(0, 4, (64, rcfg.regions_per_sample, rcfg.num_tfs)).astype(np.float32) for c in ("K562", "HepG2")}
            pairs = variant_pairs(a.variants)
            scorers = {}
            for score in ("llr", "embedding", "supervised", "cell_type", "motif", "all"):
                scores = ["llr", "embedding", "supervised", "cell_type", "motif"] if score == "all" else [score]
                scorers[score] = VariantScorer(pre, GeneBertTokenizer(k=6), classifier=str(clf_dir) if "supervised" in scores else None,
                                               atlas=atlas if "cell_type" in scores else None,
                                               motifs=None if "motif" in scores else False, scores=scores, precision="fp32")
                scorers[score].score(pairs[:8])  # warm-up (motif null distributions, numba)
                run(f"variants {score} (fp32)", lambda s=scorers[score]: s.score(pairs), len(pairs), "variants",
                    (lambda s=scorers[score]: s.score(pairs[:16]), len(pairs) / 16) if score != "motif" else None,
                    note="both strands")

    end_fp32, end_bf16 = peaks()
    peak32 = max(max(start_fp32.values()), max(end_fp32.values()))
    peak16 = max(max(start_bf16.values()), max(end_bf16.values()))
    print("matmul GFLOP/s at the end:   " + ", ".join(f"{s} fp32 {end_fp32[s]:.0f} bf16 {end_bf16[s]:.0f}" for s in end_fp32))
    print(f"peaks of this run, one thread: fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s; load average {os.getloadavg()[0]:.1f}")
    print(HEADER)
    for row in rows:
        row.peak_fp32, row.peak_bf16 = peak32, peak16
        print(row.line())
    for row in rows:
        if row.path in profiles and (a.profile or (row.gflops or 0) < 0.3 * peak32):
            print(f"\nwhere the time goes: {row.path} (MFU {100 * (row.gflops or 0) / peak32:.0f}% of fp32)")
            print(profile_table(profiles[row.path]))
    if agree:
        print(f"\nagreement ({a.agreement_model or 'tiny model, random weights'}, {a.agreement_sequences if a.agreement_model else 4} sequences):")
        for key, value in agree.items():
            print(f"  {key}: {value:.6g}")
    if a.output:
        Path(a.output).parent.mkdir(parents=True, exist_ok=True)
        Path(a.output).write_text(json.dumps({"machine": machine, "peak_fp32": peak32, "peak_bf16": peak16,
                                              "agreement": agree, "rows": [{**asdict(r), "rate": r.rate, "gflops": r.gflops} for r in rows]}, indent=1))
    by = {r.path: r for r in rows}
    parts = []
    per = {name: r.seconds / r.items for name, r in by.items()}
    if "ism loop (fp32)" in by and "ism (fp32)" in by:
        parts.append(f"ISM {per['ism loop (fp32)'] / per['ism (fp32)']:.1f}x the per-mutant loop"
                     + (f" ({per['ism before (fp32)'] / per['ism (fp32)']:.1f}x before)" if "ism before (fp32)" in per else ""))
    if "ig bases (fp32)" in by:
        parts.append(f"IG {1e3 * per['ig bases (fp32)']:.0f} ms per sequence (both strands"
                     + (f", {per['ig bases before (fp32)'] / per['ig bases (fp32)']:.1f}x before)" if "ig bases before (fp32)" in per else ")"))
    if "variants all (fp32)" in by:
        parts.append(f"variant scoring (all scores) {by['variants all (fp32)'].rate:.0f} variants/s")
    print(f"explain speed: {', '.join(parts)} ({machine['device']}, {'/'.join(machine.get('flags', []))}, "
          f"{a.threads} thread, CPU time)")


if __name__ == "__main__":
    main()
