"""``genebert-predict``: class probabilities of a fine-tuned classifier for every sequence of a file.

    genebert-predict --model_name_or_path runs/prom --input seqs.fa --output preds [--rc_average]

Input: FASTA, CSV/TSV with a ``sequence`` column (ids from an ``id`` / ``name`` column or
``--id_column``) or one sequence per line; plain or gzip; read as a stream (memory stays flat).
Output: ``PREFIX.parquet`` and ``PREFIX.tsv`` with one row per sequence -- ``id``, ``line`` (where it
is in the input), ``length``, ``windows``, ``p_<class>`` per class, ``predicted_label`` and
``predicted_probability`` -- and a short table on stdout. Both files appear when the run ends
(written as ``*.partial`` until then); existing ones need ``--overwrite``.

Sequences longer than the model's window are cut into overlapping windows as in fine-tuning
(``--long_inputs sliding_window``, the default; ``--window_overlap`` bases, default half a window)
and the windows' logits are aggregated per sequence (``--window_aggregation``, default the one the
model was fine-tuned with, else mean) before the softmax. ``--rc_average`` also scores the reverse
complement and averages the two strands' probabilities. Region-input classifiers
(``--region_input`` at fine-tuning) get their region matrix from the same motif scan.

From Python: :func:`predict_sequences`, or the standard pipeline for sequences that fit the window::

    from transformers import pipeline
    import modeling_genebert  # registers GeneBERT with the Auto classes
    classify = pipeline("text-classification", model="runs/prom")
    classify(["ACGT..."], top_k=None)  # [[{"label": ..., "score": ...} per class]]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from transformers.utils import logging as hf_logging

from dataset_scripts.cli import HelpFormatter, UsageError, check_model_folder, console_script
from dataset_scripts.downstream import reverse_complement
from dataset_scripts.output_folders import check_output_files
from dataset_scripts.sequence_input import SequenceRecord, check_dna, iter_sequences
from modeling_genebert.downstream.long_inputs import (
    LONG_INPUT_MODES,
    WINDOW_AGGREGATIONS,
    aggregate_windows,
    fit_to_window,
)
from modeling_genebert.finetuning.classifier import Classifier
from modeling_genebert.finetuning.classifier import load_classifier as load_fine_tuned
from modeling_genebert.precision import PRECISION_HELP, PRECISIONS, inference_precision

logger = logging.getLogger("genebert.predict")

COMMAND = "genebert-predict"


def probability_column(label: str) -> str:
    """``p_<class>``: the class name with blanks made underscores (column names carry no spaces)."""
    return "p_" + "_".join(str(label).split())


def load_classifier(folder: str | os.PathLike, device: str | torch.device | None = None) -> Classifier:
    """A ``genebert-finetune`` output folder (full model, merged LoRA, or LoRA adapter) -> :class:`Classifier`
    on ``device`` (default: cuda when available, else cpu)."""
    return load_fine_tuned(folder, device or ("cuda" if torch.cuda.is_available() else "cpu"), command=COMMAND)


class Predictor:
    """Per-class probabilities of whole sequences: windowed as in fine-tuning, batched, optionally both strands."""

    def __init__(self, classifier: Classifier, batch_size: int = 64, max_length: int | None = None,
                 long_inputs: str = "sliding_window", window_overlap: int | None = None,
                 window_aggregation: str | None = None, rc_average: bool = False, precision: str = "auto"):
        if precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.precision = precision
        if batch_size < 1:
            raise UsageError(f"--batch_size must be at least 1, got {batch_size}")
        if long_inputs not in LONG_INPUT_MODES:
            raise UsageError(f"--long_inputs must be one of {', '.join(LONG_INPUT_MODES)}, got {long_inputs!r}")
        trained = classifier.hyperparameters
        window_aggregation = window_aggregation or trained.get("window_aggregation") or "mean"
        if window_aggregation not in WINDOW_AGGREGATIONS:
            raise UsageError(f"--window_aggregation must be one of {', '.join(WINDOW_AGGREGATIONS)}, got {window_aggregation!r}")
        if window_overlap is None and trained.get("long_inputs") == "sliding_window":
            window_overlap = trained.get("window_overlap")
        limit = classifier.model.config.sequence_config.max_position_embeddings
        self.max_length = min(int(max_length or trained.get("max_length") or limit), limit)
        self.classifier, self.batch_size, self.rc_average = classifier, batch_size, rc_average
        self.long_inputs, self.window_overlap, self.window_aggregation = long_inputs, window_overlap, window_aggregation
        fit_to_window([], classifier.tokenizer, self.max_length, long_inputs, window_overlap, window_aggregation)  # checks

    @torch.inference_mode()
    def _logits(self, windows: Sequence[str]) -> np.ndarray:
        """Logits per window; batches hold windows of similar length (less padding), returned in input order."""
        c = self.classifier
        out = []
        order = np.argsort([len(w) for w in windows], kind="stable")
        for lo in range(0, len(windows), self.batch_size):
            chunk = [windows[i] for i in order[lo:lo + self.batch_size]]
            batch = c.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
            inputs = {k: v.to(c.device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            if c.region_builder is not None:
                inputs["region_matrix"] = torch.from_numpy(c.region_builder(chunk)).to(c.device)
            with inference_precision(self.precision, c.device):
                out.append(c.model(**inputs).logits.float().cpu().numpy())
        if not out:
            return np.zeros((0, len(c.label_names)), dtype=np.float32)
        logits = np.empty((len(windows), len(c.label_names)), dtype=np.float32)
        logits[order] = np.concatenate(out)
        return logits

    def _strand(self, sequences: Sequence[str], where: str) -> tuple[np.ndarray, np.ndarray]:
        windows, owners = fit_to_window(sequences, self.classifier.tokenizer, self.max_length, self.long_inputs,
                                        self.window_overlap, self.window_aggregation, where)
        logits = self._logits(windows)
        if owners is None:
            return logits, np.ones(len(sequences), dtype=np.int64)
        return aggregate_windows(logits, owners, self.window_aggregation), np.bincount(owners, minlength=len(sequences))

    def probabilities(self, sequences: Sequence[str], where: str = "input") -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities [n, classes], windows per sequence [n])`` (both strands averaged with ``rc_average``)."""
        logits, windows = self._strand(sequences, where)
        probs = torch.from_numpy(logits.astype(np.float64)).softmax(-1).numpy()
        if self.rc_average:
            rc_logits, _ = self._strand([reverse_complement(s) for s in sequences], where)
            probs = (probs + torch.from_numpy(rc_logits.astype(np.float64)).softmax(-1).numpy()) / 2
        return probs, windows

    def frame(self, records: Sequence[SequenceRecord], where: str = "input") -> pd.DataFrame:
        """The output rows of ``records`` (see the module docstring)."""
        sequences = [r.sequence for r in records]
        probs, windows = self.probabilities(sequences, where)
        labels = self.classifier.label_names
        best = probs.argmax(1) if len(probs) else np.zeros(0, dtype=np.int64)
        frame = pd.DataFrame({
            "id": [r.id for r in records],
            "line": [int(r.where.rsplit(":", 1)[1]) if r.where.rsplit(":", 1)[-1].isdigit() else -1 for r in records],
            "length": np.asarray([len(s) for s in sequences], dtype=np.int64),
            "windows": np.asarray(windows, dtype=np.int64),
        })
        for j, label in enumerate(labels):
            frame[probability_column(label)] = probs[:, j]
        frame["predicted_label"] = [labels[i] for i in best]
        frame["predicted_probability"] = probs[np.arange(len(best)), best] if len(best) else np.zeros(0)
        return frame

    def settings(self) -> dict:
        return {"max_length": self.max_length, "long_inputs": self.long_inputs, "window_overlap": self.window_overlap,
                "window_aggregation": self.window_aggregation, "rc_average": self.rc_average,
                "batch_size": self.batch_size, "precision": self.precision}


