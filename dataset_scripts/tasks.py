"""The downstream-task registry: one declaration per task, read by every room that needs tasks.

A :class:`Task` says everything the package needs to know about a downstream task: its
name, its card title, how many classes and their default names, which input columns an
example has, how files become a ``datasets.DatasetDict`` (``reader``), how an example
becomes model features (``features``) and which metric sets score it (``metrics``).
``genebert-build-finetuning``, ``genebert-finetune``, the metrics, the fine-tuning card
and the analyses all read it; none keeps its own table. Adding a task is one
:func:`register_task` call (docs/finetuning.md#adding-a-task); a separate package can also
ship tasks through the ``genebert.tasks`` entry-point group (each entry a ``Task``).

Input kinds (``Task.inputs``): one ``sequence``; a ``ref_sequence`` / ``alt_sequence``
pair (tokenized as a BERT sentence pair); ``sequence`` plus a precomputed
``region_matrix`` column (``regions x TFs``) that goes to the region encoder as it is.

Data side: imports neither torch nor transformers; a feature builder receives the
tokenizer object and calls it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from dataset_scripts.finetuning_data import (
    build_sequence_classification_dataset,
    build_splice_dataset,
    build_tfbs_dataset,
    has_column,
)
from dataset_scripts.plugins import load_plugins
from dataset_scripts.readers import DataFormatError

SEQUENCE = ("sequence",)
REF_ALT = ("ref_sequence", "alt_sequence")
SEQUENCE_REGIONS = ("sequence", "region_matrix")
ENTRY_POINT_GROUP = "genebert.tasks"


@dataclass
class ReadOptions:
    """What the user said about the files (CLI options of both fine-tuning commands)."""

    label_names: Sequence[str] | None = None  # class names in id order; default: the task's
    sequence_column: str = "sequence"
    label_column: str = "label"
    seed: int = 0  # seeds generated negatives (tfbs shuffles)
    negatives_per_positive: int = 1


# --------------------------------------------------------------------------- readers
def read_labelled_files(task: Task, files: Mapping[str, Any], options: ReadOptions):
    """CSV / TSV (gz) / FASTA with a label per example -> ``DatasetDict`` (inputs + ClassLabel ``label``)."""
    return build_sequence_classification_dataset(
        files,
        task=task.name,
        label_names=options.label_names,
        default_label_names=task.label_names,
        sequence_column=options.sequence_column,
        label_column=options.label_column,
        input_columns=None if task.inputs == SEQUENCE else [c for c in task.inputs if c != "region_matrix"],
    )


def read_tfbs_files(task: Task, files: Mapping[str, Any], options: ReadOptions):
    """Labelled tables as they are (GUE tf layout); positives only (FASTA, or a table without the
    label column) get seeded dinucleotide-shuffled negatives, as the paper builds its TFBS sets."""
    first = next(iter(files.values()))
    if not isinstance(first, Mapping) and has_column(first, options.label_column):
        return read_labelled_files(task, files, options)
    return build_tfbs_dataset(
        files,
        seed=options.seed,
        negatives_per_positive=options.negatives_per_positive,
        sequence_column=options.sequence_column,
    )


# --------------------------------------------------------------------------- features
def sequence_features(batch: Mapping[str, list], tokenizer, max_length: int, region_builder=None) -> dict:
    """Tokens of ``sequence`` (+ its on-the-fly region matrix when ``region_builder`` is given)."""
    out = tokenizer(batch["sequence"], truncation=True, max_length=max_length)
    out = {k: out[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    if region_builder is not None:
        out["region_matrix"] = region_builder(batch["sequence"])
    return out


def ref_alt_features(batch: Mapping[str, list], tokenizer, max_length: int, region_builder=None) -> dict:
    """``[CLS] ref [SEP] alt [SEP]`` (segment ids 0 / 1); region rows: the ref's rows, then the alt's."""
    out = tokenizer(batch["ref_sequence"], batch["alt_sequence"], truncation=True, max_length=max_length)
    out = {k: out[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    if region_builder is not None:
        ref, alt = region_builder(batch["ref_sequence"]), region_builder(batch["alt_sequence"])
        out["region_matrix"] = np.concatenate([ref, alt], axis=1)
    return out


def sequence_region_features(batch: Mapping[str, list], tokenizer, max_length: int, region_builder=None) -> dict:
    """Tokens of ``sequence`` and the example's own ``region_matrix`` (an on-the-fly scan would replace it)."""
    if region_builder is not None:
        raise ValueError("this task's examples carry their own region_matrix: do not add --region_input")
    out = sequence_features(batch, tokenizer, max_length)
    out["region_matrix"] = batch["region_matrix"]
    return out


FEATURES_BY_INPUTS = {SEQUENCE: sequence_features, REF_ALT: ref_alt_features, SEQUENCE_REGIONS: sequence_region_features}


