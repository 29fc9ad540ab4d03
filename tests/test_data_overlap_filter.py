"""The benchmark-overlap filter of the pre-training builder: exact 32-mers on both strands, counts, errors."""

import gzip
import json
import os
import random

import numpy as np
import pytest

from dataset_scripts import build, build_pretraining_dataset, load_pretraining_dataset
from dataset_scripts.overlap import OverlapIndex, canonical_kmers
from dataset_scripts.readers import DataFormatError
from dataset_scripts.region_sources import GenomeWindows

DATA = os.path.join(os.path.dirname(__file__), "data", "dataset_scripts")
MOTIFS = os.path.join(DATA, "three_motifs.jaspar")
PIECES = os.path.join(DATA, "genome_pieces.fa")


def _pieces():
    text = open(PIECES).read()
    return {block.split("\n")[0]: "".join(block.split("\n")[1:]) for block in text.split(">")[1:]}


def _rc(bases: str) -> str:
    return bases[::-1].translate(str.maketrans("ACGTacgt", "TGCAtgca"))


def _naive_canonical(sequence: str, k: int) -> list[int]:
    code = {"A": 0, "C": 1, "G": 2, "T": 3}
    out = []
    for i in range(len(sequence) - k + 1):
        word = sequence[i : i + k].upper()
        if set(word) <= set("ACGT"):
            pack = lambda w: int("".join(str(code[c]) for c in w), 4)
            out.append(min(pack(word), pack(_rc(word))))
    return out


def test_canonical_kmers_match_a_naive_packing_on_real_dna():
    pieces = _pieces()
    rng = random.Random(0)
    sequences = [pieces["piece1"][s : s + rng.randint(5, 90)] for s in rng.sample(range(2900), 60)]
    sequences[7] = sequences[7][:20] + "N" + sequences[7][21:]  # k-mers over the N are skipped
    for k in (4, 9, 32):
        kmers, owner = canonical_kmers(sequences, k)
        expected = [(i, v) for i, s in enumerate(sequences) for v in _naive_canonical(s, k)]
        assert list(zip(owner.tolist(), kmers.tolist())) == expected
    forward, _ = canonical_kmers([pieces["piece2"][:200]], 32)
    reverse, _ = canonical_kmers([_rc(pieces["piece2"][:200])], 32)
    assert sorted(forward.tolist()) == sorted(reverse.tolist())  # canonical: the same on both strands


def _write_benchmarks(tmp_path, pieces):
    """A GUE-style CSV.gz and a FASTA whose sequences share exact 32-mers with known 50-bp windows of the pieces."""
    p1, p2 = pieces["piece1"], pieces["piece2"]
    csv = tmp_path / "bench.csv.gz"
    with gzip.open(csv, "wt") as fh:
        fh.write("sequence,label\n")
        fh.write(f"{p1[80:140].upper()},1\n")  # 20 bases of window [50,100) (no 32-mer), 40 of [100,150): drops [100,150)
        fh.write(f"{_rc(p2[1010:1045]).upper()},0\n")  # reverse strand, 35 bases of window [1000,1050) of piece2
        fh.write(f"{p1[1210:1241].upper()},0\n")  # 31 bases of window [1200,1250): one base short of a 32-mer
    fasta = tmp_path / "bench.fa"
    fasta.write_text(f">x\n{p1[2400:2432].lower()}\n>y\nACGTNNNN\n")  # exactly 32 bases, soft-masked: drops [2400,2450)
    return csv, fasta


def test_windows_sharing_a_32mer_are_dropped_and_counted(tmp_path):
    pieces = _pieces()
    csv, fasta = _write_benchmarks(tmp_path, pieces)
    options = dict(genome_windows=PIECES, motifs=MOTIFS, regions_per_sample=4, bases_per_region=50, progress=False)
    info = build_pretraining_dataset(tmp_path / "o", exclude_overlap_with=[csv, fasta], **options)
    plain = build_pretraining_dataset(tmp_path / "plain", **options)
    report = info["overlap_filter"]
    dropped = {("piece1", 100), ("piece2", 1000), ("piece1", 2400)}
    assert report["k"] == 32 and report["windows_checked"] == {"genome": 110}
    assert report["windows_dropped"] == {"genome": 3}
    assert report["windows_dropped_per_chrom"] == {"genome": {"piece1": 2, "piece2": 1}}
    assert report["files"][str(csv)] == {"sequences": 3, "kmers": 29 + 4 + 0, "windows_overlapping": 2}
    assert report["files"][str(fasta)]["windows_overlapping"] == 1 and report["files"][str(fasta)]["sequences"] == 2
    assert plain["overlap_filter"] is None
    assert info["num_regions_per_cell_type"] == {"genome": 107} and plain["num_regions_per_cell_type"] == {"genome": 110}
    kept = {(row["chrom"], start) for row in load_pretraining_dataset(tmp_path / "o", split="train") for start in row["starts"]}
    every = {(row["chrom"], start) for row in load_pretraining_dataset(tmp_path / "plain", split="train") for start in row["starts"]}
    assert not kept & dropped and dropped <= every
    assert len(kept) == 58 // 4 * 4 + 49 // 4 * 4  # 58 windows of piece1 and 49 of piece2 left, grouped in fours
    on_disk = json.loads((tmp_path / "o" / "build_info.json").read_text())
    assert on_disk["overlap_filter"]["windows_dropped"] == {"genome": 3}
    card = (tmp_path / "o" / "README.md").read_text()
    assert "## Benchmark overlap" in card and "| genome | 110 | 3 | 2.73% |" in card
    assert "Benchmark overlap" not in (tmp_path / "plain" / "README.md").read_text()


