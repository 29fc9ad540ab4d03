"""Embed a dataset with a GeneBERT folder and write the vectors to a file.

``genebert-embed --model_name_or_path DIR --dataset DATA --output emb.npy``; from Python
``embed(EmbedOptions(model_name_or_path=DIR, dataset=DATA, output="emb.npy"))`` (an :class:`EmbedResult`
holding the vectors too), or :func:`embed_sequences` for sequences in memory.

Inputs (``--dataset``):

* a CSV / TSV (``sequence[,label]``, gzip ok) or FASTA file -- one sequence per row;
* a GeneBERT pre-training dataset folder (``dataset_scripts`` output, e.g. the embedded
  mini-atlas): each sample's region windows are concatenated in order into one sequence,
  and its ``region_matrix`` and ``cell_type`` come along.

Poolings (``--pooling``):

* ``cls`` -- the final hidden state of [CLS] (paper's ``E_seq``, what Fig. 2 projects);
* ``mean`` -- mean of the final hidden states over real tokens ([CLS]/[SEP]/padding excluded);
* ``projected`` -- the L2-normalised SRM projection of [CLS] (the space sequence-region
  matching aligns with region embeddings); needs a folder with a region encoder/projection
  (pre-training or base model folders).

Outputs by extension: ``.npy`` (float32 ``[n, dim]``), ``.safetensors`` (tensor
``embeddings`` plus integer ``labels`` when present; metadata holds the pooling, model and
label names), ``.parquet`` (one row per sample: ``embedding`` list column plus id / label /
cell type columns).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dataset_scripts import build_sequence_classification_dataset, load_pretraining_dataset
from dataset_scripts.cli import UsageError, console_script, fspath_options, options_parser
from modeling_genebert.model_folders import check_model_folder
from dataset_scripts.finetuning_data import _is_fasta, has_column, read_labelled_fasta
from dataset_scripts.output_folders import check_output_files
from dataset_scripts.readers import DataFormatError
from dataset_scripts.sequence_input import read_sequences
from modeling_genebert import GENEBERT_HEADS, GeneBertModel
from modeling_genebert.downstream.long_inputs import LONG_INPUT_MODES, WINDOW_AGGREGATIONS, aggregate_windows, fit_to_window
from modeling_genebert.folder_tokenizer import load_tokenizer
from modeling_genebert.modeling_genebert import masked_mean
from modeling_genebert.precision import (
    INFERENCE_DEFAULT,
    INFERENCE_PRECISION_HELP,
    PRECISIONS,
    inference_precision,
    resolved_precision,
)

POOLINGS = ("cls", "mean", "projected")
FORMATS = (".npy", ".safetensors", ".parquet")

logger = logging.getLogger("genebert.embed")


def load_encoder(path: str):
    """``(GeneBertModel, tokenizer)`` from any GeneBERT folder (pre-training, MLM, classifier, base).

    A task folder (classifier, masked LM, token classifier) is loaded as what it is and its encoder taken, so
    nothing is "randomly initialised": such a folder has no SRM projection (``--pooling projected`` says so).
    """
    architectures = json.loads((Path(path) / "config.json").read_text()).get("architectures") or []
    task_heads = [name for name in architectures if name not in ("GeneBertModel", "GeneBertForPreTraining")]
    head = next((cls for cls in GENEBERT_HEADS.values() if task_heads and cls.__name__ == task_heads[0]), None)
    if head is None:
        model = GeneBertModel.from_pretrained(path)
    else:
        model = head.from_pretrained(path).genebert
        logger.info("%s is a %s folder: embedding with its fine-tuned sequence encoder", path, task_heads[0])
    return model.eval(), load_tokenizer(path, model.config)


def _labelled(path: str) -> bool:
    """Whether a sequence file carries labels: a ``label`` column, or a label in every FASTA header."""
    if not _is_fasta(path):
        return has_column(path, "label")
    try:
        read_labelled_fasta(path)
    except DataFormatError as error:
        if "no label in the FASTA header" in str(error):
            return False
        raise
    return True


def read_records(dataset: str, split: str = "validation", max_samples: int | None = None, seed: int = 0,
                 sequence_column: str = "sequence") -> dict[str, Any]:
    """Sequences plus metadata columns from a table / FASTA file or a pre-training dataset folder."""
    if Path(dataset).is_dir() and (Path(dataset) / "build_info.json").exists():
        data = load_pretraining_dataset(dataset)
        if split not in data:
            raise ValueError(f"{dataset} has no split {split!r} (it has {sorted(data)})")
        ds = data[split]
        if max_samples is not None and len(ds) > max_samples:
            ds = ds.shuffle(seed=seed).select(range(max_samples))
        ds = ds.select_columns(["sample_id", "cell_type", "sequences", "region_matrix"])
        rows = ds.with_format("numpy")[:]
        return {
            "sequence": ["".join(s) for s in ds["sequences"]],
            "sample_id": list(ds["sample_id"]),
            "cell_type": list(ds["cell_type"]),
            "region_matrix": np.asarray(rows["region_matrix"], dtype=np.float32),
        }
    if _labelled(dataset):
        ds = build_sequence_classification_dataset({"data": dataset}, sequence_column=sequence_column)["data"]
        labels = ds.features["label"].names
        out = {"sequence": list(ds["sequence"]), "label": list(ds["label"]), "label_names": labels}
    else:  # sequences only, checked as every command checks them (file:line of anything that is not DNA)
        ids, sequences, _ = read_sequences(dataset, sequence_column)
        out = {"sequence": sequences, "sample_id": ids}
    if max_samples is not None and len(out["sequence"]) > max_samples:
        keep = np.sort(np.random.default_rng(seed).choice(len(out["sequence"]), max_samples, replace=False))
        out = {k: ([v[i] for i in keep] if k != "label_names" else v) for k, v in out.items()}
    return out


@torch.no_grad()
def embed_sequences(
    model,
    tokenizer,
    sequences: list[str],
    pooling: str = "cls",
    batch_size: int = 64,
    max_length: int = 512,
    long_inputs: str = "truncate",
    window_overlap: int | None = None,
    window_aggregation: str = "mean",
    precision: str = INFERENCE_DEFAULT,
) -> np.ndarray:
    """``float32 [n, dim]`` embeddings (see the module docstring for the poolings).

    Batches hold sequences of similar length (less padding); ``precision`` as
    :func:`modeling_genebert.precision.inference_precision`.

    Sequences longer than the model's window are truncated with a warning, or with
    ``long_inputs="sliding_window"`` embedded window by window (``window_overlap`` bases,
    default half a window) and aggregated per sequence by ``window_aggregation``.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if pooling == "projected" and getattr(model, "sequence_projection", None) is None:
        raise ValueError("pooling 'projected' needs a folder whose model has the SRM projection (a pre-training folder)")
    max_length = min(max_length, model.config.sequence_config.max_position_embeddings)
    sequences, owners = fit_to_window(
        sequences, tokenizer, max_length, long_inputs, window_overlap, window_aggregation, "embedding"
    )
    chunks = []
    order = np.argsort([len(s) for s in sequences], kind="stable")
    device = next(model.parameters()).device
    for lo in range(0, len(sequences), batch_size):
        batch = tokenizer(
            [sequences[i] for i in order[lo : lo + batch_size]], padding=True, truncation=True, max_length=max_length,
            return_tensors="pt", return_special_tokens_mask=True,
        ).to(device)
        special = batch.pop("special_tokens_mask").bool()
        with inference_precision(precision, device):
            output = model(**batch)
        if pooling == "cls":
            vectors = output.last_hidden_state[:, 0]
        elif pooling == "mean":
            vectors = masked_mean(output.last_hidden_state, ~special & batch["attention_mask"].bool())
        else:
            vectors = output.sequence_embeds
        chunks.append(vectors.float().cpu().numpy())
    dim = model.config.sequence_config.hidden_size if pooling != "projected" else model.config.projection_dim
    embeddings = np.zeros((0, dim), dtype=np.float32)
    if chunks:
        embeddings = np.empty((len(sequences), dim), dtype=np.float32)
        embeddings[order] = np.concatenate(chunks)
    if owners is not None:
        embeddings = aggregate_windows(embeddings, owners, window_aggregation)
        if pooling == "projected":  # a mean of unit vectors is shorter than 1: back onto the sphere
            embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)
    return embeddings


