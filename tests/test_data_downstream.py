"""Downstream builders: GUE CSVs, FASTA, TFBS shuffled negatives, splice windows, CLI."""

import csv
import json
import os
import shutil

import datasets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_scripts import build as cli
from dataset_scripts.finetuning_data import (
    build_sequence_classification_dataset,
    build_splice_dataset,
    build_tfbs_dataset,
    dinucleotide_counts,
    dinucleotide_shuffle,
    label_mapping,
    reverse_complement,
)
from dataset_scripts.readers import DataFormatError
from dataset_scripts.tasks import get_task

DATA = os.path.join(os.path.dirname(__file__), "data", "dataset_scripts")
PROM = os.path.join(DATA, "gue_prom_core_all_dev.csv")
TF = os.path.join(DATA, "gue_tf0_dev.csv")
SPLICE = os.path.join(DATA, "gue_splice_dev.csv")


def test_gue_promoter_csv():
    ds = get_task("promoter").read({"train": PROM, "validation": PROM})
    assert set(ds) == {"train", "validation"} and ds["train"].num_rows == 40
    f = ds["train"].features["label"]
    assert isinstance(f, datasets.ClassLabel) and f.names == ["non_promoter", "promoter"]
    assert sum(ds["train"]["label"]) == 20 and all(len(s) == 70 for s in ds["train"]["sequence"])
    m = label_mapping(ds)
    assert m["task"] == "promoter" and m["label_mapping"]["1"] == 1 and m["label_names"] == ["non_promoter", "promoter"]


def test_gue_splice_three_classes_and_generic_names():
    ds = get_task("splice").read(SPLICE)
    assert ds["train"].features["label"].names == ["0", "1", "2"]
    assert np.bincount(ds["train"]["label"]).tolist() == [15, 15, 15]
    named = build_sequence_classification_dataset(SPLICE, label_names=["neither", "acceptor", "donor"])
    assert named["train"].features["label"].int2str(2) == "donor"


def test_fasta_inputs(tmp_path):
    fa = tmp_path / "x.fa"
    fa.write_text(">s1 label=promoter\nACGTACGT\nACGT\n>s2|non_promoter\nTTTT\n>s3 promoter\nGGGCC\n")
    ds = build_sequence_classification_dataset(str(fa))
    assert ds["train"]["sequence"] == ["ACGTACGTACGT", "TTTT", "GGGCC"]
    assert ds["train"].features["label"].names == ["non_promoter", "promoter"] and ds["train"]["label"] == [1, 0, 1]
    pos, neg = tmp_path / "pos.fa", tmp_path / "neg.fa"
    pos.write_text(">a\nACGT\n>b\nCCCC\n")
    neg.write_text(">c\nGGGG\n")
    per_class = build_sequence_classification_dataset({"train": {"bound": str(pos), "unbound": str(neg)}})
    assert per_class["train"]["label"] == [0, 0, 1] and per_class["train"].features["label"].names == ["bound", "unbound"]
    bad = tmp_path / "bad.fa"
    bad.write_text(">a label=1\nACGT\n>b\nACGT\n")
    with pytest.raises(DataFormatError, match=r"bad.fa:3: field 'label': no label in the FASTA header"):
        build_sequence_classification_dataset(str(bad))


