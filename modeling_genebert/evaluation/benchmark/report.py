"""The benchmark's outputs: per-task tables (CSV + markdown), the plot, and ``model-index`` entries in model cards."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from modeling_genebert.cards.finetune_card import task_title
from modeling_genebert.evaluation.benchmark.references import Reference, references_for

REPORT_METRICS = ("mcc", "f1", "precision", "recall", "roc_auc")
METRIC_LABELS = {"mcc": "MCC", "f1": "macro F1", "precision": "macro P", "recall": "macro R", "roc_auc": "ROC-AUC",
                 "topk_accuracy": "top-k acc", "pr_auc": "PR-AUC"}
ARM_LABELS = {"finetune": "fine-tuned", "from_scratch": "from scratch", "lora": "LoRA", "kmer_lr": "k-mer LR", "motif_lr": "motif LR"}
RC_AVERAGE_LABEL = " + RC average"
SEED_ENSEMBLE_LABEL = " + seed ensemble"
SOURCE_NAME = "genebert-benchmark"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder (no half-written file on a kill)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def levers_label(levers: dict | None) -> str:
    """A run's training levers in words (``RC augment, TAPT 300 steps``); empty for none."""
    named = {"rc_augment": lambda v: "RC augment", "tapt_steps": lambda v: f"TAPT {v} steps"}
    return ", ".join(named.get(key, lambda v: f"{key}={v}")(value) for key, value in (levers or {}).items() if value)


def aggregate(records: list[dict], metrics=REPORT_METRICS) -> list[dict]:
    """One row per (task, model, arm, levers): mean, sample sd (ddof=1; 0 for one seed) and n of each metric over seeds.

    Runs scored with reverse-complement averaging (``metrics_rc_average``) add a second row, ``rc_average`` true.
    """
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        key = (record["task"], record["model"], record["arm"], levers_label(record.get("levers")))
        groups.setdefault(key, []).append(record)
    rows = []
    for (task, model, arm, levers), runs in groups.items():
        row = {"task": task, "model": model, "arm": arm, "levers": levers, "rc_average": False,
               "eval_split": runs[0]["eval_split"], "selection": runs[0]["selection"],
               "cpu_minutes": round(sum(r.get("cpu_minutes") or 0 for r in runs), 2), "sweep": runs[0].get("sweep")}
        rows.append({**row, **_over_seeds(runs, "metrics", metrics)})
        averaged = [r for r in runs if r.get("metrics_rc_average")]
        if averaged:
            rows.append({**row, "rc_average": True, **_over_seeds(averaged, "metrics_rc_average", metrics)})
    return rows


