"""True labels of the explained sequences (when the input table has them) and the model's quality on them.

A CSV/TSV input with a label column (``--label_column``, default ``label``) gives each sequence its
true class, by name (``bound``) or id (``1``). The report then shows the true label beside the
predicted one and the model's accuracy, ROC-AUC, MCC and F1 on these sequences, computed by
:func:`modeling_genebert.downstream.metrics.classification_metrics` (the same numbers
``genebert-finetune`` reports), so a reader knows how far to trust the explanations.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from dataset_scripts.readers import open_text

QUALITY_METRICS = ("accuracy", "roc_auc", "mcc", "f1", "precision", "recall")


def read_labels(path: str | os.PathLike, label_column: str, label_names: list[str]) -> list[int] | None:
    """Class ids from ``label_column`` of a CSV/TSV input, in row order; ``None`` for FASTA / plain input or
    a table without that column. A value that is neither a class name nor a class id is a ``ValueError``
    naming the file and line."""
    with open_text(os.fspath(path)) as fh:
        lines = [line.rstrip("\n\r") for line in fh if line.strip()]
    if not lines or lines[0].startswith(">"):
        return None
    delimiter = "\t" if "\t" in lines[0] else ("," if "," in lines[0] else None)
    if delimiter is None:
        return None
    header = [h.strip() for h in lines[0].split(delimiter)]
    if label_column not in header:
        return None
    col = header.index(label_column)
    out = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(delimiter)
        value = fields[col].strip() if len(fields) > col else ""
        out.append(_class_id(value, label_names, f"{os.fspath(path)}:{number}", label_column))
    return out


def _class_id(value: str, label_names: list[str], where: str, column: str) -> int:
    if value in label_names:
        return label_names.index(value)
    try:
        index = int(float(value))
    except ValueError:
        index = None
    if index is None or not 0 <= index < len(label_names) or str(index) != value.split(".")[0]:
        raise ValueError(f"{where}: {column} {value!r} is not a class of the model; its classes are "
                         f"{label_names} (name or id 0..{len(label_names) - 1})")
    return index


def quality(labels, probabilities: np.ndarray, label_names: list[str]) -> tuple[dict, pd.DataFrame]:
    """Metrics (``classification_metrics``) and a per-class count table (true, predicted, correct)."""
    from modeling_genebert.downstream.metrics import classification_metrics

    labels = np.asarray(labels, dtype=int)
    metrics = classification_metrics(labels, probabilities, num_labels=len(label_names))
    predicted = probabilities.argmax(-1)
    counts = pd.DataFrame({
        "class": label_names,
        "true": [int((labels == c).sum()) for c in range(len(label_names))],
        "predicted": [int((predicted == c).sum()) for c in range(len(label_names))],
        "correct": [int(((labels == c) & (predicted == c)).sum()) for c in range(len(label_names))],
    })
    return {k: metrics[k] for k in QUALITY_METRICS if k in metrics} | {"sequences": int(len(labels))}, counts
