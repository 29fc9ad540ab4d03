"""Fine-tuning datasets: CSV / TSV / FASTA -> ``datasets.DatasetDict`` (readers, builders, saving).

Every builder returns a ``DatasetDict`` with two columns, ``sequence`` (string) and
``label`` (:class:`datasets.ClassLabel` with names), and records the label mapping
(``{"task", "label_names", "label_mapping": {raw label: class id}}``) as JSON in each
split's ``info.description``; :func:`save_downstream_dataset` also writes it to
``label_mapping.json`` next to ``save_to_disk``'s files.

* :func:`build_sequence_classification_dataset` -- generic: one file per split, CSV/TSV
  with a sequence and a label column (GUE layout: ``sequence,label``), or FASTA with the
  label in the header (``>id label=1``, ``>id|1`` or ``>id 1``), or one FASTA per class;
  several sequence columns per example (e.g. a ref / alt pair) with ``input_columns``.
  Default class names come from the caller: the task registry (:mod:`.tasks`) passes
  each task's own.
* :func:`build_tfbs_dataset` -- TF binding sites as in the paper: positives from a file,
  negatives = a seeded dinucleotide-preserving shuffle of each positive
  (:func:`dinucleotide_shuffle`, the Altschul-Erickson algorithm).
* :func:`build_splice_dataset` -- SpliceAI-style windows from a genome FASTA and annotated
  sites: the site's nucleotide in the centre with ``context`` nt around it (80 / 256 /
  400 / 2000), reverse-complemented on the minus strand; classes neither / acceptor /
  donor (SpliceAI's order).
"""

from __future__ import annotations

import json
import os
import re
from typing import Mapping, Sequence

import numpy as np

from .sequences import reverse_complement
from .readers import (
    IUPAC,
    DataFormatError,
    Genome,
    _blank,
    _check_unique,
    _check_width,
    _csv_rows,
    _delimiter,
    _err,
    _int,
    fasta_records,
    natural_key,
    open_text,
)

SPLICE_LABELS = ("neither", "acceptor", "donor")
_FASTA_EXT = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")
_HEADER_LABELS = (re.compile(r"label=(\S+)"), re.compile(r"\|([^|\s]+)\s*$"), re.compile(r"\s(\S+)\s*$"))


def _is_fasta(path: str) -> bool:
    return os.fspath(path).lower().endswith(_FASTA_EXT)


def _check_seq(path, line, field, seq: str) -> str:
    s = "".join(seq.split())
    if not s:
        raise _err(path, line, field, "empty sequence", seq)
    bad = next((c for c in s if c.upper() not in IUPAC), None)
    if bad is not None:
        raise _err(path, line, field, f"not a DNA sequence (character {bad!r})", seq[:60])
    return s


# --------------------------------------------------------------------------- readers
def read_labelled_rows(path, input_columns: Sequence[str], label_column: str = "label", delimiter: str | None = None):
    """CSV/TSV -> ``[({column: sequence}, raw label, line number)]`` for every input column (header required)."""
    path = os.fspath(path)
    delimiter = delimiter or _delimiter(path)
    out = []
    with open_text(path) as fh:
        rows = _csv_rows(path, fh, delimiter)
        header = next(rows, (1, None))[1]
        if header is None:
            raise DataFormatError(f"{path}: empty file (no header line)")
        for col in (*input_columns, label_column):
            if col not in header:
                option = "--label_column" if col == label_column else "--sequence_column" if len(input_columns) == 1 else None
                hint = f"; name the {'label' if col == label_column else 'sequence'} column with {option}" if option else ""
                raise DataFormatError(f"{path}:1: no column {col!r} in the header {header}{hint}")
        _check_unique(path, header, [*input_columns, label_column])
        where = {col: header.index(col) for col in input_columns}
        li = header.index(label_column)
        for lineno, row in rows:
            if _blank(row):
                continue
            _check_width(path, lineno, row, header, delimiter)
            label = row[li].strip()
            if not label:
                raise _err(path, lineno, label_column, "empty label", row[li])
            inputs = {col: _check_seq(path, lineno, col, row[i]) for col, i in where.items()}
            out.append((inputs, label, lineno))
    return out


