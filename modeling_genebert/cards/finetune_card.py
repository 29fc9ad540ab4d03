"""The model card of a fine-tuned GeneBERT folder (written by ``genebert-finetune``).

Built on :func:`.model_card.render_model_card`: the YAML header carries ``model-index``
results (one entry per metric and evaluated split, ``metric_name`` saying what the number
is, e.g. "macro precision"), and the body a readable table with the same numbers, the
metric definitions, whether region input was used, the seed, the hyper-parameters and
the data sizes.
"""

from __future__ import annotations

import json
import math
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from dataset_scripts.tasks import get_task, list_tasks

from modeling_genebert.cards.model_card import BASE_TAGS, render_model_card
from modeling_genebert.downstream.metrics import METRIC_DESCRIPTIONS, describe

# model-index metric types: Hub-known ids where there is one
_METRIC_TYPES = {"roc_auc": "roc_auc", "pr_auc": "pr_auc", "topk_accuracy": "top_k_accuracy"}
_ORDER = ("precision", "recall", "roc_auc", "f1", "mcc", "accuracy", "topk_accuracy", "pr_auc")



def task_title(task: str) -> str:
    """The registered task's title; a name no longer registered (an old results file) stands for itself."""
    return get_task(task).title if task in list_tasks() else task


def _ordered(metrics: dict[str, float]) -> list[str]:
    head = [m for m in _ORDER if m in metrics]
    rest = sorted(m for m in metrics if m not in head and _is_metric(m))
    return head + rest


def _is_metric(name: str) -> bool:
    return name in METRIC_DESCRIPTIONS or name.startswith(("topk_accuracy_", "pr_auc_"))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _rows(results: dict[str, dict[str, float]]) -> list[list[str]]:
    """Header + one row per metric: name, a value per evaluated split, the metric's definition."""
    splits = list(results)
    names: list[str] = []
    for split in splits:
        names += [n for n in _ordered(results[split]) if n not in names]
    descriptions = describe(names)
    rows = [["metric", *splits, "definition"]]
    for name in names:
        rows.append([name, *(_fmt(results[s].get(name, float("nan"))) for s in splits), descriptions.get(name, "")])
    return rows


def results_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown table: one row per metric (with its definition), one column per evaluated split."""
    header, *rows = _rows(results)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def with_rc_average(results: dict[str, dict[str, float]], results_rc_average: dict[str, dict[str, float]] | None):
    """The table's columns: each split as evaluated, then (``--rc_average``) with both strands' logits averaged."""
    return {**results, **{f"{split} (rc-averaged)": m for split, m in (results_rc_average or {}).items()}}


def results_text(results: dict[str, dict[str, float]]) -> str:
    """The same table for a terminal: aligned columns, a dashed rule under the header."""
    rows = _rows(results)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(rows[0][-1]))
    return "\n".join(line.rstrip() for line in lines)


def eval_results(
    results: dict[str, dict[str, float]], *, task: str, dataset_type: str, dataset_name: str
) -> list[EvalResult]:
    out = []
    for split, metrics in results.items():
        descriptions = describe(_ordered(metrics))
        for name in _ordered(metrics):
            value = metrics[name]
            if isinstance(value, float) and math.isnan(value):
                continue
            base = next((b for b in _METRIC_TYPES if name.startswith(b)), name)
            out.append(
                EvalResult(
                    task_type="text-classification",
                    task_name=task_title(task),
                    dataset_type=dataset_type,
                    dataset_name=dataset_name,
                    dataset_split=split,
                    metric_type=_METRIC_TYPES.get(base, base) + name[len(base) :],
                    metric_value=round(float(value), 4),
                    metric_name=descriptions.get(name, name),
                )
            )
    return out


def finetuning_model_card(
    *,
    task: str,
    base_model: str,
    init: str,
    results: dict[str, dict[str, float]],
    dataset_name: str,
    dataset_type: str | None = None,
    data_sizes: dict[str, int],
    label_names: list[str],
    region_input: dict[str, Any] | None,
    hyperparameters: dict[str, Any],
    seed: int,
    compute: dict[str, Any] | None = None,
    results_rc_average: dict[str, dict[str, float]] | None = None,
) -> ModelCard:
    """Card for a fine-tuned GeneBERT sequence classifier.

    ``results`` maps a split name ("validation", "test") to its metric dict (see
    :mod:`.metrics`); ``init`` says where the weights started ("pre-trained GeneBERT",
    "DNABERT/BERT checkpoint", "random (from scratch)"). ``results_rc_average`` (the same splits scored with
    both strands' logits averaged) adds columns to the table, not to ``model-index``.
    """
    card_data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=BASE_TAGS + ["sequence-classification", task],
        model_name=f"GeneBERT {task_title(task)}",
        eval_results=eval_results(
            results, task=task, dataset_type=dataset_type or dataset_name, dataset_name=dataset_name
        )
        or None,
        metrics=sorted({m for r in results.values() for m in r if m in METRIC_DESCRIPTIONS}),
    )
    setup = {
        "task": f"{task} ({task_title(task)})",
        "labels": ", ".join(f"{i} = {name}" for i, name in enumerate(label_names)),
        "initial weights": f"{init} (`{base_model}`)",
        "region input": (
            "yes: region matrix computed on the fly by motif scanning "
            f"({region_input.get('motifs')}, {region_input.get('rows')} tile(s)"
            f"{' x 2 strands' if region_input.get('strands') == 'separate' else ''} x {region_input.get('num_tfs')} TFs, "
            f"{region_input.get('aggregation')} log-odds) and fused with [CLS]"
            f"{', plus a linear read-out to the logits (--region_wide)' if region_input.get('wide') else ''}"
            if region_input
            else "no (sequence only)"
        ),
        "seed": seed,
        **{f"{split} samples": n for split, n in data_sizes.items()},
    }
    if compute:
        setup.update({k: v for k, v in compute.items()})
    lines = ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in setup.items()]
    sections = {
        "Fine-tuning setup": "\n".join(lines),
        "Results": results_table(with_rc_average(results, results_rc_average))
        + ("\n\n*(rc-averaged)*: the logits of each sequence and of its reverse complement averaged."
           if results_rc_average else "")
        + "\n\nMacro averages weight every class equally; a constant classifier scores precision 0.25, "
        "recall 0.5 and ROC-AUC 0.5 on a balanced binary set.",
        "Training hyper-parameters": "```json\n" + json.dumps(hyperparameters, indent=2, default=str) + "\n```",
        "Limitations": "Evaluated only on the splits listed above; small CPU budgets unless stated. "
        "Not a clinical or diagnostic tool.",
    }
    return render_model_card(
        title=f"GeneBERT fine-tuned for {task_title(task)}",
        summary=f"A GeneBERT sequence classifier fine-tuned on `{dataset_name}` "
        f"({', '.join(f'{n} {s}' for s, n in data_sizes.items())} samples), starting from {init}.",
        card_data=card_data,
        auto_class="AutoModelForSequenceClassification",
        sections=sections,
    )


__all__ = ["eval_results", "finetuning_model_card", "results_table", "results_text", "task_title", "with_rc_average"]
