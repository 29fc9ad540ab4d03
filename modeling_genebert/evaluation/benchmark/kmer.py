"""The ``kmer_lr`` arm: k-mer frequency profile + logistic regression (scikit-learn), selected on dev.

Each sequence becomes the frequency vector of its overlapping k-mers (``CountVectorizer``
over characters, rows L1-normalised, then standardised); the inverse regularisation
strength ``C`` is chosen among :data:`C_GRID` by MCC on the selection split, and the chosen
model scores the reported split with the same metrics as the fine-tuned arms.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler, normalize

from modeling_genebert.downstream.metrics import compute_all

C_GRID = (0.01, 0.1, 1.0)


def run_kmer_lr(data, k: int, seed: int, metric_sets=("classification",), neither_label=None, id2label=None) -> dict:
    """``data``: a ``DatasetDict`` with train / validation (/ test) of ``sequence`` + ``label``; returns a summary."""
    cpu, wall = time.process_time(), time.perf_counter()

    def texts(split):
        return [s.upper() for s in data[split]["sequence"]]

    def labels(split):
        return np.asarray(data[split]["label"])

    vectorizer = CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False, dtype=np.float64)
    train_x = vectorizer.fit_transform(texts("train"))
    to_freq = FunctionTransformer(lambda x: normalize(x, norm="l1"), accept_sparse=True)
    best = None
    for c in C_GRID:
        model = make_pipeline(to_freq, StandardScaler(with_mean=False),
                              LogisticRegression(C=c, max_iter=500, random_state=seed))
        model.fit(train_x, labels("train"))
        scores = _score(model, vectorizer, texts("validation"), labels("validation"), metric_sets, neither_label, id2label)
        if best is None or scores["mcc"] > best[1]["mcc"]:
            best = (c, scores, model)
    c, selection, model = best
    results = {"validation": selection}
    if "test" in data:
        results["test"] = _score(model, vectorizer, texts("test"), labels("test"), metric_sets, neither_label, id2label)
    return {
        "results": results,
        "hyperparameters": {"kmer": k, "C": c, "C_grid": list(C_GRID), "features": len(vectorizer.vocabulary_)},
        "compute": {"train CPU minutes": round((time.process_time() - cpu) / 60, 2),
                    "train wall seconds": round(time.perf_counter() - wall, 1)},
        "data_sizes": {split: len(ds) for split, ds in data.items()},
    }


def _score(model, vectorizer, texts, labels, metric_sets, neither_label, id2label) -> dict:
    probabilities = model.predict_proba(vectorizer.transform(texts))
    logits = np.log(np.clip(probabilities, 1e-12, None))
    metrics = compute_all(labels, logits, metric_sets=metric_sets, neither_label=neither_label, id2label=id2label)
    return {k: round(float(v), 6) for k, v in metrics.items()}


__all__ = ["C_GRID", "run_kmer_lr"]
