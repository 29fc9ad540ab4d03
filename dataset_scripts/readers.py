"""Readers for real genomics inputs: FASTA, BED / narrowPeak, region tables, AnnData, sequence tables.

Every reader returns accessible regions per cell type as :class:`Region` records
(0-based, half-open coordinates, like BED). Malformed input raises
:class:`DataFormatError` whose message names the file, the line, the field and the
offending value, e.g. ``peaks.bed:7: field 'start': not an integer (value 'abc')``.
Text files are UTF-8 (a byte-order mark is skipped), plain or gzip, with LF or CRLF line
ends; other bytes, a damaged gzip stream and csv-level errors are named by file and line too.

* :class:`Genome` -- random access to a FASTA via :mod:`pyfaidx` (case preserved, so
  soft-masked lower case survives), with checks that name every chromosome missing
  from the FASTA and every interval out of bounds.
* :func:`read_bed` -- BED3+ / narrowPeak (column 10, the summit offset, is used when
  >= 0). ``track`` / ``browser`` / ``#`` lines and blank lines are skipped.
* :func:`read_peak_files` -- one BED/narrowPeak file per cell type.
* :func:`read_region_table` -- a regions x cell-types table (TSV/CSV): coordinates
  (``chrom start end`` or one ``region`` column such as ``chr1:100-200``) plus one
  numeric column per cell type, binarised with ``value > threshold``.
* :func:`read_h5ad_pseudobulk` -- an AnnData ``.h5ad`` of cells x peaks with a
  cell-type column in ``obs`` (the paper's recipe: sum the cells of each type, i.e.
  pseudo-bulk, then binarise). Cells are read in chunks from a backed file.
* :func:`read_sequence_table` / :func:`read_dhs_table` -- tables that already carry
  the sequence (such as the ENCODE DHS tables of DNA-Diffusion: coordinates, summit,
  200 bp of sequence, per-cell-type 0/1 columns and a ``data_label`` split).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

IUPAC = set("ACGTNRYSWKMBDHV")
_SEQ_RE = re.compile(r"^[ACGTNRYSWKMBDHVacgtnryswkmbdhv]*$")
_SEQ_CHARS = IUPAC | {c.lower() for c in IUPAC}
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, as errors="surrogateescape" keeps them
_REGION_RE = re.compile(r"^(?P<chrom>[^:\s]+?)[:_-](?P<start>\d+)[-_](?P<end>\d+)$")


class DataFormatError(ValueError):
    """Malformed input; the message names file, line, field and value."""


def _err(path, line, field, problem, value) -> DataFormatError:
    where = f"{os.fspath(path)}:{line}" if line is not None else os.fspath(path)
    return DataFormatError(f"{where}: field {field!r}: {problem} (value {value!r})")


@dataclass(frozen=True, slots=True)
class Region:
    """One accessible region of one cell type.

    ``summit`` is an absolute 0-based genome position or ``None``; ``sequence`` (with
    ``seq_start``, the genome position of its first base) is set when the source
    carries the bases; ``split`` is a split name given by the source (e.g. the DHS
    ``data_label``) or ``None``; ``origin`` is ``file:line`` for error messages.
    """

    chrom: str
    start: int
    end: int
    summit: int | None = None
    sequence: str | None = None
    seq_start: int | None = None
    split: str | None = None
    origin: str = ""

    @property
    def centre(self) -> int:
        return self.summit if self.summit is not None else (self.start + self.end) // 2


class _TextFile(io.TextIOWrapper):
    """UTF-8 text (a byte-order mark skipped) whose lines are checked as they are read: bytes that
    are not UTF-8 and damaged gzip data raise :class:`DataFormatError` naming the file and line."""

    def __init__(self, raw, path: str, gzipped: bool):
        super().__init__(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        self.path, self.gzipped, self.lineno = path, gzipped, 0

    def readline(self, size: int = -1) -> str:
        try:
            line = super().readline(size)
        except (EOFError, OSError, zlib.error) as e:  # truncated or corrupt gzip stream
            if not self.gzipped:
                raise
            raise DataFormatError(f"{self.path}: damaged gzip data after line {self.lineno}: {e}") from None
        if line:
            self.lineno += 1
            bad = None if line.isascii() else _UNDECODABLE.search(line)
            if bad:
                byte = ord(bad.group()) - 0xDC00
                raise DataFormatError(f"{self.path}:{self.lineno}: not UTF-8 text (byte 0x{byte:02x} at column {bad.start() + 1})")
        return line

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def open_text(path: str | os.PathLike):
    """Open a UTF-8 text file, transparently gunzipping ``.gz``; see :class:`_TextFile`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist")
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return _TextFile(gzip.open(path, "rb"), path, gzipped=True)
    return _TextFile(open(path, "rb"), path, gzipped=False)