def test_csv_errors_name_file_line_field_value(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sequence,label\nACGT,0\nACGZ,1\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:3: field 'sequence': not a DNA sequence \(character 'Z'\) \(value 'ACGZ'\)"):
        build_sequence_classification_dataset(str(bad))
    bad.write_text("sequence,label\nACGT,0\nACGT,7\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:3: field 'label': unknown label; known labels: .* \(value '7'\)"):
        build_sequence_classification_dataset(str(bad), label_names=["a", "b"])
    bad.write_text("seq,label\nACGT,0\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:1: no column 'sequence'"):
        build_sequence_classification_dataset(str(bad))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ACGTN", min_size=0, max_size=120), st.integers(0, 2**32 - 1))
def test_dinucleotide_shuffle_preserves_counts_exactly(seq, seed):
    out = dinucleotide_shuffle(seq, seed)
    assert len(out) == len(seq)
    assert dinucleotide_counts(out) == dinucleotide_counts(seq)
    if seq:
        assert out[0] == seq[0] and out[-1] == seq[-1]


def test_dinucleotide_shuffle_is_seeded_and_shuffles():
    seq = open(TF).read().splitlines()[1].split(",")[0]
    a, b = dinucleotide_shuffle(seq, 1), dinucleotide_shuffle(seq, 1)
    assert a == b and a != seq and dinucleotide_shuffle(seq, 2) != a
    assert dinucleotide_counts(a) == dinucleotide_counts(seq)


def test_tfbs_dataset_with_shuffled_negatives():
    ds = build_tfbs_dataset({"train": TF}, seed=5, label_column="label")
    tr = ds["train"]
    assert tr.num_rows == 30 and tr.features["label"].names == ["shuffled", "bound"]
    for i in range(0, 30, 2):
        pos, neg = tr[i], tr[i + 1]
        assert pos["label"] == 1 and neg["label"] == 0
        assert dinucleotide_counts(pos["sequence"]) == dinucleotide_counts(neg["sequence"])
    assert build_tfbs_dataset({"train": TF}, seed=5, label_column="label")["train"]["sequence"] == tr["sequence"]


def test_splice_from_genome(tmp_path):
    g = tmp_path / "g.fa"
    shutil.copy(os.path.join(DATA, "genome_pieces.fa"), g)
    sites = tmp_path / "sites.tsv"
    sites.write_text("chrom\tposition\tstrand\tlabel\npiece1\t500\t+\tacceptor\npiece1\t10\t-\tdonor\npiece2\t1000\t+\tneither\n")
    ds = build_splice_dataset(str(g), str(sites), context=80, validation_chroms=["piece2"])
    raw = "".join(l.strip() for l in open(g).read().split(">piece2")[0].splitlines()[1:])
    tr = ds["train"]
    assert tr.features["label"].names == ["neither", "acceptor", "donor"] and tr["label"] == [1, 2]
    assert tr[0]["sequence"] == raw[460:541] and tr[0]["sequence"][40] == raw[500]
    assert tr[1]["sequence"] == reverse_complement("N" * 30 + raw[0:51]) and len(tr[1]["sequence"]) == 81
    assert ds["validation"].num_rows == 1
    sites.write_text("piece1\t500\t*\tacceptor\n")
    with pytest.raises(DataFormatError, match=r"sites.tsv:1: field 'strand': must be \+ or -"):
        build_splice_dataset(str(g), str(sites))
    sites.write_text("chrQ\t5\t+\tdonor\n")
    with pytest.raises(DataFormatError, match="chrQ"):
        build_splice_dataset(str(g), str(sites))


def test_cli_finetuning(tmp_path):
    out = tmp_path / "prom"
    assert cli.main(["finetuning", "--output", str(out), "--task", "promoter", "--train", PROM, "--validation", PROM]) == 0
    d = datasets.load_from_disk(str(out))
    assert d["validation"].features["label"].names == ["non_promoter", "promoter"]
    assert json.load(open(out / "label_mapping.json"))["label_names"] == ["non_promoter", "promoter"]
    assert cli.main(["finetuning", "--output", str(tmp_path / "tf"), "--task", "tfbs", "--train", TF]) == 0
    assert datasets.load_from_disk(str(tmp_path / "tf"))["train"].num_rows == 30
    # a file of positives only gets --negatives_per_positive shuffles of each (here in its dashed spelling)
    positives = tmp_path / "bound.csv"
    positives.write_text("sequence\n" + "".join(f"{row['sequence']}\n" for row in csv.DictReader(open(TF)) if row["label"] == "1"))
    assert cli.main(["finetuning", "--output", str(tmp_path / "tf2"), "--task", "tfbs", "--train", str(positives),
                     "--negatives-per-positive", "2"]) == 0
    built = datasets.load_from_disk(str(tmp_path / "tf2"))["train"]
    assert built.features["label"].names == ["shuffled", "bound"] and list(built["label"]) == [1, 0, 0] * 15


def test_labelled_table_errors_name_file_line_and_field(tmp_path):
    from dataset_scripts.finetuning_data import read_labelled_table
    from dataset_scripts.readers import DataFormatError

    cases = {
        "ragged.csv": ("sequence,label\nACGT,1\nACGT,0,extra\n", r"ragged.csv:3: field 'label': expected 2 columns, got 3"),
        "dup.csv": ("sequence,label,label\nACGT,1,0\n", r"dup.csv:1: field 'label': column name appears 2 times"),
        "quoted.csv": ('sequence,label\n"ACGT",1\n"AC\nGT",1\nACXT,0\n', r"quoted.csv:5: field 'sequence'.*'X'"),
        "huge.csv": ("sequence,label\n\"" + "A" * 200_000 + "\",1\n", r"huge.csv:2: field larger than field limit"),
    }
    for name, (text, pattern) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(DataFormatError, match=pattern):
            read_labelled_table(tmp_path / name)
    (tmp_path / "crlf.csv").write_bytes(b"sequence,label\r\nacgt,1\r\n\r\nGGCC,0\r\n")
    assert read_labelled_table(tmp_path / "crlf.csv") == [("acgt", "1", 2), ("GGCC", "0", 4)]  # case kept: soft-masking
