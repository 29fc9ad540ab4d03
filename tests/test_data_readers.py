"""Readers: FASTA, BED / narrowPeak, region tables, AnnData pseudo-bulk, sequence tables."""

import os
import shutil

import numpy as np
import pytest

from dataset_scripts.readers import (
    DataFormatError,
    Genome,
    Region,
    fasta_index_paths,
    parse_region_name,
    read_bed,
    read_dhs_table,
    read_h5ad_pseudobulk,
    read_peak_files,
    read_region_table,
    read_sequence_table,
)

DATA = os.path.join(os.path.dirname(__file__), "data", "dataset_scripts")


@pytest.fixture
def genome_path(tmp_path):
    p = tmp_path / "genome.fa"
    shutil.copy(os.path.join(DATA, "genome_pieces.fa"), p)  # pyfaidx writes its .fai beside it
    return str(p)


def _raw_piece(name):
    seq, on = [], False
    for line in open(os.path.join(DATA, "genome_pieces.fa")):
        if line.startswith(">"):
            on = line[1:].strip() == name
        elif on:
            seq.append(line.strip())
    return "".join(seq)


def test_genome_fetch_preserves_case_and_checks(genome_path):
    g = Genome(genome_path)
    assert g.lengths == {"piece1": 3000, "piece2": 2500}
    raw = _raw_piece("piece1")
    assert g.fetch("piece1", 100, 400) == raw[100:400]
    assert any(c.islower() for c in raw) and g.fetch("piece1", 0, 3000) == raw
    regions = [Region("piece1", 10, 20, origin="a.bed:1"), Region("chrZ", 1, 5, origin="a.bed:2"), Region("chrY", 1, 5, origin="a.bed:3")]
    with pytest.raises(DataFormatError, match=r"2 chromosome name\(s\) missing from the FASTA .*chrY \(first at a.bed:3\), chrZ \(first at a.bed:2\)"):
        g.check(regions)
    with pytest.raises(DataFormatError, match=r"b.bed:4: interval piece2:2400-2600 is out of bounds: piece2 has 2500 bases"):
        g.check([Region("piece2", 2400, 2600, origin="b.bed:4")])
    with pytest.raises(DataFormatError, match="out of bounds"):
        g.fetch("piece2", 2400, 2600)
    g.close()


def test_read_bed_and_narrowpeak(tmp_path):
    bed = tmp_path / "K562.bed"
    bed.write_text("track name=x\n# comment\npiece1\t100\t300\tpeak1\n\npiece2\t5\t50\n")
    rs = read_bed(bed)
    assert [(r.chrom, r.start, r.end, r.summit) for r in rs] == [("piece1", 100, 300, None), ("piece2", 5, 50, None)]
    assert rs[0].origin.endswith("K562.bed:3") and rs[0].centre == 200
    np_ = tmp_path / "HepG2.narrowPeak"
    np_.write_text("piece1\t100\t300\t.\t0\t.\t5.0\t3.0\t2.0\t40\npiece1\t400\t500\t.\t0\t.\t5.0\t3.0\t2.0\t-1\n")
    rs = read_bed(np_)
    assert rs[0].summit == 140 and rs[1].summit is None and rs[1].centre == 450
    both = read_peak_files([bed, np_])
    assert sorted(both) == ["HepG2", "K562"]


@pytest.mark.parametrize(
    "line, pattern",
    [
        ("piece1\tabc\t300", r"bad.bed:2: field 'start': not an integer \(value 'abc'\)"),
        ("piece1\t300\t100", r"bad.bed:2: field 'end': end must be greater than start \(300\) \(value 100\)"),
        ("piece1\t-5\t100", r"bad.bed:2: field 'start': negative start \(value -5\)"),
        ("piece1 100 200", r"bad.bed:2: field 'end': expected at least 3 tab-separated columns, got 1"),
    ],
)
def test_malformed_bed_names_file_line_field_value(tmp_path, line, pattern):
    bad = tmp_path / "bad.bed"
    bad.write_text("piece1\t1\t50\n" + line + "\n")
    with pytest.raises(DataFormatError, match=pattern):
        read_bed(bad)