def _csv_rows(path: str, fh, delimiter: str):
    """``(line number, fields)`` per record; a record's number is its first physical line (a
    quoted field may span several); csv errors (e.g. a field over the size limit) name the line."""
    reader = csv.reader(fh, delimiter=delimiter)
    while True:
        lineno = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataFormatError(f"{path}:{lineno}: {e}") from None
        yield lineno, row


SEQUENCE_RE = re.compile(r"^[ACGTNRYSWKMBDHVacgtnryswkmbdhv]+$")  # one or more IUPAC nucleotide codes


def sequence_error(path, line, text: str, pattern: re.Pattern = SEQUENCE_RE, allowed: str = "") -> DataFormatError:
    """The one message for input that is not DNA, in every command:
    ``file:line: field 'sequence': not a DNA sequence (character 'X') (value '...')``."""
    bad = next(c for c in text if not pattern.fullmatch(c))
    return _err(path, line, "sequence", f"not a DNA sequence (character {bad!r}){allowed}", text[:60])


def fasta_records(path, pattern: re.Pattern = SEQUENCE_RE, allowed: str = "", full_header: bool = False):
    """``(header line, name, sequence)`` per FASTA record, streamed (upper case). ``name`` is the header's
    first word, or with ``full_header`` the whole header; every sequence line must match ``pattern``
    (``allowed`` names its letters in the error, which gives the file and line)."""
    path = os.fspath(path)
    name, start, chunks = None, 0, []
    with open_text(path) as fh:
        for line in fh:
            text = line.strip()
            if text.startswith(">"):
                if name is not None:
                    yield start, name, "".join(chunks)
                header = text[1:].strip()
                name = header if full_header else (header.split()[0] if header.split() else "")
                start, chunks = fh.lineno, []
            elif text:
                if name is None:
                    raise _err(path, fh.lineno, "header", "sequence before the first '>' header", text[:60])
                bases = "".join(text.split())
                if not pattern.fullmatch(bases):
                    raise sequence_error(path, fh.lineno, bases, pattern, allowed)
                chunks.append(bases.upper())
    if name is None:
        raise DataFormatError(f"{path}: no FASTA records")
    yield start, name, "".join(chunks)


def _int(path, line, field, value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise _err(path, line, field, "not an integer", value) from None
    if not isinstance(value, str) and number != value:  # e.g. 10.5 in a float column: not truncated
        raise _err(path, line, field, "not an integer", value)
    return number


def _float(path, line, field, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise _err(path, line, field, "not a number", value) from None
    if not np.isfinite(v):
        raise _err(path, line, field, "not a finite number", value)
    return v


def _check_interval(path, line, chrom, start, end) -> None:
    if not chrom:
        raise _err(path, line, "chrom", "empty chromosome name", chrom)
    if start < 0:
        raise _err(path, line, "start", "negative start", start)
    if end <= start:
        raise _err(path, line, "end", f"end must be greater than start ({start})", end)


def _summit(path, line, field, value, start, end) -> int:
    summit = _int(path, line, field, value)
    if not start <= summit < end:
        raise _err(path, line, field, f"summit outside the interval {start}-{end}", value)
    return summit


def _check_unique(path, header, columns) -> None:
    """A column read by name must appear once (else one of the copies would be silently ignored)."""
    for c in dict.fromkeys(columns):
        if header.count(c) > 1:
            raise _err(path, 1, c, f"column name appears {header.count(c)} times in the header", c)


def _blank(row) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _check_width(path, line, row, header, delimiter) -> None:
    if len(row) != len(header):
        raise _err(path, line, header[min(len(row), len(header) - 1)], f"expected {len(header)} columns, got {len(row)}", delimiter.join(row)[:80])


def natural_key(chrom: str):
    """Sort key putting chr2 before chr10 (numbers numerically, then names)."""
    c = chrom[3:] if chrom.lower().startswith("chr") else chrom
    # the full name last: chr1 / 1 / chr01 stay apart (regions are grouped by name after sorting)
    return (0, int(c), "", chrom) if c.isascii() and c.isdigit() else (1, 0, c, chrom)


# --------------------------------------------------------------------------- FASTA
def cache_dir() -> Path:
    """Where GeneBERT keeps what it builds once (the embedded mini-atlas, FASTA indexes): ``$GENEBERT_CACHE`` or
    ``~/.cache/genebert``."""
    return Path(os.environ.get("GENEBERT_CACHE", Path.home() / ".cache" / "genebert"))


def fasta_index_paths(path: str) -> dict[str, str]:
    """Where pyfaidx keeps the index of ``path``: beside it where one already is, else in :func:`cache_dir`, so
    that reading a FASTA leaves nothing in the folder it lies in (a checkout, a read-only share)."""
    if os.path.exists(path + ".fai"):
        return {}
    folder = cache_dir() / "fasta-index"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:16]}-{os.path.basename(path)}"
    return {"indexname": f"{stem}.fai", "gzi_indexname": f"{stem}.gzi"}


