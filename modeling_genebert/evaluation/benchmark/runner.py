"""``genebert-benchmark``: every (model, task, seed, arm) of a suite, resumable, with a report.

Run folders: ``OUTPUT_DIR/runs/<model>/<task>/<arm>/seed<seed>/``; a run is finished when its
``results.json`` exists (written atomically, last), and a finished run is never run again,
so a killed benchmark continues where it stopped (the unfinished run starts over).

From Python: :func:`run_benchmark` (:class:`BenchmarkOptions` -> :class:`BenchmarkResult`); each fine-tuning run
is a :func:`~modeling_genebert.finetuning.finetune.finetune` call whose arguments :func:`finetune_arguments` builds.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import HfArgumentParser

from dataset_scripts.cli import HelpFormatter, UsageError, console_script, options_given
from dataset_scripts.output_folders import OutputFolder
from dataset_scripts.tasks import get_task
from modeling_genebert.evaluation.benchmark.ensemble import ensemble_rows
from modeling_genebert.evaluation.benchmark.linear_baselines import run_kmer_lr, run_motif_lr
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
from modeling_genebert.finetuning.finetune import build_parser as build_finetune_parser
from modeling_genebert.finetuning.finetune import finetune
from modeling_genebert.finetuning.models import folder_kind

logger = logging.getLogger("genebert.benchmark")

ARMS = ("finetune", "from_scratch", "lora", "kmer_lr", "motif_lr")
MODEL_FREE_ARMS = ("kmer_lr", "motif_lr")
SELECTION_METRIC = "mcc"
WEIGHT_FILES = ("model.safetensors", "adapter_model.safetensors")
OWN_LAYOUT = ("runs", "results.csv", "results.md", "results.json", "results.png", ".results*.tmp*")  # a benchmark folder


@dataclass(kw_only=True)
class BenchmarkOptions:
    """Which models, tasks, seeds and arms, on what budget, and where the runs and report go (the command's options)."""

    models: list[str] = field(default_factory=list, metadata={
        "metavar": "FOLDER", "help": "GeneBERT (or DNABERT/BERT) model folders; each is fine-tuned (arms finetune / lora) "
                                     "and gives the architecture of its from_scratch arm"})
    suite: str = field(metadata={"help": "folder of task folders, each with train.csv, dev.csv, optional test.csv (.gz ok)"})
    tasks: list[str] | None = field(default=None, metadata={"help": "only these task folders of the suite (default: all)"})
    seeds: list[int] = field(default_factory=lambda: [42, 7, 13], metadata={"help": "seeds (each arm runs every seed)"})
    arms: list[str] = field(default_factory=lambda: list(ARMS), metadata={
        "choices": ARMS, "help": "finetune (full fine-tuning), from_scratch (same architecture, random init), "
                                 "lora (peft LoRA on the model), kmer_lr (k-mer logistic regression), motif_lr (logistic "
                                 "regression on motif scores: the recipe's `motifs`, JASPAR 2026 by default)"})
    output_dir: str = field(metadata={
        "help": "where runs/, results.csv, results.md, results.png go; a benchmark folder is continued (finished runs "
                "are kept), any other non-empty folder is refused"})
    overwrite: bool = field(default=False, metadata={
        "help": "write into a non-empty --output_dir that is not a benchmark's, and run finished runs again"})
    recipe: str | None = field(default=None, metadata={
        "help": "recipe YAML (defaults + per-task keys); default: the shipped tiny recipe"})
    references: str | None = field(default=None, metadata={"help": "published-references YAML; default: the shipped one"})
    max_steps: int | None = field(default=None, metadata={"help": "budget: cap on optimiser steps per fine-tuning run"})
    num_train_epochs: float | None = field(default=None, metadata={"help": "override the recipe's epochs for every task"})
    max_train_samples: int | None = field(default=None, metadata={"help": "budget: seeded random subset of train per run"})
    max_eval_samples: int | None = field(default=None, metadata={"help": "budget: first rows of dev / test"})
    lora_rank: int = field(default=8, metadata={"help": "lora arm: rank"})
    lora_target_modules: str = field(default="query,value", metadata={"help": "lora arm: encoder linear layers to adapt"})
    keep_models: bool = field(default=False, metadata={
        "help": "keep each run's fine-tuned weights (default: delete them once scored, keeping results and card)"})
    no_model_cards: bool = field(default=False, metadata={"help": "do not add model-index entries to the models' README.md"})
    finetune_args: str = field(default="", metadata={
        "help": "extra genebert-finetune options for every run, one quoted string (they win over the recipe's)"})
    sweep: bool = field(default=False, metadata={
        "help": "choose each (model, task, arm)'s learning rate, epochs and warm-up by a small grid (the recipe's "
                "`sweep`), each point run once on the first seed and scored by MCC on the selection split (never the "
                "reported one); all seeds then run the chosen point"})
    rc_augment: bool = field(default=False, metadata={
        "help": "genebert-finetune --rc_augment: each training example on a random strand each epoch"})
    rc_average: bool = field(default=False, metadata={
        "help": "genebert-finetune --rc_average: also score with the logits of both strands averaged, reported as "
                "separate '+ RC average' rows"})
    tapt_steps: int = field(default=0, metadata={
        "help": "genebert-finetune --tapt_steps: this many steps of task-adaptive MGM pre-training on the task's "
                "training sequences before fine-tuning (0: none)"})
    seed_ensemble: bool = field(default=False, metadata={
        "help": "also score each (model, task, arm)'s seeds as one ensemble (their logits averaged before the softmax, "
                "as genebert-predict --ensemble_with), reported as '+ seed ensemble' rows; keeps the fine-tuned "
                "weights (as --keep_models), and runs finished earlier without them are left out of the ensemble"})


@dataclass
class BenchmarkResult:
    """Every run's record and the report's rows; :meth:`to_dict` is ``OUTPUT_DIR/results.json``."""

    rows: list[dict[str, Any]]  # one per (task, model, arm[, RC average]): metrics as mean / sd / n over seeds
    runs: list[dict[str, Any]]  # one record per (model, task, arm, seed), as each run's results.json
    suite: Path
    recipe: dict[str, Any]  # the recipe in force: defaults and per-task keys
    sweep: bool
    budget: str  # the budget line of the report
    files: dict[str, Path]  # csv, markdown, json, png and card:<model> (not in the JSON)
    report: str  # results.md's text (not in the JSON)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "runs": self.runs, "suite": str(self.suite), "recipe": self.recipe,
                "sweep": self.sweep, "budget": self.budget}


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