def predict_sequences(model: str | os.PathLike | Classifier, sequences: Iterable[str], ids: Iterable[str] | None = None,
                      **options) -> pd.DataFrame:
    """The table ``genebert-predict`` writes, for sequences in memory (``options``: those of :class:`Predictor`)."""
    classifier = model if isinstance(model, Classifier) else load_classifier(model)
    sequences = list(sequences)
    ids = [str(i) for i in ids] if ids is not None else [f"seq{i + 1}" for i in range(len(sequences))]
    if len(ids) != len(sequences):
        raise ValueError(f"{len(ids)} ids for {len(sequences)} sequences")
    records = [SequenceRecord(i, check_dna("input", n + 1, "sequence", s), f"input:{n + 1}")
               for n, (i, s) in enumerate(zip(ids, sequences))]
    return Predictor(classifier, **options).frame(records).drop(columns="line")


class _Outputs:
    """``PREFIX.parquet`` + ``PREFIX.tsv`` written chunk by chunk as ``*.partial``, renamed into place at the end."""

    def __init__(self, prefix: str, metadata: dict):
        self.parquet, self.tsv = Path(f"{prefix}.parquet"), Path(f"{prefix}.tsv")
        self.partial = {p: p.with_name(p.name + ".partial") for p in (self.parquet, self.tsv)}
        self.metadata, self.writer, self.rows = metadata, None, 0
        self.parquet.parent.mkdir(parents=True, exist_ok=True)

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"genebert": json.dumps(self.metadata)})
            self.writer = pq.ParquetWriter(self.partial[self.parquet], table.schema)
        else:
            table = table.cast(self.writer.schema)
        self.writer.write_table(table)
        frame.to_csv(self.partial[self.tsv], sep="\t", index=False, header=self.rows == 0,
                     mode="w" if self.rows == 0 else "a", float_format="%.6g")
        self.rows += len(frame)

    def finish(self) -> None:
        self.writer.close()
        for final, partial in self.partial.items():
            os.replace(partial, final)

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        for partial in self.partial.values():
            partial.unlink(missing_ok=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0].strip("`: "),
                                formatter_class=HelpFormatter,
                                epilog="Writes PREFIX.parquet and PREFIX.tsv (id, line, length, windows, p_<class> per class, "
                                       "predicted_label, predicted_probability) and prints the first rows.")
    p.add_argument("--model_name_or_path", required=True, help="a genebert-finetune output folder (sequence classifier)")
    p.add_argument("--input", required=True, help="FASTA, CSV/TSV with a sequence column, or one sequence per line (.gz ok)")
    p.add_argument("--output", required=True, help="output prefix: writes PREFIX.parquet and PREFIX.tsv")
    p.add_argument("--sequence_column", default="sequence", help="sequence column of a CSV/TSV input")
    p.add_argument("--id_column", default=None, help="id column of a CSV/TSV input (default: an 'id' or 'name' column, else FILE:LINE)")
    p.add_argument("--rc_average", action="store_true", help="also score the reverse complement and average the two strands' "
                   "probabilities (genebert-finetune --rc_average averages logits, for its metrics)")
    p.add_argument("--batch_size", type=int, default=64, help="windows per forward pass")
    p.add_argument("--long_inputs", choices=LONG_INPUT_MODES, default="sliding_window",
                   help="sequences longer than the window: sliding_window (as fine-tuning does; every base seen) or truncate")
    p.add_argument("--window_overlap", type=int, default=None, help="sliding-window overlap in bases (default: the fine-tuning's, else half a window)")
    p.add_argument("--window_aggregation", choices=WINDOW_AGGREGATIONS, default=None,
                   help="per-sequence aggregation of the windows' logits (default: the fine-tuning's, else mean)")
    p.add_argument("--max_length", type=int, default=None, help="tokens per window (default: the fine-tuning's max_length, at most the model's)")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help=PRECISION_HELP)
    p.add_argument("--show", type=int, default=10, help="rows of the result table printed on stdout")
    p.add_argument("--overwrite", action="store_true", help="replace existing PREFIX.parquet / PREFIX.tsv")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    return p


