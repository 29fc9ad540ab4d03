"""``genebert-benchmark``: every (model, task, seed, arm) of a suite, resumable, with a report.

Run folders: ``OUTPUT_DIR/runs/<model>/<task>/<arm>/seed<seed>/``; a run is finished when its
``results.json`` exists (written atomically, last), and a finished run is never run again,
so a killed benchmark continues where it stopped (the unfinished run starts over).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import shutil
import sys
import time
from pathlib import Path

from dataset_scripts.cli import HelpFormatter, UsageError, console_script
from dataset_scripts.output_folders import OutputFolder
from dataset_scripts.tasks import get_task
from modeling_genebert.evaluation.benchmark.kmer import run_kmer_lr
from modeling_genebert.evaluation.benchmark.recipes import Recipe, SuiteTask, discover_suite
from modeling_genebert.evaluation.benchmark.references import load_references
from modeling_genebert.evaluation.benchmark.report import (
    aggregate,
    atomic_write,
    markdown,
    plot,
    to_csv,
    update_model_card,
)
from modeling_genebert.evaluation.benchmark.sweep import choose, grid, point_name
from modeling_genebert.finetuning.arguments import FinetuneDataArguments
from modeling_genebert.finetuning.data import load_task_data
from modeling_genebert.finetuning.finetune import run as finetune_run
from modeling_genebert.finetuning.models import folder_kind

logger = logging.getLogger("genebert.benchmark")

ARMS = ("finetune", "from_scratch", "lora", "kmer_lr")
MODEL_FREE_ARMS = ("kmer_lr",)
SELECTION_METRIC = "mcc"
WEIGHT_FILES = ("model.safetensors", "adapter_model.safetensors")
OWN_LAYOUT = ("runs", "results.csv", "results.md", "results.json", "results.png", ".results*.tmp*")  # a benchmark folder


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="genebert-benchmark",
        description="Fine-tune models on every task folder of a suite (GUE layout) over seeds and arms; "
        "report MCC, macro F1 / P / R and ROC-AUC as mean ± sd beside published references. Resumable.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--models", nargs="+", default=[], metavar="FOLDER",
                   help="GeneBERT (or DNABERT/BERT) model folders; each is fine-tuned (arms finetune / lora) and "
                        "gives the architecture of its from_scratch arm")
    p.add_argument("--suite", required=True, help="folder of task folders, each with train.csv, dev.csv, optional test.csv (.gz ok)")
    p.add_argument("--tasks", nargs="+", default=None, help="only these task folders of the suite (default: all)")
    p.add_argument("--seeds", nargs="+", type=int, default=[42, 7, 13], help="seeds (each arm runs every seed)")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS,
                   help="finetune (full fine-tuning), from_scratch (same architecture, random init), "
                        "lora (peft LoRA on the model), kmer_lr (k-mer logistic regression)")
    p.add_argument("--output_dir", required=True, help="where runs/, results.csv, results.md, results.png go; a "
                   "benchmark folder is continued (finished runs are kept), any other non-empty folder is refused")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty --output_dir that is not a benchmark's, and run finished runs again")
    p.add_argument("--recipe", default=None, help="recipe YAML (defaults + per-task keys); default: the shipped tiny recipe")
    p.add_argument("--references", default=None, help="published-references YAML; default: the shipped one")
    p.add_argument("--max_steps", type=int, default=None, help="budget: cap on optimiser steps per fine-tuning run")
    p.add_argument("--num_train_epochs", type=float, default=None, help="override the recipe's epochs for every task")
    p.add_argument("--max_train_samples", type=int, default=None, help="budget: seeded random subset of train per run")
    p.add_argument("--max_eval_samples", type=int, default=None, help="budget: first rows of dev / test")
    p.add_argument("--lora_rank", type=int, default=8, help="lora arm: rank")
    p.add_argument("--lora_target_modules", default="query,value", help="lora arm: encoder linear layers to adapt")
    p.add_argument("--keep_models", action="store_true",
                   help="keep each run's fine-tuned weights (default: delete them once scored, keeping results and card)")
    p.add_argument("--no_model_cards", action="store_true", help="do not add model-index entries to the models' README.md")
    p.add_argument("--finetune_args", default="", help="extra genebert-finetune options for every run, one quoted string")
    p.add_argument("--sweep", action="store_true",
                   help="choose each (model, task, arm)'s learning rate, epochs and warm-up by a small grid (the "
                        "recipe's `sweep`), each point run once on the first seed and scored by MCC on the selection "
                        "split (never the reported one); all seeds then run the chosen point")
    p.add_argument("--rc_augment", action="store_true",
                   help="genebert-finetune --rc_augment: each training example on a random strand each epoch")
    p.add_argument("--rc_average", action="store_true",
                   help="genebert-finetune --rc_average: also score with the logits of both strands averaged, "
                        "reported as separate '+ RC average' rows")
    p.add_argument("--tapt_steps", type=int, default=0,
                   help="genebert-finetune --tapt_steps: this many steps of task-adaptive MGM pre-training on the "
                        "task's training sequences before fine-tuning (0: none)")
    return p


def _model_label(folder: str, taken: set[str]) -> str:
    path = Path(folder).resolve()
    label = path.name if path.name not in ("final", "model") else f"{path.parent.name}-{path.name}"
    base, i = label, 2
    while label in taken:
        label, i = f"{base}-{i}", i + 1
    taken.add(label)
    return label


def check_models(folders: list[str]) -> None:
    for folder in folders:
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"--models {folder}: not a folder")
        try:
            folder_kind(folder)
        except (FileNotFoundError, ValueError) as error:
            raise ValueError(f"--models {folder} is not a GeneBERT or BERT checkpoint: {error}") from None
        if not any((Path(folder) / name).exists() for name in ("model.safetensors", "pytorch_model.bin",
                                                                "model.safetensors.index.json")):
            raise ValueError(f"--models {folder} is not a GeneBERT or BERT checkpoint: no model weights "
                             "(model.safetensors / pytorch_model.bin)")


def plan(args, models: dict[str, str], tasks: list[SuiteTask]) -> list[dict]:
    runs = []
    for task in tasks:
        for seed in args.seeds:
            for arm in args.arms:
                owners = ["-"] if arm in MODEL_FREE_ARMS else list(models)
                for model in owners:
                    runs.append({"model": model, "task": task.name, "arm": arm, "seed": seed,
                                 "dir": Path(args.output_dir) / "runs" / model / task.name / arm / f"seed{seed}"})
    return runs


def task_recipe(args, recipe: Recipe, name: str) -> dict:
    """One task's recipe with --num_train_epochs folded in (a sweep point overrides it in turn)."""
    values = recipe.for_task(name)
    if args.num_train_epochs:
        values["num_train_epochs"] = args.num_train_epochs
    return values