def plan(options, models: dict[str, str], tasks: list[SuiteTask]) -> list[dict]:
    runs = []
    for task in tasks:
        for seed in options.seeds:
            for arm in options.arms:
                owners = ["-"] if arm in MODEL_FREE_ARMS else list(models)
                for model in owners:
                    runs.append({"model": model, "task": task.name, "arm": arm, "seed": seed,
                                 "dir": Path(options.output_dir) / "runs" / model / task.name / arm / f"seed{seed}"})
    return runs


def task_recipe(options, recipe: Recipe, name: str) -> dict:
    """One task's recipe with --num_train_epochs folded in (a sweep point overrides it in turn)."""
    values = recipe.for_task(name)
    if options.num_train_epochs:
        values["num_train_epochs"] = options.num_train_epochs
    return values


def levers(options, arm: str) -> dict:
    """The training levers a run gets beyond its recipe (none for the k-mer arm); the report labels rows with them."""
    if arm in MODEL_FREE_ARMS:
        return {}
    return {name: value for name, value in (("rc_augment", options.rc_augment), ("tapt_steps", options.tapt_steps)) if value}


def finetune_arguments(options: BenchmarkOptions, recipe: dict, task: SuiteTask, run: dict, folder: str | None):
    """genebert-finetune's ``(model, data, training)`` arguments for one run: the recipe (a sweep point already
    laid over it), the run's seed and folder, the benchmark's budget and levers, then ``--finetune_args`` over
    all of them."""
    arm = run["arm"]
    values = {
        "model_name_or_path": folder, "task": task.task, "train_file": str(task.files["train"]),
        "output_dir": str(run["dir"]), "seed": run["seed"],
        "num_train_epochs": recipe["num_train_epochs"],
        "learning_rate": recipe["lora_learning_rate"] if arm == "lora" else recipe["learning_rate"],
        "per_device_train_batch_size": recipe["per_device_train_batch_size"],
        "max_length": recipe["max_length"],
        "warmup_steps": recipe["warmup_steps"], "weight_decay": recipe["weight_decay"],
        "dataset_name": task.name,
        # select on the selection split: evaluate and checkpoint each epoch, keep the best MCC
        "eval_strategy": "epoch", "save_strategy": "epoch", "save_total_limit": 1,
        "load_best_model_at_end": True, "metric_for_best_model": SELECTION_METRIC,
        "greater_is_better": True, "disable_tqdm": True, "logging_steps": 50,
        "per_device_eval_batch_size": 128,
        "results_file": str(run["dir"] / "finetune_results.json"),
        "class_names": recipe.get("class_names"),
        "from_scratch": arm == "from_scratch",
        "rc_augment": options.rc_augment, "rc_average": options.rc_average, "tapt_steps": options.tapt_steps,
    }
    if task.has_test:
        values.update(validation_file=str(task.files["dev"]), test_file=str(task.files["test"]))
    else:  # no test split: dev is reported; the selection split is carved out of train by genebert-finetune
        values["test_file"] = str(task.files["dev"])
    for budget in ("max_steps", "max_train_samples", "max_eval_samples"):
        if getattr(options, budget):
            values[budget] = getattr(options, budget)
    if arm == "lora":
        values.update(peft="lora", lora_rank=options.lora_rank, lora_target_modules=options.lora_target_modules)
    # the user's own options win, as they did when they came last on genebert-finetune's command line
    values.update(options_given(build_finetune_parser(), shlex.split(options.finetune_args), "--finetune_args"))
    return build_finetune_parser().parse_dict(values)


