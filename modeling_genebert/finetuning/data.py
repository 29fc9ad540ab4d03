"""Fine-tuning data: task files -> ``DatasetDict`` -> model features -> padded batches.

Everything task-specific comes from the task registry (:mod:`dataset_scripts.tasks`):
the reader that turns files into examples, the class names and count, the input columns
and the feature builder.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from dataset_scripts.finetuning_data import reverse_complement
from dataset_scripts.readers import DataFormatError
from dataset_scripts.tasks import REF_ALT, SEQUENCE, ReadOptions, Task
from modeling_genebert.downstream.long_inputs import fit_to_window
from modeling_genebert.finetuning.arguments import FinetuneDataArguments

logger = logging.getLogger("genebert.finetune")


def load_task_data(task: Task, data_args: FinetuneDataArguments, seed: int):
    """A ``DatasetDict`` of the task's input columns + ClassLabel ``label``, train / validation (/ test) splits."""
    from datasets import ClassLabel, DatasetDict, load_from_disk

    if data_args.dataset_path:
        data = load_from_disk(data_args.dataset_path)
        if not isinstance(data, DatasetDict):
            data = DatasetDict({"train": data})
        renames = {data_args.sequence_column: "sequence", data_args.label_column: "label"}
        data = data.rename_columns({k: v for k, v in renames.items() if k != v and k in data["train"].column_names})
        if "valid" in data and "validation" not in data:
            data["validation"] = data.pop("valid")
        if "dev" in data and "validation" not in data:
            data["validation"] = data.pop("dev")
        if "train" not in data:
            raise DataFormatError(f"{data_args.dataset_path}: no 'train' split (it has {sorted(data)})")
        missing = [c for c in (*task.inputs, "label") if c not in data["train"].column_names]
        if missing:
            raise DataFormatError(f"{data_args.dataset_path}: task {task.name!r} needs the column(s) {missing}; "
                                  f"the data have {data['train'].column_names}")
    else:
        if not data_args.train_file:
            raise ValueError("give --train_file (and --validation_file) or --dataset_path")
        files = {"train": data_args.train_file}
        files.update({s: p for s, p in (("validation", data_args.validation_file), ("test", data_args.test_file)) if p})
        names = [n.strip() for n in data_args.class_names.split(",")] if data_args.class_names else None
        options = ReadOptions(label_names=names, sequence_column=data_args.sequence_column,
                              label_column=data_args.label_column, seed=seed)
        data = task.read(files, options)
    if "label" in data["train"].features and not isinstance(data["train"].features["label"], ClassLabel):
        data = data.class_encode_column("label")
    for split, ds in data.items():
        if len(ds) == 0:
            raise DataFormatError(f"{data_args.dataset_path or data_args.train_file}: the {split} split holds no examples")
    if "validation" not in data:
        split = data["train"].train_test_split(
            test_size=data_args.validation_split_percentage / 100, seed=seed, stratify_by_column="label"
        )
        data["train"], data["validation"] = split["train"], split["test"]
        logger.info("no validation split given: held out %.1f%% of train", data_args.validation_split_percentage)
    if data_args.max_train_samples is not None and len(data["train"]) > data_args.max_train_samples:
        data["train"] = data["train"].shuffle(seed=seed).select(range(data_args.max_train_samples))
    for split in ("validation", "test"):
        if split in data and data_args.max_eval_samples is not None and len(data[split]) > data_args.max_eval_samples:
            data[split] = data[split].select(range(data_args.max_eval_samples))
    return data