class Genome:
    """A genome FASTA with random access (pyfaidx builds/uses the ``.fai`` index).

    ``fetch`` preserves case (soft-masked lower case stays lower case).
    """

    def __init__(self, path: str | os.PathLike):
        import pyfaidx

        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"genome FASTA {self.path} does not exist")
        try:
            self._fasta = pyfaidx.Fasta(self.path, as_raw=True, sequence_always_upper=False, rebuild=True,  # a stale .fai is rebuilt
                                        **fasta_index_paths(self.path))
        except pyfaidx.UnsupportedCompressionFormat as e:
            raise DataFormatError(
                f"{self.path}: gzip FASTA must be bgzip-compressed for random access "
                f"(bgzip it, or gunzip it): {e}"
            ) from e
        except (pyfaidx.FastaIndexingError, ValueError) as e:  # ragged lines, no '>' header, duplicate names, not UTF-8
            raise DataFormatError(f"{self.path}: not a valid FASTA file: {e}") from e
        self.lengths = {name: len(rec) for name, rec in self._fasta.records.items()}

    def check(self, regions: Iterable[Region], window: int | None = None) -> None:
        """Raise if a chromosome is missing (naming all of them) or a region is out of bounds."""
        missing: dict[str, str] = {}
        for r in regions:
            n = self.lengths.get(r.chrom)
            if n is None:
                missing.setdefault(r.chrom, r.origin)
                continue
            if r.end > n:
                raise DataFormatError(
                    f"{r.origin or 'region'}: interval {r.chrom}:{r.start}-{r.end} is out of bounds: "
                    f"{r.chrom} has {n} bases in {self.path}"
                )
            if window is not None and window > n:
                raise DataFormatError(f"{self.path}: {r.chrom} ({n} bases) is shorter than the {window}-base window")
        if missing:
            names = sorted(missing, key=natural_key)
            first = ", ".join(f"{c} (first at {missing[c]})" for c in names[:20])
            have = ", ".join(list(self.lengths)[:10])
            raise DataFormatError(
                f"{len(names)} chromosome name(s) missing from the FASTA {self.path}: {first}"
                f"{' ...' if len(names) > 20 else ''}; the FASTA has: {have}{' ...' if len(self.lengths) > 10 else ''}"
            )

    def fetch(self, chrom: str, start: int, end: int) -> str:
        n = self.lengths.get(chrom)
        if n is None:
            raise DataFormatError(f"chromosome {chrom!r} is missing from the FASTA {self.path}")
        if start < 0 or end > n or end < start:
            raise DataFormatError(f"interval {chrom}:{start}-{end} is out of bounds ({chrom} has {n} bases in {self.path})")
        bases = self._fasta[chrom][start:end]
        if not _SEQ_RE.fullmatch(bases):  # e.g. blanks at line ends, which pyfaidx counts as bases
            bad = next(i for i, ch in enumerate(bases) if ch not in _SEQ_CHARS)
            raise DataFormatError(
                f"{self.path}: {chrom}:{start + bad}: field 'sequence': not a nucleotide code (value {bases[bad]!r})"
            )
        return bases

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- BED / narrowPeak
def read_bed(path: str | os.PathLike, fmt: str | None = None, cell_type: str | None = None) -> list[Region]:
    """Read a BED3+ or narrowPeak file into regions (summit from narrowPeak column 10 when >= 0).

    ``fmt`` is ``"bed"`` or ``"narrowPeak"``; guessed from the file name when omitted.
    """
    path = os.fspath(path)
    if fmt is None:
        fmt = "narrowPeak" if "narrowpeak" in os.path.basename(path).lower() else "bed"
    if fmt.lower() not in ("bed", "narrowpeak"):
        raise ValueError(f"fmt must be 'bed' or 'narrowPeak', got {fmt!r}")
    narrow = fmt.lower() == "narrowpeak"
    out: list[Region] = []
    with open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("#") or line.split(maxsplit=1)[0] in ("track", "browser"):
                continue  # (a chromosome named e.g. "track7" is data)
            f = line.split("\t")
            if len(f) < 3:
                raise _err(path, lineno, "end", f"expected at least 3 tab-separated columns, got {len(f)}", line)
            if narrow and len(f) < 10:
                raise _err(path, lineno, "peak", f"narrowPeak needs 10 columns, got {len(f)}", line)
            chrom = f[0].strip()
            start = _int(path, lineno, "start", f[1])
            end = _int(path, lineno, "end", f[2])
            _check_interval(path, lineno, chrom, start, end)
            summit = None
            if narrow:
                peak = _int(path, lineno, "peak", f[9])
                if peak >= 0:
                    if peak >= end - start:
                        raise _err(path, lineno, "peak", f"summit offset outside the interval of length {end - start}", f[9])
                    summit = start + peak
            out.append(Region(chrom, start, end, summit, origin=f"{path}:{lineno}"))
    return out


