"""The pre-training dataset builder: schema, numbers, splits, negatives, loading, atomicity, errors."""

import json
import os
import shutil

import datasets
import numpy as np
import pytest

from dataset_scripts import build as cli
from dataset_scripts.motif_scan import MotifScanner
from dataset_scripts.motifs import read_motif_file
from dataset_scripts.pretraining_build import build_default_pretraining_dataset, build_pretraining_dataset
from dataset_scripts.pretraining_load import load_pretraining_dataset, read_dataset_motifs
from dataset_scripts.readers import DataFormatError, Region
from conftest import NUM_TEST_TFS

DATA = os.path.join(os.path.dirname(__file__), "data", "dataset_scripts")
MOTIFS = os.path.join(DATA, "three_motifs.jaspar")


@pytest.fixture(scope="module")
def default_ds(tmp_path_factory, test_motifs):
    """The default build (the embedded K562/HepG2 mini-atlas, 50-bp windows) scanned with the 24 test motifs:
    the same samples as with the paper's 579, a 24th of the scan (test_default_build_scans_the_papers_579_motifs)."""
    out = tmp_path_factory.mktemp("default") / "genebert_default"
    info = build_default_pretraining_dataset(out, motifs=test_motifs, progress=False)
    return out, info


def test_default_build_counts_and_files(default_ds):
    out, info = default_ds
    assert info["num_tfs"] == NUM_TEST_TFS
    per = info["num_samples_per_cell_type"]
    assert set(per["train"]) == {"K562", "HepG2"} and set(per["validation"]) == {"K562", "HepG2"}
    assert sum(per["train"].values()) >= 700 and sum(per["validation"].values()) >= 150
    # every region of a chromosome with >= 10 regions is used in groups of 10
    assert per["validation"]["K562"] == 87 and per["train"]["K562"] == 382
    assert sorted(os.listdir(out)) == ["README.md", "build_info.json", "data", "motifs.json"]
    assert sorted(os.listdir(out / "data")) == ["train-00000-of-00001.parquet", "validation-00000-of-00001.parquet"]
    assert not [p for p in os.listdir(out.parent) if p.startswith(".")]  # no temp dir left
    mot = read_dataset_motifs(out)
    assert mot["num_tfs"] == NUM_TEST_TFS and len(mot["ids"]) == NUM_TEST_TFS and mot["ids"][:3] == ["MA0002.2", "MA0003.3", "MA0004.1"]
    assert mot["names"][2] == "Arnt" and mot["ids"] == sorted(mot["ids"])
    card = (out / "README.md").read_text()
    assert "path: data/validation-*.parquet" in card and f"Array2D((10, {NUM_TEST_TFS}), float32)" in card
    assert "2\tMA0004.1\tArnt" in card and "LICENSE-DNA-Diffusion" in card


@pytest.mark.slow
def test_default_build_scans_the_papers_579_motifs(tmp_path, jaspar2018_vertebrates):
    """With no motifs given, the default build scans JASPAR 2018 CORE vertebrates: 579 columns."""
    out = tmp_path / "genebert_default"
    info = build_default_pretraining_dataset(out, progress=False)
    assert info["num_tfs"] == 579
    assert info["num_samples_per_cell_type"]["train"]["K562"] == 382
    mot = read_dataset_motifs(out)
    assert mot["num_tfs"] == 579 and len(mot["ids"]) == 579 and mot["ids"][:3] == ["MA0002.2", "MA0003.3", "MA0004.1"]
    assert "Array2D((10, 579), float32)" in (out / "README.md").read_text()
    assert datasets.load_dataset(str(out))["validation"].features["region_matrix"].shape == (10, 579)
    ex = load_pretraining_dataset(out, split="validation")[0]
    scan = MotifScanner(jaspar2018_vertebrates).scan(ex["sequences"])
    np.testing.assert_allclose(np.array(ex["region_matrix"]), scan, atol=1e-5)