def levers(args, arm: str) -> dict:
    """The training levers a run gets beyond its recipe (none for the k-mer arm); the report labels rows with them."""
    if arm in MODEL_FREE_ARMS:
        return {}
    return {name: value for name, value in (("rc_augment", args.rc_augment), ("tapt_steps", args.tapt_steps)) if value}


def finetune_argv(args, recipe: dict, task: SuiteTask, run: dict, folder: str) -> list[str]:
    arm = run["arm"]
    lr = recipe["lora_learning_rate"] if arm == "lora" else recipe["learning_rate"]
    argv = [
        "--model_name_or_path", folder, "--task", task.task,
        "--train_file", str(task.files["train"]),
        "--output_dir", str(run["dir"]), "--seed", str(run["seed"]),
        "--num_train_epochs", str(recipe["num_train_epochs"]),
        "--learning_rate", str(lr),
        "--per_device_train_batch_size", str(recipe["per_device_train_batch_size"]),
        "--max_length", str(recipe["max_length"]),
        "--warmup_steps", str(recipe["warmup_steps"]), "--weight_decay", str(recipe["weight_decay"]),
        "--dataset_name", task.name,
        # select on the selection split: evaluate and checkpoint each epoch, keep the best MCC
        "--eval_strategy", "epoch", "--save_strategy", "epoch", "--save_total_limit", "1",
        "--load_best_model_at_end", "true", "--metric_for_best_model", SELECTION_METRIC,
        "--greater_is_better", "true", "--disable_tqdm", "true", "--logging_steps", "50",
        "--per_device_eval_batch_size", "128",
        "--results_file", str(run["dir"] / "finetune_results.json"),
    ]
    if task.has_test:
        argv += ["--validation_file", str(task.files["dev"]), "--test_file", str(task.files["test"])]
    else:  # no test split: dev is reported; the selection split is carved out of train by genebert-finetune
        argv += ["--test_file", str(task.files["dev"])]
    if "class_names" in recipe:
        argv += ["--class_names", recipe["class_names"]]
    if args.max_steps:
        argv += ["--max_steps", str(args.max_steps)]
    if args.max_train_samples:
        argv += ["--max_train_samples", str(args.max_train_samples)]
    if args.max_eval_samples:
        argv += ["--max_eval_samples", str(args.max_eval_samples)]
    if arm == "from_scratch":
        argv += ["--from_scratch"]
    if arm == "lora":
        argv += ["--peft", "lora", "--lora_rank", str(args.lora_rank), "--lora_target_modules", args.lora_target_modules]
    if args.rc_augment:
        argv += ["--rc_augment"]
    if args.rc_average:
        argv += ["--rc_average"]
    if args.tapt_steps:
        argv += ["--tapt_steps", str(args.tapt_steps)]
    return argv + shlex.split(args.finetune_args)