def read_peak_files(peaks: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike], fmt: str | None = None) -> dict[str, list[Region]]:
    """One BED/narrowPeak file per cell type: ``{cell_type: path}``, or a list of paths
    (the cell type is then the file name up to its first dot)."""
    if not isinstance(peaks, Mapping):
        peaks = {os.path.basename(os.fspath(p)).split(".")[0]: p for p in peaks}
    return {ct: read_bed(p, fmt=fmt) for ct, p in peaks.items()}


# --------------------------------------------------------------------------- region x cell-type tables
_CHROM_NAMES = ("chrom", "chr", "chromosome", "#chrom", "seqnames", "seqname")
_START_NAMES = ("start", "chromstart", "chrom_start", "begin")
_END_NAMES = ("end", "chromend", "chrom_end", "stop")
_REGION_NAMES = ("region", "peak", "peak_id", "name", "id")


def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _coordinate_header(path, rows, region_column: bool):
    """``(header, chrom, start, end, region, summit)`` column names of a region table's header row (the region
    column only where ``region_column`` allows it instead of chrom/start/end; summit ``None`` when absent)."""
    try:
        _, header = next(rows)
    except StopIteration:
        raise DataFormatError(f"{path}: empty file (no header line)") from None
    cchrom, cstart, cend = _find(header, _CHROM_NAMES), _find(header, _START_NAMES), _find(header, _END_NAMES)
    cregion = None
    if not (cchrom and cstart and cend):
        cregion = _find(header, _REGION_NAMES) if region_column else None
        if not cregion:
            wanted = "chrom/start/end columns or a region column" if region_column else "chrom/start/end columns"
            raise DataFormatError(f"{path}:1: header needs {wanted}, got {header}")
    return header, cchrom, cstart, cend, cregion, _find(header, ("summit",))


def parse_region_name(name: str) -> tuple[str, int, int]:
    """``chr1:100-200``, ``chr1-100-200`` or ``chr1_100_200`` -> ``("chr1", 100, 200)``."""
    m = _REGION_RE.match(name.strip())
    if not m:
        raise ValueError(f"cannot parse region name {name!r} (expected chrom:start-end)")
    return m["chrom"], int(m["start"]), int(m["end"])


def _delimiter(path: str) -> str:
    p = path.lower().removesuffix(".gz")
    return "," if p.endswith(".csv") else "\t"


