"""``genebert-benchmark --sweep``: an arm's grid of fine-tuning schedules and the choice among them.

A grid point is a set of recipe overrides (learning rate, epochs, warm-up); the runner turns a recipe
into a fine-tuning call, so this module never needs to know how fine-tuning is invoked. The choice
reads only the selection split's score: the reported split must not steer it.
"""

from __future__ import annotations

import itertools
import math

from modeling_genebert.evaluation.benchmark.recipes import SWEEP_KEYS

SHORT_NAMES = {"learning_rate": "lr", "lora_learning_rate": "lr", "num_train_epochs": "ep", "warmup_steps": "wu"}


def grid(sweep: dict, arm: str, epochs: float) -> list[dict]:
    """Every combination of the arm's sweep axes, as recipe overrides in grid order (ties go to the earlier point).

    The lora arm varies ``lora_learning_rate`` (its own rate), the other arms ``learning_rate``; an epochs
    value "+N" becomes ``epochs + N``. Points that coincide after that (e.g. "+0" and the same number) run once.
    """
    rate = "lora_learning_rate" if arm == "lora" else "learning_rate"
    axes = [key for key in SWEEP_KEYS if key in sweep and key in (rate, "num_train_epochs", "warmup_steps")]
    values = [[_absolute(key, value, epochs) for value in sweep[key]] for key in axes]
    points: list[dict] = []
    for combination in itertools.product(*values):
        point = dict(zip(axes, combination))
        if point not in points:
            points.append(point)
    return points


def _absolute(key: str, value, epochs: float):
    if key == "num_train_epochs" and isinstance(value, str):
        total = epochs + float(value)
        return int(total) if float(total).is_integer() else total
    return value


def point_name(point: dict) -> str:
    """A point's run-folder name, e.g. ``lr0.0003-ep5-wu0.1`` (``recipe`` for no overrides)."""
    return "-".join(f"{SHORT_NAMES[key]}{value:g}" for key, value in point.items()) or "recipe"


def choose(table: list[dict]) -> int:
    """Index of the point with the highest ``selection_mcc``; ties and missing scores go to the earlier point."""
    best = 0
    for i, row in enumerate(table):
        score, leader = row.get("selection_mcc"), table[best].get("selection_mcc")
        if _finite(score) and (not _finite(leader) or score > leader):
            best = i
    return best


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


__all__ = ["choose", "grid", "point_name"]
