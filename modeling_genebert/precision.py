"""The numeric path a run takes: bf16 where the hardware multiplies bf16 natively, fp32 elsewhere.

Why a run-time choice and not a default: bf16 matmuls run several times faster than fp32 on
CPUs with AMX or AVX512-BF16 units and on bf16 GPUs, but on other CPUs (AVX2 only) oneDNN
emulates them and they are far *slower* than fp32 (``benchmarks/efficiency.py`` prints both
peaks of the machine it runs on). So ``--precision auto`` (the training commands' default) takes bf16
only where the units exist, and says once when it falls back to fp32.

Inference is another matter: under bf16 an answer depends on its batch-mates (the matmul
kernels block and round a batch as a whole), so a sequence's probability changes with the batch
size, the other sequences and the stream chunk, and differs between an AVX2 and an AMX machine.
The commands that give answers (predict, embed, explain, score-variants) therefore default to
fp32 (:data:`INFERENCE_DEFAULT`); ``--precision bf16`` (or ``auto``) is an opt-in whose measured
error the docs state. Training keeps ``auto``: its bf16 parity with fp32 is measured.

``GENEBERT_CPU_BF16=1`` (or ``0``) overrides the detection of bf16 units on a CPU, so a machine
can be run as an AMX one (``auto`` takes bf16; on AVX2 oneDNN emulates it, slow but the same
numerics) or as an AVX2 one. The test suite uses it to run its bf16 paths anywhere.

This module imports nothing else of the package.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os

import torch

logger = logging.getLogger("genebert.precision")

PRECISIONS = ("auto", "fp32", "bf16")
# answers (probabilities, embeddings, attributions, variant scores) must not depend on batch-mates
INFERENCE_DEFAULT = "fp32"
# "1": treat this CPU as having bf16 units, "0": as lacking them; unset: read /proc/cpuinfo
CPU_BF16_ENV = "GENEBERT_CPU_BF16"
# CPU flags (as /proc/cpuinfo names them) whose units oneDNN uses for bf16 matmuls
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
PRECISION_HELP = (
    "auto: bf16 (autocast) where this machine has bf16 matmul units (CPUs with AMX / AVX512-BF16, "
    "GPUs with bf16), else fp32; fp32: always fp32; bf16: always bf16"
)

INFERENCE_PRECISION_HELP = (
    "fp32 (default): the same answer whatever the batch, its other sequences and the machine; "
    "bf16: bf16 autocast, faster on CPUs with AMX / AVX512-BF16 and bf16 GPUs, within the error stated in "
    "docs/performance.md#precision (an answer then depends slightly on its batch-mates); "
    "auto: bf16 where this machine has bf16 units, else fp32"
)

_warned: set[str] = set()


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux); empty where /proc/cpuinfo is not readable."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def bf16_support(device: str | torch.device = "cpu") -> tuple[bool, str]:
    """Whether bf16 matmuls run on native units of ``device``, and the reason in words."""
    device = torch.device(device)
    if device.type == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return True, f"{torch.cuda.get_device_name(device)} supports bf16"
        return False, "this GPU has no bf16 support"
    if device.type == "cpu":
        forced = os.environ.get(CPU_BF16_ENV, "").strip()
        if forced in ("0", "1"):
            return forced == "1", f"{CPU_BF16_ENV}={forced}"
        if forced:
            raise ValueError(f"{CPU_BF16_ENV} must be 0 or 1, got {forced!r}")
        found = [flag for flag in CPU_BF16_FLAGS if flag in cpu_flags()]
        if found and torch.backends.mkldnn.is_available():
            return True, f"this CPU has {' and '.join(found)}"
        return False, "this CPU has no AMX or AVX512-BF16 units (bf16 matmuls would be emulated, slower than fp32)"
    return False, f"bf16 autocast is not used on {device.type}"


def resolve_bf16(precision: str = "auto", device: str | torch.device = "cpu") -> bool:
    """``precision`` ("auto" / "fp32" / "bf16") -> whether to run bf16; auto falls back to fp32, said once."""
    if precision not in PRECISIONS:
        raise ValueError(f"--precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision == "bf16"
    supported, reason = bf16_support(device)
    if not supported and reason not in _warned:
        _warned.add(reason)
        logger.warning("%s: running in fp32 (--precision bf16 forces bf16)", reason)
    return supported


def resolved_precision(precision: str = "auto", device: str | torch.device = "cpu") -> str:
    """The precision a run takes, as outputs record it: ``"bf16"`` or ``"fp32"`` (never ``"auto"``)."""
    return "bf16" if resolve_bf16(precision, device) else "fp32"


def inference_precision(precision: str = INFERENCE_DEFAULT, device: str | torch.device = "cpu") -> contextlib.AbstractContextManager:
    """A context for forward passes: bf16 autocast when :func:`resolve_bf16` says so, else nothing."""
    if resolve_bf16(precision, device):
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def training_precision(args) -> str:
    """What a ``TrainingArguments`` trains in, as outputs record it: ``"bf16"``, ``"fp16"`` or ``"fp32"``."""
    return "bf16" if args.bf16 else ("fp16" if args.fp16 else "fp32")


def apply_training_precision(args) -> None:
    """Set a ``TrainingArguments``' ``bf16`` (and ``use_cpu`` for bf16 on a CPU) from its ``precision``.

    Called before ``TrainingArguments.__post_init__``, which turns ``bf16`` into accelerate's mixed
    precision. An explicit ``--bf16 true`` wins over ``auto``; ``--precision fp32`` turns it off.
    """
    if args.precision == "fp32":
        args.bf16 = False
        return
    if args.bf16 or args.fp16:
        return
    on_gpu = torch.cuda.is_available() and not args.use_cpu
    if resolve_bf16(args.precision, "cuda" if on_gpu else "cpu"):
        args.bf16 = True
        if not on_gpu:
            args.use_cpu = True  # transformers' bf16 on a CPU needs use_cpu