def test_malformed_narrowpeak_summit(tmp_path):
    bad = tmp_path / "x.narrowPeak"
    bad.write_text("piece1\t100\t200\t.\t0\t.\t1\t1\t1\t500\n")
    with pytest.raises(DataFormatError, match=r"x.narrowPeak:1: field 'peak': summit offset outside the interval"):
        read_bed(bad)


def test_region_table(tmp_path):
    t = tmp_path / "atlas.tsv"
    t.write_text("chrom\tstart\tend\tK562\tHepG2\npiece1\t10\t60\t3\t0\npiece1\t100\t150\t0.5\t2\npiece2\t1\t40\t0\t0\n")
    out = read_region_table(t, threshold=1.0)
    assert [(r.chrom, r.start) for r in out["K562"]] == [("piece1", 10)]
    assert [(r.chrom, r.start) for r in out["HepG2"]] == [("piece1", 100)]
    c = tmp_path / "atlas.csv"
    c.write_text("region,K562\npiece1:10-60,1\npiece2_5_9,1\n")
    assert [(r.chrom, r.start, r.end) for r in read_region_table(c)["K562"]] == [("piece1", 10, 60), ("piece2", 5, 9)]
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tstart\tend\tK562\npiece1\t10\t60\tyes\n")
    with pytest.raises(DataFormatError, match=r"bad.tsv:2: field 'K562': not a number \(value 'yes'\)"):
        read_region_table(bad)
    bad.write_text("chrom\tstart\tend\tK562\npiece1\t10\t60\n")
    with pytest.raises(DataFormatError, match=r"bad.tsv:2: .*expected 4 columns, got 3"):
        read_region_table(bad)
    bad.write_text("chrom\tstart\tend\tK562\npiece1\t10\t60\tnan\n")
    with pytest.raises(DataFormatError, match=r"bad.tsv:2: field 'K562': not a finite number"):
        read_region_table(bad)
    assert parse_region_name("chr1:100-200") == ("chr1", 100, 200)


