"""Property / fuzz tests of the data readers and the pre-training builder (issue "Hardening: bad input").

Generated BED / narrowPeak files, region tables, sequence tables, FASTA genomes and AnnData
files -- valid ones in every dialect the readers accept (LF or CRLF line ends, gzip or plain,
a UTF-8 byte-order mark, comment / track lines, R-style quoting, column aliases in any order)
and malformed ones (missing columns, non-integer or negative coordinates, start >= end,
summits outside the interval, junk values, duplicated header names, chromosome names that do
not match the FASTA, out-of-bounds intervals, ragged FASTA lines, bytes that are not UTF-8,
truncated gzip).

What is asserted:

* a valid file reads back exactly what was written (file order; readers neither sort nor
  deduplicate: origins keep ``file:line``);
* every malformed input raises :class:`DataFormatError` (a ``ValueError``) whose message
  names the file, the line (where there is one), the field and the offending value -- never
  a silent wrong result and never an unrelated exception;
* the builder sorts regions (natural chromosome order, then start, end) and drops exact
  duplicates: a shuffled file with repeated lines builds the same dataset as the sorted,
  unique one.

Hypothesis runs derandomized (the same examples in CI every time), without deadline (conftest.fuzz_settings).
"""

import csv
import gzip
import io
import math
import random
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dataset_scripts.motifs import read_motif_file
from dataset_scripts.pretraining_build import build_pretraining_dataset
from dataset_scripts.readers import (
    DataFormatError,
    Genome,
    Region,
    parse_region_name,
    read_bed,
    read_h5ad_pseudobulk,
    read_region_table,
    read_sequence_table,
)
from conftest import fuzz_settings

# generated inputs per test in a full run (reported in the hardening issue); the fast tier runs a quarter of them
EXAMPLES = {
    "test_valid_bed_reads_back": 60,
    "test_malformed_bed_line_is_named": 120,
    "test_valid_region_table_reads_back": 50,
    "test_malformed_region_table_is_named": 120,
    "test_valid_sequence_table_reads_back": 40,
    "test_malformed_sequence_table_is_named": 80,
    "test_encoding_and_compression_damage_is_named": 50,
    "test_fasta_dialects_fetch_the_written_bases": 30,
    "test_malformed_fasta_is_named": 30,
    "test_genome_checks_name_mismatches_and_bounds": 40,
    "test_builder_sorts_and_deduplicates": 12,
    "test_builder_keeps_chromosome_names_apart": 15,
    "test_anndata_is_read_or_rejected_clearly": 25,
}

DATA = Path(__file__).parent / "data" / "dataset_scripts"
MOTIFS = read_motif_file(DATA / "three_motifs.jaspar")


def fuzz(test_name: str, **options):
    return fuzz_settings(EXAMPLES[test_name], **options)


class workdir:
    """A fresh temporary folder per generated example (a pytest tmp_path would be shared by all)."""

    def __enter__(self) -> Path:
        self.path = tempfile.mkdtemp(prefix="genebert-fuzz-")
        return Path(self.path)

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def expect_error(call, *parts):
    """``call()`` raises DataFormatError (a ValueError) whose message holds every one of ``parts``."""
    with pytest.raises(DataFormatError) as info:
        call()
    message = str(info.value)
    for part in parts:
        assert part in message, (part, message)
    return message


# ----- writing files in the accepted dialects ---------------------------------------------------
style = st.fixed_dictionaries({"newline": st.sampled_from(["\n", "\r\n"]), "gz": st.booleans(), "bom": st.booleans()})


def write(path: Path, lines: list[str], newline="\n", gz=False, bom=False) -> str:
    text = ("\ufeff" if bom else "") + "".join(line + newline for line in lines)
    data = text.encode("utf-8")
    path = Path(str(path) + ".gz") if gz else path
    path.write_bytes(gzip.compress(data) if gz else data)
    return str(path)


