"""Variant inputs for effect scoring: VCF, variant tables, allele tables, paired FASTA -> allele windows.

Data side: imports neither torch nor transformers; :mod:`pysam` (VCF reading) is imported
when a VCF is opened. Every reader is a generator (inputs are streamed, memory stays flat)
and raises :class:`~dataset_scripts.readers.DataFormatError` naming file, line, field and
value for a bad row.

* :func:`read_vcf` -- a VCF, plain or bgzipped (read by pysam / htslib). Multi-allelic
  records are split into one :class:`Variant` per ALT allele; symbolic alleles (``<DEL>``),
  breakends and ``*`` are rejected by name.
* :func:`read_variant_table` -- a CSV/TSV with ``chrom, pos, ref, alt`` (and optionally
  ``id``); ``pos`` is 1-based, like VCF.
* :func:`read_allele_table` -- a CSV/TSV with ``ref_sequence, alt_sequence`` (optionally
  ``id``): for users without a genome; the windows are the sequences themselves.
* :func:`read_paired_fasta` -- two FASTA files, record *i* of one paired with record *i* of
  the other.
* :func:`genome_windows` -- a :class:`Variant` + a :class:`~dataset_scripts.readers.Genome`
  -> an :class:`AllelePair`: ``window`` bases centred on the variant, REF checked against the
  genome, alt window built by substituting the allele (indels keep the window length by
  taking more or fewer bases on the right).
* :func:`pair_from_sequences` -- two allele sequences -> an :class:`AllelePair` (the differing
  stretch is found by trimming the common prefix and suffix).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import pysam

from .readers import DataFormatError, Genome, _csv_rows, _delimiter, _err, _int, open_text
from .readers import fasta_records as _fasta_records
from .sequences import reverse_complement  # noqa: F401 (the variant readers' API)

ALLELE_RE = re.compile(r"^[ACGTNacgtn]+$")
SEQUENCE_RE = re.compile(r"^[ACGTNRYSWKMBDHVacgtnryswkmbdhv]+$")
@dataclass(frozen=True, slots=True)
class Variant:
    """One ALT allele at one site: ``pos`` is 1-based (VCF), ``origin`` is ``file:line``."""

    chrom: str
    pos: int
    ref: str
    alt: str
    id: str = ""
    origin: str = ""

    @property
    def kind(self) -> str:
        return "snv" if len(self.ref) == len(self.alt) == 1 else ("mnv" if len(self.ref) == len(self.alt) else "indel")


@dataclass(slots=True)
class AllelePair:
    """Reference and alternative windows of one variant.

    ``offset`` is the 0-based index in both windows where the differing stretch starts
    (``ref_len`` bases of ``ref_seq`` replaced by ``alt_len`` bases of ``alt_seq``);
    ``padded`` counts the N bases added where the window ran past a chromosome end.
    """

    variant: Variant
    ref_seq: str
    alt_seq: str
    offset: int
    ref_len: int
    alt_len: int
    padded: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def is_snv(self) -> bool:
        return self.ref_len == 1 and self.alt_len == 1


def _allele(path, line, name, value) -> str:
    if not value or not ALLELE_RE.fullmatch(value):
        raise _err(path, line, name, "allele must hold only A, C, G, T or N", value)
    return value.upper()


def _check_variant(path, line, chrom, pos, ref, alt, vid) -> Variant:
    if not chrom:
        raise _err(path, line, "chrom", "empty chromosome name", chrom)
    if pos < 1:
        raise _err(path, line, "pos", "position must be >= 1 (1-based, as in VCF)", pos)
    ref, alt = _allele(path, line, "ref", ref), _allele(path, line, "alt", alt)
    if ref == alt:
        raise _err(path, line, "alt", f"ALT equals REF ({ref})", alt)
    return Variant(chrom, pos, ref, alt, vid or f"{chrom}:{pos}:{ref}>{alt}", f"{os.fspath(path)}:{line}")


# --------------------------------------------------------------------------- VCF
def read_vcf(path: str | os.PathLike) -> Iterator[Variant]:
    """Variants of a VCF (plain or bgzipped), one per ALT allele, streamed.

    Line numbers in messages count from the top of the (uncompressed) file, header included.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"VCF {path} does not exist")
    if os.path.getsize(path) == 0:
        raise DataFormatError(f"{path}: empty file (a VCF needs at least the ##fileformat and #CHROM header lines)")
    # the header is read as text first (plain or bgzip): a missing header gets a plain message, and
    # record line numbers count from the top of the file
    header_lines = 0
    with open_text(path) as fh:
        for text in fh:
            if header_lines == 0 and not text.startswith("##fileformat=VCF"):
                raise DataFormatError(f"{path}:1: not a VCF: the first line must be '##fileformat=VCFv4.x' (value {text.strip()[:60]!r})")
            if not text.startswith("#"):
                break
            header_lines += 1

    verbosity = pysam.set_verbosity(0)  # htslib's own stderr notes (no .tbi index, a bad record): our line says it
    try:
        try:
            vcf = pysam.VariantFile(path)
        except (ValueError, OSError) as e:
            raise DataFormatError(f"{path}: not a readable VCF (plain or bgzip-compressed): {e}") from None
        with vcf:
            yield from _vcf_variants(path, vcf, header_lines)
    finally:
        pysam.set_verbosity(verbosity)