def run_one(args, recipe: dict, task: SuiteTask, run: dict, folder: str | None, notes: dict | None = None) -> dict:
    """One (model, task, seed, arm); returns the record that is also ``results.json`` (``notes`` added to it)."""
    run_dir: Path = run["dir"]
    if run_dir.exists():  # an unfinished run of a killed benchmark: start it over
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    cpu, wall = time.process_time(), time.perf_counter()
    eval_split = "test" if task.has_test else "dev"
    if run["arm"] == "kmer_lr":
        summary = _kmer(args, recipe, task, run)
    else:
        summary = finetune_run(finetune_argv(args, recipe, task, run, folder))
        for checkpoint in run_dir.glob("checkpoint-*"):
            shutil.rmtree(checkpoint, ignore_errors=True)
        if not args.keep_models:
            for name in WEIGHT_FILES:
                (run_dir / name).unlink(missing_ok=True)
    record = {
        "model": run["model"], "model_path": folder, "task": task.name, "task_name": task.task,
        "arm": run["arm"], "seed": run["seed"],
        "eval_split": eval_split,
        "selection": "dev" if task.has_test else "carved from train",
        "metrics": summary["results"]["test"],
        "selection_metrics": summary["results"].get("validation", {}),
        **_rc_averaged(summary),
        "levers": levers(args, run["arm"]),
        "sweep_point": None,
        "data_sizes": summary.get("data_sizes"),
        "hyperparameters": summary.get("hyperparameters"),
        "recipe": recipe,
        "budget": {"max_steps": args.max_steps, "max_train_samples": args.max_train_samples,
                   "max_eval_samples": args.max_eval_samples, "num_train_epochs": args.num_train_epochs},
        "cpu_minutes": round((time.process_time() - cpu) / 60, 2),
        "wall_seconds": round(time.perf_counter() - wall, 1),
        **(notes or {}),
    }
    atomic_write(run_dir / "results.json", json.dumps(record, indent=2, default=str))
    return record


def _rc_averaged(summary: dict) -> dict:
    """genebert-finetune --rc_average's strand-averaged metrics, under the record's names."""
    averaged = summary.get("results_rc_average") or {}
    if "test" not in averaged:
        return {}
    return {"metrics_rc_average": averaged["test"], "selection_metrics_rc_average": averaged.get("validation", {})}


def stale_reason(args, record: dict, point: dict | None) -> str | None:
    """Why a finished run does not fit this benchmark's settings (levers, schedule), or None when it does."""
    wanted = levers(args, record["arm"])
    if record.get("levers", {}) != wanted:
        return f"levers {record.get('levers', {})}, now {wanted}"
    if record.get("sweep_point") != point:
        return f"schedule {record.get('sweep_point') or 'the recipe'}, now {point or 'the recipe'}"
    if args.rc_average and record["arm"] not in MODEL_FREE_ARMS and "metrics_rc_average" not in record:
        return "no RC-averaged metrics, now --rc_average"
    return None


def finished(args, run_dir: Path, point: dict | None, tag: str) -> dict | None:
    """The record of a finished run that fits this benchmark (resumability), else None: run it (again)."""
    done = run_dir / "results.json"
    if args.overwrite or not done.exists():
        return None
    record = json.loads(done.read_text())
    reason = stale_reason(args, record, point)
    if reason:
        print(f"{tag}: finished before with other settings ({reason}), running again", flush=True)
        return None
    print(f"{tag}: done before, skipped", flush=True)
    return record


def sweep_points(recipe: dict, arm: str) -> list[dict]:
    return grid(recipe.get("sweep") or {}, arm, recipe["num_train_epochs"])


