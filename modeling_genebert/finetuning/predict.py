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
complement and averages the two strands' logits before the softmax, as ``genebert-finetune --rc_average``
does for its metrics. ``--ensemble_with FOLDER [FOLDER ...]`` averages the logits of more fine-tuned
classifiers of the same classes (e.g. the same recipe at other seeds) with the model's before the softmax:
a seed ensemble. Region-input classifiers
(``--region_input`` at fine-tuning) get their region matrix from the same motif scan.

From Python: :func:`predict` (:class:`PredictOptions` -> :class:`PredictResult`, files in and out, what the
command runs), :func:`predict_sequences` (sequences in memory -> a DataFrame), or the standard pipeline for
sequences that fit the window::

    from transformers import pipeline
    import modeling_genebert  # registers GeneBERT with the Auto classes
    classify = pipeline("text-classification", model="runs/prom")
    classify(["ACGT..."], top_k=None)  # [[{"label": ..., "score": ...} per class]]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from transformers.utils import logging as hf_logging

from dataset_scripts.cli import UsageError, console_script, fspath_options, options_parser
from modeling_genebert.model_folders import check_model_folder
from dataset_scripts.finetuning_data import reverse_complement
from dataset_scripts.output_folders import check_output_files
from dataset_scripts.sequence_input import SequenceRecord, check_dna, iter_sequences
from modeling_genebert.downstream.long_inputs import (
    LONG_INPUT_MODES,
    WINDOW_AGGREGATIONS,
    aggregate_windows,
    fit_to_window,
)
from modeling_genebert.finetuning.classifier import Classifier, default_device, load_classifier
from modeling_genebert.precision import (
    INFERENCE_DEFAULT,
    INFERENCE_PRECISION_HELP,
    PRECISIONS,
    inference_precision,
    resolved_precision,
)

logger = logging.getLogger("genebert.predict")

COMMAND = "genebert-predict"


def probability_column(label: str) -> str:
    """``p_<class>``: the class name with blanks made underscores (column names carry no spaces)."""
    return "p_" + "_".join(str(label).split())