def read_region_table(
    path: str | os.PathLike,
    cell_types: Sequence[str] | None = None,
    threshold: float = 0.0,
    delimiter: str | None = None,
) -> dict[str, list[Region]]:
    """Regions x cell-types table -> accessible regions per cell type (``value > threshold``).

    Coordinates come from ``chrom``/``start``/``end`` columns (common aliases accepted)
    or a single ``region`` column (``chr1:100-200``); an optional ``summit`` column
    (absolute position, inside the interval) is used. Every other column is a cell type unless
    ``cell_types`` names the ones to use. Streams the file line by line.
    """
    path = os.fspath(path)
    delimiter = delimiter or _delimiter(path)
    out: dict[str, list[Region]] = {}
    with open_text(path) as fh:
        rows = _csv_rows(path, fh, delimiter)
        header, cchrom, cstart, cend, cregion, csummit = _coordinate_header(path, rows, region_column=True)
        coord = {c for c in (cchrom, cstart, cend, cregion, csummit) if c}
        if cell_types is None:
            cell_types = [c for c in header if c not in coord]
        missing = [c for c in cell_types if c not in header]
        if missing:
            raise DataFormatError(f"{path}:1: cell-type column(s) {missing} not in the header {header}")
        if not cell_types:
            raise DataFormatError(f"{path}:1: no cell-type columns in the header {header}")
        _check_unique(path, header, [*coord, *cell_types])
        idx = {c: i for i, c in enumerate(header)}
        for ct in cell_types:
            out[ct] = []
        for lineno, row in rows:
            if _blank(row):
                continue
            _check_width(path, lineno, row, header, delimiter)
            if cregion:
                try:
                    chrom, start, end = parse_region_name(row[idx[cregion]])
                except ValueError:
                    raise _err(path, lineno, cregion, "not a region name like chr1:100-200", row[idx[cregion]]) from None
            else:
                chrom = row[idx[cchrom]].strip()
                start = _int(path, lineno, cstart, row[idx[cstart]])
                end = _int(path, lineno, cend, row[idx[cend]])
            _check_interval(path, lineno, chrom, start, end)
            summit = _summit(path, lineno, csummit, row[idx[csummit]], start, end) if csummit else None
            origin = f"{path}:{lineno}"
            for ct in cell_types:
                if _float(path, lineno, ct, row[idx[ct]]) > threshold:
                    out[ct].append(Region(chrom, start, end, summit, origin=origin))
    return out