_VCF_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")


def _vcf_record_problem(path: str, line: int) -> DataFormatError | None:
    """What is wrong with the record on ``line``, field by field, where htslib only says it failed."""
    with open_text(path) as fh:
        text = next((t for n, t in enumerate(fh, 1) if n == line), None)
    if text is None:
        return None
    values = text.rstrip("\r\n").split("\t")
    if len(values) < len(_VCF_COLUMNS):
        return DataFormatError(f"{path}:{line}: a VCF record needs {len(_VCF_COLUMNS)} tab-separated columns "
                               f"({', '.join(_VCF_COLUMNS)}), this one has {len(values)}")
    fields = dict(zip(_VCF_COLUMNS, values))
    if not fields["POS"].isdigit():
        return _err(path, line, "POS", "not a position (a whole number)", fields["POS"])
    for name in ("REF", "ALT"):
        if not fields[name]:
            return _err(path, line, name, "empty", fields[name])
    return None


def _vcf_variants(path: str, vcf, header_lines: int) -> Iterator[Variant]:
    line = header_lines
    records = iter(vcf)
    while True:
        line += 1
        try:
            rec = next(records)
        except StopIteration:
            return
        except (ValueError, OSError) as e:
            raise _vcf_record_problem(path, line) or DataFormatError(f"{path}:{line}: malformed VCF record: {e}") from None
        alts = rec.alts or ()
        if not alts:
            raise _err(path, line, "ALT", "no ALT allele", ".")
        for alt in alts:
            if alt.startswith("<") or "[" in alt or "]" in alt or alt in ("*", "."):
                raise _err(path, line, "ALT", "symbolic, breakend or missing alleles cannot be scored", alt)
            vid = rec.id if rec.id and len(alts) == 1 else (f"{rec.id}:{alt}" if rec.id else "")
            yield _check_variant(path, line, rec.chrom, rec.pos, rec.ref or "", alt, vid)


