"""Where the long run stands: validation losses by step, the downstream probe, and a loss-curve figure.

    python examples/release/long_run_report.py RUNS/long [--figure docs/results/long-run.png]

Reads the newest complete checkpoint's (or final/'s) ``trainer_state.json`` (its ``log_history`` holds every
validation of the run: ``eval_mgm_loss``, ``eval_ngsp_accuracy``, ``eval_srm_accuracy`` ...) and each probe's
``RUN_probes/step-N/results.json`` beside it (dev MCC of the probe task fine-tuned from checkpoint-N). Prints one table
(TSV with --tsv) and draws the validation losses and the probe against the step. ``--reference FOLDER`` draws a
finished pre-training's final validation (its ``pretraining_summary.json``) and ``--reference_probe`` its probe MCC as
dashed lines: the model the long run has to beat.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from modeling_genebert.pretraining.pretrain import last_complete_checkpoint

COLUMNS = ("eval_loss", "eval_mgm_loss", "eval_ngsp_loss", "eval_ngsp_accuracy", "eval_srm_loss", "eval_srm_accuracy")


def newest_state(run: Path) -> dict:
    """The log history of the run: final/'s when it has finished, else its newest complete checkpoint's."""
    folder = run / "final" if (run / "final" / "trainer_state.json").is_file() else last_complete_checkpoint(str(run))
    if folder is None:
        raise FileNotFoundError(f"{run}: no trainer_state.json in final/ or any checkpoint-N/")
    return json.loads((Path(folder) / "trainer_state.json").read_text())


def probes(run: Path) -> dict[int, float]:
    out = {}
    for path in run.parent.glob(f"{run.name}_probes/step-*/results.json"):
        rows = [r for r in json.loads(path.read_text()).get("runs", []) if r.get("arm") == "finetune"]
        if rows:
            out[int(path.parent.name.rpartition("-")[2])] = sum(r["metrics"]["mcc"] for r in rows) / len(rows)
    return out


def report(run: Path) -> list[dict]:
    state = newest_state(run)
    rows = {}
    for entry in state.get("log_history", []):
        if "eval_loss" in entry:
            rows[entry["step"]] = {"step": entry["step"], **{c: entry.get(c) for c in COLUMNS}}
    for step, mcc in probes(run).items():
        rows.setdefault(step, {"step": step})["probe_mcc"] = mcc
    return [rows[s] for s in sorted(rows)]


def reference_values(folder: Path | None, probe: float | None) -> dict[str, float]:
    """A finished pre-training's final validation (``eval_*`` keys) and probe MCC, where given."""
    values = {}
    if folder is not None:
        after = json.loads((folder / "pretraining_summary.json").read_text())["after"]
        values = {f"eval_{key}": value for key, value in after.items()}
    if probe is not None:
        values["probe_mcc"] = probe
    return values


def draw(rows: list[dict], figure: Path, title: str, reference: dict[str, float] | None = None,
         reference_label: str = "reference") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = (("eval_mgm_loss", "validation MGM loss"), ("eval_ngsp_accuracy", "validation NGSP / SRM accuracy"),
              ("probe_mcc", "probe: dev MCC"))
    for ax, (column, label) in zip(axes, panels):
        points = [(r["step"], r[column]) for r in rows if r.get(column) is not None]
        if points:
            ax.plot(*zip(*points), marker="o", ms=3, label=column.replace("eval_", ""))
        if column == "eval_ngsp_accuracy":
            srm = [(r["step"], r["eval_srm_accuracy"]) for r in rows if r.get("eval_srm_accuracy") is not None]
            if srm:
                ax.plot(*zip(*srm), marker="o", ms=3, label="srm_accuracy")
        for key, colour in ((column, "C0"), ("eval_srm_accuracy" if column == "eval_ngsp_accuracy" else None, "C1")):
            if key and (reference or {}).get(key) is not None:
                ax.axhline(reference[key], ls="--", lw=1, color=colour, label=f"{reference_label}: {reference[key]:.3f}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        ax.set_xlabel("step")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="the long run's output folder (RUNS/long)")
    parser.add_argument("--figure", type=Path, help="write the loss curves to this PNG")
    parser.add_argument("--title", default="GeneBERT long run", help="the figure's title")
    parser.add_argument("--tsv", action="store_true", help="print TSV instead of a Markdown table")
    parser.add_argument("--reference", type=Path, help="a finished pre-training folder whose final validation is drawn dashed")
    parser.add_argument("--reference_probe", type=float, help="the reference model's probe MCC, drawn dashed")
    parser.add_argument("--reference_label", default="reference", help="the dashed lines' label")
    args = parser.parse_args(argv)
    try:
        rows = report(args.run)
        reference = reference_values(args.reference, args.reference_probe)
    except (FileNotFoundError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    columns = ("step", *COLUMNS, "probe_mcc")
    sep = "\t" if args.tsv else " | "
    print(sep.join(columns))
    if not args.tsv:
        print(" | ".join("---" for _ in columns))
    for row in rows:
        print(sep.join("" if row.get(c) is None else (f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]))
                       for c in columns))
    if args.figure:
        draw(rows, args.figure, args.title, reference, args.reference_label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