def _chunks(records: Iterable[SequenceRecord], size: int):
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _print_table(head: pd.DataFrame, counts: dict[str, int], rows: int, outputs: _Outputs) -> None:
    if len(head):
        with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 40):
            print(head.drop(columns="line").to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        if rows > len(head):
            print(f"... ({rows - len(head)} more rows)")
    print("predicted: " + ", ".join(f"{label} {n}" for label, n in counts.items()))
    print(f"wrote {rows} predictions -> {outputs.parquet} and {outputs.tsv}")


def run(argv: list[str] | None = None) -> dict:
    """Predict as the command line says; returns a summary (rows, counts per predicted class, files)."""
    args = build_parser().parse_args(argv)
    for name in ("batch_size", "max_length"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.window_overlap is not None and args.window_overlap < 0:
        raise UsageError(f"--window_overlap must be >= 0, got {args.window_overlap}")
    bars_were_on = hf_logging.is_progress_bar_enabled()
    if args.no_progress:
        hf_logging.disable_progress_bar()  # its weight-loading bars too
    try:
        return _predict(args)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def _predict(args) -> dict:
    from tqdm.auto import tqdm

    check_model_folder(args.model_name_or_path)  # before anything is read
    check_output_files([f"{args.output}.parquet", f"{args.output}.tsv"], COMMAND, overwrite=args.overwrite)
    if not os.path.isfile(args.input):
        raise FileNotFoundError(f"--input {args.input}: no such file")
    classifier = load_classifier(args.model_name_or_path, args.device)
    predictor = Predictor(classifier, args.batch_size, args.max_length, args.long_inputs, args.window_overlap,
                          args.window_aggregation, args.rc_average, args.precision)
    metadata = {"model": str(args.model_name_or_path), "input": str(args.input), "classes": classifier.label_names,
                **predictor.settings()}
    outputs = _Outputs(args.output, metadata)
    counts = dict.fromkeys(classifier.label_names, 0)
    head, started = [], time.perf_counter()
    chunk_size = max(args.batch_size * 4, 256)
    bar = tqdm(desc="predicting", unit="seq", disable=args.no_progress, file=sys.stderr)
    try:
        for chunk in _chunks(iter_sequences(args.input, args.sequence_column, args.id_column), chunk_size):
            frame = predictor.frame(chunk, where=str(args.input))
            outputs.write(frame)
            for label, n in frame["predicted_label"].value_counts().items():
                counts[label] += int(n)
            if sum(len(h) for h in head) < args.show:
                head.append(frame.head(args.show))
            bar.update(len(chunk))
        bar.close()
        outputs.finish()
    except BaseException:
        outputs.discard()
        raise
    seconds = time.perf_counter() - started
    shown = pd.concat(head).head(args.show) if head and args.show > 0 else pd.DataFrame()
    _print_table(shown, counts, outputs.rows, outputs)
    return {"rows": outputs.rows, "predicted": counts, "seconds": round(seconds, 2),
            "files": {"parquet": str(outputs.parquet), "tsv": str(outputs.tsv)}, **metadata}


main = console_script(run, COMMAND)

__all__ = ["Classifier", "Predictor", "load_classifier", "main", "predict_sequences", "probability_column", "run"]

if __name__ == "__main__":
    sys.exit(main())
