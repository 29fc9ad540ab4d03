"""Sequences to score, streamed: FASTA, CSV/TSV with a sequence column, or one sequence per line.

Used by ``genebert-predict`` and ``genebert-explain``. Built on the data side's readers (UTF-8 /
gzip / CRLF handling and line numbers of :func:`.readers.open_text`, its csv reader and its
streamed :func:`.readers.fasta_records`), with the one message every
command gives for input that is not DNA::

    peaks.fa:7: field 'sequence': not a DNA sequence (character 'U') (value 'ACGU...')

A wrong column name says which option picks the column (``--sequence_column`` / ``--id_column``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterator

from .readers import (
    SEQUENCE_RE,
    DataFormatError,
    _blank,
    _check_unique,
    _check_width,
    _csv_rows,
    _err,
    fasta_records,
    open_text,
    sequence_error,
)

ID_COLUMNS = ("id", "name", "sequence_id", "EventID")
_FASTA_EXT = (".fa", ".fasta", ".fna", ".fas")
_TABLE_EXT = (".csv", ".tsv")


@dataclass(frozen=True, slots=True)
class SequenceRecord:
    """One input sequence: its id, the bases (upper case, no blanks) and where it was read (``file:line``)."""

    id: str
    sequence: str
    where: str


def dna_pattern(alphabet: str | None = None) -> tuple[re.Pattern, str]:
    """``(pattern, note)`` for the letters allowed: every IUPAC nucleotide code (default) or ``alphabet``."""
    if alphabet is None:
        return SEQUENCE_RE, ""
    letters = "".join(dict.fromkeys(alphabet.upper()))
    pattern = re.compile(f"^[{re.escape(letters)}{re.escape(letters.lower())}]+$")
    return pattern, f" (only {', '.join(letters)} are allowed)"


def check_dna(path, line, field: str, value: str, alphabet: str | None = None) -> str:
    """``value`` with blanks removed, upper case; anything else than DNA raises the one message (file, line, field)."""
    pattern, note = dna_pattern(alphabet)
    bases = "".join(value.split())
    if not bases:
        raise _err(path, line, field, "empty sequence", value[:60])
    if not pattern.fullmatch(bases):
        error = sequence_error(path, line, bases, pattern, note)
        raise DataFormatError(str(error).replace("field 'sequence'", f"field {field!r}", 1))
    return bases.upper()


def _first_line(path: str) -> tuple[int, str] | None:
    with open_text(path) as fh:
        for line in fh:
            if line.strip():
                return fh.lineno, line.strip()
    return None


def input_kind(path: str | os.PathLike, sequence_column: str = "sequence") -> str:
    """``"fasta"``, ``"table"`` or ``"lines"``: by content first (``>``), then by extension and header."""
    path = os.fspath(path)
    first = _first_line(path)
    if first is None:
        raise DataFormatError(f"{path}: empty input file (no sequences)")
    text = first[1]
    stem = path.lower().removesuffix(".gz")
    if text.startswith(">"):
        return "fasta"
    if stem.endswith(_FASTA_EXT):
        raise _err(path, first[0], "header", "a FASTA file must start with a '>' header line", text[:60])
    if stem.endswith(_TABLE_EXT) or "\t" in text or "," in text or text.strip() == sequence_column:
        return "table"
    return "lines"


def _table_records(path: str, sequence_column: str, id_column: str | None, alphabet: str | None) -> Iterator[SequenceRecord]:
    delimiter = "," if path.lower().removesuffix(".gz").endswith(".csv") else "\t"
    with open_text(path) as fh:
        rows = _csv_rows(path, fh, delimiter)
        header = next(((n, r) for n, r in rows if not _blank(r)), None)
        if header is None:
            raise DataFormatError(f"{path}: empty input file (no header line)")
        header_line, header = header[0], [h.strip() for h in header[1]]
        if len(header) == 1 and delimiter == "," and "\t" in header[0]:  # a TSV named .csv
            raise DataFormatError(f"{path}:{header_line}: the header is tab-separated; name the file .tsv")
        if sequence_column not in header:
            raise DataFormatError(f"{path}:{header_line}: no column {sequence_column!r} in the header {header}; "
                                  "name the sequence column with --sequence_column")
        if id_column is not None and id_column not in header:
            raise DataFormatError(f"{path}:{header_line}: no column {id_column!r} in the header {header}; "
                                  "name the id column with --id_column (or leave it out)")
        id_name = id_column or next((c for c in ID_COLUMNS if c in header), None)
        _check_unique(path, header, [c for c in (sequence_column, id_name) if c])
        seq_at = header.index(sequence_column)
        id_at = header.index(id_name) if id_name else None
        name = os.path.basename(path)
        for lineno, row in rows:
            if _blank(row):
                continue
            _check_width(path, lineno, row, header, delimiter)
            sequence = check_dna(path, lineno, sequence_column, row[seq_at], alphabet)
            ident = row[id_at].strip() if id_at is not None and row[id_at].strip() else f"{name}:{lineno}"
            yield SequenceRecord(ident, sequence, f"{path}:{lineno}")


def _line_records(path: str, alphabet: str | None) -> Iterator[SequenceRecord]:
    name = os.path.basename(path)
    with open_text(path) as fh:
        for line in fh:
            if line.strip():
                sequence = check_dna(path, fh.lineno, "sequence", line, alphabet)
                yield SequenceRecord(f"{name}:{fh.lineno}", sequence, f"{path}:{fh.lineno}")


def _fasta(path: str, alphabet: str | None) -> Iterator[SequenceRecord]:
    pattern, note = dna_pattern(alphabet)
    for number, (line, name, sequence) in enumerate(fasta_records(path, pattern, note), start=1):
        if not sequence:
            raise _err(path, line, "sequence", "empty record", name)
        yield SequenceRecord(name or f"record{number}", sequence, f"{path}:{line}")


def iter_sequences(
    path: str | os.PathLike,
    sequence_column: str = "sequence",
    id_column: str | None = None,
    alphabet: str | None = None,
) -> Iterator[SequenceRecord]:
    """Stream :class:`SequenceRecord` s from a FASTA, a CSV/TSV (``sequence_column``; ids from ``id_column``
    or an ``id`` / ``name`` column, else ``file:line``) or a file of one sequence per line (plain or gzip).

    ``alphabet`` restricts the letters (e.g. ``"ACGTN"``); default every IUPAC nucleotide code.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataFormatError(f"{path}: a folder, not a sequence file (FASTA, CSV/TSV or one sequence per line)")
    kind = input_kind(path, sequence_column)
    if kind == "fasta":
        records = _fasta(path, alphabet)
    elif kind == "table":
        records = _table_records(path, sequence_column, id_column, alphabet)
    else:
        records = _line_records(path, alphabet)
    count = 0
    for record in records:
        count += 1
        yield record
    if not count:
        raise DataFormatError(f"{path}: empty input file (a header but no sequences)")


def read_sequences(path, sequence_column: str = "sequence", id_column: str | None = None,
                   alphabet: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """All of :func:`iter_sequences` at once: ``(ids, sequences, wheres)``."""
    records = list(iter_sequences(path, sequence_column, id_column, alphabet))
    return [r.id for r in records], [r.sequence for r in records], [r.where for r in records]


__all__ = ["ID_COLUMNS", "SequenceRecord", "check_dna", "input_kind", "iter_sequences", "read_sequences"]
