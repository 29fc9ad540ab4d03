"""How close GeneBERT's hot paths run to the machine's limit, with the limit measured in the same run.

    python benchmarks/efficiency.py [--presets tiny small] [--steps 3] [--threads N] [--device cpu|cuda]
        [--compile] [--output runs/efficiency.json]

1. **The limit**: fp32 and bf16 matmul throughput at the models' own shapes (tokens x hidden into
   hidden, intermediate and the k-mer vocabulary), on the threads named, plus a square 1024 matmul.
   The bf16 figure says whether this machine has bf16 units (AMX / AVX512-BF16 CPUs, bf16 GPUs): where
   it has none, oneDNN emulates bf16 and it is far below fp32.
2. **Per preset**: a pre-training step (16 pairs x 512 tokens, MGM + NGSP + SRM on a [16, 10, 579]
   region matrix, fused AdamW), a fine-tuning step (32 x 100-bp windows: 97 tokens, classifier) and
   an inference forward pass (64 x 100-bp windows), each as today's fp32 path (dropout 0.1 in
   pre-training, the k-mer decoder on every token) and as the fast path (dropout 0 in pre-training,
   so attention runs the fused SDPA kernel; the decoder on masked positions only; bf16 autocast
   where :mod:`modeling_genebert.precision` finds bf16 units), plus each lever alone.
   Model FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` over one step of the
   fast path (attention counted through the math kernel, which does the same matmuls; the CPU
   flash kernel is not in the counter's table); today's path is credited with the same useful FLOPs.
   MFU = model FLOPs per second / the best measured peak of the machine (fp32 or bf16, whichever is
   higher here), and also against the bf16 peak.
3. **Accuracy beside speed**: the sparse MGM loss against the dense one (same batch), and the
   classifier logits of bf16 autocast against fp32 (max abs difference), whether or not bf16 is the
   default here.

Timings are wall-clock, the fastest of ``--steps`` steps after a warm-up: these shared CPUs switch
between fast and slow phases, and the fastest step is the least disturbed one. The load average is
printed at the start and the end.

``--device cuda`` measures the ``small`` and ``paper`` presets' pre-training steps with bf16 autocast,
SDPA (flash) attention and ``torch.compile``, against the GPU's measured bf16 matmul peak (H200:
about 790 TFLOP/s dense on paper), and batched variant scoring in variants/s.

Last line: ``pre-training small: <r>x the fp32 path, MFU <m>% of the <peak> peak``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertForSequenceClassification
from modeling_genebert.precision import bf16_support, cpu_flags

PRETRAIN_BATCH, PRETRAIN_LENGTH, REGIONS, NUM_TFS = 16, 512, 10, 579
FINETUNE_BATCH, INFERENCE_BATCH, WINDOW_TOKENS = 32, 64, 97  # 100 bp -> 95 6-mers + [CLS] + [SEP]


# --------------------------------------------------------------------------------------- the machine
def physical_cores() -> int:
    """Distinct (socket, core) pairs in /proc/cpuinfo, within this process's CPU set."""
    try:
        cores, current = set(), {}
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("physical id", "core id"):
                    current[key] = value.strip()
                elif not line.strip() and current:
                    cores.add((current.get("physical id"), current.get("core id")))
                    current = {}
        if current:
            cores.add((current.get("physical id"), current.get("core id")))
        return max(1, min(len(cores), len(os.sched_getaffinity(0))))
    except (OSError, AttributeError):
        return os.cpu_count() or 1


