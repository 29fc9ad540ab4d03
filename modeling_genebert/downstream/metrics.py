"""Evaluation metrics for GeneBERT's downstream tasks, as the paper and its baselines report them.

Every metric is computed with scikit-learn from the labels and the predicted class
probabilities (softmax of the logits). Names used in every output (results JSON, model
card, printed tables) and what they mean:

==================  ==============================================================
name                definition
==================  ==============================================================
``precision``       **macro** precision: unweighted mean over classes of TP/(TP+FP)
                    (``precision_score(average="macro", zero_division=0)``); the
                    paper's "Precision". A constant classifier scores 0.25 on a
                    balanced binary set (0.5 for the predicted class, 0 for the other).
``recall``          **macro** recall: unweighted mean over classes of TP/(TP+FN), i.e.
                    balanced accuracy; the paper's "Recall". Constant classifier: 0.5.
``roc_auc``         area under the ROC curve of the class-1 probability (binary); for
                    more classes the **one-vs-rest macro** average (each class against
                    the rest, unweighted mean). The paper's "AUC". Chance: 0.5.
``f1``              **macro** F1: unweighted mean over classes of the per-class F1 (as
                    the GUE benchmark tables report it).
``mcc``             Matthews correlation coefficient (multi-class generalisation,
                    ``matthews_corrcoef``); 0 for chance, 1 for perfect (GUE's headline).
``accuracy``        fraction of correct arg-max predictions.
``topk_accuracy``   SpliceAI's top-k accuracy (splice task only), see
                    :func:`spliceai_topk_accuracy`; mean over the splice-site classes,
                    per class as ``topk_accuracy_<label>``.
``pr_auc``          SpliceAI's PR-AUC (splice task only): average precision
                    (``average_precision_score``) of each splice-site class's
                    probability against "this class or not", mean over the splice-site
                    classes, per class as ``pr_auc_<label>``.
==================  ==============================================================

SpliceAI's top-k accuracy (Jaganathan et al. 2019, Cell; ``print_topl_statistics`` in
the SpliceAI code) is defined per splice-site type (acceptor, donor): with N the number
of positions that truly are that type, take the N positions with the highest predicted
probability for the type; the top-k accuracy is the fraction of those N that are true
sites -- equivalently, precision (= recall) at the threshold where as many sites are
predicted as exist. SpliceAI also reports the same quantity for 0.5N, 2N and 4N
predictions (``top_length``), dividing by ``min(#predicted, N)``; the paper's Table 4 is
the ``top_length=1`` value, our default. Ties are broken as SpliceAI's ``np.argsort`` does
for distinct values; we use a stable sort, so among equal scores the later index ranks
higher. The "neither" class is not a splice site and is excluded from both splice
metrics when the caller names it (``neither_label``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

# One line per metric: reused by the CLI output, the results JSON and the model card.
METRIC_DESCRIPTIONS: dict[str, str] = {
    "precision": "macro precision (unweighted mean of per-class precision; paper's 'Precision')",
    "recall": "macro recall (unweighted mean of per-class recall = balanced accuracy; paper's 'Recall')",
    "roc_auc": "ROC-AUC (binary: of the class-1 probability; >2 classes: one-vs-rest macro average; paper's 'AUC')",
    "f1": "macro F1 (unweighted mean of per-class F1; as in GUE tables)",
    "mcc": "Matthews correlation coefficient (as in GUE tables)",
    "accuracy": "accuracy (fraction of correct arg-max predictions)",
    "topk_accuracy": "SpliceAI top-k accuracy: fraction of true sites among the N highest-scored positions "
    "(N = number of true sites), per splice-site class, mean over splice-site classes",
    "pr_auc": "SpliceAI PR-AUC: average precision of each splice-site class vs the rest, mean over splice-site classes",
}

PAPER_METRICS = ("precision", "recall", "roc_auc")


def softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def spliceai_topk_accuracy(y_true: Sequence[int], y_score: Sequence[float], top_length: float = 1.0) -> float:
    """SpliceAI's top-k accuracy of one splice-site type.

    Args:
        y_true: 1 where the position truly is a site of this type, else 0.
        y_score: the predicted probability (or any score) of this type.
        top_length: how many predictions to take, in multiples of the number N of true
            sites (SpliceAI reports 0.5, 1, 2, 4; the headline "top-k accuracy" is 1).

    Returns ``|true sites among the int(top_length * N) highest scores| / min(that count, N)``;
    ``nan`` when there is no true site (SpliceAI's code would silently take every position).
    """
    y_true = np.asarray(y_true).astype(bool).ravel()
    y_score = np.asarray(y_score, dtype=np.float64).ravel()
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true has {y_true.size} entries but y_score has {y_score.size}")
    n_true = int(y_true.sum())
    n_pred = int(top_length * n_true)
    if n_true == 0 or n_pred == 0:
        return float("nan")
    top = np.argsort(y_score, kind="stable")[-n_pred:]
    return float(y_true[top].sum() / min(n_pred, n_true))


def spliceai_pr_auc(y_true: Sequence[int], y_score: Sequence[float]) -> float:
    """SpliceAI's PR-AUC of one splice-site type: ``average_precision_score(y_true, y_score)``."""
    y_true = np.asarray(y_true).astype(int).ravel()
    if y_true.sum() == 0:
        return float("nan")
    return float(average_precision_score(y_true, np.asarray(y_score, dtype=np.float64).ravel()))


def classification_metrics(
    labels: Sequence[int],
    probabilities: np.ndarray,
    *,
    num_labels: int | None = None,
) -> dict[str, float]:
    """Macro precision / recall / F1, ROC-AUC (one-vs-rest macro for >2 classes), MCC, accuracy.

    ``probabilities`` is ``(n, num_labels)`` (rows need not sum to 1 for the AUC, but the
    arg-max gives the predicted class). ROC-AUC is ``nan`` when a class is absent from ``labels``.
    """
    labels = np.asarray(labels).astype(int).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.size:
        raise ValueError(f"probabilities must be (n={labels.size}, num_labels), got {probabilities.shape}")
    num_labels = num_labels or probabilities.shape[1]
    classes = list(range(num_labels))
    predictions = probabilities.argmax(axis=-1)
    out = {
        "precision": float(precision_score(labels, predictions, labels=classes, average="macro", zero_division=0)),
        "recall": float(recall_score(labels, predictions, labels=classes, average="macro", zero_division=0)),
        "f1": float(f1_score(labels, predictions, labels=classes, average="macro", zero_division=0)),
        "mcc": float(matthews_corrcoef(labels, predictions)),
        "accuracy": float(accuracy_score(labels, predictions)),
    }
    present = np.unique(labels)
    if len(present) < num_labels:
        out["roc_auc"] = float("nan")
    elif num_labels == 2:
        out["roc_auc"] = float(roc_auc_score(labels, probabilities[:, 1]))
    else:
        scores = probabilities / probabilities.sum(axis=1, keepdims=True)  # sklearn's ovr wants rows summing to 1
        out["roc_auc"] = float(roc_auc_score(labels, scores, multi_class="ovr", average="macro", labels=classes))
    return out


def splice_metrics(
    labels: Sequence[int],
    probabilities: np.ndarray,
    *,
    neither_label: int | None = None,
    id2label: dict[int, str] | None = None,
    top_length: float = 1.0,
) -> dict[str, float]:
    """SpliceAI's top-k accuracy and PR-AUC per splice-site class (all classes but ``neither_label``) and their means."""
    labels = np.asarray(labels).astype(int).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64)
    sites = [c for c in range(probabilities.shape[1]) if c != neither_label]
    out: dict[str, float] = {}
    topk, prauc = [], []
    for c in sites:
        name = (id2label or {}).get(c, str(c))
        out[f"topk_accuracy_{name}"] = spliceai_topk_accuracy(labels == c, probabilities[:, c], top_length)
        out[f"pr_auc_{name}"] = spliceai_pr_auc(labels == c, probabilities[:, c])
        topk.append(out[f"topk_accuracy_{name}"])
        prauc.append(out[f"pr_auc_{name}"])
    out["topk_accuracy"] = float(np.nanmean(topk)) if np.isfinite(topk).any() else float("nan")
    out["pr_auc"] = float(np.nanmean(prauc)) if np.isfinite(prauc).any() else float("nan")
    return out