def test_default_schema_and_values(default_ds, test_motifs):
    out, _ = default_ds
    ds = load_pretraining_dataset(out)
    assert set(ds) == {"train", "validation"}
    f = ds["train"].features
    assert f["region_matrix"] == datasets.Array2D(shape=(10, NUM_TEST_TFS), dtype="float32")
    assert f["negative_region_matrix"] == datasets.Array2D(shape=(5, NUM_TEST_TFS), dtype="float32")
    assert f["sequences"] == datasets.List(datasets.Value("string"), length=10)
    assert json.loads(ds["train"].info.description)["tf_ids"][:2] == ["MA0002.2", "MA0003.3"]
    ex = ds["validation"][0]
    assert ex["chrom"] == "chr2" and ex["sample_id"] == f"{ex['cell_type']}:chr2:0"
    assert all(len(s) == 50 for s in ex["sequences"])
    assert all(e - s == 50 for s, e in zip(ex["starts"], ex["ends"]))
    assert ex["starts"] == sorted(ex["starts"])
    # the stored matrix is exactly the scan of the stored windows
    np.testing.assert_allclose(np.array(ex["region_matrix"]), MotifScanner(test_motifs).scan(ex["sequences"]), atol=1e-5)
    # the window is centred on the summit: compare with the mini-atlas row
    from dataset_scripts.pretraining_build import default_atlas_path
    from dataset_scripts.readers import read_dhs_table

    regs = {(r.chrom, r.summit): r for r in read_dhs_table(default_atlas_path())[ex["cell_type"]]}
    summit = ex["starts"][0] + 25
    assert regs[("chr2", summit)].sequence[75:125] == ex["sequences"][0]


def test_negatives_are_second_halves_of_other_samples_of_the_same_cell_type(default_ds):
    out, _ = default_ds
    train = load_pretraining_dataset(out, split="train").with_format("numpy")
    halves = {}  # (cell type, second half's sequences) -> row index; read column-wise, without the matrices
    for i, (cell_type, sequences) in enumerate(zip(train["cell_type"], train["sequences"])):
        halves.setdefault((cell_type, tuple(sequences[5:])), i)
    n_checked = 0
    for row in train.select(range(0, len(train), 37)):
        key = (row["cell_type"], tuple(row["negative_sequences"]))
        assert key in halves  # it is the second half of a sample of the same cell type
        partner = train[halves[key]]
        assert partner["sample_id"] != row["sample_id"]
        np.testing.assert_array_equal(row["negative_region_matrix"], partner["region_matrix"][5:])
        n_checked += 1
    assert n_checked > 10


def test_load_dataset_and_streaming(default_ds):
    out, _ = default_ds
    d = datasets.load_dataset(str(out))
    assert d["validation"].features["region_matrix"].shape == (10, NUM_TEST_TFS)
    s = load_pretraining_dataset(out, streaming=True)
    first = next(iter(s["train"]))
    assert np.array(first["region_matrix"]).shape == (10, NUM_TEST_TFS) and len(first["negative_sequences"]) == 5


@pytest.fixture
def genome_path(tmp_path):
    p = tmp_path / "genome.fa"
    shutil.copy(os.path.join(DATA, "genome_pieces.fa"), p)
    return str(p)


def _bed(tmp_path, name, rows):
    p = tmp_path / name
    p.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows))
    return str(p)