def read_labelled_table(path, sequence_column: str = "sequence", label_column: str = "label", delimiter: str | None = None):
    """CSV/TSV -> ``[(sequence, raw label, line number)]`` (header required)."""
    rows = read_labelled_rows(path, [sequence_column], label_column, delimiter)
    return [(inputs[sequence_column], label, lineno) for inputs, label, lineno in rows]


def has_column(path, column: str) -> bool:
    """Whether a CSV/TSV file's header names ``column`` (FASTA files have no columns)."""
    path = os.fspath(path)
    if _is_fasta(path):
        return False
    with open_text(path) as fh:
        header = next(_csv_rows(path, fh, _delimiter(path)), (1, None))[1]
    return header is not None and column in [h.strip() for h in header]


def read_labelled_fasta(path, label: str | None = None):
    """FASTA -> ``[(sequence, raw label, header line number)]``, streamed record by record.

    The label is ``label`` for every record when given (one file per class), else read
    from the header: ``label=X``, ``id|X`` or the last whitespace-separated word. Errors name
    the file and line (:func:`.readers.fasta_records`).
    """
    path = os.fspath(path)
    out = []
    for line, header, seq in fasta_records(path, full_header=True):
        if label is None:
            m = next((x for x in (p.search(header) for p in _HEADER_LABELS) if x), None)
            if m is None:
                raise _err(path, line, "label", "no label in the FASTA header (use 'label=X', 'id|X' or 'id X')", header)
            lab = m.group(1)
        else:
            lab = str(label)
        out.append((_check_seq(path, line, "sequence", seq), lab, line))
    if not out:
        raise DataFormatError(f"{path}: no FASTA records")
    return out


def _read_split(spec, sequence_column, label_column, input_columns=None):
    """A split spec: a path, or ``{label: fasta_path}`` (one FASTA per class); an empty split is an error."""
    if isinstance(spec, Mapping):
        rows = []
        for lab, p in spec.items():
            rows += read_labelled_fasta(p, label=str(lab))
    elif input_columns is not None:
        if _is_fasta(spec):
            raise DataFormatError(f"{os.fspath(spec)}: a FASTA holds one sequence per example; this task reads "
                                  f"the columns {list(input_columns)} of a CSV/TSV")
        rows = read_labelled_rows(spec, input_columns, label_column)
    elif _is_fasta(spec):
        rows = read_labelled_fasta(spec)
    else:
        rows = read_labelled_table(spec, sequence_column, label_column)
    if not rows:
        raise DataFormatError(f"{os.fspath(spec) if not isinstance(spec, Mapping) else dict(spec)}: no examples "
                              "(the file holds a header at most)")
    return rows


def _sort_labels(values):
    vals = list(values)
    if all(re.fullmatch(r"-?\d+", v) for v in vals):
        return sorted(vals, key=int)
    return sorted(vals)


def _label_mapping(raw_labels: set[str], label_names) -> tuple[list[str], dict[str, int]]:
    """-> (class names in id order, raw label -> id)."""
    if label_names is None:
        raw = _sort_labels(raw_labels)
        if all(re.fullmatch(r"\d+", v) for v in raw) and [int(v) for v in raw] == list(range(len(raw))):
            return raw, {v: int(v) for v in raw}
        return raw, {v: i for i, v in enumerate(raw)}
    if isinstance(label_names, Mapping):  # raw label -> name; ids follow the raw order
        raw = _sort_labels(label_names)
        names = [str(label_names[r]) for r in raw]
        mapping = {r: i for i, r in enumerate(raw)}
        for n, i in zip(names, range(len(names))):
            mapping.setdefault(n, i)  # raw files may already hold the names
        return names, mapping
    names = [str(n) for n in label_names]  # a list: id -> name; raw labels are ids or names
    mapping = {str(i): i for i in range(len(names))}
    mapping.update({n: i for i, n in enumerate(names)})
    return names, mapping


