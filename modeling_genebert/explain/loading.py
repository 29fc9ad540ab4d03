"""Load a fine-tuned classifier folder for explaining, read and check the sequences to explain.

A folder written by ``genebert-finetune`` holds the model (``config.json`` + weights), the tokenizer and
``results.json``; the latter records ``region_input`` (motifs, rows, aggregation) when the model was
fine-tuned with ``--region_input``, and the same ``RegionMatrixBuilder`` is rebuilt from it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from dataset_scripts.readers import open_text
from modeling_genebert import GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.finetuning.long_inputs import bases_per_window
from modeling_genebert.finetuning.region_input import RegionMatrixBuilder

_DNA = re.compile(r"^[ACGTN]+$")


@dataclass
class ExplainedModel:
    """A classifier in eval mode with its tokenizer, class names and (if any) region-matrix builder."""

    model: Any
    tokenizer: Any
    label_names: list[str]
    region_builder: Any = None
    folder: str = ""
    info: dict = field(default_factory=dict)

    @property
    def window(self) -> int:
        """The longest sequence (bases) that fits the model's window without truncation."""
        max_tokens = min(self.model.config.sequence_config.max_position_embeddings,
                         int(getattr(self.tokenizer, "model_max_length", 10**9) or 10**9))
        return bases_per_window(self.tokenizer, max_tokens)

    @property
    def kmer(self) -> int:
        return int(self.tokenizer.kmer)

    def class_index(self, target: int | str | None) -> int:
        return resolve_class(target, self.label_names)

    def region_matrix(self, sequences: Sequence[str]) -> torch.Tensor | None:
        if self.region_builder is None:
            return None
        return torch.from_numpy(self.region_builder(list(sequences)))


def resolve_class(target: int | str | None, label_names: Sequence[str]) -> int:
    """Class name or id -> id; ``None`` -> the last class (``bound`` / the positive class of a binary task)."""
    names = list(label_names)
    if target is None:
        return len(names) - 1
    if isinstance(target, str) and target in names:
        return names.index(target)
    try:
        index = int(target)
    except (TypeError, ValueError):
        index = None
    if index is None or not 0 <= index < len(names):
        raise ValueError(f"class {target!r} does not exist; the model's classes are {names} (name or id 0..{len(names) - 1})")
    return index


def load_classifier(folder: str | os.PathLike, device: str | None = None) -> ExplainedModel:
    """Fine-tuned folder -> :class:`ExplainedModel`; a folder that holds no sequence classifier is a ``ValueError``."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ValueError(f"{folder}: not a model folder (no config.json)")
    config = json.loads((folder / "config.json").read_text())
    architectures = config.get("architectures") or []
    if "GeneBertForSequenceClassification" not in architectures:
        raise ValueError(
            f"{folder}: not a fine-tuned classifier (architectures {architectures}); explain needs a "
            "genebert-finetune output folder, not a pre-training checkpoint"
        )
    model = GeneBertForSequenceClassification.from_pretrained(folder).eval()
    if device:
        model.to(device)
    tokenizer = GeneBertTokenizer.from_pretrained(folder)
    id2label = model.config.id2label or {}
    label_names = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(model.config.num_labels)]
    info, region_builder = {}, None
    results = folder / "results.json"
    if results.is_file():
        info = json.loads(results.read_text())
        region = info.get("region_input")
        if region:
            motifs = _motif_spec(region.get("motifs"))
            region_builder = RegionMatrixBuilder(motifs, int(region.get("rows", 1)), region.get("aggregation", "max"))
    if model.config.classifier_region_fusion and region_builder is None:
        region_builder = RegionMatrixBuilder(None, 1, "max")  # the fine-tuning default
    return ExplainedModel(model, tokenizer, label_names, region_builder, str(folder), info)


def _motif_spec(description: str | None) -> str | None:
    """results.json's region_input.motifs (a path, or a description such as
    ``'JASPAR2018 collection=CORE ... (pyjaspar)'``) -> a spec ``load_motifs`` takes."""
    if not description or os.path.exists(description):
        return description or None
    first = str(description).split()[0]
    if first.upper().startswith("JASPAR"):
        return None if first.upper() == "JASPAR2018" else first
    raise ValueError(f"region_input motifs {description!r} in results.json: no such motif file to rebuild the region matrix")


def check_sequences(sequences: Sequence[str], window: int | None = None, names: Sequence[str] | None = None) -> list[str]:
    """Upper-case, strip, and check: no empty set, only A/C/G/T/N, no sequence longer than ``window`` bases."""
    out = []
    names = list(names) if names is not None else [f"sequence {i + 1}" for i in range(len(sequences))]
    if not len(sequences):
        raise ValueError("no sequences to explain (the input is empty)")
    for name, s in zip(names, sequences):
        s = "".join(str(s).split()).upper()
        if not s:
            raise ValueError(f"{name}: empty sequence")
        if not _DNA.match(s):
            bad = sorted(set(s) - set("ACGTN"))
            raise ValueError(f"{name}: non-DNA characters {''.join(bad)!r} (only A, C, G, T, N are allowed)")
        if window is not None and len(s) > window:
            raise ValueError(
                f"{name}: {len(s)} bases is longer than the model's window of {window} bases; "
                f"cut it into windows of at most {window} bases (e.g. with "
                "modeling_genebert.finetuning.long_inputs.split_into_windows) and explain each"
            )
        out.append(s)
    return out


def read_sequences(path: str | os.PathLike, sequence_column: str = "sequence") -> tuple[list[str], list[str]]:
    """FASTA (.fa/.fasta/.fna, gz ok), CSV/TSV with a ``sequence`` column, or one sequence per line -> (names, sequences)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    with open_text(path) as fh:
        text = fh.read()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path}: empty input file (no sequences)")
    if lines[0].startswith(">"):
        names, seqs = [], []
        for line in lines:
            if line.startswith(">"):
                names.append(line[1:].split()[0] if line[1:].split() else f"record {len(names) + 1}")
                seqs.append("")
            else:
                seqs[-1] += line
        return names, seqs
    delimiter = "\t" if "\t" in lines[0] else ("," if "," in lines[0] else None)
    if delimiter:
        header = [h.strip() for h in lines[0].split(delimiter)]
        if sequence_column not in header:
            raise ValueError(f"{path}:1: no {sequence_column!r} column in the header {header}")
        col = header.index(sequence_column)
        name_col = next((header.index(c) for c in ("name", "id", "EventID") if c in header), None)
        names, seqs = [], []
        for i, line in enumerate(lines[1:], start=2):
            fields = line.split(delimiter)
            if len(fields) <= col:
                raise ValueError(f"{path}:{i}: no {sequence_column!r} field")
            seqs.append(fields[col])
            names.append(fields[name_col] if name_col is not None and len(fields) > name_col else f"{path}:{i}")
        if not seqs:
            raise ValueError(f"{path}: empty input file (a header but no sequences)")
        return names, seqs
    return [f"{path}:{i + 1}" for i in range(len(lines))], lines


def one_hot(sequence: str) -> np.ndarray:
    """``(L, 4)`` float32 one-hot, columns A C G T; N is all zeros."""
    index = {"A": 0, "C": 1, "G": 2, "T": 3}
    out = np.zeros((len(sequence), 4), dtype=np.float32)
    for i, c in enumerate(sequence):
        j = index.get(c)
        if j is not None:
            out[i, j] = 1.0
    return out