def test_genome_and_bed_build(tmp_path, genome_path):
    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(12)] + [("piece2", 50 + 150 * i, 90 + 150 * i) for i in range(8)])
    b = _bed(tmp_path, "B.bed", [("piece1", 5 + 250 * i, 45 + 250 * i) for i in range(11)] + [("piece2", 10 + 200 * i, 60 + 200 * i) for i in range(4)])
    info = build_pretraining_dataset(
        tmp_path / "out", peaks=[a, b], genome=genome_path, motifs=MOTIFS, regions_per_sample=4,
        bases_per_region=30, validation_chroms=["piece2"], progress=False, samples_per_shard=2, matrix_dtype="float16",
    )
    assert info["num_samples_per_cell_type"] == {"train": {"A": 3, "B": 2}, "validation": {"A": 2}}
    assert info["dropped_single_samples"] == {"validation": {"B": 1}}  # no other B sample to pair with
    assert sorted(os.listdir(tmp_path / "out" / "data")) == [
        "train-00000-of-00003.parquet", "train-00001-of-00003.parquet", "train-00002-of-00003.parquet",
        "validation-00000-of-00001.parquet",
    ]
    ds = load_pretraining_dataset(tmp_path / "out")
    assert ds["train"].features["region_matrix"].dtype == "float16"
    raw = "".join(l.strip() for l in open(os.path.join(DATA, "genome_pieces.fa")).read().split(">piece2")[0].splitlines()[1:])
    ex = ds["train"][0]
    assert ex["sample_id"] == "A:piece1:0" and ex["starts"][0] == 140 - 15 and ex["ends"][0] == 155
    assert ex["sequences"] == [raw[s:e] for s, e in zip(ex["starts"], ex["ends"])]  # case preserved
    m = MotifScanner(read_motif_file(MOTIFS)).scan(ex["sequences"]).astype(np.float16)
    np.testing.assert_array_equal(np.array(ex["region_matrix"], dtype=np.float16), m)
    assert ds["validation"].num_rows == 2


def test_single_sample_split_is_dropped(tmp_path, genome_path):
    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(8)] + [("piece2", 50 + 150 * i, 90 + 150 * i) for i in range(4)])
    info = build_pretraining_dataset(tmp_path / "o", peaks={"A": a}, genome=genome_path, motifs=MOTIFS, regions_per_sample=4,
                                     bases_per_region=30, validation_chroms=["piece2"], progress=False)
    assert info["num_samples"] == {"train": 2}
    assert info["dropped_single_samples"] == {"validation": {"A": 1}}


def test_atomic_output(tmp_path, genome_path):
    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(12)])
    kw = dict(peaks={"A": a}, genome=genome_path, motifs=MOTIFS, regions_per_sample=4, bases_per_region=30, progress=False)
    out = tmp_path / "ds"
    build_pretraining_dataset(out, **kw)
    before = sorted(os.listdir(out / "data"))
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        build_pretraining_dataset(out, **kw)
    # a failing rebuild leaves the old dataset untouched and no temp directory
    bad = _bed(tmp_path, "bad.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(12)] + [("chrQ", 1, 50)])
    with pytest.raises(DataFormatError, match=r"missing from the FASTA .*chrQ \(first at .*bad.bed:13\)"):
        build_pretraining_dataset(out, **{**kw, "peaks": {"A": bad}}, overwrite=True)
    assert sorted(os.listdir(out / "data")) == before
    assert [p for p in os.listdir(tmp_path) if p.startswith(".ds")] == []
    # an interruption in the middle of writing: same guarantee
    import dataset_scripts.pretraining_build as pt

    orig = pt._block_rows
    calls = {"n": 0}

    def boom(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return orig(*args, **kwargs)

    pt._block_rows = boom
    try:
        with pytest.raises(KeyboardInterrupt):
            build_pretraining_dataset(out, **{**kw, "negative_pool_size": 2}, overwrite=True)
    finally:
        pt._block_rows = orig
    assert sorted(os.listdir(out / "data")) == before
    assert [p for p in os.listdir(tmp_path) if p.startswith(".ds")] == []
    info = build_pretraining_dataset(out, **{**kw, "seed": 3}, overwrite=True)
    assert info["parameters"]["seed"] == 3 and json.load(open(out / "build_info.json"))["parameters"]["seed"] == 3


def test_errors(tmp_path, genome_path):
    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(12)])
    few = _bed(tmp_path, "few.bed", [("piece1", 10, 50), ("piece1", 60, 90)])
    empty = _bed(tmp_path, "empty.bed", [])
    kw = dict(genome=genome_path, motifs=MOTIFS, regions_per_sample=4, bases_per_region=30, progress=False)
    with pytest.raises(DataFormatError, match=r"cell type\(s\) with no accessible region: \['E'\]"):
        build_pretraining_dataset(tmp_path / "o1", peaks={"A": a, "E": empty}, **kw)
    with pytest.raises(DataFormatError, match=r"fewer regions than regions_per_sample=4: F \(2\)"):
        build_pretraining_dataset(tmp_path / "o2", peaks={"A": a, "F": few}, **kw)
    oob = _bed(tmp_path, "oob.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(12)] + [("piece2", 2400, 2600)])
    with pytest.raises(DataFormatError, match=r"oob.bed:13: interval piece2:2400-2600 is out of bounds: piece2 has 2500 bases"):
        build_pretraining_dataset(tmp_path / "o3", peaks={"A": oob}, **kw)
    with pytest.raises(ValueError, match="carry no sequence: pass genome="):
        build_pretraining_dataset(tmp_path / "o4", peaks={"A": a}, **{**kw, "genome": None})
    with pytest.raises(DataFormatError, match=r"cell type\(s\) \['Z'\] not in the input"):
        build_pretraining_dataset(tmp_path / "o5", peaks={"A": a}, cell_types=["Z"], **kw)
    with pytest.raises(ValueError, match="exactly one region source"):
        build_pretraining_dataset(tmp_path / "o6", peaks={"A": a}, region_table=a, **kw)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".o")]


