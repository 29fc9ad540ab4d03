"""``genebert-benchmark --seed_ensemble``: score the mean of the seeds' logits, per (task, model, arm, levers).

Each fine-tuned run folder (kept: ``--seed_ensemble`` keeps the weights) is loaded as ``genebert-predict``
loads it; the reported split is read as ``genebert-finetune`` reads it (the task's reader, the recipe's
class names, the ``--max_eval_samples`` first rows); the members' logits, windowed and batched as
``genebert-predict`` does, are averaged before the softmax (:class:`~modeling_genebert.finetuning.predict.Predictor`
with ``ensemble``) and scored with the task's metric sets. One row per group, beside the mean ± sd over seeds.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from dataset_scripts.tasks import ReadOptions, get_task
from modeling_genebert.downstream.metrics import compute_all
from modeling_genebert.evaluation.benchmark.report import levers_label

logger = logging.getLogger("genebert.benchmark")

ENSEMBLE_ARMS = ("finetune", "lora")
WEIGHT_FILES = ("model.safetensors", "adapter_model.safetensors")


def _eval_split(task, recipe: dict, max_eval_samples: int | None) -> tuple[list[str], np.ndarray, list[str]]:
    """``(sequences, label ids, class names)`` of the reported split, read as genebert-finetune reads it."""
    from datasets import ClassLabel

    path = task.files["test"] if task.has_test else task.files["dev"]
    names = [n.strip() for n in recipe["class_names"].split(",")] if recipe.get("class_names") else None
    data = get_task(task.task).read({"train": str(path), "test": str(path)}, ReadOptions(label_names=names))
    if not isinstance(data["test"].features["label"], ClassLabel):
        data = data.class_encode_column("label")
    split = data["test"]
    if max_eval_samples is not None and len(split) > max_eval_samples:
        split = split.select(range(max_eval_samples))
    return list(split["sequence"]), np.asarray(split["label"]), list(split.features["label"].names)


def ensemble_rows(records: list[dict], tasks: dict, recipes: dict, max_eval_samples: int | None,
                  precision: str = "auto") -> list[dict]:
    """One report row per (task, model, arm, levers) with two or more fine-tuned seeds whose weights are kept."""
    from modeling_genebert.finetuning.predict import Predictor, load_classifier

    groups: dict[tuple, list[dict]] = {}
    for record in records:
        if record["arm"] in ENSEMBLE_ARMS:
            groups.setdefault((record["task"], record["model"], record["arm"], levers_label(record.get("levers"))), []).append(record)
    rows = []
    for (task_name, model, arm, levers), runs in groups.items():
        folders = [Path(r["run_dir"]) for r in sorted(runs, key=lambda r: r["seed"])
                   if r.get("run_dir") and any((Path(r["run_dir"]) / name).is_file() for name in WEIGHT_FILES)]
        if len(folders) < 2:
            logger.info("seed ensemble %s %s %s: %d run(s) with kept weights, no ensemble", model, task_name, arm, len(folders))
            continue
        started = time.process_time()
        task = tasks[task_name]
        sequences, labels, class_names = _eval_split(task, recipes[task_name], max_eval_samples)
        members = [load_classifier(folder) for folder in folders]
        if list(members[0].label_names) != class_names:
            raise ValueError(f"seed ensemble {model} {task_name}: the classifiers' classes {list(members[0].label_names)} "
                             f"are not the split's {class_names}")
        predictor = Predictor(members[0], batch_size=128, precision=precision, ensemble=members[1:])
        logits, _ = predictor.ensemble_logits(sequences, str(task.folder))
        metrics = compute_all(labels, logits, metric_sets=get_task(task.task).metrics, id2label=dict(enumerate(class_names)))
        seeds = sorted(r["seed"] for r in runs if r.get("run_dir") and Path(r["run_dir"]) in folders)
        rows.append({
            "task": task_name, "model": model, "arm": arm, "levers": levers, "rc_average": False, "seed_ensemble": True,
            "eval_split": runs[0]["eval_split"], "selection": runs[0]["selection"],
            "cpu_minutes": round((time.process_time() - started) / 60, 2), "sweep": None, "seeds": seeds,
            **{name: {"mean": float(value), "sd": 0.0, "n": 1} for name, value in metrics.items() if name != "accuracy"},
        })
        logger.info("seed ensemble %s %s %s (seeds %s): MCC %.3f", model, task_name, arm, seeds, metrics.get("mcc", float("nan")))
    return rows


__all__ = ["ensemble_rows"]
