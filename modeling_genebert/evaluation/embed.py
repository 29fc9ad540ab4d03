"""Embed a dataset with a GeneBERT folder and write the vectors to a file.

``python -m modeling_genebert.evaluation.embed --model_name_or_path DIR --dataset DATA --output emb.npy``

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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dataset_scripts import build_sequence_classification_dataset, load_pretraining_dataset
from dataset_scripts.cli import HelpFormatter, check_model_folder, console_script
from dataset_scripts.downstream import _is_fasta, has_column, read_labelled_fasta
from dataset_scripts.readers import DataFormatError
from dataset_scripts.sequence_input import read_sequences
from modeling_genebert import GeneBertModel, GeneBertTokenizer
from modeling_genebert.downstream.long_inputs import LONG_INPUT_MODES, WINDOW_AGGREGATIONS, aggregate_windows, fit_to_window
from modeling_genebert.modeling_genebert import masked_mean
from modeling_genebert.precision import PRECISION_HELP, PRECISIONS, inference_precision

POOLINGS = ("cls", "mean", "projected")
FORMATS = (".npy", ".safetensors", ".parquet")

logger = logging.getLogger("genebert.embed")


def load_encoder(path: str):
    """``(GeneBertModel, tokenizer)`` from any GeneBERT folder (pre-training, MLM, classifier, base)."""
    model = GeneBertModel.from_pretrained(path).eval()
    try:
        tokenizer = GeneBertTokenizer.from_pretrained(path)
    except (OSError, ValueError, TypeError):
        tokenizer = GeneBertTokenizer(k=model.config.sequence_config.kmer)
    return model, tokenizer


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
    precision: str = "auto",
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


def embed_dataset(
    model_name_or_path: str,
    dataset: str,
    output: str | os.PathLike,
    pooling: str = "cls",
    split: str = "validation",
    max_samples: int | None = None,
    batch_size: int = 64,
    max_length: int = 512,
    seed: int = 0,
    long_inputs: str = "truncate",
    window_overlap: int | None = None,
    window_aggregation: str = "mean",
    sequence_column: str = "sequence",
    precision: str = "auto",
) -> dict[str, Any]:
    """Embed ``dataset`` with the folder's encoder and write ``output``; returns a summary."""
    check_model_folder(model_name_or_path)  # before the data is read
    model, tokenizer = load_encoder(model_name_or_path)
    records = read_records(dataset, split=split, max_samples=max_samples, seed=seed, sequence_column=sequence_column)
    embeddings = embed_sequences(
        model, tokenizer, records["sequence"], pooling=pooling, batch_size=batch_size, max_length=max_length,
        long_inputs=long_inputs, window_overlap=window_overlap, window_aggregation=window_aggregation,
        precision=precision,
    )
    columns = {k: records[k] for k in ("sample_id", "cell_type", "label") if k in records}
    metadata = {
        "model": str(model_name_or_path),
        "dataset": str(dataset),
        "split": split,
        "pooling": pooling,
        "long_inputs": long_inputs if long_inputs == "truncate" else f"sliding_window ({window_aggregation})",
        "shape": list(embeddings.shape),
        "label_names": records.get("label_names"),
    }
    path = save_embeddings(output, embeddings, metadata, columns)
    return {**metadata, "output": str(path), "embeddings": embeddings, "columns": columns}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genebert-embed",
        description="Embed a dataset with a GeneBERT folder ([CLS] / mean-pooled / projected) into a file.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--model_name_or_path", required=True, help="a GeneBERT folder")
    parser.add_argument("--dataset", required=True, help="CSV/TSV/FASTA file, or a pre-training dataset folder")
    parser.add_argument("--output", required=True, help="output file: .npy, .safetensors or .parquet")
    parser.add_argument("--pooling", choices=POOLINGS, default="cls", help="cls (default), mean or projected")
    parser.add_argument("--sequence_column", default="sequence", help="sequence column of a CSV/TSV dataset")
    parser.add_argument("--split", default="validation", help="split of a pre-training dataset folder")
    parser.add_argument("--max_samples", type=int, default=None, help="seeded random subset of this size")
    parser.add_argument("--batch_size", type=int, default=64, help="sequences per forward pass")
    parser.add_argument("--max_length", type=int, default=512, help="max tokens per sequence")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --max_samples subset")
    parser.add_argument("--long_inputs", choices=LONG_INPUT_MODES, default="truncate",
                        help="longer sequences: truncate (with a warning) or embed sliding windows and aggregate")
    parser.add_argument("--window_overlap", type=int, default=None, help="sliding-window overlap in bases (default half a window)")
    parser.add_argument("--window_aggregation", choices=WINDOW_AGGREGATIONS, default="mean",
                        help="how window embeddings combine per sequence")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help=PRECISION_HELP)
    return parser


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """Embed a dataset as the command line says; returns the summary (path, shape, pooling)."""
    args = build_parser().parse_args(argv)
    summary = embed_dataset(**vars(args))
    print(f"wrote {summary['shape'][0]} x {summary['shape'][1]} {summary['pooling']} embeddings to {summary['output']}")
    return summary


main = console_script(run, "genebert-embed")

if __name__ == "__main__":
    sys.exit(main())