def _to_datasetdict(split_rows: Mapping[str, list], names: list[str], mapping: dict[str, int], task: str,
                    sources: Mapping[str, str], input_columns: Sequence[str] = ("sequence",)):
    """Rows ``(sequence or {column: sequence}, raw label, where)`` -> ``DatasetDict`` of the input columns + ``label``."""
    from datasets import ClassLabel, Dataset, DatasetDict, DatasetInfo, Features, Value

    features = Features({**{c: Value("string") for c in input_columns}, "label": ClassLabel(names=names)})
    description = json.dumps({"task": task, "label_names": names, "label_mapping": mapping, "sources": dict(sources)})
    out = {}
    for split, rows in split_rows.items():
        labels = []
        for seq, raw, where in rows:
            if raw not in mapping:
                path = sources.get(split, split)
                raise _err(path, where, "label", f"unknown label; known labels: {sorted(mapping)}", raw)
            labels.append(mapping[raw])
        if tuple(input_columns) == ("sequence",):
            columns = {"sequence": [r[0] for r in rows]}
        else:
            columns = {c: [r[0][c] for r in rows] for c in input_columns}
        out[split] = Dataset.from_dict(
            {**columns, "label": labels},
            features=features,
            info=DatasetInfo(description=description, features=features),
        )
    return DatasetDict(out)


def build_sequence_classification_dataset(
    data_files,
    task: str = "generic",
    label_names=None,
    sequence_column: str = "sequence",
    label_column: str = "label",
    default_label_names=None,
    input_columns: Sequence[str] | None = None,
):
    """CSV / TSV / FASTA files -> ``DatasetDict`` with the input columns and ``label`` (ClassLabel).

    Args:
        data_files: ``{split: path}`` (a single path means ``{"train": path}``); a path may
            be a CSV/TSV (``sequence_column``, ``label_column``; gzip allowed) or a FASTA
            with labels in the headers; a split may also be ``{label: fasta_path}``.
        task: the task name recorded with the mapping (the task registry,
            :mod:`dataset_scripts.tasks`, calls this with its own defaults).
        label_names: class names: a list (class id -> name; raw labels may be ids or
            names) or a dict (raw label -> name). Default: ``default_label_names`` when the
            raw labels are among its keys or values, else the sorted raw labels (0..K-1 kept as ids).
        input_columns: read these CSV/TSV columns as the example's sequences (e.g.
            ``["ref_sequence", "alt_sequence"]``) instead of the one ``sequence_column``.

    The mapping is recorded in each split's ``info.description`` (JSON). An empty split is an error.
    """
    if isinstance(data_files, (str, os.PathLike)):
        data_files = {"train": data_files}
    split_rows = {s: _read_split(p, sequence_column, label_column, input_columns) for s, p in data_files.items()}
    raw = {lab for rows in split_rows.values() for _, lab, _ in rows}
    if label_names is None and default_label_names is not None:
        default = default_label_names
        known = set(default) | set(default.values()) if isinstance(default, Mapping) else set(default) | {str(i) for i in range(len(default))}
        if raw <= known:
            label_names = default
    names, mapping = _label_mapping(raw, label_names)
    sources = {s: (os.fspath(p) if not isinstance(p, Mapping) else ", ".join(map(os.fspath, p.values()))) for s, p in data_files.items()}
    return _to_datasetdict(split_rows, names, mapping, task, sources, input_columns or ("sequence",))


def label_mapping(dataset) -> dict:
    """The recorded ``{"task", "label_names", "label_mapping", "sources"}`` of a built dataset (or split)."""
    d = dataset[next(iter(dataset))] if hasattr(dataset, "keys") else dataset
    return json.loads(d.info.description)


def save_downstream_dataset(dataset, path) -> None:
    """``save_to_disk`` plus ``label_mapping.json`` (the recorded mapping)."""
    dataset.save_to_disk(os.fspath(path))
    with open(os.path.join(os.fspath(path), "label_mapping.json"), "w") as fh:
        json.dump(label_mapping(dataset), fh, indent=1)


