"""The model-free arms: logistic regression (scikit-learn) on k-mer profiles (``kmer_lr``) or motif scores (``motif_lr``).

``kmer_lr``: each sequence becomes the frequency vector of its overlapping k-mers (``CountVectorizer`` over
characters, rows L1-normalised). ``motif_lr``: each sequence becomes its best log-odds score per motif (both strands,
the package's motif scanner), the region matrix ``--region_input`` fuses; it asks whether a model beats motif
scanning alone. Both are standardised; the inverse regularisation strength ``C`` is chosen among :data:`C_GRID` by
MCC on the selection split, and the chosen model scores the reported split with the fine-tuned arms' metrics.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, normalize

from modeling_genebert.downstream.metrics import compute_all
from modeling_genebert.downstream.region_input import RegionMatrixBuilder

C_GRID = (0.01, 0.1, 1.0)


class KmerFeatures:
    """Overlapping k-mer frequencies (sparse)."""

    def __init__(self, k: int):
        self.vectorizer = CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False, dtype=np.float64)
        self.k = k

    def fit_transform(self, sequences):
        return normalize(self.vectorizer.fit_transform([s.upper() for s in sequences]), norm="l1")

    def transform(self, sequences):
        return normalize(self.vectorizer.transform([s.upper() for s in sequences]), norm="l1")

    def describe(self) -> dict:
        return {"kmer": self.k, "features": len(self.vectorizer.vocabulary_)}


class MotifFeatures:
    """Each motif's best log-odds score over the sequence, both strands (``RegionMatrixBuilder``, one row)."""

    def __init__(self, motifs: str | None):
        self.builder = RegionMatrixBuilder(motifs)

    def transform(self, sequences):
        return self.builder(list(sequences)).reshape(len(sequences), -1)

    fit_transform = transform

    def describe(self) -> dict:
        return {"motifs": str(self.builder.description), "features": self.builder.num_tfs}


def run_linear_baseline(data, features, seed: int, metric_sets=("classification",), neither_label=None,
                        id2label=None) -> dict:
    """``data``: a ``DatasetDict`` with train / validation (/ test) of ``sequence`` + ``label``; returns a summary."""
    cpu, wall = time.process_time(), time.perf_counter()

    def labels(split):
        return np.asarray(data[split]["label"])

    train_x = features.fit_transform(data["train"]["sequence"])
    inputs = {split: features.transform(data[split]["sequence"]) for split in data if split != "train"}
    best = None
    for c in C_GRID:
        model = make_pipeline(StandardScaler(with_mean=False), LogisticRegression(C=c, max_iter=500, random_state=seed))
        model.fit(train_x, labels("train"))
        scores = _score(model, inputs["validation"], labels("validation"), metric_sets, neither_label, id2label)
        if best is None or scores["mcc"] > best[1]["mcc"]:
            best = (c, scores, model)
    c, selection, model = best
    results = {"validation": selection}
    if "test" in data:
        results["test"] = _score(model, inputs["test"], labels("test"), metric_sets, neither_label, id2label)
    return {
        "results": results,
        "hyperparameters": {**features.describe(), "C": c, "C_grid": list(C_GRID)},
        "compute": {"train CPU minutes": round((time.process_time() - cpu) / 60, 2),
                    "train wall seconds": round(time.perf_counter() - wall, 1)},
        "data_sizes": {split: len(ds) for split, ds in data.items()},
    }


def run_kmer_lr(data, k: int, seed: int, metric_sets=("classification",), neither_label=None, id2label=None) -> dict:
    return run_linear_baseline(data, KmerFeatures(k), seed, metric_sets, neither_label, id2label)


def run_motif_lr(data, motifs: str | None, seed: int, metric_sets=("classification",), neither_label=None,
                 id2label=None) -> dict:
    return run_linear_baseline(data, MotifFeatures(motifs), seed, metric_sets, neither_label, id2label)


def _score(model, inputs, labels, metric_sets, neither_label, id2label) -> dict:
    probabilities = model.predict_proba(inputs)
    logits = np.log(np.clip(probabilities, 1e-12, None))
    metrics = compute_all(labels, logits, metric_sets=metric_sets, neither_label=neither_label, id2label=id2label)
    return {k: round(float(v), 6) for k, v in metrics.items()}


__all__ = ["C_GRID", "KmerFeatures", "MotifFeatures", "run_kmer_lr", "run_linear_baseline", "run_motif_lr"]
