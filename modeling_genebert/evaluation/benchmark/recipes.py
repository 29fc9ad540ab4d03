"""Benchmark suites (task folders in GUE layout) and per-task fine-tuning recipes (YAML)."""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dataset_scripts.tasks import list_tasks

DEFAULT_RECIPE = Path(__file__).with_name("default_recipe.yaml")
SPLITS = ("train", "dev", "test")
SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
# recipe keys and the type each value must have
RECIPE_KEYS: dict[str, type | tuple[type, ...]] = {
    "num_train_epochs": (int, float),
    "learning_rate": (int, float),
    "per_device_train_batch_size": int,
    "max_length": int,
    "warmup_steps": (int, float),
    "weight_decay": (int, float),
    "lora_learning_rate": (int, float),
    "kmer": int,
    "motifs": str,
    "task": str,
    "class_names": str,
    "sweep": dict,
}
# the axes a recipe's ``sweep`` may vary (``--sweep``); each maps to a list of values. The lora arm
# sweeps lora_learning_rate, the other fine-tuning arms learning_rate. An epochs value "+N" is the
# recipe's epochs (or --num_train_epochs) plus N.
SWEEP_KEYS = ("learning_rate", "lora_learning_rate", "num_train_epochs", "warmup_steps")
RELATIVE_EPOCHS = re.compile(r"^\+\d+(\.\d+)?$")
# folder-name prefixes that map to a registered task (an exact registered name wins; else "generic")
TASK_BY_PREFIX = {"prom_": "promoter", "promoter": "promoter", "splice": "splice"}


@dataclass
class SuiteTask:
    """One task folder: its splits' files, the registered task it runs as, and its label set."""

    name: str
    folder: Path
    files: dict[str, Path]
    task: str = "generic"
    labels: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def has_test(self) -> bool:
        return "test" in self.files


def _split_file(folder: Path, split: str) -> Path | None:
    for suffix in SUFFIXES:
        path = folder / f"{split}{suffix}"
        if path.exists():
            return path
    return None