def test_non_finite_region_matrix_is_rejected(tmp_path, genome_path, monkeypatch):
    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(8)])
    orig = MotifScanner.scan

    def nan_scan(self, seqs, **kw):
        out = orig(self, seqs, **kw)
        out[3, 1] = np.nan
        return out

    monkeypatch.setattr(MotifScanner, "scan", nan_scan)
    with pytest.raises(DataFormatError, match=r"non-finite value in the region matrix of sample A:piece1:0"):
        build_pretraining_dataset(tmp_path / "o", peaks={"A": a}, genome=genome_path, motifs=MOTIFS,
                                  regions_per_sample=4, bases_per_region=30, progress=False)
    assert not os.path.exists(tmp_path / "o")


def test_dhs_table_with_test_split_and_regions_api(tmp_path):
    info = build_pretraining_dataset(tmp_path / "dhs", dhs_table=os.path.join(DATA, "dhs_subset.tsv.gz"), motifs=MOTIFS,
                                     regions_per_sample=4, progress=False)
    assert info["num_samples"] == {"train": 12, "validation": 6, "test": 6}
    ds = load_pretraining_dataset(tmp_path / "dhs")
    assert set(ds["test"]["chrom"]) == {"chr1"} and set(ds["validation"]["chrom"]) == {"chr2"}
    # chromosome lists override the file's labels
    info = build_pretraining_dataset(tmp_path / "dhs2", dhs_table=os.path.join(DATA, "dhs_subset.tsv.gz"), motifs=MOTIFS,
                                     regions_per_sample=4, validation_chroms=["chr3"], progress=False)
    assert info["num_samples"] == {"train": 12, "validation": 12}
    regs = {"X": [Region("c1", i * 100, i * 100 + 20, sequence="ACGTAC" * 10, seq_start=i * 100 - 20) for i in range(6)]}
    info = build_pretraining_dataset(tmp_path / "py", regions=regs, motifs=MOTIFS, regions_per_sample=3, bases_per_region=20, progress=False)
    assert info["num_samples"] == {"train": 2}