def run_sweep(args, recipe: dict, task: SuiteTask, model: str, arm: str, folder: str) -> tuple[dict, dict]:
    """Each grid point once on the first seed (resumable); returns the sweep's summary and the chosen point's record.

    The choice reads only the selection split (``results["validation"]``), never the reported one.
    """
    seed = args.seeds[0]
    points = sweep_points(recipe, arm)
    table, records = [], []
    for k, point in enumerate(points, start=1):
        name = point_name(point)
        run = {"model": model, "task": task.name, "arm": arm, "seed": seed,
               "dir": Path(args.output_dir) / "runs" / model / task.name / arm / "sweep" / name}
        tag = f"  sweep {model} {task.name} {arm} [{k}/{len(points)}] {name}"
        record = finished(args, run["dir"], point, tag)
        if record is None:
            print(f"{tag}: running", flush=True)
            record = run_one(args, {**recipe, **point}, task, run, folder, {"sweep_point": point})
        score = record["selection_metrics"].get("mcc")
        table.append({"name": name, "point": point, "selection_mcc": score})
        records.append(record)
    best = choose(table)
    summary = {"metric": SELECTION_METRIC, "selected_on": records[best]["selection"], "seed": seed,
               "chosen": table[best]["name"], "point": table[best]["point"], "table": table}
    print(f"  sweep {model} {task.name} {arm}: chose {summary['chosen']} (selection MCC "
          f"{table[best]['selection_mcc']}, on {summary['selected_on']})", flush=True)
    return summary, records[best]


def reuse_sweep_run(run: dict, chosen: dict, sweep: dict) -> dict:
    """The first seed's run at the chosen point is the sweep's run of that point: copied, not run twice."""
    if run["dir"].exists():
        shutil.rmtree(run["dir"])
    run["dir"].mkdir(parents=True)
    record = {**chosen, "sweep": sweep, "reused_from": f"sweep/{sweep['chosen']}"}
    atomic_write(run["dir"] / "results.json", json.dumps(record, indent=2, default=str))
    return record


def _kmer(args, recipe: dict, task: SuiteTask, run: dict) -> dict:
    registered = get_task(task.task)
    data_args = FinetuneDataArguments(
        task=task.task, train_file=str(task.files["train"]),
        validation_file=str(task.files["dev"]) if task.has_test else None,
        test_file=str(task.files["test"] if task.has_test else task.files["dev"]),
        max_train_samples=args.max_train_samples, max_eval_samples=args.max_eval_samples,
        class_names=recipe.get("class_names"),
    )
    data = load_task_data(registered, data_args, run["seed"])
    id2label = dict(enumerate(data["train"].features["label"].names))
    return run_kmer_lr(data, recipe["kmer"], run["seed"], registered.metrics, None, id2label)


def budget_line(args, sweep_runs: int = 0) -> str:
    """The budget options in force, said plainly (a capped run is not a full-recipe run), and what --sweep adds."""
    parts = []
    if args.num_train_epochs:
        parts.append(f"{args.num_train_epochs:g} epoch(s) for every task")
    if args.max_steps:
        parts.append(f"at most {args.max_steps} steps per run")
    if args.max_train_samples:
        parts.append(f"a seeded random {args.max_train_samples} training rows per run")
    if args.max_eval_samples:
        parts.append(f"the first {args.max_eval_samples} rows of the selection and reported splits")
    recipe = args.recipe or "the shipped default recipe"
    line = f"Recipe: {recipe}" + (f"; budget: {', '.join(parts)} (not the full recipe)." if parts else ".")
    if args.sweep:
        line += (f" --sweep adds {sweep_runs} fine-tuning run(s): each grid point once on seed {args.seeds[0]}, "
                 "the chosen point's run counting as that seed's run.")
    return line