def describe_machine(device: torch.device) -> dict:
    if device.type == "cuda":
        return {"device": torch.cuda.get_device_name(device), "torch": torch.__version__}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), None)
    except OSError:
        model = None
    model = model or platform.processor()
    flags = sorted(f for f in cpu_flags() if f.startswith(("amx", "avx512_bf16", "avx512f", "avx2", "fma")))
    return {"device": model, "flags": flags, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_time(fn, steps: int, device: torch.device, budget_s: float | None = None) -> float:
    """Fastest of ``steps`` timed calls after one warm-up (fewer if ``budget_s`` runs out)."""
    fn()
    sync(device)
    times, started = [], time.perf_counter()
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
        if budget_s is not None and time.perf_counter() - started > budget_s:
            break
    return min(times)


def matmul_peak(device: torch.device, dtype: torch.dtype, shapes: list[tuple[int, int, int]]) -> dict:
    """GFLOP/s of ``[m, k] @ [k, n]`` for each shape; the best is the peak at these shapes."""
    out = {}
    for m, k, n in shapes:
        a = torch.randn(m, k, device=device, dtype=dtype)
        b = torch.randn(k, n, device=device, dtype=dtype)
        seconds = best_time(lambda: a @ b, steps=5, device=device, budget_s=2.0)
        out[f"{m}x{k}x{n}"] = 2 * m * k * n / seconds / 1e9
    return out


def model_shapes(config: GeneBertConfig, tokens: int) -> list[tuple[int, int, int]]:
    seq = config.sequence_config
    return [(tokens, seq.hidden_size, seq.hidden_size), (tokens, seq.hidden_size, seq.intermediate_size),
            (tokens, seq.intermediate_size, seq.hidden_size),
            (int(tokens * 0.15), seq.hidden_size, seq.vocab_size), (1024, 1024, 1024)]


# ------------------------------------------------------------------------------------ the workloads
@dataclass
class RunPath:
    """One way of running a workload: what is on."""

    name: str
    dropout: float = 0.1
    sparse_mgm: bool = False
    bf16: bool = False
    compile: bool = False


def preset_config(preset: str, dropout: float, num_labels: int | None = None) -> GeneBertConfig:
    extra = {"num_labels": num_labels} if num_labels else {}
    config = GeneBertConfig.from_preset(preset, region_config=dict(num_tfs=NUM_TFS, regions_per_sample=REGIONS), **extra)
    config.sequence_config.hidden_dropout_prob = config.sequence_config.attention_probs_dropout_prob = dropout
    return config


def autocast(device: torch.device, on: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if on else contextlib.nullcontext()


def pretraining_batch(config: GeneBertConfig, device: torch.device, batch: int = PRETRAIN_BATCH,
                      length: int = PRETRAIN_LENGTH) -> dict:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, config.sequence_config.vocab_size, (batch, length), generator=g)
    types = torch.zeros_like(ids)
    types[:, length // 2:] = 1
    labels = torch.where(torch.rand(ids.shape, generator=g) < 0.15, ids, -100)
    inputs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=types, labels=labels,
                  next_sentence_label=torch.randint(0, 2, (batch,), generator=g),
                  region_matrix=torch.randn(batch, REGIONS, NUM_TFS, generator=g) * 8)
    return {k: v.to(device) for k, v in inputs.items()}


def pretraining_step(preset: str, path: RunPath, device: torch.device, batch: int = PRETRAIN_BATCH,
                     length: int = PRETRAIN_LENGTH):
    """A closure running one optimizer step of ``path`` (fused AdamW, as ``Trainer`` uses on torch >= 2.8)."""
    torch.manual_seed(0)
    config = preset_config(preset, path.dropout)
    model = GeneBertForPreTraining(config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    inputs = pretraining_batch(config, device, batch, length)
    inputs["output_prediction_logits"] = not path.sparse_mgm
    forward = torch.compile(model) if path.compile else model
    return training_step(forward, optimizer, inputs, device, path.bf16), model, inputs


def training_step(forward, optimizer, inputs: dict, device: torch.device, bf16: bool):
    """One forward (bf16 autocast if asked), backward and optimizer step, as a closure."""

    def step():
        with autocast(device, bf16):
            loss = forward(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def classifier_inputs(config: GeneBertConfig, batch: int, device: torch.device, pad_to: int = 8) -> dict:
    g = torch.Generator().manual_seed(1)
    length = -(-WINDOW_TOKENS // pad_to) * pad_to
    ids = torch.randint(5, config.sequence_config.vocab_size, (batch, length), generator=g)
    mask = torch.ones_like(ids)
    ids[:, WINDOW_TOKENS:] = 0  # padding, as the collator pads to a multiple of pad_to
    mask[:, WINDOW_TOKENS:] = 0
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device),
            "labels": torch.randint(0, 2, (batch,), generator=g).to(device)}


def finetuning_step(preset: str, path: RunPath, device: torch.device, pad_to: int = 8):
    torch.manual_seed(0)
    config = preset_config(preset, 0.1, num_labels=2)  # fine-tuning keeps its dropout
    model = GeneBertForSequenceClassification(config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    inputs = classifier_inputs(config, FINETUNE_BATCH, device, pad_to)
    return training_step(model, optimizer, inputs, device, path.bf16), model, inputs


def inference_forward(preset: str, path: RunPath, device: torch.device, pad_to: int = 8):
    torch.manual_seed(0)
    model = GeneBertForSequenceClassification(preset_config(preset, 0.1, num_labels=2)).to(device).eval()
    inputs = classifier_inputs(model.config, INFERENCE_BATCH, device, pad_to)
    inputs.pop("labels")
    forward = torch.compile(model) if path.compile else model

    def step():
        with torch.inference_mode(), autocast(device, path.bf16):
            return forward(**inputs).logits

    return step, model, inputs


def count_flops(step_factory, preset: str, device: torch.device, **kwargs) -> int:
    """Model FLOPs of one call of the fast path (dropout 0, sparse MGM, fp32), attention through the math kernel."""
    step, _, _ = step_factory(preset, RunPath("count", dropout=0.0, sparse_mgm=True), device, **kwargs)
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        step()
    return counter.get_total_flops()


@dataclass
class Measurement:
    workload: str
    preset: str
    path: str
    seconds: float
    tokens: int
    flops: int
    peak_gflops: float
    bf16_peak_gflops: float
    extra: dict = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9

    def row(self, baseline: "Measurement | None") -> str:
        speedup = f"{baseline.seconds / self.seconds:5.2f}x" if baseline else "    - "
        return (f"{self.workload:<13}{self.preset:<7}{self.path:<26}{self.seconds * 1e3:>10.1f}{self.tokens_per_s:>12,.0f}"
                f"{self.gflops:>9.1f}{100 * self.gflops / self.peak_gflops:>7.1f}%  {speedup}")


HEADER = (f"{'workload':<13}{'preset':<7}{'path':<26}{'ms/step':>10}{'tokens/s':>12}{'GFLOP/s':>9}{'MFU':>8}"
          "  vs fp32 path   (MFU: of the higher of the fp32 and bf16 peaks)")


# ------------------------------------------------------------------------------------------- the run
def cpu_paths(bf16_default: bool, compile_: bool) -> dict[str, list[RunPath]]:
    fast = dict(dropout=0.0, sparse_mgm=True, bf16=bf16_default)
    pre = [RunPath("fp32 (today)"), RunPath("sparse MGM alone", sparse_mgm=True), RunPath("dropout 0 alone", dropout=0.0)]
    if bf16_default:
        pre.append(RunPath("bf16 alone", bf16=True))
    pre.append(RunPath("fast (default now)", **fast))
    tune = [RunPath("fp32 (today)")] + ([RunPath("fast (bf16)", bf16=True)] if bf16_default else [])
    infer = [RunPath("fp32 (today)")] + ([RunPath("fast (bf16)", bf16=True)] if bf16_default else [])
    if compile_:
        infer.append(RunPath("fast + torch.compile", bf16=bf16_default, compile=True))
    return {"pre-training": pre, "fine-tuning": tune, "inference": infer}


def run_cpu(args) -> list[Measurement]:
    device = torch.device("cpu")
    bf16_default, reason = bf16_support(device)
    results: list[Measurement] = []
    for preset in args.presets:
        config = preset_config(preset, 0.0)
        shapes = model_shapes(config, PRETRAIN_BATCH * PRETRAIN_LENGTH // 4)
        fp32 = matmul_peak(device, torch.float32, shapes)
        bf16 = matmul_peak(device, torch.bfloat16, shapes[:2] if not bf16_default else shapes)
        peak_fp32, peak_bf16 = max(fp32.values()), max(bf16.values())
        peak = max(peak_fp32, peak_bf16)
        print(f"\n{preset}: matmul peak at the model's shapes, {torch.get_num_threads()} threads: "
              f"fp32 {peak_fp32:.0f} GFLOP/s, bf16 {peak_bf16:.0f} GFLOP/s "
              f"({'bf16 units: ' + reason if bf16_default else reason})")
        for shape, value in fp32.items():
            print(f"  fp32 {shape:<18}{value:>8.1f} GFLOP/s   bf16 {bf16.get(shape, float('nan')):>8.1f}")
        workloads = {
            "pre-training": (pretraining_step, PRETRAIN_BATCH * PRETRAIN_LENGTH, {}),
            "fine-tuning": (finetuning_step, FINETUNE_BATCH * WINDOW_TOKENS, {}),
            "inference": (inference_forward, INFERENCE_BATCH * WINDOW_TOKENS, {}),
        }
        print(HEADER)
        for workload, (factory, tokens, kwargs) in workloads.items():
            flops = count_flops(factory, preset, device, **kwargs)
            baseline = None
            for path in cpu_paths(bf16_default, args.compile)[workload]:
                step, _, _ = factory(preset, path, device, **kwargs)
                steps = 1 if path.compile else args.steps
                if path.compile:
                    started = time.perf_counter()
                    step()
                    compile_s = time.perf_counter() - started
                seconds = best_time(step, steps, device)
                m = Measurement(workload, preset, path.name, seconds, tokens, flops, peak, peak_bf16,
                                {"compile_s": compile_s} if path.compile else {})
                baseline = baseline or m
                results.append(m)
                print(m.row(baseline if m is not baseline else None), flush=True)
        if args.profile:
            for workload, factory in (("pre-training", pretraining_step), ("inference", inference_forward)):
                fast = cpu_paths(bf16_default, False)[workload][-1]
                print(f"\nwhere the time goes: {workload} {preset}, {fast.name}")
                print(profile_table(factory(preset, fast, device)[0]))
        if not args.skip_pad_check:
            results.extend(padding_check(preset, device, args.steps, peak, peak_bf16))
        accuracy_checks(preset, device)
    return results


def profile_table(step, rows: int = 12) -> str:
    """``torch.profiler`` table of the top operators (self CPU time) of one call of ``step``."""
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=48)


def padding_check(preset: str, device: torch.device, steps: int, peak: float, peak_bf16: float) -> list[Measurement]:
    """Fine-tuning step with 97-token windows padded to a multiple of 8 (today), 16 or 64."""
    out, base = [], None
    for pad in (8, 16, 64):
        step, _, _ = finetuning_step(preset, RunPath(f"pad to x{pad}"), device, pad_to=pad)
        m = Measurement("fine-tuning", preset, f"pad to x{pad} ({-(-WINDOW_TOKENS // pad) * pad} tokens)",
                        best_time(step, steps, device), FINETUNE_BATCH * WINDOW_TOKENS,
                        count_flops(finetuning_step, preset, device), peak, peak_bf16)
        base = base or m
        print(m.row(base if m is not base else None), flush=True)
        out.append(m)
    return out


def accuracy_checks(preset: str, device: torch.device) -> None:
    """Sparse MGM loss == dense loss; bf16-autocast classifier logits against fp32."""
    step, model, inputs = pretraining_step(preset, RunPath("check", dropout=0.0), device, batch=4, length=256)
    model.eval()
    with torch.no_grad():
        dense = model(**{**inputs, "output_prediction_logits": True}).mgm_loss
        sparse = model(**{**inputs, "output_prediction_logits": False}).mgm_loss
    _, classifier, cinputs = inference_forward(preset, RunPath("check"), device)
    cinputs = {k: v[:16] for k, v in cinputs.items()}
    with torch.inference_mode():
        fp32 = classifier(**cinputs).logits
        with autocast(device, True):
            bf16 = classifier(**cinputs).logits.float()
    print(f"  accuracy: sparse MGM loss {sparse.item():.6f} vs dense {dense.item():.6f} "
          f"(|diff| {abs(sparse - dense).item():.1e}); classifier logits bf16 autocast vs fp32: "
          f"max |diff| {(bf16 - fp32).abs().max().item():.1e} over {fp32.numel()} logits")


def run_cuda(args) -> list[Measurement]:
    device = torch.device("cuda")
    results = []
    square = [(8192, 8192, 8192), (4096, 4096, 4096)]
    peak_bf16 = max(matmul_peak(device, torch.bfloat16, square).values())
    peak_fp32 = max(matmul_peak(device, torch.float32, square).values())
    print(f"\nGPU matmul peak: bf16 {peak_bf16 / 1e3:.0f} TFLOP/s, fp32 (TF32 off) {peak_fp32 / 1e3:.0f} TFLOP/s")
    print(HEADER)
    for preset in args.cuda_presets:
        batch = 64 if preset != "paper" else 32
        flops = count_flops(pretraining_step, preset, device, batch=batch)
        baseline = None
        for path in (RunPath("fp32 (today)"), RunPath("bf16 + flash SDPA", dropout=0.0, sparse_mgm=True, bf16=True),
                     RunPath("bf16 + flash + compile", dropout=0.0, sparse_mgm=True, bf16=True, compile=True)):
            step, _, _ = pretraining_step(preset, path, device, batch=batch)
            with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
                seconds = best_time(step, args.steps, device)
            m = Measurement("pre-training", preset, path.name, seconds, batch * PRETRAIN_LENGTH, flops, peak_bf16, peak_bf16)
            baseline = baseline or m
            results.append(m)
            print(m.row(baseline if m is not baseline else None), flush=True)
    print(f"batched variant scoring: {variant_scoring_rate(device):,.0f} variants/s (tiny preset, random weights, 101-bp windows)")
    return results


def variant_scoring_rate(device: torch.device, n: int = 512) -> float:
    """Variants per second of the package's scorer (LLR + embedding shift, both strands)."""
    from dataset_scripts.variants import AllelePair, Variant  # noqa: PLC0415 (only this part needs the data side)
    from modeling_genebert import GeneBertForMaskedLM, GeneBertTokenizer  # noqa: PLC0415
    from modeling_genebert.variants import VariantScorer  # noqa: PLC0415

    torch.manual_seed(0)
    model = GeneBertForMaskedLM(GeneBertConfig.from_preset("tiny")).to(device).eval()
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(n):
        seq = "".join(rng.choice(list("ACGT"), 101))
        alt = "A" if seq[50] != "A" else "C"
        pairs.append(AllelePair(Variant("chr1", 51, seq[50], alt, id=f"v{i}"), seq, seq[:50] + alt + seq[51:], 50, 1, 1))
    scorer = VariantScorer(model=model, tokenizer=GeneBertTokenizer(k=6), motifs=False, scores=["llr", "embedding"],
                           batch_size=128, device=str(device))
    scorer.score(pairs[:32])
    sync(device)
    started = time.perf_counter()
    scorer.score(pairs)
    sync(device)
    return n / (time.perf_counter() - started)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"], help="CPU presets to measure")
    parser.add_argument("--cuda_presets", nargs="+", default=["small", "paper"], help="presets for --device cuda")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after one warm-up)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the physical cores)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to measure")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd inference (minutes to compile on a CPU)")
    parser.add_argument("--profile", action="store_true", help="print a torch.profiler table of the fast paths' top operators")
    parser.add_argument("--skip_pad_check", action="store_true", help="skip the padding-multiple comparison")
    parser.add_argument("--output", default=None, help="write every measurement to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads or physical_cores())
    device = torch.device(args.device)
    machine = describe_machine(device)
    load = os.getloadavg()
    print(f"machine: {machine}; load average {load[0]:.1f}")
    results = run_cuda(args) if device.type == "cuda" else run_cpu(args)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps({"machine": machine, "results": [
            {**asdict(m), "tokens_per_s": m.tokens_per_s, "gflops": m.gflops} for m in results]}, indent=2))
    last = [m for m in results if m.workload == "pre-training" and m.preset in ("small", "paper")] or \
        [m for m in results if m.workload == "pre-training"]
    if last:
        base, fast = last[0], min((m for m in last if m.preset == last[0].preset), key=lambda m: m.seconds)
        which = "bf16" if fast.peak_gflops == fast.bf16_peak_gflops else "fp32"
        print(f"pre-training {base.preset}: {base.seconds / fast.seconds:.1f}x the fp32 path, "
              f"MFU {100 * fast.gflops / fast.peak_gflops:.0f}% of the {which} peak"
              + ("" if which == "bf16" else f" (the bf16 peak here is {fast.bf16_peak_gflops:.1f} GFLOP/s: no bf16 units)"))


if __name__ == "__main__":
    main()