def test_h5ad_pseudobulk(tmp_path):
    anndata = pytest.importorskip("anndata")
    import pandas as pd
    import scipy.sparse as sp

    # 6 cells x 4 peaks; two cell types
    x = np.array(
        [[1, 0, 0, 0], [0, 0, 0, 0], [2, 0, 1, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32
    )
    obs = pd.DataFrame({"cell_type": ["T", "T", "T", "B", "B", "B"]}, index=[f"c{i}" for i in range(6)])
    var = pd.DataFrame(index=["piece1:10-60", "piece1:100-150", "piece2-5-90", "piece2_200_260"])
    p = tmp_path / "atlas.h5ad"
    anndata.AnnData(sp.csr_matrix(x), obs=obs, var=var).write_h5ad(p)
    out = read_h5ad_pseudobulk(p, chunk_size=4)
    assert sorted(out) == ["B", "T"]
    assert [(r.chrom, r.start, r.end) for r in out["T"]] == [("piece1", 10, 60), ("piece2", 5, 90)]
    assert [(r.chrom, r.start, r.end) for r in out["B"]] == [("piece1", 100, 150)]
    assert read_h5ad_pseudobulk(p, threshold=1.5)["T"][0].start == 10  # sum 3 > 1.5, sum 1 is not
    # peaks x cells orientation, coordinates in columns
    var2 = pd.DataFrame({"chrom": ["piece1"] * 4, "start": [10, 100, 200, 300], "end": [60, 150, 250, 350]}, index=[f"p{i}" for i in range(4)])
    p2 = tmp_path / "t.h5ad"
    anndata.AnnData(x.T.copy(), obs=var2, var=obs).write_h5ad(p2)
    out2 = read_h5ad_pseudobulk(p2)
    assert [r.start for r in out2["T"]] == [10, 200]
    with pytest.raises(DataFormatError, match="no cell-type column 'celltype'"):
        read_h5ad_pseudobulk(p, cell_type_key="celltype")
    bad = tmp_path / "bad.h5ad"
    anndata.AnnData(x, obs=obs, var=pd.DataFrame(index=["a", "b", "c", "d"])).write_h5ad(bad)
    with pytest.raises(DataFormatError, match=r"bad.h5ad:var row 0: field 'var_names': peak name is not chrom:start-end"):
        read_h5ad_pseudobulk(bad)


def test_dhs_table_real_rows():
    out = read_dhs_table(os.path.join(DATA, "dhs_subset.tsv.gz"))
    assert sorted(out) == ["HepG2", "K562"]  # GM12878 / hESCT0 have no regions in these files
    assert len(out["K562"]) == 48 and len(out["HepG2"]) == 48
    r = out["K562"][0]
    assert len(r.sequence) == 200 and r.seq_start == r.summit - 100
    assert {x.split for x in out["K562"]} == {"train", "validation", "test"}
    assert all(x.chrom == "chr1" for x in out["K562"] if x.split == "test")
    w = read_dhs_table(os.path.join(DATA, "dhs_subset.tsv.gz"), window=50)["K562"][0]
    assert w.sequence == r.sequence[75:125] and w.seq_start == r.summit - 25
    assert read_dhs_table(os.path.join(DATA, "dhs_subset.tsv.gz"), cell_types=["GM12878"]) == {"GM12878": []}
    with pytest.raises(DataFormatError, match=r"cell type\(s\) \['Foo'\] not in the table"):
        read_dhs_table(os.path.join(DATA, "dhs_subset.tsv.gz"), cell_types=["Foo"])


def test_sequence_table_errors(tmp_path):
    t = tmp_path / "seqs.tsv"
    t.write_text("chrom\tstart\tend\tsequence\tA\npiece1\t0\t8\tACGTACGT\t1\npiece1\t10\t18\tACGTXCGT\t1\n")
    with pytest.raises(DataFormatError, match=r"seqs.tsv:3: field 'sequence': not a DNA sequence \(character 'X'\)"):
        read_sequence_table(t)
    t.write_text("chrom\tstart\tend\tsequence\tA\npiece1\t0\t8\tACGTACGT\t1\npiece1\t10\t18\tACGTACGT\t1\n")
    out = read_sequence_table(t)
    assert [r.seq_start for r in out["A"]] == [0, 10]  # anchor auto: len == end - start
    with pytest.raises(DataFormatError, match=r"seqs.tsv:2: field 'sequence': sequence of 8 bases is shorter than the 50-base window"):
        read_sequence_table(t, window=50)


def test_a_stale_fasta_index_is_rebuilt(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">c1\nACGTACGTAC\nGT\n")
    g = Genome(fasta)
    assert g.fetch("c1", 0, 12) == "ACGTACGTACGT"
    g.close()
    fasta.write_text(">c1\nTTTT\nGGGG\nCC\n>c2\nAAAA\n")  # same name, new layout: the old .fai would misread it
    later = os.stat(fasta_index_paths(str(fasta))["indexname"]).st_mtime + 5
    os.utime(fasta, (later, later))
    g = Genome(fasta)
    assert g.lengths == {"c1": 10, "c2": 4}
    assert g.fetch("c1", 0, 10) == "TTTTGGGGCC"
    g.close()


def test_reading_a_fasta_leaves_its_folder_as_it_was(tmp_path, monkeypatch):
    """The index goes to the cache (running the docs left genome_pieces.fa.fai in the checkout); one already
    beside the FASTA is used."""
    monkeypatch.setenv("GENEBERT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "share"
    folder.mkdir()
    fasta = folder / "g.fa"
    fasta.write_text(">c1\nACGTACGTAC\nGT\n")
    g = Genome(fasta)
    assert g.fetch("c1", 2, 6) == "GTAC"
    g.close()
    assert sorted(p.name for p in folder.iterdir()) == ["g.fa"]
    assert [p.name.endswith("-g.fa.fai") for p in (tmp_path / "cache" / "fasta-index").iterdir()] == [True]
    (folder / "g.fa.fai").write_text("c1\t12\t4\t10\t11\n")  # the user's own index
    assert fasta_index_paths(str(fasta)) == {}
    g = Genome(fasta)
    assert g.fetch("c1", 0, 12) == "ACGTACGTACGT"
    g.close()