def save_embeddings(path: str | os.PathLike, embeddings: np.ndarray, metadata: dict[str, Any], columns: dict[str, list]) -> Path:
    """Write ``embeddings`` (+ columns) as .npy / .safetensors / .parquet, chosen by the extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: the output must end with one of {FORMATS}")
    path.parent.mkdir(parents=True, exist_ok=True)
    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    if suffix == ".npy":
        np.save(path, embeddings)
    elif suffix == ".safetensors":
        from safetensors.numpy import save_file

        tensors = {"embeddings": embeddings}
        if "label" in columns:
            tensors["labels"] = np.asarray(columns["label"], dtype=np.int64)
        save_file(tensors, str(path), metadata={k: json.dumps(v) for k, v in metadata.items()})
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({**columns, "embedding": list(embeddings)})
        table = table.replace_schema_metadata({"genebert": json.dumps(metadata)})
        pq.write_table(table, path)
    return path


@dataclass(kw_only=True)
class EmbedOptions:
    """Which folder embeds which data, how, and where the vectors go (the command line's options).

    Path options take a ``str`` or a ``pathlib.Path``."""

    model_name_or_path: str = field(metadata={"help": "a GeneBERT folder"})
    dataset: str = field(metadata={"help": "CSV/TSV/FASTA file, or a pre-training dataset folder"})
    output: str = field(metadata={"help": "output file: .npy, .safetensors or .parquet"})
    pooling: str = field(default="cls", metadata={"choices": POOLINGS, "help": "cls (default), mean or projected"})
    sequence_column: str = field(default="sequence", metadata={"help": "sequence column of a CSV/TSV dataset"})
    split: str = field(default="validation", metadata={"help": "split of a pre-training dataset folder"})
    max_samples: int | None = field(default=None, metadata={"help": "seeded random subset of this size"})
    batch_size: int = field(default=64, metadata={"help": "sequences per forward pass"})
    max_length: int = field(default=512, metadata={"help": "max tokens per sequence"})
    seed: int = field(default=0, metadata={"help": "seed of the --max_samples subset"})
    long_inputs: str = field(default="truncate", metadata={
        "choices": LONG_INPUT_MODES, "help": "longer sequences: truncate (with a warning) or embed sliding windows and aggregate"})
    window_overlap: int | None = field(default=None, metadata={"help": "sliding-window overlap in bases (default half a window)"})
    window_aggregation: str = field(default="mean", metadata={"choices": WINDOW_AGGREGATIONS, "help": "how window embeddings combine per sequence"})
    precision: str = field(default=INFERENCE_DEFAULT, metadata={"choices": PRECISIONS, "help": INFERENCE_PRECISION_HELP})
    overwrite: bool = field(default=False, metadata={"help": "replace an existing --output file"})

    def __post_init__(self) -> None:
        fspath_options(self)  # path options may be given as pathlib.Path


@dataclass
class EmbedResult:
    """The vectors and what was written; ``to_dict()`` is the metadata the output file holds, plus its path."""

    output: Path
    embeddings: np.ndarray  # float32 [n, dim], in dataset order (not in to_dict)
    columns: dict[str, list]  # per row: sample_id / cell_type / label, those the dataset has (not in to_dict)
    model: str
    dataset: str
    split: str
    pooling: str
    long_inputs: str  # "truncate" or "sliding_window (<aggregation>)"
    shape: list[int]
    label_names: list[str] | None
    precision: str  # "fp32" or "bf16": what the forward passes ran in

    def metadata(self) -> dict[str, Any]:
        """What the output file records about itself (safetensors metadata, Parquet schema metadata)."""
        return {"model": self.model, "dataset": self.dataset, "split": self.split, "pooling": self.pooling,
                "long_inputs": self.long_inputs, "shape": self.shape, "label_names": self.label_names,
                "precision": self.precision}

    def to_dict(self) -> dict[str, Any]:
        return {**self.metadata(), "output": str(self.output)}


def check_options(options: EmbedOptions) -> None:
    """Impossible numbers and an unknown output format fail before the model is loaded."""
    for name in ("batch_size", "max_length", "max_samples"):
        if getattr(options, name) is not None and getattr(options, name) < 1:
            raise UsageError(f"--{name} must be at least 1, got {getattr(options, name)}")
    if options.window_overlap is not None and options.window_overlap < 0:
        raise UsageError(f"--window_overlap must be >= 0, got {options.window_overlap}")
    if Path(options.output).suffix.lower() not in FORMATS:
        raise UsageError(f"--output {options.output}: must end with one of {', '.join(FORMATS)}")
    check_output_files([options.output], "genebert-embed", overwrite=options.overwrite)


def embed(options: EmbedOptions) -> EmbedResult:
    """Embed ``options.dataset`` with the folder's encoder and write ``options.output``."""
    check_options(options)
    check_model_folder(options.model_name_or_path)  # before the data is read
    model, tokenizer = load_encoder(options.model_name_or_path)
    records = read_records(options.dataset, split=options.split, max_samples=options.max_samples, seed=options.seed,
                           sequence_column=options.sequence_column)
    embeddings = embed_sequences(
        model, tokenizer, records["sequence"], pooling=options.pooling, batch_size=options.batch_size,
        max_length=options.max_length, long_inputs=options.long_inputs, window_overlap=options.window_overlap,
        window_aggregation=options.window_aggregation, precision=options.precision,
    )
    result = EmbedResult(
        output=Path(options.output), embeddings=embeddings,
        columns={k: records[k] for k in ("sample_id", "cell_type", "label") if k in records},
        model=options.model_name_or_path, dataset=options.dataset, split=options.split, pooling=options.pooling,
        long_inputs=options.long_inputs if options.long_inputs == "truncate" else f"sliding_window ({options.window_aggregation})",
        shape=list(embeddings.shape), label_names=records.get("label_names"),
        precision=resolved_precision(options.precision, next(model.parameters()).device),
    )
    save_embeddings(result.output, embeddings, result.metadata(), result.columns)
    return result


# ----------------------------------------------------------------------------- the command line: parse, call, print
def build_parser() -> argparse.ArgumentParser:
    return options_parser(EmbedOptions, prog="genebert-embed",
                          description="Embed a dataset with a GeneBERT folder ([CLS] / mean-pooled / projected) into a file.")


def run_command(argv: list[str] | None = None) -> EmbedResult:
    (options,) = build_parser().parse_options(argv)
    result = embed(options)
    print(f"wrote {result.shape[0]} x {result.shape[1]} {result.pooling} embeddings to {result.output}")
    return result


main = console_script(run_command, "genebert-embed")

if __name__ == "__main__":
    sys.exit(main())
