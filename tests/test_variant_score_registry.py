"""The variant-score registry (issue 31 item 3): a score registered in one declaration reaches the scorer, the
output files, the legend, --help and summary.json; unknown names and missing needs are clear errors."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from test_model import tiny_config  # noqa: E402

from dataset_scripts.variants import pair_from_sequences, read_paired_fasta  # noqa: E402
from modeling_genebert import GeneBertForPreTraining, GeneBertTokenizer  # noqa: E402
from modeling_genebert.variants import ScoreVariantsOptions, VariantScorer, legend, score_variants  # noqa: E402
from modeling_genebert.variants.cli import build_parser  # noqa: E402
from modeling_genebert.variants.cli import main as cli_main  # noqa: E402
from modeling_genebert.variants.scores import Column, VariantScore, get_score, list_scores, register_score  # noqa: E402
from modeling_genebert.variants.scores import embedding as embedding_score  # noqa: E402
from modeling_genebert.variants.scores import registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "variants"
BUILT_INS = ["llr", "embedding", "supervised", "cell_type", "motif"]


def alt_length_columns(scorer, batch):
    """A toy score: the alt window's length minus the ref window's, per variant, with a note on indels."""
    ref_seqs, alt_seqs, *_ = batch.strands[0]
    for i, pair in enumerate(batch.pairs):
        if not pair.is_snv:
            batch.notes[i].append("toy: an indel")
    return {"toy_length_delta": np.char.str_len(np.asarray(alt_seqs, dtype=str)) - np.char.str_len(np.asarray(ref_seqs, dtype=str))}


TOY = VariantScore(
    name="toy",
    title="toy_length_delta",
    columns=(Column("toy_length_delta", "alt - ref window length", "positive = the alt allele is longer", "bases"),),
    compute=alt_length_columns,
)


@pytest.fixture
def toy_registered(monkeypatch):
    """The toy score registered for one test only: the registry's table is a copy that monkeypatch puts back."""
    monkeypatch.setattr(registry, "_SCORES", dict(registry._SCORES))
    return register_score(TOY)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "pretrained"
    GeneBertForPreTraining(tiny_config(sequence_config=dict(max_position_embeddings=128))).eval().save_pretrained(path)
    GeneBertTokenizer(k=3).save_pretrained(path)
    return path


def test_builtin_scores_are_registered_in_column_order():
    assert list_scores()[:5] == BUILT_INS
    assert get_score("motif").needs == ("motifs",) and get_score("cell_type").needs == ("srm", "atlas")
    assert [c.name for c in get_score("supervised").columns] == ["delta_logit:<class>", "delta_prob:<class>"]


def test_a_declaration_is_checked(toy_registered):
    with pytest.raises(ValueError, match=r"unknown needs \['genome'\]; known: \['mlm', 'model'"):
        VariantScore("odd", "odd", (Column("odd", "odd"),), alt_length_columns, needs=("genome",))
    with pytest.raises(ValueError, match="declares no columns"):
        VariantScore("bare", "bare", (), alt_length_columns)
    with pytest.raises(ValueError, match="'toy' is already registered"):
        register_score(TOY)
    assert register_score(TOY, replace=True) is TOY


def test_a_registered_score_reaches_the_table_the_legend_and_summary(toy_registered, tiny_folder, tmp_path):
    options = ScoreVariantsOptions(ref_fasta=DATA / "ctcf_binding_24.fa", alt_fasta=DATA / "ctcf_nonbinding_24.fa",
                                   model_name_or_path=tiny_folder, scores="embedding,toy", output=tmp_path / "o",
                                   no_progress=True)
    result = score_variants(options)
    frame = pd.read_parquet(result.parquet)
    # registration order, not the order asked for: the built-in's columns first
    assert list(frame.columns) == ["id", "chrom", "pos", "ref", "alt", "kind", "embedding_cosine_distance_mean",
                                   "toy_length_delta", "notes"]
    assert (frame["toy_length_delta"] == 0).all() and len(frame) == 24  # the CTCF pairs are SNVs
    summary = json.loads(result.summary_json.read_text())
    assert summary["scores"] == ["embedding", "toy"]
    assert summary["legend"]["toy_length_delta"] == {"meaning": "alt - ref window length",
                                                     "sign": "positive = the alt allele is longer", "unit": "bases"}
    toy_support = summary["support"]["toy"]
    assert toy_support["verdict"] == "not measured" and toy_support["columns"] == "toy_length_delta"
    assert "this_run" not in toy_support and "this_run" in summary["support"]["embedding"]  # the toy needs no model
    assert "# toy_length_delta: alt - ref window length (positive = the alt allele is longer; bases)" in \
        result.tsv.read_text().splitlines()
    text = " ".join(build_parser().format_help().split())
    assert "toy_length_delta: alt - ref window length" in text and "toy_length_delta: not measured:" in text


