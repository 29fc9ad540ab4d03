"""Genome windows as a pre-training region source: tiling, N handling, merging with another source, CLI."""

import gzip
import os

import pytest

from dataset_scripts import build_pretraining_dataset, load_pretraining_dataset
from dataset_scripts.readers import DataFormatError
from dataset_scripts.region_sources import CombinedSources, DhsTable, GenomeWindows

DATA = os.path.join(os.path.dirname(__file__), "data", "dataset_scripts")
MOTIFS = os.path.join(DATA, "three_motifs.jaspar")


def _pieces():
    text = open(os.path.join(DATA, "genome_pieces.fa")).read()
    return {block.split("\n")[0]: "".join(block.split("\n")[1:]) for block in text.split(">")[1:]}


def test_windows_tile_each_record_and_skip_windows_with_n(tmp_path):
    pieces = _pieces()
    fasta = tmp_path / "g.fa.gz"
    spoiled = pieces["piece2"][:130] + "N" + pieces["piece2"][131:]  # window [100, 200) of piece2 holds an N
    with gzip.open(fasta, "wt") as fh:
        fh.write(f">piece1\n{pieces['piece1']}\n>piece2 some description\n{spoiled}\n")
    regions = GenomeWindows(fasta).load(window=100)["genome"]
    by_chrom = {}
    for region in regions:
        by_chrom.setdefault(region.chrom, []).append(region)
    assert [r.start for r in by_chrom["piece1"]] == list(range(0, 3000, 100))
    assert [r.start for r in by_chrom["piece2"]] == [s for s in range(0, 2500, 100) if s != 100]
    for region in regions:
        source = pieces[region.chrom] if region.chrom == "piece1" else spoiled
        assert region.sequence == source[region.start:region.end] and region.end - region.start == 100
        assert region.seq_start == region.start and region.split is None
    assert GenomeWindows(fasta, cell_type="bg", window=1000).load(window=100).keys() == {"bg"}
    assert len(GenomeWindows(fasta, window=1000).load()["genome"]) == 3 + 1  # 2500 bp -> 2 windows, one with the N


def test_a_fasta_of_only_n_is_an_error(tmp_path):
    fasta = tmp_path / "n.fa"
    fasta.write_text(">c\n" + "N" * 300 + "\n")
    with pytest.raises(DataFormatError, match="n.fa: no 100-base window without N"):
        GenomeWindows(fasta).load(window=100)


def test_genome_windows_beside_a_dhs_table_make_contiguous_samples(tmp_path):
    fasta = os.path.join(DATA, "genome_pieces.fa")
    dhs = os.path.join(DATA, "dhs_subset.tsv.gz")
    info = build_pretraining_dataset(tmp_path / "o", dhs_table=dhs, genome_windows=fasta, motifs=MOTIFS,
                                     regions_per_sample=4, bases_per_region=50, progress=False)
    alone = build_pretraining_dataset(tmp_path / "dhs", dhs_table=dhs, motifs=MOTIFS, regions_per_sample=4,
                                      bases_per_region=50, progress=False)
    assert info["num_regions_per_cell_type"]["genome"] == 3000 // 50 + 2500 // 50
    assert {k: v for k, v in info["num_regions_per_cell_type"].items() if k != "genome"} == alone["num_regions_per_cell_type"]
    assert info["num_samples_per_cell_type"]["train"]["genome"] == (60 // 4) + (50 // 4)
    assert "genome" not in info["num_samples_per_cell_type"].get("validation", {})  # no split label: train
    assert info["source"] == "DHS table dhs_subset.tsv.gz + genome windows of genome_pieces.fa (cell type 'genome')"
    pieces = _pieces()
    rows = [row for row in load_pretraining_dataset(tmp_path / "o", split="train") if row["cell_type"] == "genome"]
    for row in rows:  # consecutive windows: each sample is 200 contiguous bases of the genome
        assert row["ends"][:-1] == row["starts"][1:]
        assert "".join(row["sequences"]) == pieces[row["chrom"]][row["starts"][0]:row["ends"][-1]]


def test_combined_sources_merge_cell_types_by_name(tmp_path):
    dhs = os.path.join(DATA, "dhs_subset.tsv.gz")
    one = DhsTable(dhs).load(window=50)
    both = CombinedSources([DhsTable(dhs), GenomeWindows(os.path.join(DATA, "genome_pieces.fa"), cell_type="K562")]).load(window=50)
    assert len(both["K562"]) == len(one["K562"]) + 110
    assert set(both) == set(one)


def test_cli_genome_windows(tmp_path):
    from dataset_scripts import build

    info = build.run_pretraining(["--output", str(tmp_path / "o"), "--dhs_table", os.path.join(DATA, "dhs_subset.tsv.gz"),
                                  "--genome_windows", os.path.join(DATA, "genome_pieces.fa"), "--motifs", MOTIFS,
                                  "--regions_per_sample", "4", "--bases_per_region", "100", "--no_progress"])
    assert info["num_regions_per_cell_type"]["genome"] == 30 + 25