def _over_seeds(runs: list[dict], key: str, metrics) -> dict:
    stats = {"seeds": sorted(r["seed"] for r in runs)}
    names = list(metrics) + [m for m in ("topk_accuracy", "pr_auc") if any(m in r[key] for r in runs)]
    for name in names:
        values = np.array([r[key][name] for r in runs if name in r[key]], dtype=float)
        values = values[np.isfinite(values)]
        if len(values):
            stats[name] = {"mean": float(values.mean()),
                           "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "n": int(len(values))}
    return stats


def _cell(stats: dict | None) -> str:
    return "n/a" if not stats else f"{stats['mean']:.3f} ± {stats['sd']:.3f}"


def arm_description(row: dict) -> str:
    """The arm in words with its levers and strand averaging, e.g. ``fine-tuned (RC augment) + RC average``."""
    arm = ARM_LABELS.get(row["arm"], row["arm"])
    arm += f" ({row['levers']})" if row.get("levers") else ""
    return arm + (RC_AVERAGE_LABEL if row.get("rc_average") else "") + (SEED_ENSEMBLE_LABEL if row.get("seed_ensemble") else "")


def arm_label(row: dict) -> str:
    arm = arm_description(row)
    return arm if row["model"] == "-" else f"{row['model']} · {arm}"


def point_text(point: dict | None) -> str:
    """A sweep point in words, e.g. ``learning_rate 0.0003, num_train_epochs 5, warmup_steps 0.1``."""
    return ", ".join(f"{key} {value:g}" for key, value in point.items()) if point else "the recipe"


def to_csv(rows: list[dict]) -> str:
    names = [m for m in (*REPORT_METRICS, "topk_accuracy", "pr_auc") if any(m in r for r in rows)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["task", "model", "arm", "eval_split", "selection", "seeds", "n", "cpu_minutes"]
                    + [f"{m}_{s}" for m in names for s in ("mean", "sd")]
                    + ["levers", "rc_average", "seed_ensemble", "sweep_selected_on", "sweep_point", "sweep_table"])
    for row in rows:
        n = max((row[m]["n"] for m in names if m in row), default=0)
        sweep = row.get("sweep") or {}
        table = "; ".join(f"{point_text(p['point'])}: {p['selection_mcc']}" for p in sweep.get("table", []))
        writer.writerow([row["task"], row["model"], row["arm"], row["eval_split"], row["selection"],
                         " ".join(map(str, row["seeds"])), n, row["cpu_minutes"]]
                        + [f"{row[m][s]:.6f}" if m in row else "" for m in names for s in ("mean", "sd")]
                        + [row.get("levers", ""), row.get("rc_average", False), row.get("seed_ensemble", False),
                           sweep.get("selected_on", ""),
                           point_text(sweep["point"]) if sweep else "", table])
    return out.getvalue()


def _ref_cell(ref: Reference, name: str) -> str:
    return f"{ref.metrics[name]:.3f}" if name in ref.metrics else "–"


def markdown(rows: list[dict], references: list[Reference], notes: dict[str, str] | None = None,
             header: str | None = None) -> str:
    """Per-task tables of our mean ± sd over seeds, with published references beneath, labelled."""
    notes = notes or {}
    lines = ["# genebert-benchmark results", ""] + ([header, ""] if header else [])
    for task in dict.fromkeys(r["task"] for r in rows):
        task_rows = [r for r in rows if r["task"] == task]
        names = list(REPORT_METRICS) + [m for m in ("topk_accuracy", "pr_auc") if any(m in r for r in task_rows)]
        first = task_rows[0]
        split = "test" if first["eval_split"] == "test" else "dev"
        lines += [f"## {task}", ""]
        lines.append(f"Reported on **{split}**; " + (
            "checkpoint / C selected on dev." if first["selection"] == "dev" else
            "no test split: the selection split was carved out of train (10%, stratified) and **dev is the "
            "reported split**, so these numbers are not GUE test numbers."))
        if task in notes:
            lines.append(notes[task])
        lines.append("")
        lines.append("| arm | seeds | " + " | ".join(METRIC_LABELS.get(m, m) for m in names) + " | CPU min |")
        lines.append("|---|---|" + "---|" * len(names) + "---|")
        for row in task_rows:
            cells = " | ".join(_cell(row.get(m)) for m in names)
            lines.append(f"| {arm_label(row)} | {len(row['seeds'])} | {cells} | {row['cpu_minutes']:.1f} |")
        if any(r.get("rc_average") for r in task_rows):
            lines += ["", f"*{RC_AVERAGE_LABEL.strip()}*: the same fine-tuned models scored with the logits of each "
                      "sequence and of its reverse complement averaged."]
        lines += _sweep_table([r for r in task_rows if r.get("sweep") and not r.get("rc_average")])
        refs = references_for(task, references)
        if refs:
            lines += ["", "Published (not run here):", "",
                      "| method | source | split | data | " + " | ".join(METRIC_LABELS.get(m, m) for m in names)
                      + " | compute |", "|---|---|---|---|" + "---|" * len(names) + "---|"]
            for ref in refs:
                cells = " | ".join(_ref_cell(ref, m) for m in names)
                lines.append(f"| {ref.method} | {ref.citation.split(',')[0]}, {ref.table} | {ref.split} | "
                             f"{ref.data or 'same task (GUE)'} | {cells} | {ref.compute} |")
            extra = sorted({m for r in refs for m in r.metrics} - set(names))
            if extra:
                lines.append(f"\n(published metrics not computed for this task here: {', '.join(extra)})")
        lines.append("")
    lines.append("mean ± sample standard deviation over seeds. MCC = Matthews correlation coefficient (GUE's headline); "
                 "macro F1 / P / R = unweighted means over classes; ROC-AUC one-vs-rest macro for >2 classes. "
                 "Published rows are copied from the cited papers (references.yaml), scaled to 0-1.")
    return "\n".join(lines) + "\n"


def _sweep_table(rows: list[dict]) -> list[str]:
    """The schedule sweep of each arm: every point's selection-split MCC, the chosen point in bold."""
    if not rows:
        return []
    first = rows[0]["sweep"]
    lines = ["", f"Schedule sweep (`--sweep`): each point run once on seed {first['seed']} and scored by MCC on the "
             f"selection split ({first['selected_on']}); the reported split played no part. Bold: chosen.", "",
             "| arm | point | selection MCC |", "|---|---|---|"]
    for row in rows:
        for entry in row["sweep"]["table"]:
            chosen = entry["name"] == row["sweep"]["chosen"]
            score = "n/a" if entry["selection_mcc"] is None else f"{entry['selection_mcc']:.3f}"
            text = f"**{point_text(entry['point'])}**" if chosen else point_text(entry["point"])
            lines.append(f"| {arm_label(row)} | {text} | {f'**{score}**' if chosen else score} |")
    return lines


def plot(rows: list[dict], png: Path, records: list[dict], references: list[Reference], metric: str = "mcc") -> Path:
    """Per-task bars (one per model · arm) of ``metric``: mean, sd error bar, each seed as a dot; DNABERT-2 as a line."""
    # lazy on purpose: choosing the Agg backend at import time would switch the backend of any
    # program (e.g. a notebook) that merely imports the benchmark package
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    arms = list(dict.fromkeys(arm_label(r) for r in rows))
    width = 0.8 / max(len(arms), 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(tasks) * max(1, len(arms)) / 3 + 2), 4))
    colours = plt.get_cmap("tab10")
    for j, arm in enumerate(arms):
        for i, task in enumerate(tasks):
            row = next((r for r in rows if r["task"] == task and arm_label(r) == arm), None)
            if row is None or metric not in row:
                continue
            x = i + (j - (len(arms) - 1) / 2) * width
            ax.bar(x, row[metric]["mean"], width, yerr=row[metric]["sd"], capsize=3, color=colours(j % 10),
                   label=arm if i == 0 or arm not in ax.get_legend_handles_labels()[1] else None)
            key = "metrics_rc_average" if row.get("rc_average") else "metrics"
            if row.get("seed_ensemble"):
                key = "seed ensemble: one score, no seed dots"
            seeds = [r.get(key, {}).get(metric) for r in records if r["task"] == task and r["model"] == row["model"]
                     and r["arm"] == row["arm"] and levers_label(r.get("levers")) == row.get("levers", "")
                     and r.get(key)]
            ax.scatter([x] * len(seeds), seeds, s=8, color="black", zorder=3)
    for i, task in enumerate(tasks):
        for ref in references_for(task, references):
            if metric in ref.metrics:
                ax.hlines(ref.metrics[metric], i - 0.45, i + 0.45, colors="grey", linestyles="dashed",
                          label=f"{ref.method} (published)" if f"{ref.method} (published)"
                          not in ax.get_legend_handles_labels()[1] else None)
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels(tasks)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric) + " (mean ± sd over seeds; dots = seeds)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("genebert-benchmark")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(f".{png.stem}.tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, png)
    return png


