"""Do two attribution methods point at the same bases? (IG against ISM, per sequence.)

For each sequence, the ``width``-base window with the largest summed attribution is found for both
methods; they *agree* when the two windows overlap. Two windows placed at random on a sequence of
length ``L`` overlap with probability :func:`chance_overlap` (about 0.2 for 10 bp on 101 bp), the
level a method that ignores the motif would reach.
"""

from __future__ import annotations

import numpy as np

from .plots import top_window


def chance_overlap(length: int, width: int) -> float:
    """P(two uniformly placed ``width``-windows on ``length`` bases overlap)."""
    n = length - width + 1
    if n <= 1:
        return 1.0
    starts = np.arange(n)
    return float((np.abs(starts[:, None] - starts[None, :]) < width).mean())


def top_window_overlap(a, b, width: int = 10) -> dict:
    """Per-sequence attributions ``a``, ``b`` (``(N, L)`` or lists) -> share of sequences whose top windows
    overlap, the mean distance between the windows' starts, the median per-sequence Pearson r, and chance."""
    overlaps, distances, correlations, lengths = [], [], [], []
    for x, y in zip(a, b):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        sx, sy = top_window(x, width), top_window(y, width)
        overlaps.append(abs(sx - sy) < width)
        distances.append(abs(sx - sy))
        correlations.append(np.corrcoef(x, y)[0, 1] if x.std() > 0 and y.std() > 0 else np.nan)
        lengths.append(len(x))
    return {"width": width, "sequences": len(overlaps), "overlap_share": float(np.mean(overlaps)),
            "mean_start_distance": float(np.mean(distances)), "median_pearson_r": float(np.nanmedian(correlations)),
            "chance_overlap": float(np.mean([chance_overlap(n, width) for n in lengths]))}