def test_several_dhs_tables_merge_per_cell_type(tmp_path):
    """The K562 and HepG2 tables are separate files: given together they build what one merged file builds."""
    import gzip

    with gzip.open(os.path.join(DATA, "dhs_subset.tsv.gz"), "rt") as fh:
        header, *lines = fh.readlines()
    first, second = tmp_path / "a.tsv", tmp_path / "b.tsv"
    first.write_text(header + "".join(lines[::2]))
    second.write_text(header + "".join(lines[1::2]) + lines[0])  # one site in both tables: kept once
    kw = dict(motifs=MOTIFS, regions_per_sample=4, progress=False)
    whole = build_pretraining_dataset(tmp_path / "whole", dhs_table=os.path.join(DATA, "dhs_subset.tsv.gz"), **kw)
    merged = build_pretraining_dataset(tmp_path / "merged", dhs_table=[first, second], **kw)
    assert merged["num_samples"] == whole["num_samples"]
    assert merged["num_regions_per_cell_type"] == whole["num_regions_per_cell_type"]
    assert merged["source"] == "DHS tables a.tsv, b.tsv"
    a, b = load_pretraining_dataset(tmp_path / "whole", split="train"), load_pretraining_dataset(tmp_path / "merged", split="train")
    assert sorted(a["sample_id"]) == sorted(b["sample_id"]) and sorted(map(tuple, a["starts"])) == sorted(map(tuple, b["starts"]))