def run(argv: list[str] | None = None) -> dict:
    """Run (or continue) a benchmark; returns ``{"runs": [...records], "rows": [...aggregates], "files": {...}}``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    # check everything before the first run: no half-written results on bad input
    needs_model = [a for a in args.arms if a not in MODEL_FREE_ARMS]
    if needs_model and not args.models:
        raise UsageError(f"arms {needs_model} need --models FOLDER...; with no model give --arms kmer_lr")
    if len(set(args.seeds)) != len(args.seeds):
        raise UsageError(f"--seeds {args.seeds} repeats a seed")
    if args.tapt_steps < 0:
        raise UsageError(f"--tapt_steps {args.tapt_steps}: a number of steps is >= 0")
    check_models(args.models)
    output_folder = OutputFolder(args.output_dir, "genebert-benchmark", overwrite=args.overwrite, own_layout=OWN_LAYOUT)
    recipe = Recipe(args.recipe)
    references = load_references(args.references)
    tasks = discover_suite(args.suite, args.tasks, recipe)
    taken: set[str] = set()
    models = {_model_label(folder, taken): folder for folder in args.models}
    runs = plan(args, models, tasks)
    by_name = {t.name: t for t in tasks}
    sweep_runs = sum(len(sweep_points(task_recipe(args, recipe, r["task"]), r["arm"])) - 1 for r in runs
                     if args.sweep and r["arm"] not in MODEL_FREE_ARMS and r["seed"] == args.seeds[0])
    output_dir = output_folder.start()
    print(f"genebert-benchmark: {len(tasks)} task(s) {[t.name for t in tasks]}, arms {args.arms}, "
          f"seeds {args.seeds}, models {list(models)} -> {len(runs)} runs"
          + (f" + {sweep_runs} sweep runs" if args.sweep else ""), flush=True)
    print(budget_line(args, sweep_runs), flush=True)
    for task in tasks:
        if not task.has_test:
            print(f"  {task.name}: no test split -> reported on dev; selection split carved out of train", flush=True)
    records = []
    sweeps: dict[tuple, tuple[dict, dict]] = {}  # (model, task, arm) -> (sweep summary, chosen point's record)
    start = time.perf_counter()
    for i, run_ in enumerate(runs, start=1):
        tag = f"[{i}/{len(runs)}] {run_['model']} {run_['task']} {run_['arm']} seed {run_['seed']}"
        task, folder = by_name[run_["task"]], models.get(run_["model"])
        task_values = task_recipe(args, recipe, run_["task"])
        sweep = chosen = None
        if args.sweep and run_["arm"] not in MODEL_FREE_ARMS:
            key = (run_["model"], run_["task"], run_["arm"])
            if key not in sweeps:
                sweeps[key] = run_sweep(args, task_values, task, run_["model"], run_["arm"], folder)
            sweep, chosen = sweeps[key]
        point = sweep["point"] if sweep else None
        record = finished(args, run_["dir"], point, tag)
        if record is not None:
            if sweep:
                record["sweep"] = sweep  # the current table (a grid extended since still chose this point)
        elif chosen is not None and run_["seed"] == chosen["seed"]:
            record = reuse_sweep_run(run_, chosen, sweep)
            print(f"{tag}: the sweep's run of the chosen point {sweep['chosen']}, reused", flush=True)
        else:
            print(f"{tag}: running", flush=True)
            notes = {"sweep_point": point, "sweep": sweep} if sweep else None
            record = run_one(args, {**task_values, **(point or {})}, task, run_, folder, notes)
            print(f"{tag}: {record['eval_split']} MCC {record['metrics'].get('mcc', float('nan')):.3f}, "
                  f"{record['cpu_minutes']:.1f} CPU-min ({time.perf_counter() - start:.0f} s so far)", flush=True)
        records.append(record)
    rows = aggregate(records)
    for row in rows:
        row["task_name"] = by_name[row["task"]].task
    files = {
        "csv": output_dir / "results.csv", "markdown": output_dir / "results.md",
        "json": output_dir / "results.json", "png": output_dir / "results.png",
    }
    atomic_write(files["csv"], to_csv(rows))
    report = markdown(rows, references, header=budget_line(args, sweep_runs))
    atomic_write(files["markdown"], report)
    atomic_write(files["json"], json.dumps({"rows": rows, "runs": records, "suite": str(args.suite),
                                             "recipe": json.loads(recipe.to_json()), "sweep": args.sweep,
                                             "budget": budget_line(args, sweep_runs)}, indent=2, default=str))
    plot(rows, files["png"], records, references)
    if not args.no_model_cards:
        for label, folder in models.items():
            mine = [r for r in rows if r["model"] == label and r["arm"] in ("finetune", "lora")]
            if mine:
                files[f"card:{label}"] = update_model_card(Path(folder), mine)
    output_folder.finish()
    print("\n" + report)
    print("\n".join(f"{key}: {path}" for key, path in files.items()), flush=True)
    return {"runs": records, "rows": rows, "files": {k: str(v) for k, v in files.items()}}


main = console_script(run, "genebert-benchmark")

__all__ = ["ARMS", "build_parser", "main", "run"]

if __name__ == "__main__":
    sys.exit(main())