# --------------------------------------------------------------------------- tables
def _table(path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    path = os.fspath(path)
    delimiter = _delimiter(path)
    with open_text(path) as fh:
        rows = _csv_rows(path, fh, delimiter)
        header = None
        for lineno, row in rows:
            if not row or (len(row) == 1 and not row[0].strip()) or row[0].startswith("#") and header is not None:
                continue
            if header is None:
                header = [c.strip().lstrip("#").strip().lower() for c in row]
                missing = [c for c in required if c not in header]
                if missing:
                    raise _err(path, lineno, missing[0], f"missing column(s) {missing}; the header has {header}", delimiter.join(row)[:80])
                continue
            if len(row) != len(header):
                raise _err(path, lineno, header[min(len(row), len(header) - 1)], f"expected {len(header)} columns, got {len(row)}", delimiter.join(row)[:80])
            yield lineno, {h: v.strip() for h, v in zip(header, row)}
        if header is None:
            raise DataFormatError(f"{path}: empty file (expected a header with columns {list(required)})")


def read_variant_table(path: str | os.PathLike) -> Iterator[Variant]:
    """``chrom, pos, ref, alt[, id]`` rows (CSV, or TSV for ``.tsv``/``.txt``, gz ok); ``pos`` 1-based."""
    for lineno, row in _table(path, ("chrom", "pos", "ref", "alt")):
        pos = _int(path, lineno, "pos", row["pos"])
        yield _check_variant(path, lineno, row["chrom"], pos, row["ref"], row["alt"], row.get("id", ""))


def _sequence(path, line, name, value) -> str:
    if not value or not SEQUENCE_RE.fullmatch(value):
        bad = next((c for c in value if not SEQUENCE_RE.fullmatch(c)), "") if value else ""
        raise _err(path, line, name, f"not a DNA sequence{f' (character {bad!r})' if bad else ' (empty)'}", value[:60])
    return value.upper()


def pair_from_sequences(ref_seq: str, alt_seq: str, vid: str, origin: str = "") -> AllelePair:
    """The differing stretch of two allele sequences: common prefix and suffix trimmed."""
    n = min(len(ref_seq), len(alt_seq))
    start = 0
    while start < n and ref_seq[start] == alt_seq[start]:
        start += 1
    end = 0
    while end < n - start and ref_seq[-1 - end] == alt_seq[-1 - end]:
        end += 1
    ref_len, alt_len = len(ref_seq) - start - end, len(alt_seq) - start - end
    ref = ref_seq[start : start + ref_len] or "-"
    alt = alt_seq[start : start + alt_len] or "-"
    variant = Variant("", start + 1, ref, alt, vid, origin)
    return AllelePair(variant, ref_seq, alt_seq, start, ref_len, alt_len)


def read_allele_table(path: str | os.PathLike) -> Iterator[AllelePair]:
    """``ref_sequence, alt_sequence[, id]`` rows -> allele pairs (the sequences are the windows)."""
    for lineno, row in _table(path, ("ref_sequence", "alt_sequence")):
        ref = _sequence(path, lineno, "ref_sequence", row["ref_sequence"])
        alt = _sequence(path, lineno, "alt_sequence", row["alt_sequence"])
        if ref == alt:
            raise _err(path, lineno, "alt_sequence", "identical to ref_sequence", row["alt_sequence"][:60])
        yield pair_from_sequences(ref, alt, row.get("id") or f"row{lineno}", f"{os.fspath(path)}:{lineno}")


def read_paired_fasta(ref_path: str | os.PathLike, alt_path: str | os.PathLike) -> Iterator[AllelePair]:
    """Record *i* of ``ref_path`` against record *i* of ``alt_path`` (ids from the ref headers)."""
    ref_records, alt_records = _fasta_records(ref_path), _fasta_records(alt_path)
    i = 0
    for ref_item in ref_records:
        alt_item = next(alt_records, None)
        i += 1
        if alt_item is None:
            raise DataFormatError(f"{os.fspath(alt_path)}: has only {i - 1} records but {os.fspath(ref_path)} has more (record {i} at line {ref_item[0]})")
        (ref_line, ref_name, ref_seq), (alt_line, _, alt_seq) = ref_item, alt_item
        if not ref_seq:
            raise _err(ref_path, ref_line, "sequence", "empty record", ref_name)
        if ref_seq == alt_seq:
            raise _err(alt_path, alt_line, "sequence", f"identical to record {i} of {os.fspath(ref_path)}", alt_seq[:60])
        yield pair_from_sequences(ref_seq, alt_seq, ref_name or f"record{i}", f"{os.fspath(ref_path)}:{ref_line}")
    extra = next(alt_records, None)
    if extra is not None:
        raise DataFormatError(f"{os.fspath(alt_path)}:{extra[0]}: more records than {os.fspath(ref_path)} ({i})")


# --------------------------------------------------------------------------- genome windows
@dataclass
class WindowStats:
    """What :func:`genome_windows` skipped or changed (reported by the scorer)."""

    ref_mismatch: int = 0
    padded: int = 0
    examples: list[str] = field(default_factory=list)


def _fetch_padded(genome: Genome, chrom: str, start: int, end: int) -> tuple[str, int]:
    n = genome.lengths[chrom]
    lo, hi = max(start, 0), min(end, n)
    bases = genome.fetch(chrom, lo, hi) if hi > lo else ""
    pad_left, pad_right = lo - start, end - hi
    return "N" * pad_left + bases.upper() + "N" * pad_right, pad_left + pad_right


def genome_windows(
    variants: Iterable[Variant],
    genome: Genome,
    window: int,
    skip_ref_mismatch: bool = False,
    stats: WindowStats | None = None,
) -> Iterator[AllelePair]:
    """``window``-base ref / alt windows centred on each variant's first REF base.

    The REF allele must equal the genome (case-insensitive): otherwise a
    :class:`DataFormatError` names the variant, or with ``skip_ref_mismatch`` the variant
    is skipped and counted in ``stats``. A chromosome missing from the FASTA is an error.
    Windows running past a chromosome end are padded with N (counted, and noted per variant).
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 base, got {window}")
    stats = stats if stats is not None else WindowStats()
    left = (window - 1) // 2
    for v in variants:
        if v.chrom not in genome.lengths:
            have = ", ".join(list(genome.lengths)[:10])
            raise DataFormatError(f"{v.origin}: field 'chrom': chromosome missing from the FASTA {genome.path} (value {v.chrom!r}); the FASTA has: {have}")
        p0 = v.pos - 1
        if p0 + len(v.ref) > genome.lengths[v.chrom]:
            raise DataFormatError(f"{v.origin}: variant {v.id} ({v.chrom}:{v.pos}) lies past the end of {v.chrom} ({genome.lengths[v.chrom]} bases)")
        genome_ref = genome.fetch(v.chrom, p0, p0 + len(v.ref)).upper()
        if genome_ref != v.ref:
            message = f"{v.origin}: REF of variant {v.id} ({v.chrom}:{v.pos} {v.ref}>{v.alt}) does not match the genome {genome.path}, which has {genome_ref!r} there"
            if not skip_ref_mismatch:
                raise DataFormatError(message + " (pass --skip_ref_mismatch to skip and count such variants)")
            stats.ref_mismatch += 1
            if len(stats.examples) < 5:
                stats.examples.append(message)
            continue
        start = p0 - left
        extra = max(0, len(v.ref) - len(v.alt))  # a deletion pulls bases in from the right
        ref_window, pad = _fetch_padded(genome, v.chrom, start, start + window + extra)
        ref_seq = ref_window[:window]
        alt_seq = (ref_window[:left] + v.alt + ref_window[left + len(v.ref) :])[:window]
        pair = AllelePair(v, ref_seq, alt_seq, left, min(len(v.ref), window - left), min(len(v.alt), window - left), pad)
        if pad:
            stats.padded += 1
            pair.notes.append(f"window padded with {pad} N past the chromosome end")
        yield pair


__all__ = [
    "AllelePair",
    "Variant",
    "WindowStats",
    "genome_windows",
    "pair_from_sequences",
    "read_allele_table",
    "read_paired_fasta",
    "read_variant_table",
    "read_vcf",
    "reverse_complement",
]