class ClassificationCollator:
    """Pads token features with the tokenizer; stacks ``region_matrix`` (float32) when present."""

    def __init__(self, tokenizer, pad_to_multiple_of: int | None = 8):
        self.tokenizer = tokenizer
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        regions = [f["region_matrix"] for f in features] if "region_matrix" in features[0] else None
        labels = [f["labels"] for f in features] if "labels" in features[0] else None
        tokens = [{k: f[k] for k in ("input_ids", "token_type_ids", "attention_mask") if k in f} for f in features]
        batch = dict(
            self.tokenizer.pad(tokens, padding=True, pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt")
        )
        if labels is not None:
            batch["labels"] = torch.tensor(labels, dtype=torch.long)
        if regions is not None:
            batch["region_matrix"] = torch.as_tensor(np.asarray(regions, dtype=np.float32))
        return batch


def reverse_complement_table(tokenizer) -> np.ndarray:
    """Token id -> id of its reverse-complement k-mer; every other token ([CLS], [SEP], [PAD], [UNK] -- a
    k-mer holding N, whose reverse complement holds N too -- and [MASK]) maps to itself."""
    if getattr(tokenizer, "stride", 1) != 1:
        raise ValueError(f"reverse-complement options need overlapping k-mers (tokenizer stride 1), not stride "
                         f"{tokenizer.stride}: with a larger stride the other strand's k-mers start at other bases")
    vocab = tokenizer.get_vocab()
    table = np.arange(max(vocab.values()) + 1, dtype=np.int64)
    for token, index in vocab.items():
        if len(token) == tokenizer.kmer and set(token) <= set("ACGT"):
            table[index] = vocab[reverse_complement(token)]
    return table


class StrandFlip:
    """Tokenized examples (as :func:`prepare_features` writes them) read on the other strand, without re-tokenizing.

    Each segment's k-mers ([CLS] A [SEP] (B [SEP])) are reversed in order and mapped to their reverse
    complements: for overlapping k-mers exactly the tokens of the reverse-complement DNA. Region matrix rows
    (tiles along the sequence; a ref / alt pair has one block of rows per sequence) are reversed in order; a
    row itself stays, because the motif scan behind it scores both strands.
    """

    def __init__(self, tokenizer, region_blocks: int = 1):
        self.table = reverse_complement_table(tokenizer)
        self.delimiters = np.asarray([tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id])
        self.region_blocks = region_blocks

    def input_ids(self, ids) -> list[int]:
        ids = np.asarray(ids, dtype=np.int64)
        out = self.table[ids]
        kmers = np.concatenate([[0], ~np.isin(ids, self.delimiters), [0]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(kmers))  # start, end, start, end, ... of each segment's k-mer run
        for start, end in zip(edges[::2], edges[1::2]):
            out[start:end] = out[start:end][::-1]
        return out.tolist()

    def region_matrix(self, matrix) -> np.ndarray:
        blocks = np.split(np.asarray(matrix, dtype=np.float32), self.region_blocks)
        return np.concatenate([block[::-1] for block in blocks])

    def batch(self, batch: dict, flip: list[bool] | None = None) -> dict:
        """A ``datasets`` batch (column -> rows) with the rows ``flip`` marks (default: all) on the other strand."""
        flip = [True] * len(batch["input_ids"]) if flip is None else flip
        out = dict(batch)
        out["input_ids"] = [self.input_ids(ids) if f else ids for ids, f in zip(batch["input_ids"], flip)]
        if "region_matrix" in batch:
            out["region_matrix"] = [self.region_matrix(m) if f else m for m, f in zip(batch["region_matrix"], flip)]
        return out


def strand_flip(tokenizer, task: Task, region_builder=None) -> StrandFlip:
    """The :class:`StrandFlip` of a task's features, or a clear error where the other strand is not defined."""
    if "region_matrix" in task.inputs:
        raise ValueError(f"task {task.name!r} reads its own region_matrix: reverse-complement options cannot know "
                         "how its rows change on the other strand")
    if region_builder is not None and not region_builder.scanner.both_strands:
        raise ValueError("the region matrix scan scores one strand only: reverse-complement options need both")
    return StrandFlip(tokenizer, region_blocks=2 if task.inputs == REF_ALT else 1)


class RandomStrand:
    """``datasets`` transform of the train split: every example is read on a random strand each time it is drawn.

    Not in the collator: the Trainer collates evaluation batches with the same collator, and only training
    is augmented. The coin flips come from their own generator (seeded), so a run is reproducible. In a
    DataLoader worker (``dataloader_num_workers > 0``) each worker holds a copy of this object, made afresh
    every epoch: the generator is then re-seeded from the worker's own seed (distinct per worker and epoch,
    and itself drawn from the seeded loader), else every worker and epoch would draw the same coins.
    """

    def __init__(self, flip: StrandFlip, seed: int):
        self.flip, self.seed, self.generator = flip, seed, torch.Generator().manual_seed(seed)
        self._worker_seed: int | None = None

    def _coins(self, n: int) -> list[bool]:
        worker = torch.utils.data.get_worker_info()
        if worker is not None and worker.seed != self._worker_seed:
            self._worker_seed = worker.seed
            self.generator = torch.Generator().manual_seed((self.seed * 1_000_003 + worker.seed) % 2**63)
        return (torch.rand(n, generator=self.generator) < 0.5).tolist()

    def __call__(self, batch: dict) -> dict:
        return self.flip.batch(batch, self._coins(len(batch["input_ids"])))


def prepare_features(
    data,
    task: Task,
    tokenizer,
    max_length: int,
    region_builder=None,
    long_inputs: str = "truncate",
    window_overlap: int | None = None,
    window_aggregation: str = "mean",
):
    """Every split through the task's feature builder; keeps the model inputs and ``labels``.

    Returns ``(features, owners)``: with ``long_inputs="sliding_window"`` (one-sequence tasks)
    each split holds one row per window and ``owners[split][i]`` is the sequence window ``i``
    came from; otherwise ``owners`` is empty and over-long sequences are truncated with a warning.
    """
    from datasets import Dataset, DatasetDict, Features

    owners: dict[str, np.ndarray] = {}
    if task.inputs == SEQUENCE:
        windowed = {}
        for split, ds in data.items():
            windows, owned_by = fit_to_window(
                ds["sequence"], tokenizer, max_length, long_inputs, window_overlap, window_aggregation, f"{split} split"
            )
            if owned_by is None:
                continue
            owners[split] = owned_by
            schema = Features({"sequence": ds.features["sequence"], "label": ds.features["label"]})
            labels = np.asarray(ds["label"])[owned_by]
            windowed[split] = Dataset.from_dict({"sequence": windows, "label": labels}, features=schema)
        if windowed:
            data = DatasetDict(windowed)
    elif long_inputs != "truncate":
        raise ValueError(f"--long_inputs {long_inputs} needs a one-sequence task; task {task.name!r} reads {task.inputs}")

    def encode(batch):
        out = task.features(batch, tokenizer, max_length, region_builder)
        out["labels"] = batch["label"]
        return out

    columns = data["train"].column_names
    return data.map(encode, batched=True, batch_size=512, remove_columns=columns, desc="tokenizing"), owners


__all__ = [
    "ClassificationCollator", "RandomStrand", "StrandFlip", "load_task_data", "prepare_features",
    "reverse_complement_table", "strand_flip",
]