# --------------------------------------------------------------------------- AnnData pseudo-bulk
def read_h5ad_pseudobulk(
    path: str | os.PathLike,
    cell_type_key: str = "cell_type",
    threshold: float = 0.0,
    chunk_size: int = 10_000,
    min_cells: int = 1,
) -> dict[str, list[Region]]:
    """Pseudo-bulk an AnnData of cells x peaks (the paper's recipe) -> regions per cell type.

    Cells of each type (``obs[cell_type_key]``) are summed per peak; a peak is accessible
    in a type when the sum is ``> threshold``. Peaks come from ``var`` columns
    ``chrom``/``start``/``end`` (aliases accepted) or from ``var_names`` like
    ``chr1:100-200`` / ``chr1-100-200`` / ``chr1_100_200``. A file stored peaks x cells
    (the cell-type column in ``var``) is handled too. Cell types with fewer than
    ``min_cells`` cells are dropped. ``X`` is read ``chunk_size`` cells at a time from a
    backed file, so memory holds only the (cell types x peaks) sums.
    """
    try:
        import anndata
    except ImportError as e:  # optional dependency
        raise ImportError("reading .h5ad needs the optional dependency anndata: pip install 'genebert[anndata]'") from e
    import pandas as pd
    import scipy.sparse as sp

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist")
    try:
        ad = anndata.read_h5ad(path, backed="r")
    except (OSError, KeyError) as e:  # not HDF5, or HDF5 without the AnnData groups
        raise DataFormatError(f"{path}: not a readable AnnData .h5ad file ({type(e).__name__}: {e})") from e
    try:
        if cell_type_key in ad.obs.columns:
            cells_axis, labels, peaks = 0, ad.obs[cell_type_key], ad.var
        elif cell_type_key in ad.var.columns:
            cells_axis, labels, peaks = 1, ad.var[cell_type_key], ad.obs
        else:
            raise DataFormatError(
                f"{path}: no cell-type column {cell_type_key!r} in obs {list(ad.obs.columns)} or var {list(ad.var.columns)}"
            )
        if labels.isna().any():
            i = int(np.argmax(labels.isna().to_numpy()))
            raise DataFormatError(f"{path}: {'obs' if cells_axis == 0 else 'var'} row {i} ({labels.index[i]!r}): field {cell_type_key!r}: missing cell type (value nan)")
        coords = _peak_coordinates(path, peaks, "var" if cells_axis == 0 else "obs")
        labels = labels.astype(str).to_numpy()
        types = sorted(pd.unique(labels))
        type_idx = {t: i for i, t in enumerate(types)}
        codes = np.array([type_idx[x] for x in labels], dtype=np.int64)
        n_cells = len(labels)
        sums = np.zeros((len(types), len(coords)), dtype=np.float64)
        for lo in range(0, n_cells, chunk_size):
            hi = min(lo + chunk_size, n_cells)
            block = ad.X[lo:hi] if cells_axis == 0 else ad.X[:, lo:hi]
            if cells_axis == 1:
                block = block.T
            g = sp.csr_matrix((np.ones(hi - lo), (codes[lo:hi], np.arange(hi - lo))), shape=(len(types), hi - lo))
            part = g @ block
            sums += part.toarray() if sp.issparse(part) else np.asarray(part)
        counts = np.bincount(codes, minlength=len(types))
        if not np.isfinite(sums).all():
            t, j = np.argwhere(~np.isfinite(sums))[0]
            raise DataFormatError(
                f"{path}: field 'X': non-finite accessibility value in peak {j} ({coords[j][3]!r}) of cell type "
                f"{types[t]!r} (value {sums[t, j]})"
            )
    finally:
        if ad.isbacked:
            ad.file.close()
    out: dict[str, list[Region]] = {}
    for t, row, c in zip(types, sums, counts):
        if c < min_cells:
            continue
        out[t] = [
            Region(coords[j][0], coords[j][1], coords[j][2], origin=f"{path}:peak {j} ({coords[j][3]})")
            for j in np.flatnonzero(row > threshold)
        ]
    return out


def _peak_coordinates(path: str, peaks, axis_name: str) -> list[tuple[str, int, int, str]]:
    cols = list(peaks.columns)
    cchrom, cstart, cend = _find(cols, _CHROM_NAMES), _find(cols, _START_NAMES), _find(cols, _END_NAMES)
    out = []
    names = [str(x) for x in peaks.index]
    if cchrom and cstart and cend:
        for i, (c, s, e) in enumerate(zip(peaks[cchrom], peaks[cstart], peaks[cend])):
            where = f"{axis_name} row {i} ({names[i]!r})"
            start = _int(path, where, cstart, s)
            end = _int(path, where, cend, e)
            c = "" if c is None or (isinstance(c, float) and np.isnan(c)) else str(c)  # missing: not "nan"
            _check_interval(path, where, c, start, end)
            out.append((c, start, end, names[i]))
        return out
    for i, name in enumerate(names):
        try:
            c, s, e = parse_region_name(name)
        except ValueError:
            raise _err(path, f"{axis_name} row {i}", f"{axis_name}_names", "peak name is not chrom:start-end and no chrom/start/end columns exist", name) from None
        _check_interval(path, f"{axis_name} row {i}", c, s, e)
        out.append((c, s, e, name))
    return out


# --------------------------------------------------------------------------- sequence tables
DHS_CELL_TYPE_COLUMNS = ("GM12878_ENCLB441ZZZ", "hESCT0_ENCLB449ZZZ", "K562_ENCLB843GMH", "HepG2_ENCLB029COU")
DHS_SPLITS = {"training": "train", "train": "train", "validation": "validation", "test": "test"}


@dataclass(frozen=True)
class _SequenceColumns:
    """Where a sequence table keeps each field: column names (``summit`` / ``split`` None when absent) and positions."""

    header: list[str]
    index: dict[str, int]
    chrom: str
    start: str
    end: str
    summit: str | None
    sequence: str
    split: str | None
    cell_types: list[str]