# --------------------------------------------------------------------------- TFBS + shuffles
def dinucleotide_shuffle(seq: str, rng: np.random.Generator | int | None = None) -> str:
    """A random sequence with exactly the dinucleotide counts of ``seq`` (Altschul-Erickson 1985).

    The sequence is a walk in the graph whose vertices are letters and whose edges are
    its dinucleotides; a uniformly random Eulerian walk with the same first and last
    letter is drawn by (1) choosing a random last exit edge for every letter but the
    final one so that the last edges form a tree into the final letter (rejection until
    they do), (2) shuffling each letter's other exit edges, (3) walking. First and last
    letters and all dinucleotide counts are preserved exactly. Case is kept as given.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = len(seq)
    if n <= 2:
        return seq
    edges: dict[str, list[str]] = {}
    for a, b in zip(seq, seq[1:]):
        edges.setdefault(a, []).append(b)
    last = seq[-1]
    vertices = list(edges)
    while True:
        last_edge = {}
        for v in vertices:
            if v != last:
                last_edge[v] = int(rng.integers(len(edges[v])))
        # every vertex must reach `last` along last edges (no cycle)
        ok = True
        for v in vertices:
            seen = set()
            u = v
            while u != last:
                if u in seen:
                    ok = False
                    break
                seen.add(u)
                u = edges[u][last_edge[u]]
            if not ok:
                break
        if ok:
            break
    order: dict[str, list[str]] = {}
    for v in vertices:
        e = list(edges[v])
        if v != last:
            tail = e.pop(last_edge[v])
            rng.shuffle(e)
            e.append(tail)
        else:
            rng.shuffle(e)
        order[v] = e[::-1]  # pop() from the end
    out = [seq[0]]
    for _ in range(n - 1):
        out.append(order[out[-1]].pop())
    return "".join(out)


def dinucleotide_counts(seq: str) -> dict[str, int]:
    """Counts of every overlapping dinucleotide of ``seq``."""
    c: dict[str, int] = {}
    for i in range(len(seq) - 1):
        c[seq[i : i + 2]] = c.get(seq[i : i + 2], 0) + 1
    return c


def build_tfbs_dataset(
    positives,
    seed: int = 0,
    negatives_per_positive: int = 1,
    sequence_column: str = "sequence",
    label_column: str | None = None,
):
    """TF binding-site classification as in the paper: positives + shuffled negatives.

    Args:
        positives: ``{split: path}`` (or one path -> ``train``): FASTA, or CSV/TSV with a
            ``sequence_column``; with ``label_column`` set, only rows labelled ``1`` are
            taken as positives (e.g. a GUE file).
        seed: seeds the shuffles (split ``k`` uses ``seed + k``).
        negatives_per_positive: dinucleotide shuffles drawn per positive.

    Returns a ``DatasetDict``: label 1 ``bound`` (the positives), 0 ``shuffled``, each
    negative directly after its positive.
    """
    if isinstance(positives, (str, os.PathLike)):
        positives = {"train": positives}
    split_rows = {}
    for k, (split, path) in enumerate(positives.items()):
        path = os.fspath(path)
        if _is_fasta(path):
            seqs = [(s, w) for s, _, w in read_labelled_fasta(path, label="1")]
        elif label_column is None:
            seqs = []
            delimiter = _delimiter(path)
            with open_text(path) as fh:
                rows = _csv_rows(path, fh, delimiter)
                header = next(rows, (1, None))[1]
                if header is None or sequence_column not in header:
                    raise DataFormatError(f"{path}:1: no column {sequence_column!r} in the header {header}; "
                                          "name the sequence column with --sequence_column")
                si = header.index(sequence_column)
                for lineno, row in rows:
                    if not _blank(row):
                        _check_width(path, lineno, row, header, delimiter)
                        seqs.append((_check_seq(path, lineno, sequence_column, row[si]), lineno))
        else:
            seqs = [(s, w) for s, lab, w in read_labelled_table(path, sequence_column, label_column) if lab == "1"]
        if not seqs:
            raise DataFormatError(f"{path}: no positive sequences")
        rng = np.random.default_rng(seed + k)
        rows = []
        for s, w in seqs:
            rows.append((s, "bound", w))
            for _ in range(negatives_per_positive):
                rows.append((dinucleotide_shuffle(s, rng), "shuffled", f"{w} (shuffle)"))
        split_rows[split] = rows
    names = ["shuffled", "bound"]
    return _to_datasetdict(split_rows, names, {"shuffled": 0, "bound": 1}, "tfbs", {s: os.fspath(p) for s, p in positives.items()})


# --------------------------------------------------------------------------- splice sites
def read_splice_sites(path) -> list[tuple[str, int, str, str, int]]:
    """Splice-site table -> ``[(chrom, position, strand, label, line)]``.

    Tab-separated, no header needed (a first line starting with ``chrom``/``#`` is
    skipped): ``chrom  position(0-based)  strand(+/-)  label`` with label one of
    ``neither``, ``acceptor``, ``donor``.
    """
    path = os.fspath(path)
    out = []
    with open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("#") or (lineno == 1 and line.lower().startswith("chrom")):
                continue
            f = line.split("\t")
            if len(f) < 4:
                raise _err(path, lineno, "label", f"expected 4 tab-separated columns (chrom position strand label), got {len(f)}", line)
            pos = _int(path, lineno, "position", f[1])
            if pos < 0:
                raise _err(path, lineno, "position", "negative position", f[1])
            strand = f[2].strip()
            if strand not in ("+", "-"):
                raise _err(path, lineno, "strand", "must be + or -", f[2])
            label = f[3].strip().lower()
            if label not in SPLICE_LABELS:
                raise _err(path, lineno, "label", f"must be one of {SPLICE_LABELS}", f[3])
            out.append((f[0].strip(), pos, strand, label, lineno))
    return out


def build_splice_dataset(
    genome,
    sites,
    context: int = 400,
    validation_chroms: Sequence[str] = ("chr2",),
    test_chroms: Sequence[str] = (),
):
    """Splice-site windows from a genome FASTA and annotated sites (SpliceAI style).

    Each example is the ``context + 1`` nt window ``[pos - context // 2, pos + context // 2]``
    with the annotated nucleotide in the centre (index ``context // 2``), reverse-
    complemented for minus-strand sites; bases past a chromosome end are ``N`` (as
    SpliceAI pads). Labels: 0 ``neither``, 1 ``acceptor``, 2 ``donor``. Splits by
    chromosome (``validation_chroms``, ``test_chroms``; the rest is ``train``).
    """
    if context < 0 or context % 2:
        raise ValueError(f"context must be a non-negative even number (80, 256, 400, 2000), got {context}")
    table = read_splice_sites(sites)
    half = context // 2
    split_rows: dict[str, list] = {}
    sites_path = os.fspath(sites)
    with Genome(genome) as g:
        missing = sorted({c for c, *_ in table if c not in g.lengths}, key=natural_key)
        if missing:
            raise DataFormatError(f"{len(missing)} chromosome name(s) of {sites_path} missing from the FASTA {g.path}: {', '.join(missing[:20])}")
        for chrom, pos, strand, label, lineno in table:
            n = g.lengths[chrom]
            if pos >= n:
                raise _err(sites_path, lineno, "position", f"out of bounds: {chrom} has {n} bases", pos)
            lo, hi = pos - half, pos + half + 1
            seq = "N" * max(0, -lo) + g.fetch(chrom, max(lo, 0), min(hi, n)) + "N" * max(0, hi - n)
            if strand == "-":
                seq = reverse_complement(seq)
            split = "test" if chrom in test_chroms else "validation" if chrom in validation_chroms else "train"
            split_rows.setdefault(split, []).append((seq, label, lineno))
    names = list(SPLICE_LABELS)
    order = {s: split_rows[s] for s in ("train", "validation", "test") if s in split_rows}
    return _to_datasetdict(order, names, {n: i for i, n in enumerate(names)}, "splice", {s: sites_path for s in order})


__all__ = [
    "SPLICE_LABELS",
    "build_sequence_classification_dataset",
    "build_splice_dataset",
    "build_tfbs_dataset",
    "dinucleotide_counts",
    "dinucleotide_shuffle",
    "label_mapping",
    "has_column",
    "read_labelled_fasta",
    "read_labelled_rows",
    "read_labelled_table",
    "read_splice_sites",
    "reverse_complement",
    "save_downstream_dataset",
]
