"""Metric functions against values computed by hand (see the comments for each count)."""

import math

import numpy as np
import pytest
from transformers import EvalPrediction

from modeling_genebert.downstream.metrics import (
    METRIC_DESCRIPTIONS,
    build_compute_metrics,
    classification_metrics,
    compute_metrics,
    describe,
    splice_metrics,
    spliceai_pr_auc,
    spliceai_topk_accuracy,
)


def probs_binary(p1):
    p1 = np.asarray(p1, dtype=float)
    return np.stack([1 - p1, p1], axis=1)


def test_binary_macro_metrics_by_hand():
    labels = [0, 0, 0, 0, 1, 1]
    p1 = [0.1, 0.2, 0.6, 0.3, 0.9, 0.4]  # predicted: 0 0 1 0 1 0
    m = classification_metrics(labels, probs_binary(p1))
    # class 0: TP 3, FP 1 (row 5), FN 1 (row 2) -> P 3/4, R 3/4; class 1: TP 1, FP 1, FN 1 -> P 1/2, R 1/2
    assert m["precision"] == pytest.approx((3 / 4 + 1 / 2) / 2)  # 0.625 (micro would be 4/6)
    assert m["recall"] == pytest.approx(0.625)
    assert m["f1"] == pytest.approx(0.625)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (1*3 - 1*1) / sqrt(2*2*4*4)
    assert m["mcc"] == pytest.approx(2 / 8)
    # AUC: positive scores {0.9, 0.4} vs negatives {0.1, 0.2, 0.6, 0.3}: 4 + 3 of 8 pairs ranked right
    assert m["roc_auc"] == pytest.approx(7 / 8)


def test_constant_classifier_scores_the_documented_chance_levels():
    labels = [0, 1] * 10
    m = classification_metrics(labels, probs_binary([0.3] * 20))
    assert m["precision"] == pytest.approx(0.25)
    assert m["recall"] == pytest.approx(0.5)
    assert m["roc_auc"] == pytest.approx(0.5)
    assert m["mcc"] == 0.0


def test_three_class_one_vs_rest_macro_auc_by_hand():
    labels = [0, 1, 2, 0, 1, 2]
    probs = np.array(
        [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6]]
    )
    m = classification_metrics(labels, probs)
    # class 0: pos {0.6, 0.3} vs neg {0.2, 0.1, 0.5, 0.2}: 4 + 3 = 7/8
    # class 1: pos {0.5, 0.4} vs neg {0.3, 0.2, 0.4, 0.2}: 4 + 3 + 0.5 (tie) = 7.5/8
    # class 2: pos {0.7, 0.6} vs neg {0.1, 0.3, 0.3, 0.1}: 8/8
    assert m["roc_auc"] == pytest.approx((7 / 8 + 7.5 / 8 + 1) / 3)
    # predicted 0 1 2 1 0 2: classes 0 and 1 have P = R = 1/2, class 2 has P = R = 1
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)


