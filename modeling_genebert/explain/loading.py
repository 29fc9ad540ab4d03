"""Load a fine-tuned classifier folder for explaining, read and check the sequences to explain.

A folder written by ``genebert-finetune`` holds the model (``config.json`` + weights), the tokenizer and
``results.json``; the latter records ``region_input`` (motifs, rows, aggregation) when the model was
fine-tuned with ``--region_input``, and the same ``RegionMatrixBuilder`` is rebuilt from it.
"""

from __future__ import annotations

import os
import re
from typing import Sequence


from dataset_scripts.readers import open_text
from modeling_genebert.finetuning.classifier import Classifier, load_classifier, resolve_class  # noqa: F401 (explain's API)

_DNA = re.compile(r"^[ACGTN]+$")


ExplainedModel = Classifier  # the loaded classifier explain works on (one loader serves predict and explain)


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
                "modeling_genebert.downstream.long_inputs.split_into_windows) and explain each"
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