def test_dhs_windows_are_checked_at_the_bases_they_store(tmp_path):
    dhs = os.path.join(DATA, "dhs_subset.tsv.gz")
    options = dict(dhs_table=dhs, motifs=MOTIFS, regions_per_sample=4, bases_per_region=50, progress=False)
    plain = build_pretraining_dataset(tmp_path / "plain", **options)
    row = next(iter(load_pretraining_dataset(tmp_path / "plain", split="train")))
    window = row["sequences"][2]  # a stored 50-bp window, centred on the summit of its DHS
    bench = tmp_path / "bench.txt"
    bench.write_text(_rc(window[5:45]) + "\n")  # plain file, one sequence per line, reverse strand
    info = build_pretraining_dataset(tmp_path / "o", exclude_overlap_with=[bench], **options)
    assert info["overlap_filter"]["windows_dropped"] == {"HepG2": 0, "K562": 0, row["cell_type"]: 1}
    assert sum(info["num_samples"].values()) <= sum(plain["num_samples"].values())
    stored = [w for split in info["num_samples"] for r in load_pretraining_dataset(tmp_path / "o", split=split) for w in r["sequences"]]
    assert window not in stored and len(stored) > 0


def test_several_genome_window_files_and_shared_record_names(tmp_path):
    pieces = _pieces()
    a, b, c = tmp_path / "a.fa", tmp_path / "b.fa.gz", tmp_path / "c.fa"
    a.write_text(f">piece1\n{pieces['piece1']}\n")
    with gzip.open(b, "wt") as fh:
        fh.write(f">piece2\n{pieces['piece2']}\n")
    c.write_text(f">piece1\n{pieces['piece2']}\n")
    assert len(GenomeWindows([a, b]).load(window=50)["genome"]) == 60 + 50
    assert GenomeWindows([a, b]).description == "genome windows of a.fa, b.fa.gz (cell type 'genome')"
    with pytest.raises(DataFormatError, match=r"c.fa: record 1 \(piece1\): the record name is also in .*a.fa"):
        GenomeWindows([a, c]).load(window=50)


def _cli(tmp_path, *extra):
    return build.main_pretraining(["--output", str(tmp_path / "o"), "--genome_windows", PIECES, "--motifs", MOTIFS,
                                   "--regions_per_sample", "4", "--bases_per_region", "50", "--no_progress", *extra])


def test_cli_filter_and_bad_benchmark_files(tmp_path, capsys):
    pieces = _pieces()
    csv, fasta = _write_benchmarks(tmp_path, pieces)
    assert _cli(tmp_path, "--exclude_overlap_with", str(csv), str(fasta)) == 0
    assert json.loads(capsys.readouterr().out)["overlap_windows_dropped"]["genome"] == 3  # beside the mini-atlas

    no_column = tmp_path / "nocol.csv"
    no_column.write_text("seq,label\nACGTACGT,1\n")
    bad_letter = tmp_path / "bad.csv"
    bad_letter.write_text("sequence,label\nACGTACGT,1\nACGUACGT,0\n")
    missing = tmp_path / "missing.csv"
    for path, message in ((no_column, f"{no_column}:1: no column 'sequence'"),
                          (bad_letter, f"{bad_letter}:3: field 'sequence': not a DNA sequence (character 'U')"),
                          (missing, f"{missing}: no such file")):
        assert _cli(tmp_path / path.stem, "--exclude_overlap_with", str(path)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, err
        assert not (tmp_path / path.stem / "o").exists()
    assert _cli(tmp_path / "k", "--exclude_overlap_with", str(csv), "--overlap_k", "33") == 2
    assert "overlap k-mer length must be in 1..32" in capsys.readouterr().err


def test_index_counts_each_file_and_a_window_once():
    pieces = _pieces()
    window = pieces["piece1"][:50]
    index = OverlapIndex.from_files([PIECES])
    assert index.sequences == {PIECES: 2}
    assert len(index.union) == len(np.unique(canonical_kmers(list(pieces.values()), 32)[0]))
    assert index.overlapping([window, "ACGT" * 20, _rc(window)]).tolist() == [True, False, True]
    assert index.overlapping_per_file([window, window]) == {PIECES: 2}