def test_auc_is_nan_when_a_class_is_missing():
    m = classification_metrics([1, 1, 1], probs_binary([0.2, 0.7, 0.9]))
    assert math.isnan(m["roc_auc"])
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_spliceai_topk_accuracy_by_hand():
    y_true = [0, 1, 0, 1, 0, 0, 1, 0]  # N = 3 true sites (indices 1, 3, 6)
    score = [0.9, 0.8, 0.1, 0.7, 0.6, 0.2, 0.3, 0.05]
    # the 3 highest scores are indices 0 (no site), 1, 3 -> 2 of 3
    assert spliceai_topk_accuracy(y_true, score) == pytest.approx(2 / 3)
    # 2N = 6 highest: 0 1 3 4 6 5 hold all 3 sites -> 3 / min(6, 3)
    assert spliceai_topk_accuracy(y_true, score, top_length=2) == pytest.approx(1.0)
    # 0.5N -> int(1.5) = 1 prediction: index 0, not a site
    assert spliceai_topk_accuracy(y_true, score, top_length=0.5) == 0.0
    # perfect ranking and an empty class
    assert spliceai_topk_accuracy([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert math.isnan(spliceai_topk_accuracy([0, 0, 0], [0.1, 0.2, 0.3]))


def test_spliceai_topk_is_not_argmax_accuracy():
    # every true site scores only 0.4 (never the arg-max class) yet ranks above all others
    y_true = [1, 1, 0, 0, 0]
    score = [0.4, 0.4, 0.1, 0.2, 0.3]
    assert spliceai_topk_accuracy(y_true, score) == 1.0


def test_spliceai_pr_auc_by_hand():
    y_true = [0, 1, 0, 1, 0, 0, 1, 0]
    score = [0.9, 0.8, 0.1, 0.7, 0.6, 0.2, 0.3, 0.05]
    # ranked: F T T F T ... -> precision at each true site 1/2, 2/3, 3/5; AP = their mean
    assert spliceai_pr_auc(y_true, score) == pytest.approx((1 / 2 + 2 / 3 + 3 / 5) / 3)


def test_splice_metrics_exclude_the_neither_class_and_average_the_sites():
    labels = np.array([0, 1, 2, 2, 0, 1, 2, 2])
    probs = np.array(
        [
            [0.7, 0.1, 0.2],
            [0.1, 0.3, 0.6],  # a donor (1) scored low by arg-max, but ranked first for class 1
            [0.1, 0.1, 0.8],
            [0.2, 0.2, 0.6],
            [0.3, 0.1, 0.6],
            [0.1, 0.25, 0.65],
            [0.4, 0.2, 0.4],
            [0.1, 0.1, 0.8],
        ]
    )
    m = splice_metrics(labels, probs, neither_label=2, id2label={0: "acceptor", 1: "donor", 2: "neither"})
    # acceptor: N = 2, the two highest class-0 scores are rows 0 (0.7, true) and 6 (0.4, false) -> 1/2
    assert m["topk_accuracy_acceptor"] == pytest.approx(0.5)
    # donor: N = 2, highest class-1 scores rows 1 (0.3) and 5 (0.25), both true -> 1
    assert m["topk_accuracy_donor"] == pytest.approx(1.0)
    assert m["topk_accuracy"] == pytest.approx(0.75)
    assert "topk_accuracy_neither" not in m
    # acceptor ranking 0.7 T, 0.4 F, 0.3 T -> AP = (1 + 2/3) / 2; donor AP = 1
    assert m["pr_auc_acceptor"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["pr_auc"] == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)


def test_compute_metrics_for_trainer_takes_logits():
    logits = np.log(probs_binary([0.1, 0.2, 0.6, 0.3, 0.9, 0.4]))
    m = compute_metrics(EvalPrediction(predictions=logits, label_ids=np.array([0, 0, 0, 0, 1, 1])))
    assert m["precision"] == pytest.approx(0.625)
    assert m["roc_auc"] == pytest.approx(7 / 8)
    splice = build_compute_metrics(metric_sets=("classification", "splice"), neither_label=2)
    out = splice(EvalPrediction(predictions=(np.zeros((3, 3)),), label_ids=np.array([0, 1, 2])))
    assert {"topk_accuracy", "pr_auc", "topk_accuracy_0", "pr_auc_1"} <= set(out)


def test_every_metric_is_described():
    names = ["eval_precision", "recall", "roc_auc", "f1", "mcc", "accuracy", "topk_accuracy", "pr_auc_donor"]
    described = describe(names)
    assert set(described) == set(names)
    assert "macro" in described["eval_precision"] and "one-vs-rest" in described["roc_auc"]
    assert "donor" in described["pr_auc_donor"]
    assert set(METRIC_DESCRIPTIONS) >= {"precision", "recall", "roc_auc", "f1", "mcc", "topk_accuracy", "pr_auc"}