def read_labels(path: Path, label_column: str = "label") -> tuple[list[str], int]:
    """The sorted label set and row count of a CSV/TSV split file (header with a ``label`` column)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    delimiter = "\t" if ".tsv" in path.name else ","
    labels: set[str] = set()
    rows = 0
    with opener(path, "rt", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if not header or label_column not in header:
            raise ValueError(f"{path}:1: no '{label_column}' column in the header {header}")
        index = header.index(label_column)
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) <= index:
                raise ValueError(f"{path}:{line}:{label_column}: missing value")
            labels.add(row[index].strip())
            rows += 1
    if rows == 0:
        raise ValueError(f"{path}: no examples")
    return sorted(labels), rows


def default_task_for(folder_name: str) -> str:
    if folder_name in list_tasks():
        return folder_name
    for prefix, task in TASK_BY_PREFIX.items():
        if folder_name.startswith(prefix):
            return task
    return "generic"


def discover_suite(suite: str | Path, only: list[str] | None = None, recipe: "Recipe | None" = None) -> list[SuiteTask]:
    """Every task folder under ``suite`` (train + dev, optional test), checked: files present, same labels in every split."""
    suite = Path(suite)
    if not suite.is_dir():
        raise FileNotFoundError(f"--suite {suite}: not a folder")
    folders = sorted(p for p in suite.iterdir() if p.is_dir() and not p.name.startswith("."))
    if only:
        unknown = [name for name in only if not (suite / name).is_dir()]
        if unknown:
            raise ValueError(f"--tasks {unknown}: no such folder in {suite} (it has {[p.name for p in folders]})")
        folders = [suite / name for name in only]
    if not folders:
        raise ValueError(f"--suite {suite}: no task folders (expected GUE layout: TASK/train.csv, TASK/dev.csv[, TASK/test.csv])")
    tasks = []
    for folder in folders:
        files = {split: path for split in SPLITS if (path := _split_file(folder, split)) is not None}
        missing = [split for split in ("train", "dev") if split not in files]
        if missing:
            raise ValueError(f"{folder}: no {' or '.join(s + '.csv' for s in missing)} (a task folder needs train.csv "
                             "and dev.csv, optionally test.csv; .gz / .tsv also read); leave it out with --tasks")
        label_sets, sizes = {}, {}
        for split, path in files.items():
            label_sets[split], sizes[split] = read_labels(path)
        if len({tuple(v) for v in label_sets.values()}) > 1:
            shown = "; ".join(f"{split}: {labels}" for split, labels in label_sets.items())
            raise ValueError(f"{folder}: the splits hold different labels ({shown})")
        task = recipe.for_task(folder.name).get("task") if recipe else None
        tasks.append(SuiteTask(folder.name, folder, files, task or default_task_for(folder.name),
                               label_sets["train"], sizes))
    return tasks


class Recipe:
    """A recipe YAML: ``defaults`` plus per-task overrides; unknown keys are errors naming the key and file."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else DEFAULT_RECIPE
        if not self.path.exists():
            raise FileNotFoundError(f"--recipe {self.path}: no such file")
        try:
            data = yaml.safe_load(self.path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{self.path}: not valid YAML ({error})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: expected a mapping with 'defaults' and/or 'tasks'")
        extra = sorted(set(data) - {"defaults", "tasks"})
        if extra:
            raise ValueError(f"{self.path}: unknown top-level key(s) {extra}; known: defaults, tasks")
        base = {} if self.path == DEFAULT_RECIPE else Recipe(DEFAULT_RECIPE).defaults
        self.defaults = {**base, **self._check(data.get("defaults") or {}, "defaults")}
        tasks = data.get("tasks") or {}
        if not isinstance(tasks, dict):
            raise ValueError(f"{self.path}: 'tasks' must map task folder names to recipes")
        self.tasks = {str(name): self._check(values or {}, f"tasks.{name}") for name, values in tasks.items()}

    def _check(self, values: Any, where: str) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise ValueError(f"{self.path}: {where} must be a mapping of recipe keys")
        for key, value in values.items():
            if key not in RECIPE_KEYS:
                raise ValueError(f"{self.path}: unknown recipe key {where}.{key}; known keys: {', '.join(RECIPE_KEYS)}")
            expected = RECIPE_KEYS[key]
            if isinstance(value, bool) or not isinstance(value, expected):
                raise ValueError(f"{self.path}: {where}.{key} = {value!r} is not a {getattr(expected, '__name__', 'number')}")
        if "task" in values and values["task"] not in list_tasks():
            raise ValueError(f"{self.path}: {where}.task {values['task']!r} is not a registered task ({', '.join(list_tasks())})")
        if "sweep" in values:
            self._check_sweep(values["sweep"], f"{where}.sweep")
        return dict(values)

    def _check_sweep(self, sweep: dict, where: str) -> None:
        for key, grid in sweep.items():
            if key not in SWEEP_KEYS:
                raise ValueError(f"{self.path}: unknown sweep key {where}.{key}; known keys: {', '.join(SWEEP_KEYS)}")
            if not isinstance(grid, list) or not grid:
                raise ValueError(f"{self.path}: {where}.{key} = {grid!r} is not a non-empty list of values")
            lowest = 0 if key == "warmup_steps" else 1e-12  # no warm-up is a schedule; no rate or epochs is not
            for value in grid:
                relative = key == "num_train_epochs" and isinstance(value, str) and RELATIVE_EPOCHS.match(value)
                if not relative and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < lowest):
                    wanted = ("a number >= 0" if lowest == 0 else "a number > 0") + (
                        ' or "+N" (the recipe\'s epochs plus N)' if key == "num_train_epochs" else "")
                    raise ValueError(f"{self.path}: {where}.{key} value {value!r} is not {wanted}")
            if len(set(map(str, grid))) < len(grid):
                raise ValueError(f"{self.path}: {where}.{key} = {grid!r} repeats a value")

    def for_task(self, name: str) -> dict[str, Any]:
        return {**self.defaults, **self.tasks.get(name, {})}

    def to_json(self) -> str:
        return json.dumps({"defaults": self.defaults, "tasks": self.tasks}, sort_keys=True)


__all__ = ["DEFAULT_RECIPE", "RECIPE_KEYS", "SWEEP_KEYS", "Recipe", "SuiteTask", "default_task_for", "discover_suite", "read_labels"]