def run_one(options, recipe: dict, task: SuiteTask, run: dict, folder: str | None, notes: dict | None = None) -> dict:
    """One (model, task, seed, arm); returns the record that is also ``results.json`` (``notes`` added to it)."""
    run_dir: Path = run["dir"]
    if run_dir.exists():  # an unfinished run of a killed benchmark: start it over
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    cpu, wall = time.process_time(), time.perf_counter()
    eval_split = "test" if task.has_test else "dev"
    if run["arm"] in MODEL_FREE_ARMS:
        summary = run_model_free_baseline(options, recipe, task, run)
    else:
        summary = finetune(*finetune_arguments(options, recipe, task, run, folder)).to_dict()
        for checkpoint in run_dir.glob("checkpoint-*"):
            shutil.rmtree(checkpoint, ignore_errors=True)
        if not (options.keep_models or options.seed_ensemble):
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
        "levers": levers(options, run["arm"]),
        "sweep_point": None,
        "data_sizes": summary.get("data_sizes"),
        "hyperparameters": summary.get("hyperparameters"),
        "recipe": recipe,
        "budget": {"max_steps": options.max_steps, "max_train_samples": options.max_train_samples,
                   "max_eval_samples": options.max_eval_samples, "num_train_epochs": options.num_train_epochs},
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