def test_cli_pretraining(tmp_path, genome_path, capsys):
    t = tmp_path / "atlas.tsv"
    rows = "".join(f"piece1\t{100 + 200 * i}\t{180 + 200 * i}\t{i % 2}\t1\n" for i in range(12))
    t.write_text("chrom\tstart\tend\tT\tB\n" + rows)
    rc = cli.main(["pretraining", "--output", str(tmp_path / "o"), "--region-table", str(t), "--genome", genome_path,
                   "--motifs", MOTIFS, "--regions-per-sample", "3", "--bases-per-region", "40", "--no-progress",
                   "--aggregation", "logsumexp"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["num_tfs"] == 3 and out["num_samples_per_cell_type"] == {"train": {"B": 4, "T": 2}}
    parameters = json.loads((tmp_path / "o" / "build_info.json").read_text())["parameters"]
    assert (parameters["bases_per_region"], parameters["regions_per_sample"], parameters["aggregation"]) == (40, 3, "logsumexp")


@pytest.mark.slow
def test_sigkilled_build_leaves_no_output_and_a_rerun_cleans_up(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "atlas"
    code = "import sys; from dataset_scripts.build import main_pretraining; sys.exit(main_pretraining())"
    process = subprocess.Popen([sys.executable, "-c", code, "--output", str(out), "--no-progress"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not any(".tmp-" in name for name in os.listdir(tmp_path)):
        assert process.poll() is None, process.stderr.read()[-2000:]
        assert time.time() < deadline
        time.sleep(0.01)
    time.sleep(0.5)  # mid-way: scanning / writing shards
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists(), "a killed build published its output"
    assert [n for n in os.listdir(tmp_path) if ".tmp-" in n], "expected the killed build's temp folder"
    info = build_default_pretraining_dataset(out, progress=False, bases_per_region=8)
    assert sorted(os.listdir(tmp_path)) == ["atlas"]  # the stale temp folder is gone
    assert load_pretraining_dataset(out)["train"].num_rows == info["num_samples"]["train"]


def test_previous_dataset_is_restored_after_a_kill_between_renames(tmp_path, genome_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    old = tmp_path / f".ds.old-{int(dead.stdout)}-0123abcd"
    old.mkdir()
    (old / "build_info.json").write_text('{"kept": true}')
    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(12)])
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        build_pretraining_dataset(tmp_path / "ds", peaks={"A": a}, genome=genome_path, motifs=MOTIFS,
                                  regions_per_sample=4, bases_per_region=30, progress=False)
    assert json.loads((tmp_path / "ds" / "build_info.json").read_text()) == {"kept": True}
    assert not old.exists()


def _genome_sequence(name):
    text = open(os.path.join(DATA, "genome_pieces.fa")).read()
    block = text.split(f">{name}\n")[1].split(">")[0]
    return "".join(block.split())


def test_contiguous_ngsp_pairs_continue_the_genome_and_negatives_come_from_elsewhere(tmp_path, genome_path):
    """Segment B_i starts at the base after A_i ends (coordinates and bases); "not next" B is another sample's."""
    from modeling_genebert import GeneBertTokenizer
    from modeling_genebert.pretraining.collator import NEXT, NOT_NEXT, GeneBertPretrainingCollator

    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 100 * i, 160 + 100 * i) for i in range(24)])
    b = _bed(tmp_path, "B.bed", [("piece1", 30 + 150 * i, 90 + 150 * i) for i in range(16)])
    info = build_pretraining_dataset(tmp_path / "o", peaks={"A": a, "B": b}, genome=genome_path, motifs=MOTIFS,
                                     regions_per_sample=4, bases_per_region=31, progress=False, negative_pool_size=3,
                                     ngsp_pairing="contiguous")
    assert info["schema_version"] == 2 and info["parameters"]["ngsp_pairing"] == "contiguous"
    assert "NGSP pairing `contiguous`" in (tmp_path / "o" / "README.md").read_text()
    genome = _genome_sequence("piece1")
    rows = list(load_pretraining_dataset(tmp_path / "o", split="train"))
    by_id = {row["sample_id"]: row for row in rows}
    scanner = MotifScanner(read_motif_file(MOTIFS))
    cut = 31 // 2
    for row in rows:
        for start, end, bases in zip(row["starts"], row["ends"], row["sequences"]):
            assert bases == genome[start:end] and end - start == 31
            left, right = bases[:cut], bases[cut:]  # A_i = [start, start + cut), B_i = [start + cut, end)
            assert left == genome[start : start + cut] and right == genome[start + cut : end]
        # "not next": the right halves of another sample of the same cell type, elsewhere in the genome
        partner = by_id[row["negative_sample_id"]]
        assert partner["sample_id"] != row["sample_id"] and partner["cell_type"] == row["cell_type"]
        assert not set(partner["starts"]) & set(row["starts"])
        assert row["negative_sequences"] == [genome[s + cut : e] for s, e in zip(partner["starts"], partner["ends"])]
        composite = [mine[:cut] + theirs for mine, theirs in zip(row["sequences"], row["negative_sequences"])]
        np.testing.assert_allclose(np.array(row["negative_region_matrix"]), scanner.scan(composite), atol=1e-5)
    # partners are spread over the pool, not always the neighbour
    assert len({row["negative_sample_id"] for row in rows}) > len(rows) // 2

    # the collator: A = left halves, B = right halves (label NEXT) or the stored negative (NOT_NEXT), ~50/50
    tok = GeneBertTokenizer(k=3)
    collator = GeneBertPretrainingCollator(tok, max_length=256, mask_ratio=0.15, seed=0, pad_to_multiple_of=None)
    many = rows * 40
    batch = collator(many)
    labels = batch["next_sentence_label"].tolist()
    assert 0.42 < labels.count(NOT_NEXT) / len(labels) < 0.58
    restored = torch_where_masked(batch)
    for row, label, ids, matrix in list(zip(many, labels, restored, batch["region_matrix"]))[:60]:
        first = "".join(bases[:cut] for bases in row["sequences"])
        second = "".join(bases[cut:] for bases in row["sequences"]) if label == NEXT else "".join(row["negative_sequences"])
        assert ids == tok(first, second)["input_ids"]
        expected = row["region_matrix"] if label == NEXT else row["negative_region_matrix"]
        np.testing.assert_allclose(matrix.numpy(), np.array(expected, dtype=np.float32))


def test_shuffled_ngsp_negatives_keep_each_right_half_composition(tmp_path, genome_path):
    """ngsp_negatives="shuffled": "not next" B_i is a dinucleotide shuffle of the sample's own right half i."""
    from collections import Counter

    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 100 * i, 160 + 100 * i) for i in range(24)])
    info = build_pretraining_dataset(tmp_path / "o", peaks={"A": a}, genome=genome_path, motifs=MOTIFS,
                                     regions_per_sample=4, bases_per_region=41, progress=False,
                                     ngsp_pairing="contiguous", ngsp_negatives="shuffled")
    assert info["parameters"]["ngsp_negatives"] == "shuffled"
    assert "dinucleotide shuffle" in (tmp_path / "o" / "README.md").read_text()
    scanner = MotifScanner(read_motif_file(MOTIFS))
    cut, changed = 41 // 2, 0
    rows = list(load_pretraining_dataset(tmp_path / "o", split="train"))
    assert rows
    for row in rows:
        assert row["negative_sample_id"] == row["sample_id"] + ":shuffled"
        for bases, shuffled in zip(row["sequences"], row["negative_sequences"]):
            right = bases[cut:]
            assert len(shuffled) == len(right) and shuffled[0] == right[0] and shuffled[-1] == right[-1]
            pairs = lambda s: Counter(s[i:i + 2] for i in range(len(s) - 1))  # noqa: E731
            assert pairs(shuffled) == pairs(right)
            changed += shuffled != right
        composite = [mine[:cut] + theirs for mine, theirs in zip(row["sequences"], row["negative_sequences"])]
        np.testing.assert_allclose(np.array(row["negative_region_matrix"]), scanner.scan(composite), atol=1e-5)
    assert changed > 0.9 * 4 * len(rows)  # a shuffle of 21 bases rarely gives the same string back