def test_a_registered_score_is_computed_by_default_with_its_notes(toy_registered, tiny_folder):
    pairs = list(read_paired_fasta(DATA / "ctcf_binding_24.fa", DATA / "ctcf_nonbinding_24.fa"))[:3]
    indel = pair_from_sequences(pairs[0].ref_seq, pairs[0].ref_seq[:40] + pairs[0].ref_seq[41:], "del")
    frame = VariantScorer(tiny_folder, motifs=False).score(pairs + [indel])
    assert VariantScorer(tiny_folder, motifs=False).info()["scores"] == ["llr", "embedding", "toy"]
    assert frame["toy_length_delta"].tolist() == [0, 0, 0, -1]
    assert frame["notes"].iloc[-1] == "llr_masked undefined for indels / multi-base substitutions (NaN); toy: an indel"


def test_registration_is_undone_after_the_test(monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(registry, "_SCORES", dict(registry._SCORES))
        register_score(TOY)
        assert "toy" in list_scores() and "toy_length_delta" in legend.all_columns()
    assert "toy" not in list_scores() and "toy_length_delta" not in legend.all_columns()


def test_unknown_score_names_list_the_registered_ones(tiny_folder, tmp_path, capsys):
    known = re.escape(str(tuple(BUILT_INS)))
    with pytest.raises(ValueError, match=rf"unknown score\(s\) \['nope'\]; choose from {known}"):
        VariantScorer(tiny_folder, scores=["llr", "nope"], motifs=False)
    with pytest.raises(ValueError, match=rf"unknown score\(s\) \['nope'\]; choose from {known}"):
        get_score("nope")
    args = ["--ref_fasta", str(DATA / "ctcf_binding_24.fa"), "--alt_fasta", str(DATA / "ctcf_nonbinding_24.fa"),
            "--scores", "llr,nope", "--output", str(tmp_path / "o"), "--no_progress"]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert "unknown score(s) ['nope']; choose from ('llr', 'embedding', 'supervised', 'cell_type', 'motif')" in err
    assert not (tmp_path / "o.parquet").exists()


def test_a_score_asked_for_without_its_needs_names_them(monkeypatch, tiny_folder):
    monkeypatch.setattr(registry, "_SCORES", dict(registry._SCORES))
    register_score(VariantScore("per_class", "per_class", (Column("per_class:<class>", "toy"),), alt_length_columns,
                                needs=("model", "classifier")))
    with pytest.raises(ValueError, match=re.escape("score 'per_class' needs a model (--model_name_or_path) and a "
                                                   "fine-tuned classifier (--classifier)")):
        VariantScorer(tiny_folder, scores=["per_class"], motifs=False)
    assert "per_class" not in VariantScorer(tiny_folder, motifs=False).info()["scores"]  # by default: left out


def test_embedding_and_cell_type_share_one_encoder_pass(monkeypatch, tiny_folder):
    pairs = list(read_paired_fasta(DATA / "ctcf_binding_24.fa", DATA / "ctcf_nonbinding_24.fa"))[:5]
    num_tfs = GeneBertForPreTraining.from_pretrained(tiny_folder).config.region_config.num_tfs
    rng = np.random.default_rng(0)
    atlas = {"K562": rng.normal(0, 1, (40, num_tfs)).astype(np.float32), "HepG2": rng.normal(2, 3, (30, num_tfs)).astype(np.float32)}
    calls, encode = [], embedding_score.encode
    monkeypatch.setattr(embedding_score, "encode", lambda *a, **k: calls.append(len(a[2])) or encode(*a, **k))
    alone = VariantScorer(tiny_folder, scores=["embedding"], motifs=False, batch_size=2).score(pairs)
    passes_alone, calls[:] = list(calls), []
    both = VariantScorer(tiny_folder, atlas=atlas, scores=["embedding", "cell_type"], motifs=False, batch_size=2).score(pairs)
    assert calls == passes_alone  # the cell-type score reads the embedding score's pass
    pd.testing.assert_series_equal(both["embedding_cosine_distance_mean"], alone["embedding_cosine_distance_mean"],
                                   check_exact=True)
    assert {"srm_delta:K562", "srm_delta:HepG2"} <= set(both.columns)


def _docs_block(page: str, heading: str) -> str:
    text = (ROOT / page).read_text()
    section = text[text.index(f"## {heading}"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_docs_adding_a_score_example_runs():
    """The "Adding a score" example of docs/variants.md, run as written in a fresh interpreter (nothing leaks here)."""
    code = _docs_block("docs/variants.md", "Adding a score")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["scores"] == ["gc"] and out["support"] == "not measured"
    assert out["legend"] == {"meaning": "alt - ref GC fraction of the variant's window",
                             "sign": "positive = more G or C in alt", "unit": "fraction, -1 to 1"}
    assert "gc" not in list_scores()