def update_model_card(folder: Path, model_rows: list[dict], dataset_type: str = "GUE") -> Path:
    """Add (or replace) this benchmark's ``model-index`` entries in ``folder/README.md`` (one per task, metric)."""
    path = Path(folder) / "README.md"
    card = ModelCard.load(path) if path.exists() else ModelCard.from_template(ModelCardData())
    data = card.data
    kept = [r for r in (data.eval_results or []) if not str(r.metric_name or "").endswith(f"[{SOURCE_NAME}]")]
    new = []
    for row in model_rows:
        for name in REPORT_METRICS:
            stats = row.get(name)
            if not stats or not math.isfinite(stats["mean"]):
                continue
            new.append(EvalResult(
                task_type="text-classification", task_name=task_title(row["task_name"]),
                dataset_type=dataset_type, dataset_name=row["task"],
                dataset_split="test" if row["eval_split"] == "test" else "validation",
                metric_type=name, metric_value=round(stats["mean"], 4),
                metric_name=f"{METRIC_LABELS[name]}, mean over {stats['n']} seed(s) (sd {stats['sd']:.4f}); "
                            f"{arm_description(row)} [{SOURCE_NAME}]",
            ))
    data.eval_results = kept + new
    if not data.model_name:
        data.model_name = Path(folder).resolve().name
    atomic_write(path, str(card))
    return path


__all__ = ["REPORT_METRICS", "aggregate", "atomic_write", "markdown", "plot", "to_csv", "update_model_card"]