def stale_reason(options, record: dict, point: dict | None) -> str | None:
    """Why a finished run does not fit this benchmark's settings (levers, schedule), or None when it does."""
    wanted = levers(options, record["arm"])
    if record.get("levers", {}) != wanted:
        return f"levers {record.get('levers', {})}, now {wanted}"
    if record.get("sweep_point") != point:
        return f"schedule {record.get('sweep_point') or 'the recipe'}, now {point or 'the recipe'}"
    if options.rc_average and record["arm"] not in MODEL_FREE_ARMS and "metrics_rc_average" not in record:
        return "no RC-averaged metrics, now --rc_average"
    return None


def finished(options, run_dir: Path, point: dict | None, tag: str) -> dict | None:
    """The record of a finished run that fits this benchmark (resumability), else None: run it (again)."""
    done = run_dir / "results.json"
    if options.overwrite or not done.exists():
        return None
    record = json.loads(done.read_text())
    reason = stale_reason(options, record, point)
    if reason:
        logger.info("%s: finished before with other settings (%s), running again", tag, reason)
        return None
    logger.info("%s: done before, skipped", tag)
    return record


def sweep_points(recipe: dict, arm: str) -> list[dict]:
    return grid(recipe.get("sweep") or {}, arm, recipe["num_train_epochs"])


def run_sweep(options, recipe: dict, task: SuiteTask, model: str, arm: str, folder: str) -> tuple[dict, dict]:
    """Each grid point once on the first seed (resumable); returns the sweep's summary and the chosen point's record.

    The choice reads only the selection split (``results["validation"]``), never the reported one.
    """
    seed = options.seeds[0]
    points = sweep_points(recipe, arm)
    table, records = [], []
    for k, point in enumerate(points, start=1):
        name = point_name(point)
        run = {"model": model, "task": task.name, "arm": arm, "seed": seed,
               "dir": Path(options.output_dir) / "runs" / model / task.name / arm / "sweep" / name}
        tag = f"  sweep {model} {task.name} {arm} [{k}/{len(points)}] {name}"
        record = finished(options, run["dir"], point, tag)
        if record is None:
            logger.info("%s: running", tag)
            record = run_one(options, {**recipe, **point}, task, run, folder, {"sweep_point": point})
        score = record["selection_metrics"].get("mcc")
        table.append({"name": name, "point": point, "selection_mcc": score})
        records.append(record)
    best = choose(table)
    summary = {"metric": SELECTION_METRIC, "selected_on": records[best]["selection"], "seed": seed,
               "chosen": table[best]["name"], "point": table[best]["point"], "table": table}
    logger.info("  sweep %s %s %s: chose %s (selection MCC %s, on %s)", model, task.name, arm, summary["chosen"],
                table[best]["selection_mcc"], summary["selected_on"])
    return summary, records[best]


def reuse_sweep_run(run: dict, chosen: dict, sweep: dict) -> dict:
    """The first seed's run at the chosen point is the sweep's run of that point: copied, not run twice."""
    if run["dir"].exists():
        shutil.rmtree(run["dir"])
    run["dir"].mkdir(parents=True)
    record = {**chosen, "sweep": sweep, "reused_from": f"sweep/{sweep['chosen']}"}
    atomic_write(run["dir"] / "results.json", json.dumps(record, indent=2, default=str))
    return record


def run_model_free_baseline(options, recipe: dict, task: SuiteTask, run: dict) -> dict:
    """One run of the kmer_lr or motif_lr arm (logistic regression on k-mer profiles or motif scores), recorded as
    the fine-tuning arms' runs are."""
    registered = get_task(task.task)
    data_args = FinetuneDataArguments(
        task=task.task, train_file=str(task.files["train"]),
        validation_file=str(task.files["dev"]) if task.has_test else None,
        test_file=str(task.files["test"] if task.has_test else task.files["dev"]),
        max_train_samples=options.max_train_samples, max_eval_samples=options.max_eval_samples,
        class_names=recipe.get("class_names"),
    )
    data = load_task_data(registered, data_args, run["seed"])
    id2label = dict(enumerate(data["train"].features["label"].names))
    if run["arm"] == "motif_lr":
        return run_motif_lr(data, recipe.get("motifs"), run["seed"], registered.metrics, None, id2label)
    return run_kmer_lr(data, recipe["kmer"], run["seed"], registered.metrics, None, id2label)