def table_lines(rows: list[list[str]], delimiter: str, quote_all: bool) -> list[str]:
    """CSV/TSV lines as csv.writer (or R's write.table, quoting everything) writes them."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return out.getvalue()[:-1].split("\n") if rows else []


# ----- values -----------------------------------------------------------------------------------------
RESERVED = {"#", "track", "browser"}
# chromosome names: letters / digits of any script, a little punctuation; no blanks, ':' or leading '#'
chrom_names = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters="_.|-"), min_size=1, max_size=10
).filter(lambda c: c not in RESERVED and not c.startswith("#") and c.strip() == c)
coordinates = st.tuples(st.integers(0, 10**9), st.integers(1, 10**6)).map(lambda t: (t[0], t[0] + t[1]))


def _parses(convert, s: str) -> bool:
    try:
        convert(s)
        return True
    except ValueError:
        return False


any_text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\t\r\n"), max_size=8)
not_an_integer = st.one_of(st.sampled_from(["1.5", "1e3", "abc", "", "0x10", "12a", "NA", "."]), any_text).filter(lambda s: not _parses(int, s))
not_a_number = st.one_of(st.sampled_from(["abc", "", "yes", "1,5", "NA"]), any_text).filter(lambda s: not _parses(float, s))
not_finite = st.sampled_from(["nan", "inf", "-inf", "1e999", "NaN", "-Infinity"])


# ----- BED / narrowPeak ---------------------------------------------------------------------------------
@st.composite
def bed_records(draw, min_size=0):
    """(chrom, start, end, peak offset) rows, unsorted, duplicates possible."""
    rows = draw(st.lists(st.tuples(chrom_names, coordinates), min_size=min_size, max_size=10))
    out = []
    for chrom, (start, end) in rows:
        peak = draw(st.one_of(st.just(-1), st.integers(0, end - start - 1)))
        out.append((chrom, start, end, peak))
    if out and draw(st.booleans()):
        out.insert(draw(st.integers(0, len(out))), out[draw(st.integers(0, len(out) - 1))])  # a duplicated line
    return out


def bed_line(chrom, start, end, peak, narrow: bool, extra: list[str]) -> str:
    fields = [chrom, str(start), str(end)]
    fields += [".", "0", ".", "5.0", "3.1", "2.0", str(peak)] if narrow else extra
    return "\t".join(fields)


noise_lines = st.sampled_from(["", "# a comment", "track name=peaks type=bed", "browser position chr1:1-100", "   ", "#chrom\tstart\tend"])


@fuzz("test_valid_bed_reads_back")
@given(records=bed_records(), narrow=st.booleans(), extra=st.lists(st.sampled_from(["peak1", ".", "0", "+", "-"]), max_size=3),
       noise=st.lists(st.tuples(st.integers(0, 10), noise_lines), max_size=4), fmt=style)
def test_valid_bed_reads_back(records, narrow, extra, noise, fmt):
    lines, expected = [], []
    for i, rec in enumerate(records):
        lines += [text for at, text in noise if at == i]
        lines.append(bed_line(*rec, narrow, extra))
        expected.append((rec, len(lines)))
    lines += [text for at, text in noise if at >= len(records)]
    with workdir() as tmp:
        path = write(tmp / ("K562.narrowPeak" if narrow else "K562.bed"), lines, **fmt)
        regions = read_bed(path)
    assert len(regions) == len(records)  # file order, duplicates kept: the builder sorts / deduplicates
    for r, ((chrom, start, end, peak), lineno) in zip(regions, expected):
        summit = start + peak if narrow and peak >= 0 else None
        assert (r.chrom, r.start, r.end, r.summit, r.origin) == (chrom, start, end, summit, f"{path}:{lineno}")


@st.composite
def bed_mutation(draw, narrow: bool):
    """A valid row turned malformed: (line, field, text the message must hold)."""
    chrom, (start, end) = draw(chrom_names), draw(coordinates)
    fields = bed_line(chrom, start, end, -1, narrow, []).split("\t")
    kinds = ["columns", "start", "end", "negative", "order", "chrom"] + (["peak", "summit"] if narrow else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "columns":
        n = draw(st.integers(1, 9 if narrow else 2))
        line = "\t".join(fields[:n])
        if n < 3:
            return line, "end", f"expected at least 3 tab-separated columns, got {n} (value {line!r})"
        return line, "peak", f"narrowPeak needs 10 columns, got {n} (value {line!r})"
    if kind in ("start", "end", "peak"):
        junk = draw(not_an_integer)
        fields[{"start": 1, "end": 2, "peak": 9}[kind]] = junk
        return "\t".join(fields), kind, f"not an integer (value {junk!r})"
    if kind == "negative":
        fields[1] = str(-draw(st.integers(1, 10**6)))
        return "\t".join(fields), "start", f"negative start (value {fields[1]})"
    if kind == "order":
        fields[2] = str(start - draw(st.integers(0, start)))
        return "\t".join(fields), "end", f"end must be greater than start ({start}) (value {fields[2]})"
    if kind == "chrom":
        fields[0] = draw(st.sampled_from(["", " ", "  "]))
        return "\t".join(fields), "chrom", "empty chromosome name (value '')"
    fields[9] = str(end - start + draw(st.integers(0, 10)))  # summit offset past the end
    return "\t".join(fields), "peak", f"summit offset outside the interval of length {end - start} (value {fields[9]!r})"


@fuzz("test_malformed_bed_line_is_named")
@given(data=st.data(), records=bed_records(), narrow=st.booleans(), fmt=style)
def test_malformed_bed_line_is_named(data, records, narrow, fmt):
    bad_line, field, detail = data.draw(bed_mutation(narrow))
    at = data.draw(st.integers(0, len(records)))
    lines = [bed_line(*rec, narrow, []) for rec in records]
    lines.insert(at, bad_line)
    with workdir() as tmp:
        path = write(tmp / ("x.narrowPeak" if narrow else "x.bed"), lines, **fmt)
        expect_error(lambda: read_bed(path), f"{path}:{at + 1}: field {field!r}: ", detail)


# ----- region tables --------------------------------------------------------------------------------------
COORDINATE_ALIASES = {"chrom": ["chrom", "chr", "Chromosome", "#chrom", "seqnames"], "start": ["start", "chromStart", "begin"],
                      "end": ["end", "chromEnd", "stop"]}
TAKEN = {a.lower() for names in COORDINATE_ALIASES.values() for a in names} | {
    "chromosome", "seqname", "chrom_start", "chrom_end", "region", "peak", "peak_id", "name", "id", "summit", "sequence", "split"}
cell_type_names = st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}", fullmatch=True).filter(lambda c: c.lower() not in TAKEN),
                           min_size=1, max_size=3, unique_by=str.lower)
values = st.one_of(st.integers(0, 5).map(str), st.floats(0, 10, allow_nan=False).map(lambda v: f"{v:.3g}"))


@st.composite
def region_table(draw, min_rows=0):
    """(cell types, by region name?, summit column?, header, column order, records) of a region table."""
    cts = draw(cell_type_names)
    by_region = draw(st.booleans())
    has_summit = draw(st.booleans())
    coords = ["region"] if by_region else [draw(st.sampled_from(COORDINATE_ALIASES[c])) for c in ("chrom", "start", "end")]
    header = coords + (["summit"] if has_summit else []) + cts
    order = draw(st.permutations(range(len(header))))
    records = []
    for _ in range(draw(st.integers(min_rows, 8))):
        chrom = draw(chrom_names.filter(lambda c: ":" not in c)) if by_region else draw(chrom_names)
        start, end = draw(coordinates)
        summit = draw(st.integers(start, end - 1)) if has_summit else None
        vals = draw(st.lists(values, min_size=len(cts), max_size=len(cts)))
        records.append((chrom, start, end, summit, vals))
    return cts, by_region, has_summit, header, list(order), records


def region_row(table, record) -> list[str]:
    cts, by_region, has_summit, header, order, _ = table
    chrom, start, end, summit, vals = record
    row = [f"{chrom}:{start}-{end}"] if by_region else [chrom, str(start), str(end)]
    row += [str(summit)] if has_summit else []
    row += vals
    return [row[i] for i in order]


def region_path(tmp: Path, ext: str) -> tuple[Path, str]:
    return tmp / f"atlas.{ext}", "," if ext == "csv" else "\t"


@fuzz("test_valid_region_table_reads_back")
@given(table=region_table(), ext=st.sampled_from(["tsv", "csv", "txt"]), quote_all=st.booleans(),
       threshold=st.sampled_from([0.0, 0.5, 2.0]), fmt=style)
def test_valid_region_table_reads_back(table, ext, quote_all, threshold, fmt):
    cts, _, _, header, order, records = table
    with workdir() as tmp:
        base, delimiter = region_path(tmp, ext)
        rows = [[header[i] for i in order]] + [region_row(table, r) for r in records]
        path = write(base, table_lines(rows, delimiter, quote_all), **fmt)
        out = read_region_table(path, threshold=threshold)
    assert list(out) == [header[i] for i in order if header[i] in cts]  # header order
    for j, ct in enumerate(cts):
        expected = [(c, s, e, m, f"{path}:{line}") for line, (c, s, e, m, v) in enumerate(records, start=2) if float(v[j]) > threshold]
        assert [(r.chrom, r.start, r.end, r.summit, r.origin) for r in out[ct]] == expected


@fuzz("test_malformed_region_table_is_named")
@given(data=st.data(), table=region_table(min_rows=1), ext=st.sampled_from(["tsv", "csv"]), quote_all=st.booleans(), fmt=style)
def test_malformed_region_table_is_named(data, table, ext, quote_all, fmt):
    cts, by_region, has_summit, header, order, records = table
    columns = [header[i] for i in order]
    rows = [region_row(table, r) for r in records]
    at = data.draw(st.integers(0, len(rows) - 1))
    row = rows[at]
    line = at + 2
    kinds = ["short", "long", "value", "not_finite", "header", "duplicate", "empty_chrom"]
    kinds += ["region"] if by_region else ["start", "end", "negative", "order"]
    kinds += ["summit"] if has_summit else []
    kind = data.draw(st.sampled_from(kinds))
    chrom, start, end, summit, vals = records[at]
    col = {name: columns.index(name) for name in columns}
    if kind == "short":
        n = data.draw(st.integers(1, len(row) - 1))
        assume(n > 1 or row[0].strip())  # a lone blank field is a blank line, skipped
        rows[at] = row[:n]
        parts = [f":{line}: field {columns[n]!r}: expected {len(columns)} columns, got {n}"]
    elif kind == "long":
        rows[at] = row + [data.draw(values)]
        parts = [f":{line}: field {columns[-1]!r}: expected {len(columns)} columns, got {len(columns) + 1}"]
    elif kind in ("value", "not_finite"):
        ct = data.draw(st.sampled_from(cts))
        junk = data.draw(not_a_number if kind == "value" else not_finite)
        row[col[ct]] = junk
        parts = [f":{line}: field {ct!r}: not a {'' if kind == 'value' else 'finite '}number (value {junk!r})"]
    elif kind == "header":  # a coordinate column missing from the header
        victim = data.draw(st.sampled_from([c for c in columns if c not in cts and c != "summit"]))
        columns[col[victim]] = victim + "_x"
        line = 1
        parts = [":1: header needs chrom/start/end columns or a region column"]
    elif kind == "duplicate":  # two columns of one name: one of them would be silently ignored
        twin = data.draw(st.sampled_from(cts))
        others = [c for c in columns if c != twin and (c in cts or c == "summit")]  # not a coordinate column
        assume(others)
        columns[col[data.draw(st.sampled_from(others))]] = twin
        line = 1
        parts = [f":1: field {twin!r}: column name appears 2 times in the header"]
    elif kind == "empty_chrom":
        if by_region:
            row[col["region"]] = f":{start}-{end}"
            parts = [f":{line}: field 'region': not a region name like chr1:100-200 (value ':{start}-{end}')"]
        else:
            row[col_of(columns, "chrom")] = " "
            parts = [f":{line}: field 'chrom': empty chromosome name (value '')"]
    elif kind == "region":
        junk = data.draw(st.one_of(any_text, st.just(f"{chrom}:{end}-x"), st.just(f"{chrom}:{start}")))
        assume(not _parses_as_region(junk))
        row[col["region"]] = junk
        parts = [f":{line}: field 'region': not a region name like chr1:100-200 (value {junk!r})"]
    elif kind in ("start", "end"):
        name = columns[col_of(columns, kind)]
        junk = data.draw(not_an_integer)
        row[col_of(columns, kind)] = junk
        parts = [f":{line}: field {name!r}: not an integer (value {junk!r})"]
    elif kind == "negative":
        value = -data.draw(st.integers(1, 1000))
        row[col_of(columns, "start")] = str(value)
        parts = [f":{line}: field 'start': negative start (value {value})"]
    elif kind == "order":
        value = start - data.draw(st.integers(0, start))
        row[col_of(columns, "end")] = str(value)
        parts = [f":{line}: field 'end': end must be greater than start ({start}) (value {value})"]
    else:  # summit outside [start, end)
        value = data.draw(st.one_of(st.integers(-10, start - 1), st.integers(end, end + 10))) if start else end
        row[col["summit"]] = str(value)
        parts = [f":{line}: field 'summit': summit outside the interval {start}-{end} (value {str(value)!r})"]
    with workdir() as tmp:
        base, delimiter = region_path(tmp, ext)
        path = write(base, table_lines([columns] + rows, delimiter, quote_all), **fmt)
        message = expect_error(lambda: read_region_table(path), *parts)
        assert message.startswith(f"{path}:{line}: "), message


def col_of(columns, what):
    aliases = {a.lower() for a in COORDINATE_ALIASES[what]} | ({"chromosome"} if what == "chrom" else set())
    return next(i for i, c in enumerate(columns) if c.lower() in aliases)


def _parses_as_region(text):
    try:
        parse_region_name(text)
        return True
    except ValueError:
        return False


# ----- sequence tables -----------------------------------------------------------------------------------
dna = st.text(alphabet=st.sampled_from(list("ACGT" * 4 + "acgtN")), min_size=1, max_size=40)


@st.composite
def sequence_records(draw, min_size=1):
    """(chrom, start, end, summit, sequence, DHS split label) rows; a sequence fits in front of its interval."""
    out = []
    for _ in range(draw(st.integers(min_size, 6))):
        seq = draw(dna)
        start = draw(st.integers(len(seq), 10**6))  # room for a sequence centred anywhere in the interval
        end = start + draw(st.one_of(st.just(len(seq)), st.integers(1, 60)))
        summit = draw(st.integers(start, end - 1))
        out.append((draw(chrom_names), start, end, summit, seq, draw(st.sampled_from(["training", "validation", "test"]))))
    return out


def sequence_table_rows(records, cts_values, with_summit=True):
    header = ["chrom", "start", "end"] + (["summit"] if with_summit else []) + ["sequence", "data_label"] + list(cts_values)
    rows = []
    for i, (chrom, start, end, summit, seq, label) in enumerate(records):
        row = [chrom, str(start), str(end)] + ([str(summit)] if with_summit else []) + [seq, label]
        rows.append(row + [cts_values[c][i] for c in cts_values])
    return header, rows


@fuzz("test_valid_sequence_table_reads_back")
@given(data=st.data(), records=sequence_records(), cts=cell_type_names, with_summit=st.booleans(),
       window=st.one_of(st.none(), st.integers(1, 5)), fmt=style)
def test_valid_sequence_table_reads_back(data, records, cts, with_summit, window, fmt):
    n = len(records)
    cts_values = {c: data.draw(st.lists(st.sampled_from(["0", "1"]), min_size=n, max_size=n)) for c in cts}
    header, rows = sequence_table_rows(records, cts_values, with_summit)
    window = None if window is None else min(window, min(len(r[4]) for r in records))
    with workdir() as tmp:
        path = write(tmp / "seqs.tsv", table_lines([header] + rows, "\t", False), **fmt)
        out = read_sequence_table(path, split_column="data_label", window=window)
    assert sorted(out) == sorted(cts)  # the 0/1 columns of the first line
    for c in out:
        expected = []
        for i, (chrom, start, end, summit, seq, label) in enumerate(records):
            if cts_values[c][i] != "1":
                continue
            summit = summit if with_summit else None
            if len(seq) == end - start:  # anchor "auto"
                seq_start = start
            elif summit is not None:
                seq_start = summit - len(seq) // 2
            else:
                seq_start = (start + end) // 2 - len(seq) // 2
            if window is not None:
                centre = summit if summit is not None else (start + end) // 2
                lo = min(max(centre - window // 2 - seq_start, 0), len(seq) - window)
                seq, seq_start = seq[lo : lo + window], seq_start + lo
            expected.append((chrom, start, end, summit, seq, seq_start, label, f"{path}:{i + 2}"))
        assert [(r.chrom, r.start, r.end, r.summit, r.sequence, r.seq_start, r.split, r.origin) for r in out[c]] == expected


@fuzz("test_malformed_sequence_table_is_named")
@given(data=st.data(), records=sequence_records(), kind=st.sampled_from(
    ["character", "empty", "short_row", "summit", "negative_start", "window", "huge_field", "start"]), fmt=style)
def test_malformed_sequence_table_is_named(data, records, kind, fmt):
    cts_values = {"K562": ["1"] * len(records)}
    header, rows = sequence_table_rows(records, cts_values)
    at = data.draw(st.integers(0, len(rows) - 1))
    row, line = rows[at], at + 2
    chrom, start, end, summit, seq, _ = records[at]
    window = None
    if kind == "character":
        bad = data.draw(st.characters(exclude_categories=("Cs",)).filter(lambda c: c not in "ACGTNRYSWKMBDHVacgtnryswkmbdhv" and c.strip()))
        row[4] = seq[:1] + bad + seq[1:]
        parts = [f":{line}: field 'sequence': not a DNA sequence (character {bad!r})"]
    elif kind == "empty":
        row[4] = ""
        parts = [f":{line}: field 'sequence': empty sequence"]
    elif kind == "short_row":
        n = data.draw(st.integers(1, len(row) - 1))
        row[:] = row[:n]
        parts = [f":{line}: field {header[n]!r}: expected {len(header)} columns, got {n}"]
    elif kind == "summit":
        row[3] = str(end + data.draw(st.integers(0, 100)))
        parts = [f":{line}: field 'summit': summit outside the interval {start}-{end} (value {row[3]!r})"]
    elif kind == "negative_start":  # a sequence centred on its summit would start before the chromosome
        row[1], row[2], row[3] = "0", str(end - start), "0"
        row[4] = seq + "A" * (end - start + 2)  # longer than the interval: anchored on the summit
        parts = [f":{line}: field 'sequence': with anchor='summit' its {len(row[4])} bases would start at genome position "]
    elif kind == "window":
        window = max(len(r[4]) for r in records) + data.draw(st.integers(1, 5))
        line = 2  # every sequence is shorter: the first line is named
        parts = [f":2: field 'sequence': sequence of {len(records[0][4])} bases is shorter than the {window}-base window"]
    elif kind == "huge_field":  # over the csv module's field size limit (131,072 characters)
        row[4] = "A" * 140_000
        parts = [f":{line}: field larger than field limit"]
    else:
        junk = data.draw(not_an_integer)
        row[1] = junk
        parts = [f":{line}: field 'start': not an integer (value {junk!r})"]
    with workdir() as tmp:
        path = write(tmp / "seqs.tsv", table_lines([header] + rows, "\t", False), **fmt)
        message = expect_error(lambda: read_sequence_table(path, window=window), *parts)
        assert message.startswith(f"{path}:{line}: "), message


# ----- bytes that are not UTF-8, damaged gzip --------------------------------------------------------------
@fuzz("test_encoding_and_compression_damage_is_named")
@given(records=bed_records(min_size=2), reader=st.sampled_from(["bed", "table", "sequences"]),
       damage=st.sampled_from(["latin-1", "lone byte", "truncated gzip"]), data=st.data())
def test_encoding_and_compression_damage_is_named(records, reader, damage, data):
    if reader == "bed":
        lines, read, name = [bed_line(*r, False, []) for r in records], read_bed, "x.bed"
    elif reader == "table":
        lines = table_lines([["chrom", "start", "end", "A"]] + [[c, str(s), str(e), "1"] for c, s, e, _ in records], "\t", False)
        read, name = read_region_table, "x.tsv"
    else:
        seqs = [(c, s + 40, e + 40, s + 40, "ACGT", "training") for c, s, e, _ in records]
        header, rows = sequence_table_rows(seqs, {"A": ["1"] * len(seqs)})
        lines, read, name = table_lines([header] + rows, "\t", False), read_sequence_table, "x.tsv"
    at = data.draw(st.integers(0, len(lines) - 1))
    with workdir() as tmp:
        path = tmp / name
        if damage == "truncated gzip":
            body = lines[:1] + lines[1:] * 50 if reader != "bed" else lines * 50
            blob = gzip.compress("".join(f"{line}\n" for line in body).encode())
            path = Path(str(path) + ".gz")
            path.write_bytes(blob[: data.draw(st.integers(10, len(blob) - 9))])  # cut before the gzip trailer
            expect_error(lambda: read(str(path)), f"{path}", "gzip")
            return
        encoded = [line.encode() for line in lines]
        byte = b"\xe9" if damage == "latin-1" else b"\xff"  # latin-1 "e acute" / a byte UTF-8 never uses
        encoded[at] = encoded[at][:1] + byte + encoded[at][1:]
        path.write_bytes(b"".join(e + b"\n" for e in encoded))
        expect_error(lambda: read(str(path)), f"{path}:{at + 1}: not UTF-8 text")


# ----- FASTA / Genome ----------------------------------------------------------------------------------
@st.composite
def genomes(draw):
    names = draw(st.lists(chrom_names, min_size=1, max_size=3, unique=True))
    seqs = [draw(st.text(alphabet=st.sampled_from(list("ACGT" * 4 + "acgtN")), min_size=1, max_size=300)) for _ in names]
    return dict(zip(names, seqs))


def fasta_lines(genome: dict[str, str], width: int) -> list[str]:
    lines = []
    for name, seq in genome.items():
        lines.append(f">{name} some description")
        lines += [seq[i : i + width] for i in range(0, len(seq), width)]
    return lines


@fuzz("test_fasta_dialects_fetch_the_written_bases")
@given(genome=genomes(), width=st.integers(1, 80), newline=st.sampled_from(["\n", "\r\n"]), data=st.data())
def test_fasta_dialects_fetch_the_written_bases(genome, width, newline, data):
    """LF or CRLF, any line width: lengths and every fetched interval are the written bases (case kept)."""
    with workdir() as tmp:
        path = write(tmp / "genome.fa", fasta_lines(genome, width), newline=newline)
        with Genome(path) as g:
            assert g.lengths == {name: len(seq) for name, seq in genome.items()}
            for name, seq in genome.items():
                start = data.draw(st.integers(0, len(seq) - 1))
                end = data.draw(st.integers(start, len(seq)))
                assert g.fetch(name, start, end) == seq[start:end]
                expect_error(lambda: g.fetch(name, start, len(seq) + 1), f"interval {name}:{start}-{len(seq) + 1} is out of bounds",
                             f"({name} has {len(seq)} bases in {path})")


@fuzz("test_malformed_fasta_is_named")
@given(genome=genomes(), width=st.integers(2, 60), kind=st.sampled_from(["ragged", "duplicate", "no_header", "latin-1", "blank", "stray"]),
       data=st.data())
def test_malformed_fasta_is_named(genome, width, kind, data):
    lines = fasta_lines(genome, width)
    name = next(iter(genome))
    parts = ["not a valid FASTA file"]
    if kind == "ragged":  # one short line in the middle of a record
        assume(len(genome[name]) > 2 * width)
        lines[1] = lines[1][:-1]
    elif kind == "duplicate":
        lines += fasta_lines({name: genome[name]}, width)
        parts.append(f"Duplicate key \"{name}\"")
    elif kind == "no_header":
        lines = lines[1:]
    elif kind == "latin-1":
        lines[0] = lines[0] + " caf\udce9"  # written below as the single byte 0xe9 (latin-1)
    elif kind == "blank":
        assume(len(genome[name]) > width)
        lines.insert(2, "")
    else:  # a character pyfaidx counts as a base: found when the bases are fetched
        bad = data.draw(st.sampled_from([" ", "5", "*", "-", ">"]))  # one byte: the line keeps its length
        i = data.draw(st.integers(0, len(lines[1]) - 1))
        assume(i or bad != ">")  # a '>' first would start a record
        lines[1] = lines[1][:i] + bad + lines[1][i + 1 :]
        parts = [f"{name}:{i}: field 'sequence': not a nucleotide code (value {bad!r})"]
    with workdir() as tmp:
        path = tmp / "genome.fa"
        path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape"))

        def load_and_fetch():
            with Genome(path) as g:
                for chrom, n in g.lengths.items():
                    g.fetch(chrom, 0, n)

        message = expect_error(load_and_fetch, *parts)
        assert message.startswith(f"{path}: "), message


@fuzz("test_genome_checks_name_mismatches_and_bounds")
@given(genome=genomes(), data=st.data(), kind=st.sampled_from(["add_chr", "drop_chr", "out_of_bounds", "window"]))
def test_genome_checks_name_mismatches_and_bounds(genome, data, kind):
    """chr1 vs 1: every missing name is listed with the line that first used it and the FASTA's names."""
    if kind == "drop_chr":  # the FASTA says chr1, the peaks say 1
        genome = {"chr" + name: seq for name, seq in genome.items()}
    names = list(genome)
    records = []
    for _ in range(data.draw(st.integers(1, 6))):
        chrom = data.draw(st.sampled_from(names))
        start = data.draw(st.integers(0, len(genome[chrom]) - 1))
        records.append((chrom, start, data.draw(st.integers(start + 1, len(genome[chrom])))))
    at = data.draw(st.integers(0, len(records) - 1))
    chrom, start, end = records[at]
    renamed = {"add_chr": "chr" + chrom, "drop_chr": chrom[3:]}.get(kind, chrom)
    assume(renamed == chrom or renamed not in genome)
    if kind == "out_of_bounds":
        end = len(genome[chrom]) + data.draw(st.integers(1, 100))
    records[at] = (renamed, start, end)
    with workdir() as tmp:
        fasta = write(tmp / "genome.fa", fasta_lines(genome, 60))
        bed = write(tmp / "peaks.bed", [f"{c}\t{s}\t{e}" for c, s, e in records])
        regions = read_bed(bed)
        with Genome(fasta) as g:
            if kind in ("add_chr", "drop_chr"):
                first = next(i for i, r in enumerate(records) if r[0] == renamed) + 1
                expect_error(lambda: g.check(regions), f"1 chromosome name(s) missing from the FASTA {fasta}: ",
                             f"{renamed} (first at {bed}:{first})", "the FASTA has: " + ", ".join(names))
            elif kind == "out_of_bounds":
                expect_error(lambda: g.check(regions), f"{bed}:{at + 1}: interval {chrom}:{start}-{end} is out of bounds: ",
                             f"{chrom} has {len(genome[chrom])} bases in {fasta}")
            else:  # a window longer than the first region's chromosome
                first = records[0][0]
                window = len(genome[first]) + 1
                expect_error(lambda: g.check(regions, window=window),
                             f"{fasta}: {first} ({len(genome[first])} bases) is shorter than the {window}-base window")