class Predictor:
    """Per-class probabilities of whole sequences: windowed as in fine-tuning, batched, optionally both strands."""

    def __init__(self, classifier: Classifier, batch_size: int = 64, max_length: int | None = None,
                 long_inputs: str = "sliding_window", window_overlap: int | None = None,
                 window_aggregation: str | None = None, rc_average: bool = False, precision: str = INFERENCE_DEFAULT,
                 ensemble: Sequence[Classifier] = ()):
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
        for member in ensemble:
            if list(member.label_names) != list(classifier.label_names):
                raise UsageError(f"--ensemble_with: a classifier of the classes {list(member.label_names)}, the model's are "
                                 f"{list(classifier.label_names)}; an ensemble averages the logits of the same classes")
        # every member windows and batches as the model does, so the logits it averages are of the same inputs
        self.members = [Predictor(member, batch_size, self.max_length, long_inputs, self.window_overlap,
                                  window_aggregation, rc_average, precision) for member in ensemble]

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

    def logits(self, sequences: Sequence[str], where: str = "input") -> tuple[np.ndarray, np.ndarray]:
        """``(logits [n, classes], windows per sequence [n])`` of this classifier alone (both strands averaged with
        ``rc_average``)."""
        logits, windows = self._strand(sequences, where)
        if self.rc_average:  # logits, not probabilities: the rule genebert-finetune --rc_average reports metrics with
            rc_logits, _ = self._strand([reverse_complement(s) for s in sequences], where)
            logits = (logits + rc_logits) / 2
        return logits, windows

    def ensemble_logits(self, sequences: Sequence[str], where: str = "input") -> tuple[np.ndarray, np.ndarray]:
        """``(logits, windows per sequence)``: this classifier's logits averaged with every ensemble member's (the
        classifier's own alone without an ensemble)."""
        logits, windows = self.logits(sequences, where)
        if self.members:
            logits = np.mean([logits] + [member.logits(sequences, where)[0] for member in self.members], axis=0)
        return logits, windows

    def probabilities(self, sequences: Sequence[str], where: str = "input") -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities [n, classes], windows per sequence [n])``: the softmax of :meth:`ensemble_logits` (both
        strands averaged with ``rc_average``)."""
        logits, windows = self.ensemble_logits(sequences, where)
        return torch.from_numpy(logits.astype(np.float64)).softmax(-1).numpy(), windows

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
                "batch_size": self.batch_size, "precision": resolved_precision(self.precision, self.classifier.device)}


def predict_sequences(model: str | os.PathLike | Classifier, sequences: Iterable[str], ids: Iterable[str] | None = None,
                      ensemble_with: Sequence[str | os.PathLike | Classifier] = (), **options) -> pd.DataFrame:
    """The table ``genebert-predict`` writes, for sequences in memory (``options``: those of :class:`Predictor`;
    ``ensemble_with``: more classifiers, folders or loaded, whose logits are averaged with the model's)."""
    classifier = model if isinstance(model, Classifier) else load_classifier(model, default_device(), command=COMMAND)
    options["ensemble"] = [m if isinstance(m, Classifier) else load_classifier(m, classifier.device, command=COMMAND)
                           for m in ensemble_with]
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


@dataclass(kw_only=True)
class PredictOptions:
    """What ``genebert-predict`` reads and writes, and how it windows and batches (the command line's options).

    Path options take a ``str`` or a ``pathlib.Path``."""

    model_name_or_path: str = field(metadata={"help": "a genebert-finetune output folder (sequence classifier)"})
    input: str = field(metadata={"help": "FASTA, CSV/TSV with a sequence column, or one sequence per line (.gz ok)"})
    output: str = field(metadata={"help": "output prefix: writes PREFIX.parquet and PREFIX.tsv"})
    sequence_column: str = field(default="sequence", metadata={"help": "sequence column of a CSV/TSV input"})
    id_column: str | None = field(default=None, metadata={"help": "id column of a CSV/TSV input (default: an 'id' or 'name' column, else FILE:LINE)"})
    rc_average: bool = field(default=False, metadata={"help": "also score the reverse complement and average the two strands' "
                                                              "logits before the softmax (as genebert-finetune --rc_average)"})
    ensemble_with: list[str] | None = field(default=None, metadata={
        "metavar": "FOLDER", "help": "more genebert-finetune folders with the same classes (e.g. other seeds): their logits "
                                     "are averaged with the model's before the softmax (a seed ensemble)"})
    batch_size: int = field(default=64, metadata={"help": "windows per forward pass"})
    long_inputs: str = field(default="sliding_window", metadata={
        "choices": LONG_INPUT_MODES,
        "help": "sequences longer than the window: sliding_window (as fine-tuning does; every base seen) or truncate"})
    window_overlap: int | None = field(default=None, metadata={"help": "sliding-window overlap in bases (default: the fine-tuning's, else half a window)"})
    window_aggregation: str | None = field(default=None, metadata={
        "choices": WINDOW_AGGREGATIONS, "help": "per-sequence aggregation of the windows' logits (default: the fine-tuning's, else mean)"})
    max_length: int | None = field(default=None, metadata={"help": "tokens per window (default: the fine-tuning's max_length, at most the model's)"})
    device: str | None = field(default=None, metadata={"help": "torch device (default: cuda when available, else cpu)"})
    precision: str = field(default=INFERENCE_DEFAULT, metadata={"choices": PRECISIONS, "help": INFERENCE_PRECISION_HELP})
    overwrite: bool = field(default=False, metadata={"help": "replace existing PREFIX.parquet / PREFIX.tsv"})
    no_progress: bool = field(default=False, metadata={"help": "no progress bar"})

    def __post_init__(self) -> None:
        fspath_options(self)  # path options may be given as pathlib.Path


@dataclass
class PredictResult:
    """What a run wrote: the files, how many rows, the count per predicted class and the settings used.

    ``to_dict()`` is the run's summary; its ``model`` ... ``precision`` part is also the Parquet
    file's ``genebert`` metadata.
    """

    parquet: Path
    tsv: Path
    rows: int
    predicted: dict[str, int]  # rows per predicted class
    seconds: float
    model: str
    input: str
    classes: list[str]
    max_length: int
    long_inputs: str
    window_overlap: int | None
    window_aggregation: str
    rc_average: bool
    batch_size: int
    precision: str
    ensemble_with: list[str] | None = None

    def to_dict(self) -> dict:
        summary = dataclasses.asdict(self)
        files = {"parquet": str(summary.pop("parquet")), "tsv": str(summary.pop("tsv"))}
        return {"rows": summary.pop("rows"), "predicted": summary.pop("predicted"), "seconds": summary.pop("seconds"),
                "files": files, **summary}


def check_options(options: PredictOptions) -> None:
    for name in ("batch_size", "max_length"):
        if getattr(options, name) is not None and getattr(options, name) < 1:
            raise UsageError(f"--{name} must be at least 1, got {getattr(options, name)}")
    if options.window_overlap is not None and options.window_overlap < 0:
        raise UsageError(f"--window_overlap must be >= 0, got {options.window_overlap}")


def _chunks(records: Iterable[SequenceRecord], size: int):
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def predict(options: PredictOptions) -> PredictResult:
    """Predict every sequence of ``options.input`` into ``PREFIX.parquet`` / ``PREFIX.tsv`` (module docstring)."""
    check_options(options)
    bars_were_on = hf_logging.is_progress_bar_enabled()
    if options.no_progress:
        hf_logging.disable_progress_bar()  # its weight-loading bars too
    try:
        return _predict_file(options)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def _predict_file(options: PredictOptions) -> PredictResult:
    from tqdm.auto import tqdm

    check_model_folder(options.model_name_or_path)  # before anything is read
    for member in options.ensemble_with or ():
        check_model_folder(member, "--ensemble_with")
    check_output_files([f"{options.output}.parquet", f"{options.output}.tsv"], COMMAND, overwrite=options.overwrite)
    if not os.path.isfile(options.input):
        raise FileNotFoundError(f"--input {options.input}: no such file")
    device = options.device or default_device()
    classifier = load_classifier(options.model_name_or_path, device, command=COMMAND)
    ensemble = [load_classifier(member, device, command=COMMAND) for member in options.ensemble_with or ()]
    predictor = Predictor(classifier, options.batch_size, options.max_length, options.long_inputs, options.window_overlap,
                          options.window_aggregation, options.rc_average, options.precision, ensemble)
    metadata = {"model": options.model_name_or_path, "input": options.input, "classes": classifier.label_names,
                **predictor.settings(), "ensemble_with": list(options.ensemble_with) if options.ensemble_with else None}
    outputs = _Outputs(options.output, metadata)
    counts = dict.fromkeys(classifier.label_names, 0)
    started = time.perf_counter()
    bar = tqdm(desc="predicting", unit="seq", disable=options.no_progress, file=sys.stderr)
    try:
        records = iter_sequences(options.input, options.sequence_column, options.id_column)
        for chunk in _chunks(records, max(options.batch_size * 4, 256)):
            frame = predictor.frame(chunk, where=options.input)
            outputs.write(frame)
            for label, n in frame["predicted_label"].value_counts().items():
                counts[label] += int(n)
            bar.update(len(chunk))
        bar.close()
        outputs.finish()
    except BaseException:
        outputs.discard()
        raise
    return PredictResult(parquet=outputs.parquet, tsv=outputs.tsv, rows=outputs.rows, predicted=counts,
                         seconds=round(time.perf_counter() - started, 2), **metadata)


# ----------------------------------------------------------------------------- the command line: parse, call, print
def build_parser() -> argparse.ArgumentParser:
    p = options_parser(PredictOptions, prog=COMMAND, description=__doc__.split("\n\n")[0].strip("`: "),
                       epilog="Writes PREFIX.parquet and PREFIX.tsv (id, line, length, windows, p_<class> per class, "
                              "predicted_label, predicted_probability) and prints the first rows.")
    p.add_argument("--show", type=int, default=10, help="rows of the result table printed on stdout")
    return p


def print_summary(result: PredictResult, show: int) -> None:
    """The first ``show`` rows (read back from the Parquet file), the count per class and where the files are."""
    if show > 0 and result.rows:
        import pyarrow.parquet as pq

        head = next(pq.ParquetFile(result.parquet).iter_batches(batch_size=show)).to_pandas()
        with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 40):
            print(head.drop(columns="line").to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        if result.rows > len(head):
            print(f"... ({result.rows - len(head)} more rows)")
    print("predicted: " + ", ".join(f"{label} {n}" for label, n in result.predicted.items()))
    print(f"wrote {result.rows} predictions -> {result.parquet} and {result.tsv}")


def run_command(argv: list[str] | None = None) -> PredictResult:
    options, cli = build_parser().parse_options(argv)
    result = predict(options)
    print_summary(result, cli.show)
    return result


main = console_script(run_command, COMMAND)

__all__ = ["Classifier", "PredictOptions", "PredictResult", "Predictor", "load_classifier", "main", "predict", "predict_sequences",
           "probability_column"]

if __name__ == "__main__":
    sys.exit(main())