def budget_line(options, sweep_runs: int = 0) -> str:
    """The budget options in force, said plainly (a capped run is not a full-recipe run), and what --sweep adds."""
    parts = []
    if options.num_train_epochs:
        parts.append(f"{options.num_train_epochs:g} epoch(s) for every task")
    if options.max_steps:
        parts.append(f"at most {options.max_steps} steps per run")
    if options.max_train_samples:
        parts.append(f"a seeded random {options.max_train_samples} training rows per run")
    if options.max_eval_samples:
        parts.append(f"the first {options.max_eval_samples} rows of the selection and reported splits")
    recipe = options.recipe or "the shipped default recipe"
    line = f"Recipe: {recipe}" + (f"; budget: {', '.join(parts)} (not the full recipe)." if parts else ".")
    if options.sweep:
        line += (f" --sweep adds {sweep_runs} fine-tuning run(s): each grid point once on seed {options.seeds[0]}, "
                 "the chosen point's run counting as that seed's run.")
    return line


def check_options(options: BenchmarkOptions) -> None:
    """Everything that can be checked before the first run: no half-written results on bad input."""
    needs_model = [a for a in options.arms if a not in MODEL_FREE_ARMS]
    if needs_model and not options.models:
        raise UsageError(f"arms {needs_model} need --models FOLDER...; with no model give --arms kmer_lr and / or motif_lr")
    unknown = [a for a in options.arms if a not in ARMS]
    if unknown:
        raise UsageError(f"--arms {unknown}: choose from {list(ARMS)}")
    if len(set(options.seeds)) != len(options.seeds):
        raise UsageError(f"--seeds {options.seeds} repeats a seed")
    if options.tapt_steps < 0:
        raise UsageError(f"--tapt_steps {options.tapt_steps}: a number of steps is >= 0")
    options_given(build_finetune_parser(), shlex.split(options.finetune_args), "--finetune_args")
    check_models(options.models)