# --------------------------------------------------------------------------- the declaration
@dataclass(frozen=True)
class Task:
    """One downstream task.

    Args:
        name: the ``--task`` value.
        title: what the task is, for cards, tables and printed summaries.
        num_labels: classes the data must hold (``None``: whatever the data hold).
        label_names: default class names: a list (class id -> name) or a dict (raw label ->
            name, applied only when the data's raw labels are among its keys or values).
        inputs: the example's input columns (:data:`SEQUENCE`, :data:`REF_ALT`, :data:`SEQUENCE_REGIONS`).
        reader: ``reader(task, files, options) -> DatasetDict`` (``files``: ``{split: path}``).
        features: ``features(batch, tokenizer, max_length, region_builder) -> dict`` of model
            inputs; default: the builder for ``inputs``.
        metrics: metric sets that score it (``modeling_genebert.downstream.metrics.METRIC_SETS``:
            ``"classification"``; ``"splice"`` adds SpliceAI's top-k accuracy and PR-AUC).
        from_genome: optional ``(genome, sites, context, validation_chroms, test_chroms) ->
            DatasetDict`` for tasks whose examples can be cut from a genome FASTA.
    """

    name: str
    title: str
    num_labels: int | None = None
    label_names: Sequence[str] | Mapping[str, str] | None = None
    inputs: tuple[str, ...] = SEQUENCE
    reader: Callable[..., Any] = read_labelled_files
    features: Callable[..., dict] | None = None
    metrics: tuple[str, ...] = ("classification",)
    from_genome: Callable[..., Any] | None = None

    def __post_init__(self):
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"task name must be letters, digits, '_' or '-', got {self.name!r}")
        if self.features is None:
            if self.inputs not in FEATURES_BY_INPUTS:
                raise ValueError(
                    f"task {self.name!r}: inputs {self.inputs} have no default feature builder "
                    f"(known: {list(FEATURES_BY_INPUTS)}); pass features="
                )
            object.__setattr__(self, "features", FEATURES_BY_INPUTS[self.inputs])
        if self.label_names is not None and self.num_labels is not None and not isinstance(self.label_names, Mapping):
            if len(self.label_names) != self.num_labels:
                raise ValueError(f"task {self.name!r}: {len(self.label_names)} label names for {self.num_labels} classes")

    def read(self, files, options: ReadOptions | None = None):
        """The task's ``DatasetDict`` from ``{split: path}`` (a single path means ``{"train": path}``)."""
        if isinstance(files, (str, os.PathLike)):
            files = {"train": files}
        return self.reader(self, dict(files), options or ReadOptions())

    def check_labels(self, label_names: Sequence[str]) -> None:
        """Raise if the data hold a number of classes the task does not have."""
        if self.num_labels is not None and len(label_names) != self.num_labels:
            raise DataFormatError(
                f"task {self.name!r} has {self.num_labels} classes but the data hold {len(label_names)} "
                f"({list(label_names)}); use --task generic for other label sets"
            )


_TASKS: dict[str, Task] = {}


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Add ``task`` to the registry (``replace=True`` to redefine a name); returns it."""
    if task.name in _TASKS and not replace:
        raise ValueError(f"task {task.name!r} is already registered; pass replace=True to redefine it")
    _TASKS[task.name] = task
    return task


def _load_entry_points() -> None:
    load_plugins(ENTRY_POINT_GROUP, Task, lambda task: _TASKS.setdefault(task.name, task))


def list_tasks() -> list[str]:
    """Registered task names, in registration order."""
    _load_entry_points()
    return list(_TASKS)


def get_task(name: str | Task) -> Task:
    """The task called ``name``; an unknown name is an error listing the registered ones."""
    if isinstance(name, Task):
        return name
    _load_entry_points()
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; registered tasks: {', '.join(_TASKS)}")
    return _TASKS[name]


# --------------------------------------------------------------------------- built-in tasks (paper section 4.2)
register_task(Task(
    "promoter", "promoter classification", num_labels=2,
    label_names={"0": "non_promoter", "1": "promoter"},
))
register_task(Task(
    "tfbs", "transcription-factor binding-site classification", num_labels=2,
    label_names={"0": "unbound", "1": "bound"}, reader=read_tfbs_files,
))
register_task(Task("disease", "disease-risk classification", num_labels=2, label_names=["no_risk", "risk"]))
register_task(Task(
    "splice", "splice-site classification (acceptor / donor / neither)", num_labels=3,
    metrics=("classification", "splice"), from_genome=build_splice_dataset,
))
register_task(Task("generic", "sequence classification"))
register_task(Task("variant_pair", "reference / alternative allele pair classification", inputs=REF_ALT))


__all__ = [
    "ENTRY_POINT_GROUP",
    "REF_ALT",
    "ReadOptions",
    "SEQUENCE",
    "SEQUENCE_REGIONS",
    "Task",
    "get_task",
    "list_tasks",
    "read_labelled_files",
    "read_tfbs_files",
    "ref_alt_features",
    "register_task",
    "sequence_features",
    "sequence_region_features",
]