# ----- the builder: sorting and duplicates ---------------------------------------------------------------
@pytest.fixture(scope="module")
def genome_fasta(tmp_path_factory):
    path = tmp_path_factory.mktemp("genome") / "genome.fa"
    shutil.copy(DATA / "genome_pieces.fa", path)  # piece1 (3000 bases, soft-masked runs), piece2 (2500)
    return str(path)


@st.composite
def accessible_regions(draw):
    """Sorted unique intervals on piece1 / piece2 (natural order: piece1 first)."""
    out = set()
    for chrom, n in (("piece1", 3000), ("piece2", 2500)):
        starts = draw(st.lists(st.integers(0, n - 40), max_size=10, unique=True))
        out |= {(chrom, s, s + draw(st.integers(1, 40))) for s in starts}
    return sorted(out)


@fuzz("test_builder_sorts_and_deduplicates")
@given(regions=accessible_regions(), seed=st.integers(0, 2**16), repeats=st.lists(st.integers(0, 20), max_size=6),
       validation=st.sampled_from(["piece1", "piece2"]))
def test_builder_sorts_and_deduplicates(genome_fasta, regions, seed, repeats, validation):
    """A shuffled peak file with repeated lines builds the same dataset as its sorted, unique version,
    with the documented sample counts: per chromosome, len(unique regions) // 3 samples, a split with a
    single sample dropped. (``genome_fasta`` is module-scoped and read-only: shared safely.)"""
    import pyarrow.parquet as pq

    assume(len(regions) >= 3)
    shuffled = regions + [regions[i % len(regions)] for i in repeats]
    random.Random(seed).shuffle(shuffled)
    kwargs = dict(genome=genome_fasta, motifs=MOTIFS, regions_per_sample=3, bases_per_region=20,
                  validation_chroms=[validation], progress=False)
    expected = {}
    for chrom in ("piece1", "piece2"):
        n = sum(1 for r in regions if r[0] == chrom) // 3
        if n >= 2:
            split = "validation" if chrom == validation else "train"
            expected[split] = expected.get(split, 0) + n
    results = []
    with workdir() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, rows in (("sorted", regions), ("shuffled", shuffled)):
            bed = write(tmp / f"A.{name}.bed", [f"{c}\t{s}\t{e}" for c, s, e in rows])
            if not any(n // 3 for n in (sum(1 for r in regions if r[0] == c) for c in ("piece1", "piece2"))):
                expect_error(lambda: build_pretraining_dataset(tmp / name, peaks={"A": bed}, **kwargs),
                             "no chromosome holds 3 regions of one cell type", "(regions_per_sample=3)")
                continue
            info = build_pretraining_dataset(tmp / name, peaks={"A": bed}, **kwargs)
            assert info["num_samples"] == expected
            tables = {s: [pq.read_table(tmp / name / "data" / f).to_pydict() for f in fs] for s, fs in info["shards"].items()}
            for shards in tables.values():  # sample k of a chromosome: its sorted unique regions 3k..3k+2
                for table in shards:
                    for sample_id, starts, ends, seqs in zip(table["sample_id"], table["starts"], table["ends"], table["sequences"]):
                        _, chrom, k = sample_id.split(":")
                        group = [r for r in regions if r[0] == chrom][3 * int(k) : 3 * int(k) + 3]
                        length = 3000 if chrom == "piece1" else 2500
                        assert starts == [min(max((s + e) // 2 - 10, 0), length - 20) for _, s, e in group]
                        assert all(e - s == 20 == len(x) for s, e, x in zip(starts, ends, seqs))
            results.append(tables)
    if len(results) == 2:
        assert results[0] == results[1]


@fuzz("test_builder_keeps_chromosome_names_apart")
@given(regions=st.lists(st.tuples(st.sampled_from(["chr1", "1", "chr01", "chr2", "chr10", "chrX", "X", "chr\u00b2", "chrUn_gl1"]),
                                  st.integers(0, 5000).map(lambda s: s * 10)), min_size=3, max_size=30))
def test_builder_keeps_chromosome_names_apart(regions):
    """chr1, 1 and chr01 sort alike but are different chromosomes: samples never mix or lose them."""
    unique = sorted(set(regions))
    per_chrom = {c: sum(1 for r in unique if r[0] == c) // 3 for c in {c for c, _ in unique}}
    total = sum(per_chrom.values())
    sequences = {"A": [Region(c, s, s + 30, sequence="ACGTTGCA" * 5, seq_start=s, origin=f"row {i}") for i, (c, s) in enumerate(regions)]}
    with workdir() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = dict(regions=sequences, motifs=MOTIFS, regions_per_sample=3, bases_per_region=20, validation_chroms=[], progress=False)
        if total == 0:
            expect_error(lambda: build_pretraining_dataset(tmp / "out", **kwargs), "no chromosome holds 3 regions")
            return
        info = build_pretraining_dataset(tmp / "out", **kwargs)
        import pyarrow.parquet as pq

        rows = [r for f in info["shards"].get("train", []) for r in pq.read_table(tmp / "out" / "data" / f).to_pylist()]
    assert info["num_samples"] == ({"train": total} if total > 1 else {})  # a lone sample has no NGSP partner
    for row in rows:
        _, chrom, k = row["sample_id"].split(":")
        group = [s for c, s in unique if c == chrom][3 * int(k) : 3 * int(k) + 3]
        assert row["chrom"] == chrom and row["starts"] == [s + 5 for s in group]  # the 20 bases centred on each region


# ----- AnnData ---------------------------------------------------------------------------------------------------
@fuzz("test_anndata_is_read_or_rejected_clearly")
@given(data=st.data(), n_cells=st.integers(0, 6), n_peaks=st.integers(1, 5), by_name=st.booleans(),
       kind=st.sampled_from(["valid", "valid", "fraction", "infinite", "nan_chrom", "negative", "order", "bad_name", "nan_x", "nan_label",
                             "not_hdf5"]))
def test_anndata_is_read_or_rejected_clearly(data, n_cells, n_peaks, by_name, kind):
    """Peaks from var columns (float coordinates, as pandas stores ints next to NaN) or var names."""
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    if (kind in ("fraction", "infinite", "nan_chrom") and by_name) or (kind == "bad_name" and not by_name):
        kind = "valid"
    if kind in ("nan_x", "nan_label") and not n_cells:
        kind = "valid"
    coords = []
    for _ in range(n_peaks):
        start = data.draw(st.integers(0, 10**6))
        coords.append(("chr" + data.draw(st.sampled_from(["1", "2", "X"])), start, start + data.draw(st.integers(1, 500))))
    labels = data.draw(st.lists(st.sampled_from(["T", "B", "NK"]), min_size=n_cells, max_size=n_cells))
    counts = data.draw(st.lists(st.lists(st.integers(0, 3), min_size=n_peaks, max_size=n_peaks), min_size=n_cells, max_size=n_cells))
    x = np.array(counts, dtype=np.float32).reshape(n_cells, n_peaks)
    j = data.draw(st.integers(0, n_peaks - 1))
    c, s, e = coords[j]
    if by_name:
        names = [f"{a}:{b}-{d}" for a, b, d in coords]
        names[j] = {"negative": f"{c}:-5-{e}", "order": f"{c}:{e}-{s}", "bad_name": f"{c}/{s}/{e}"}.get(kind, names[j])
        var = pd.DataFrame(index=names)
        where = f"var row {j}"  # the name is the value
    else:
        names = [f"p{i}" for i in range(n_peaks)]
        var = pd.DataFrame({"chrom": [a for a, _, _ in coords], "start": [float(b) for _, b, _ in coords],
                            "end": [d for _, _, d in coords]}, index=names)
        where = f"var row {j} ('p{j}')"
        if kind == "fraction":
            var.loc[names[j], "start"] = s + 0.5  # would be truncated to s
        elif kind == "infinite":
            var.loc[names[j], "start"] = math.inf
        elif kind == "nan_chrom":
            var.loc[names[j], "chrom"] = None  # would become the chromosome "nan"
        elif kind == "negative":
            var.loc[names[j], "start"] = -5.0
        elif kind == "order":
            var.loc[names[j], "end"] = s
    if kind == "nan_x":
        x[data.draw(st.integers(0, n_cells - 1)), j] = np.nan
    if kind == "nan_label":
        labels[data.draw(st.integers(0, n_cells - 1))] = None
    expected = {
        "fraction": f"{where}: field 'start': not an integer (value {s + 0.5})",
        "infinite": f"{where}: field 'start': not an integer (value inf)",
        "nan_chrom": f"{where}: field 'chrom': empty chromosome name (value '')",
        "negative": f"{where}: field 'var_names': peak name is not chrom:start-end" if by_name else f"{where}: field 'start': negative start (value -5)",
        "order": f"{where}: field 'end': end must be greater than start ({e if by_name else s}) (value {s})",
        "bad_name": f"{where}: field 'var_names': peak name is not chrom:start-end and no chrom/start/end columns exist (value {names[j]!r})",
        "nan_x": f": field 'X': non-finite accessibility value in peak {j} ({names[j]!r}) of cell type ",
        "nan_label": "field 'cell_type': missing cell type (value nan)",
        "not_hdf5": ": not a readable AnnData .h5ad file",
    }.get(kind)
    obs = pd.DataFrame({"cell_type": pd.Categorical(labels)}, index=[f"c{i}" for i in range(n_cells)])
    with workdir() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = str(tmp / "atlas.h5ad")
        anndata.AnnData(x, obs=obs, var=var).write_h5ad(path)
        if kind == "not_hdf5":  # e.g. a text table saved under the .h5ad name
            Path(path).write_bytes(data.draw(st.binary(max_size=64)))
        if expected is not None:
            message = expect_error(lambda: read_h5ad_pseudobulk(path), expected)
            assert message.startswith(path), message
            return
        out = read_h5ad_pseudobulk(path)
    assert sorted(out) == sorted(set(labels))
    for t in out:
        sums = x[[i for i, label in enumerate(labels) if label == t]].sum(axis=0)
        assert [(r.chrom, r.start, r.end) for r in out[t]] == [coords[p] for p in np.flatnonzero(sums > 0)]


def test_example_budget_is_recorded():
    names = {n for n, f in globals().items() if n.startswith("test_") and hasattr(f, "hypothesis")}
    assert names == set(EXAMPLES)