def _sequence_table_columns(path: str, rows, delimiter: str, cell_type_columns, sequence_column: str, anchor: str,
                            split_column: str | None) -> tuple[_SequenceColumns, tuple | None]:
    """The header's columns, checked; and the first data line when it was read to find the cell-type columns
    (the 0/1 columns other than coordinates, summit, sequence and split), else None."""
    header, cchrom, cstart, cend, _, csummit = _coordinate_header(path, rows, region_column=False)
    if sequence_column not in header:
        raise DataFormatError(f"{path}:1: no sequence column {sequence_column!r} in the header")
    if anchor == "summit" and not csummit:
        raise DataFormatError(f"{path}:1: anchor='summit' needs a summit column")
    if split_column is not None and split_column not in header:
        raise DataFormatError(f"{path}:1: no split column {split_column!r} in the header")
    idx = {c: i for i, c in enumerate(header)}
    first = None
    if cell_type_columns is None:
        first = next(((n, row) for n, row in rows if not _blank(row)), None)  # the first data line
        if first is not None:
            _check_width(path, *first, header, delimiter)
        skip = {cchrom, cstart, cend, csummit, sequence_column, split_column}
        cell_type_columns = [
            c for c in header if c not in skip and first is not None and first[1][idx[c]].strip() in ("0", "1")
        ]
    missing = [c for c in cell_type_columns if c not in header]
    if missing:
        raise DataFormatError(f"{path}:1: cell-type column(s) {missing} not in the header")
    if not cell_type_columns:
        raise DataFormatError(f"{path}:1: no cell-type columns found; pass cell_type_columns")
    _check_unique(path, header, [c for c in (cchrom, cstart, cend, csummit, sequence_column, split_column) if c] + list(cell_type_columns))
    columns = _SequenceColumns(header, idx, cchrom, cstart, cend, csummit, sequence_column, split_column, list(cell_type_columns))
    return columns, first


