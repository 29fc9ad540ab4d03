"""Sequences longer than the model's window: truncate with a warning, or cover them with sliding windows.

DNABERT re-chunks over-long input silently and a plain tokenizer call truncates silently; either
way a prediction may rest on bases the user thinks it saw. Here the caller picks:

* ``"truncate"`` -- keep the first window's bases and log how many sequences lost bases;
* ``"sliding_window"`` -- cut each sequence into windows of the model's size overlapping by
  ``overlap`` bases (the last window ends at the sequence's end), run every window, and
  aggregate the per-window outputs (logits, embeddings) per sequence by ``"mean"`` or ``"max"``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from transformers import EvalPrediction

LONG_INPUT_MODES = ("truncate", "sliding_window")
WINDOW_AGGREGATIONS = ("mean", "max")

logger = logging.getLogger("genebert.long_inputs")


def bases_per_window(tokenizer, max_length: int) -> int:
    """Bases whose k-mers fill ``max_length`` tokens ([CLS] and [SEP] included)."""
    tokens = max_length - 2
    if tokens < 1:
        raise ValueError(f"max_length {max_length} leaves no room for k-mers besides [CLS] and [SEP]")
    return (tokens - 1) * tokenizer.stride + tokenizer.kmer


def _bases(sequence: str) -> str:
    return "".join(sequence.split())  # the tokenizer ignores whitespace: so does the length count


def warn_truncated(sequences: Sequence[str], window: int, where: str = "input") -> int:
    """Log (and return) how many sequences are longer than ``window`` bases and will lose their tail."""
    lengths = [len(_bases(s)) for s in sequences]
    long = sum(length > window for length in lengths)
    if long:
        logger.warning(
            "%s: %d of %d sequences are longer than the model's window of %d bases (longest %d) and are "
            "truncated to their first %d bases; use long_inputs='sliding_window' to cover them whole",
            where, long, len(lengths), window, max(lengths), window,
        )
    return long


def split_into_windows(sequences: Sequence[str], window: int, overlap: int, stride: int = 1) -> tuple[list[str], np.ndarray]:
    """``(windows, owners)``: every sequence as windows of at most ``window`` bases; ``owners[i]`` = its sequence.

    Consecutive windows start ``window - overlap`` bases apart (rounded down to a multiple of the
    tokenizer's ``stride`` so k-mers keep their phase); the last one is aligned to the sequence's
    end (its start rounded up to the phase), so every base is covered.
    """
    if not 0 <= overlap < window:
        raise ValueError(f"window overlap must be in [0, {window}) bases, got {overlap}")
    step = max(stride, (window - overlap) // stride * stride)
    windows: list[str] = []
    owners: list[int] = []
    for index, sequence in enumerate(sequences):
        bases = _bases(sequence)
        last = -(-max(len(bases) - window, 0) // stride) * stride
        starts = list(range(0, last, step)) + [last]
        if len(starts) > 1 and starts[-1] == starts[-2]:
            starts.pop()
        windows.extend(bases[start : start + window] for start in starts)
        owners.extend([index] * len(starts))
    return windows, np.asarray(owners, dtype=np.int64)


def fit_to_window(
    sequences: Sequence[str],
    tokenizer,
    max_length: int,
    long_inputs: str = "truncate",
    window_overlap: int | None = None,
    window_aggregation: str = "mean",
    where: str = "input",
) -> tuple[Sequence[str], np.ndarray | None]:
    """What to feed the model for ``long_inputs``: ``(sequences, None)`` after warning about those the
    tokenizer will truncate, or ``(windows, owners)`` for ``"sliding_window"`` (``window_overlap`` bases,
    default half a window). Options are checked here, before any model work."""
    if long_inputs not in LONG_INPUT_MODES:
        raise ValueError(f"long_inputs must be one of {LONG_INPUT_MODES}, got {long_inputs!r}")
    if window_aggregation not in WINDOW_AGGREGATIONS:
        raise ValueError(f"window aggregation must be one of {WINDOW_AGGREGATIONS}, got {window_aggregation!r}")
    window = bases_per_window(tokenizer, max_length)
    if long_inputs == "truncate":
        warn_truncated(sequences, window, where)
        return sequences, None
    overlap = window // 2 if window_overlap is None else window_overlap
    return split_into_windows(sequences, window, overlap, tokenizer.stride)


def aggregate_windows(values: np.ndarray, owners: np.ndarray, how: str = "mean") -> np.ndarray:
    """Per-sequence ``mean`` or ``max`` of per-window rows (``owners`` as from :func:`split_into_windows`)."""
    if how not in WINDOW_AGGREGATIONS:
        raise ValueError(f"window aggregation must be one of {WINDOW_AGGREGATIONS}, got {how!r}")
    values, owners = np.asarray(values), np.asarray(owners)
    if len(values) != len(owners):
        raise ValueError(f"{len(values)} window outputs for {len(owners)} windows")
    if len(owners) == 0:
        return values
    count = int(owners.max()) + 1
    if how == "mean":
        out = np.zeros((count, *values.shape[1:]), dtype=np.float64)
        np.add.at(out, owners, values)
        out /= np.bincount(owners, minlength=count).reshape(-1, *[1] * (values.ndim - 1))
        return out.astype(values.dtype)
    out = values[np.unique(owners, return_index=True)[1]].copy()  # each sequence's first window: any dtype
    np.maximum.at(out, owners, values)
    return out


class SequenceLevelMetrics:
    """``compute_metrics`` over sequences, not windows: aggregates window logits per sequence first.

    Set ``split`` to the split about to be evaluated (its window -> sequence map is in ``owners``).
    """

    def __init__(self, compute_metrics, owners: dict[str, np.ndarray], aggregation: str, split: str = "validation"):
        self.compute_metrics, self.owners, self.aggregation, self.split = compute_metrics, owners, aggregation, split

    def __call__(self, eval_prediction: EvalPrediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, (tuple, list)) else logits
        owners = self.owners[self.split]
        labels = aggregate_windows(eval_prediction.label_ids, owners, "max")  # windows share their label
        logits = aggregate_windows(logits, owners, self.aggregation)
        return self.compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