def run_benchmark(options: BenchmarkOptions) -> BenchmarkResult:
    """Run (or continue) a benchmark: every planned run not finished before, then the report (results.csv, .md,
    .json, .png) and ``model-index`` entries in the models' cards. Progress is logged (``genebert.benchmark``)."""
    check_options(options)
    output_folder = OutputFolder(options.output_dir, "genebert-benchmark", overwrite=options.overwrite,
                                 own_layout=OWN_LAYOUT)
    recipe = Recipe(options.recipe)
    references = load_references(options.references)
    tasks = discover_suite(options.suite, options.tasks, recipe)
    taken: set[str] = set()
    models = {_model_label(folder, taken): folder for folder in options.models}
    runs = plan(options, models, tasks)
    by_name = {t.name: t for t in tasks}
    sweep_runs = sum(len(sweep_points(task_recipe(options, recipe, r["task"]), r["arm"])) - 1 for r in runs
                     if options.sweep and r["arm"] not in MODEL_FREE_ARMS and r["seed"] == options.seeds[0])
    output_dir = output_folder.start()
    logger.info("genebert-benchmark: %d task(s) %s, arms %s, seeds %s, models %s -> %d runs%s", len(tasks),
                [t.name for t in tasks], options.arms, options.seeds, list(models), len(runs),
                f" + {sweep_runs} sweep runs" if options.sweep else "")
    logger.info("%s", budget_line(options, sweep_runs))
    for task in tasks:
        if not task.has_test:
            logger.info("  %s: no test split -> reported on dev; selection split carved out of train", task.name)
    records = []
    sweeps: dict[tuple, tuple[dict, dict]] = {}  # (model, task, arm) -> (sweep summary, chosen point's record)
    start = time.perf_counter()
    for i, run_ in enumerate(runs, start=1):
        tag = f"[{i}/{len(runs)}] {run_['model']} {run_['task']} {run_['arm']} seed {run_['seed']}"
        task, folder = by_name[run_["task"]], models.get(run_["model"])
        task_values = task_recipe(options, recipe, run_["task"])
        sweep = chosen = None
        if options.sweep and run_["arm"] not in MODEL_FREE_ARMS:
            key = (run_["model"], run_["task"], run_["arm"])
            if key not in sweeps:
                sweeps[key] = run_sweep(options, task_values, task, run_["model"], run_["arm"], folder)
            sweep, chosen = sweeps[key]
        point = sweep["point"] if sweep else None
        record = finished(options, run_["dir"], point, tag)
        if record is not None:
            if sweep:
                record["sweep"] = sweep  # the current table (a grid extended since still chose this point)
        elif chosen is not None and run_["seed"] == chosen["seed"]:
            record = reuse_sweep_run(run_, chosen, sweep)
            logger.info("%s: the sweep's run of the chosen point %s, reused", tag, sweep["chosen"])
        else:
            logger.info("%s: running", tag)
            notes = {"sweep_point": point, "sweep": sweep} if sweep else None
            record = run_one(options, {**task_values, **(point or {})}, task, run_, folder, notes)
            logger.info("%s: %s MCC %.3f, %.1f CPU-min (%.0f s so far)", tag, record["eval_split"],
                        record["metrics"].get("mcc", float("nan")), record["cpu_minutes"], time.perf_counter() - start)
        records.append({**record, "run_dir": str(run_["dir"])})
    rows = aggregate(records)
    if options.seed_ensemble:
        rows += ensemble_rows(records, by_name, {name: task_recipe(options, recipe, name) for name in by_name},
                              options.max_eval_samples)
    for row in rows:
        row["task_name"] = by_name[row["task"]].task
    files = {
        "csv": output_dir / "results.csv", "markdown": output_dir / "results.md",
        "json": output_dir / "results.json", "png": output_dir / "results.png",
    }
    atomic_write(files["csv"], to_csv(rows))
    report = markdown(rows, references, header=budget_line(options, sweep_runs))
    atomic_write(files["markdown"], report)
    result = BenchmarkResult(rows=rows, runs=records, suite=Path(options.suite), recipe=json.loads(recipe.to_json()),
                             sweep=options.sweep, budget=budget_line(options, sweep_runs), files=files, report=report)
    atomic_write(files["json"], json.dumps(result.to_dict(), indent=2, default=str))
    plot(rows, files["png"], records, references)
    if not options.no_model_cards:
        for label, folder in models.items():
            mine = [r for r in rows if r["model"] == label and r["arm"] in ("finetune", "lora")]
            if mine:
                files[f"card:{label}"] = update_model_card(Path(folder), mine)
    output_folder.finish()
    return result


# ----------------------------------------------------------------------------- command line
def build_parser() -> HfArgumentParser:
    return HfArgumentParser(
        BenchmarkOptions, prog="genebert-benchmark", formatter_class=HelpFormatter,
        description="Fine-tune models on every task folder of a suite (GUE layout) over seeds and arms; "
        "report MCC, macro F1 / P / R and ROC-AUC as mean ± sd beside published references. Resumable.",
    )


def run_command(argv: list[str] | None = None) -> BenchmarkResult:
    """Parse, run the benchmark, print the report and the files written."""
    (options,) = build_parser().parse_args_into_dataclasses(args=argv)
    result = run_benchmark(options)
    print("\n" + result.report)
    print("\n".join(f"{key}: {path}" for key, path in result.files.items()), flush=True)
    return result


main = console_script(run_command, "genebert-benchmark")

__all__ = ["ARMS", "BenchmarkOptions", "BenchmarkResult", "build_parser", "main", "run_benchmark"]

if __name__ == "__main__":
    sys.exit(main())