def test_shuffled_ngsp_negatives_need_the_contiguous_pairing(tmp_path, genome_path):
    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 100 * i, 160 + 100 * i) for i in range(24)])
    kw = dict(peaks={"A": a}, genome=genome_path, motifs=MOTIFS, regions_per_sample=4, bases_per_region=41, progress=False)
    with pytest.raises(ValueError, match="ngsp_negatives='shuffled' needs ngsp_pairing='contiguous'"):
        build_pretraining_dataset(tmp_path / "o", ngsp_negatives="shuffled", **kw)
    with pytest.raises(ValueError, match="ngsp_negatives must be one of"):
        build_pretraining_dataset(tmp_path / "o", ngsp_pairing="contiguous", ngsp_negatives="random", **kw)
    assert not (tmp_path / "o").exists()


def torch_where_masked(batch):
    """The unmasked input ids of each pair (MGM targets put back)."""
    import torch

    ids = torch.where(batch["labels"] != -100, batch["labels"], batch["input_ids"])
    return [row[mask.bool()].tolist() for row, mask in zip(ids, batch["attention_mask"])]


def test_next_regions_pairing_is_the_schema_1_layout_and_old_datasets_load(tmp_path, genome_path):
    a = _bed(tmp_path, "A.bed", [("piece1", 100 + 200 * i, 180 + 200 * i) for i in range(12)])
    kw = dict(peaks={"A": a}, genome=genome_path, motifs=MOTIFS, regions_per_sample=4, bases_per_region=30, progress=False)
    info = build_pretraining_dataset(tmp_path / "old", ngsp_pairing="next_regions", **kw)
    assert info["schema_version"] == 1
    ds = load_pretraining_dataset(tmp_path / "old", split="train")
    assert "negative_sample_id" not in ds.features and len(ds[0]["negative_sequences"]) == 2
    assert json.loads(ds.info.description)["ngsp_pairing"] == "next_regions"
    # a dataset written before schema 2 (no ngsp_pairing, schema_version 1) loads as next_regions
    build_info = json.loads((tmp_path / "old" / "build_info.json").read_text())
    del build_info["parameters"]["ngsp_pairing"]
    (tmp_path / "old" / "build_info.json").write_text(json.dumps(build_info))
    assert json.loads(load_pretraining_dataset(tmp_path / "old", split="train").info.description)["ngsp_pairing"] == "next_regions"
    # a newer schema than this package knows is a clear error
    build_info["schema_version"] = 99
    (tmp_path / "old" / "build_info.json").write_text(json.dumps(build_info))
    with pytest.raises(ValueError, match="schema version 99 is newer than this package reads"):
        load_pretraining_dataset(tmp_path / "old")
    with pytest.raises(ValueError, match="ngsp_pairing must be one of"):
        build_pretraining_dataset(tmp_path / "bad", ngsp_pairing="nearby", **kw)