# The metric sets a task can name (``Task.metrics`` in dataset_scripts.tasks): name -> function of
# (labels, probabilities, neither_label=..., id2label=...) returning a metric dict.
METRIC_SETS: dict[str, Callable[..., dict[str, float]]] = {
    "classification": lambda labels, probabilities, **_: classification_metrics(labels, probabilities),
    "splice": lambda labels, probabilities, **kw: splice_metrics(labels, probabilities, **kw),
}


def _check_metric_sets(metric_sets: Sequence[str]) -> None:
    unknown = [name for name in metric_sets if name not in METRIC_SETS]
    if unknown:
        raise ValueError(f"unknown metric set(s) {unknown}; known: {sorted(METRIC_SETS)}")


def compute_all(
    labels: Sequence[int],
    logits: np.ndarray,
    *,
    metric_sets: Sequence[str] = ("classification",),
    neither_label: int | None = None,
    id2label: dict[int, str] | None = None,
) -> dict[str, float]:
    """Every metric of the named sets (a task's ``metrics``) from logits."""
    _check_metric_sets(metric_sets)
    probabilities = softmax(logits)
    out: dict[str, float] = {}
    for name in metric_sets:
        out.update(METRIC_SETS[name](labels, probabilities, neither_label=neither_label, id2label=id2label))
    return out


def build_compute_metrics(
    *,
    metric_sets: Sequence[str] = ("classification",),
    neither_label: int | None = None,
    id2label: dict[int, str] | None = None,
) -> Callable:
    """A ``compute_metrics`` for ``transformers.Trainer`` (``EvalPrediction`` -> metric dict)."""
    _check_metric_sets(metric_sets)

    def compute_metrics(eval_prediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        return compute_all(
            eval_prediction.label_ids, logits, metric_sets=metric_sets, neither_label=neither_label, id2label=id2label
        )

    return compute_metrics


# the plain binary / multi-class version, for Trainer(compute_metrics=compute_metrics)
compute_metrics = build_compute_metrics()


def describe(names) -> dict[str, str]:
    """The description of each metric name (per-class splice names included)."""
    out = {}
    for name in names:
        base = name.removeprefix("eval_").removeprefix("test_")
        for key in ("topk_accuracy", "pr_auc"):
            if base.startswith(key + "_"):
                out[name] = METRIC_DESCRIPTIONS[key].split(",")[0] + f" of class {base[len(key) + 1:]!r}"
                break
        else:
            if base in METRIC_DESCRIPTIONS:
                out[name] = METRIC_DESCRIPTIONS[base]
    return out


__all__ = [
    "METRIC_DESCRIPTIONS",
    "METRIC_SETS",
    "PAPER_METRICS",
    "build_compute_metrics",
    "classification_metrics",
    "compute_all",
    "compute_metrics",
    "describe",
    "softmax",
    "splice_metrics",
    "spliceai_pr_auc",
    "spliceai_topk_accuracy",
]