def _sequence_row(path: str, lineno: int, row, columns: _SequenceColumns, anchor: str, window: int | None):
    """``(chrom, start, end, summit, sequence, seq_start)`` of one data line: the sequence placed on the genome by
    ``anchor`` and, with ``window``, cut to the ``window`` bases around the summit (or centre)."""
    idx = columns.index
    chrom = row[idx[columns.chrom]].strip()
    start = _int(path, lineno, columns.start, row[idx[columns.start]])
    end = _int(path, lineno, columns.end, row[idx[columns.end]])
    _check_interval(path, lineno, chrom, start, end)
    summit = _summit(path, lineno, columns.summit, row[idx[columns.summit]], start, end) if columns.summit else None
    seq = row[idx[columns.sequence]].strip()
    if not seq or not _SEQ_RE.fullmatch(seq):
        bad = next((ch for ch in seq if ch not in _SEQ_CHARS), "")
        raise _err(path, lineno, columns.sequence, f"not a DNA sequence (character {bad!r})" if seq else "empty sequence", seq[:60])
    how = anchor
    if how == "auto":
        how = "start" if len(seq) == end - start else ("summit" if summit is not None else "centre")
    if how == "start":
        seq_start = start
    elif how == "summit":
        seq_start = summit - len(seq) // 2
    else:
        seq_start = (start + end) // 2 - len(seq) // 2
    if seq_start < 0:
        raise _err(path, lineno, columns.sequence, f"with anchor={how!r} its {len(seq)} bases would start at genome position {seq_start} (< 0)", seq[:60])
    if window is not None:
        if len(seq) < window:
            raise _err(path, lineno, columns.sequence, f"sequence of {len(seq)} bases is shorter than the {window}-base window", seq[:60])
        centre = summit if summit is not None else (start + end) // 2
        lo = min(max(centre - window // 2 - seq_start, 0), len(seq) - window)
        seq, seq_start = seq[lo : lo + window], seq_start + lo
    return chrom, start, end, summit, seq, seq_start


def read_sequence_table(
    path: str | os.PathLike,
    cell_type_columns: Sequence[str] | None = None,
    cell_type_names: Mapping[str, str] | None = None,
    sequence_column: str = "sequence",
    anchor: str = "auto",
    split_column: str | None = None,
    split_names: Mapping[str, str] | None = None,
    threshold: float = 0.0,
    window: int | None = None,
    delimiter: str | None = None,
) -> dict[str, list[Region]]:
    """A table whose rows carry coordinates, a DNA sequence and per-cell-type values.

    Args:
        cell_type_columns: columns holding accessibility per cell type (``> threshold``
            = accessible). Default: every numeric-looking column other than the
            coordinates, summit, sequence and split columns that is 0/1 in the first
            data line.
        cell_type_names: optional renaming ``{column: cell type name}``.
        anchor: where the sequence lies on the genome: ``"start"`` (it begins at
            ``start``), ``"summit"`` (centred on the ``summit`` column:
            ``seq_start = summit - len(seq) // 2``), ``"centre"`` (centred on the
            interval) or ``"auto"`` (``start`` when ``len(seq) == end - start``, else
            ``summit`` when a summit column exists, else ``centre``).
        split_column / split_names: a column naming each row's split, mapped through
            ``split_names`` (e.g. the DHS ``data_label``: training -> train).
        window: keep only ``window`` bases around the summit (or centre) of each
            sequence, so memory holds what the dataset stores, not the full sequences.
    """
    path = os.fspath(path)
    delimiter = delimiter or _delimiter(path)
    if anchor not in ("auto", "start", "summit", "centre", "center"):
        raise ValueError(f"anchor must be auto/start/summit/centre, got {anchor!r}")
    out: dict[str, list[Region]] = {}
    with open_text(path) as fh:
        rows = _csv_rows(path, fh, delimiter)
        columns, first = _sequence_table_columns(path, rows, delimiter, cell_type_columns, sequence_column, anchor, split_column)
        names = {c: (cell_type_names or {}).get(c, c) for c in columns.cell_types}
        for c in columns.cell_types:
            out[names[c]] = []

        for lineno, row in itertools.chain([first] if first is not None else [], rows):
            if _blank(row):
                continue
            _check_width(path, lineno, row, columns.header, delimiter)
            chrom, start, end, summit, seq, seq_start = _sequence_row(path, lineno, row, columns, anchor, window)
            split = None
            if columns.split is not None:
                label = row[columns.index[columns.split]].strip()
                split = (split_names or {}).get(label, label)
            origin = f"{path}:{lineno}"
            for c in columns.cell_types:
                if _float(path, lineno, c, row[columns.index[c]]) > threshold:
                    out[names[c]].append(Region(chrom, start, end, summit, seq, seq_start, split, origin))
    return out


def read_dhs_table(path: str | os.PathLike, window: int | None = None, cell_types: Sequence[str] | None = None, use_data_label: bool = True) -> dict[str, list[Region]]:
    """Read a DNA-Diffusion / ENCODE DHS table (``dhs/*.txt.gz`` format, or the embedded mini-atlas).

    Cell types are the 0/1 columns among ``GM12878_ENCLB441ZZZ hESCT0_ENCLB449ZZZ
    K562_ENCLB843GMH HepG2_ENCLB029COU`` present in the file, named without the ENCODE
    library suffix (``K562``); cell types with no accessible region in the file are
    left out unless named in ``cell_types``. The 200-bp sequence is centred on the
    summit. ``data_label`` (training / validation / test) gives each region's split
    when ``use_data_label``.
    """
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
    cols = [c for c in DHS_CELL_TYPE_COLUMNS if c in header]
    if not cols:
        raise DataFormatError(f"{os.fspath(path)}:1: none of the DHS cell-type columns {DHS_CELL_TYPE_COLUMNS} in the header")
    rename = {c: c.split("_ENCLB")[0] for c in cols}
    out = read_sequence_table(
        path,
        cell_type_columns=cols,
        cell_type_names=rename,
        sequence_column="sequence",
        anchor="summit",
        split_column="data_label" if use_data_label and "data_label" in header else None,
        split_names=DHS_SPLITS,
        window=window,
    )
    if cell_types is not None:
        unknown = [c for c in cell_types if c not in out]
        if unknown:
            raise DataFormatError(f"{os.fspath(path)}: cell type(s) {unknown} not in the table (it has {sorted(out)})")
        return {c: out[c] for c in cell_types}
    return {c: r for c, r in out.items() if r}


__all__ = [
    "DataFormatError",
    "Genome",
    "Region",
    "natural_key",
    "parse_region_name",
    "read_bed",
    "read_dhs_table",
    "read_h5ad_pseudobulk",
    "read_peak_files",
    "read_region_table",
    "read_sequence_table",
]
