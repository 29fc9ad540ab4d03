"""Motif break / gain with significance (issue 22 item 1) and the score legend (item 2)."""

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from dataset_scripts.motifs import MotifSet, ScoreNull
from dataset_scripts.variants import pair_from_sequences
from modeling_genebert.variants import legend, score_variant_records
from modeling_genebert.variants.cli import build_parser
from modeling_genebert.variants.cli import main as cli_main
from modeling_genebert.variants.motif_effects import STRONG_BITS, WEAK_BITS, MotifEffects
from modeling_genebert.variants.scores import get_score, list_scores

NEUTRAL = "ATGC" * 20  # no JASPAR 2018 motif has a site with p <= 1e-4 here


@pytest.fixture(scope="module")
def jaspar(jaspar2018_vertebrates):
    return jaspar2018_vertebrates


@pytest.fixture(scope="module")
def effects(jaspar):
    return MotifEffects(jaspar)


def _ctcf_consensus(effects):
    j = effects.index("MA0139.1")
    pssm = effects.motifs.pssms[j]
    return j, pssm, "".join("ACGT"[i] for i in pssm.argmax(axis=0))


# --------------------------------------------------------------------------- the null distribution
def test_null_pvalues_are_exact_on_a_short_motif(jaspar):
    """Every window of a 6-column motif enumerated: P(S >= s) from the DP equals the count."""
    k = int(np.argmin(jaspar.widths))
    pssm = jaspar.pssms[k]
    width = pssm.shape[1]
    one = MotifSet([jaspar.ids[k]], [jaspar.names[k]], [pssm], jaspar.background)
    null = ScoreNull(one)
    words = np.array(list(itertools.product(range(4), repeat=width)))
    scores = pssm[words, np.arange(width)].sum(axis=1)
    distinct = np.unique(scores)
    probe = distinct[:: max(1, len(distinct) // 60)]
    exact = np.array([(scores >= s - 1e-9).mean() for s in probe])
    np.testing.assert_allclose(null.pvalues(probe[:, None])[:, 0], exact, rtol=1e-6)
    assert null.log10_pvalues(np.array([[-np.inf]]))[0, 0] == 0.0  # no scoreable window: p = 1
    assert null.pvalues(np.array([[scores.max() + 5]]))[0, 0] == pytest.approx(0.25 ** width)


@pytest.mark.slow
def test_null_threshold_matches_biopython_for_ctcf(jaspar):
    from Bio.motifs.jaspar import calculate_pseudocounts

    from dataset_scripts.motifs import fetch_jaspar_bio_motifs

    bio = next(m for m in fetch_jaspar_bio_motifs(tf_name="CTCF") if m.matrix_id == "MA0139.1")
    bio.pseudocounts = calculate_pseudocounts(bio)
    expected = bio.pssm.distribution(precision=10**3).threshold_fpr(1e-4)  # Biopython's own DP, 4 s
    j = jaspar.ids.index("MA0139.1")
    one = MotifSet(["MA0139.1"], ["CTCF"], [jaspar.pssms[j]], jaspar.background)
    assert ScoreNull(one).thresholds(1e-4)[0] == pytest.approx(expected, abs=0.05)


# --------------------------------------------------------------------------- significance in the scores
def test_variant_far_from_any_site_gives_no_motif_top(effects):
    """Old behaviour: some motif of 579 always changed, so motif_top always named one."""
    ref = NEUTRAL[:40]
    alt = ref[:20] + "C" + ref[21:]  # ref[20] is A
    frame = score_variant_records(None, [pair_from_sequences(ref, alt, "far")], motifs=effects, report_motifs=["MA0139.1"])
    row = frame.iloc[0]
    assert row["motif_top"] == "" and row["motif_significant"] == 0
    assert row["motif_max_abs_delta"] == 0.0 and row["motif_max_abs_delta_log10p"] == 0.0
    assert row["motif_effect:CTCF_MA0139.1"] == ""  # not significant in either allele
    unfiltered = effects.deltas([ref], [alt], [20], [1], [1])
    assert np.abs(unfiltered).max() > 3  # what the old motif_top ranked: some motif always changes


def test_breaking_a_ctcf_site_names_ctcf_first(effects):
    j, pssm, consensus = _ctcf_consensus(effects)
    col = int((pssm.max(axis=0) - pssm.min(axis=0)).argmax())  # the most informative column
    ref = NEUTRAL[:30] + consensus + NEUTRAL[:30]
    pos = 30 + col
    alt = ref[:pos] + "ACGT"[int(pssm[:, col].argmin())] + ref[pos + 1:]
    frame = score_variant_records(None, [pair_from_sequences(ref, alt, "ctcf")], motifs=effects, report_motifs=["CTCF"])
    row = frame.iloc[0]
    first = row["motif_top"].split("; ")[0]
    assert first.startswith("CTCF_MA0139.1 -") and first.endswith(", strong"), row["motif_top"]
    assert row["motif_delta:CTCF_MA0139.1"] < -STRONG_BITS
    assert row["motif_ref_log10p:CTCF_MA0139.1"] > 10 > row["motif_alt_log10p:CTCF_MA0139.1"]
    assert row["motif_delta_log10p:CTCF_MA0139.1"] == pytest.approx(
        row["motif_alt_log10p:CTCF_MA0139.1"] - row["motif_ref_log10p:CTCF_MA0139.1"])
    assert row["motif_effect:CTCF_MA0139.1"] == "strong" and row["motif_significant"] >= 1
    assert all(" " not in c for c in frame.columns)  # column names carry no spaces


def test_threshold_and_effect_rule(effects, jaspar):
    """A site counts only where ref or alt passes the p-value; effect = motifbreakR's |Δ| rule (nats -> bits)."""
    assert STRONG_BITS == pytest.approx(0.7 / np.log(2)) and WEAK_BITS == pytest.approx(0.4 / np.log(2))
    j = effects.index("MA0139.1")
    m = len(effects.labels)
    t = effects.thresholds[j]
    ref, alt = np.full((4, m), -np.inf, dtype=np.float32), np.full((4, m), -np.inf, dtype=np.float32)
    ref[:, j] = [t + 0.3, t - 0.3, t - 3.0, t + 2.0]
    alt[:, j] = [t - 0.9, t + 0.3, t - 2.0, t + 2.1]  # Δ -1.2, +0.6, +1.0 (neither allele passes), +0.1
    calls = effects.calls_from_scores(ref, alt)
    assert calls.significant[:, j].tolist() == [True, True, False, True]
    assert calls.effect[:, j].tolist() == [2, 1, 1, 0]
    columns = effects.columns(calls, top=3, report=[j])
    assert columns["motif_effect:CTCF_MA0139.1"] == ["strong", "weak", "", "neutral"]
    assert columns["motif_significant"].tolist() == [1, 1, 0, 1]
    np.testing.assert_allclose(columns["motif_max_abs_delta"], [1.2, 0.6, 0.0, 0.1], atol=1e-5)
    assert columns["motif_top"][2] == "" and columns["motif_top"][3].endswith("neutral")
    stricter = MotifEffects(MotifSet(["MA0139.1"], ["CTCF"], [jaspar.pssms[jaspar.ids.index("MA0139.1")]]), pvalue=1e-6)
    assert stricter.thresholds[0] > t
    assert not stricter.calls_from_scores(ref[:, [j]], alt[:, [j]]).significant[:2, 0].any()


def test_cli_motif_pvalue_is_checked(tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ref_sequence,alt_sequence\nACGTACGTAC,ACGTTCGTAC\n")
    assert cli_main(["--alleles", str(pairs), "--motif_pvalue", "2", "--output", str(tmp_path / "o"), "--no_progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--motif_pvalue" in err[0]


# --------------------------------------------------------------------------- the legend (item 2)
ALL_KINDS = ["id", "chrom", "pos", "ref", "alt", "kind", "llr_masked", "embedding_cosine_distance_mean",
             "embedding_cosine_distance_cls", "delta_logit:K562", "delta_prob:HepG2", "srm_delta:K562",
             "motif_significant", "motif_max_abs_delta", "motif_max_abs_delta_log10p", "motif_top",
             "motif_delta:CTCF_MA0139.1", "motif_delta_log10p:CTCF_MA0139.1", "motif_ref_log10p:CTCF_MA0139.1",
             "motif_alt_log10p:CTCF_MA0139.1", "motif_effect:CTCF_MA0139.1", "notes"]


def test_legend_describes_every_kind_of_column():
    for column in ALL_KINDS:
        d = legend.describe(column)
        assert d["meaning"] and set(d) == {"meaning", "sign", "unit"}, column
    assert "K562" in legend.describe("delta_logit:K562")["sign"]  # the template is filled
    with pytest.raises(KeyError):
        legend.describe("no_such_column")
    assert legend.legend(["no_such_column"])["no_such_column"] == legend.UNDESCRIBED  # the CLI never crashes on one
    lines = legend.comment_lines(["llr_masked", "motif_top"])
    assert lines[0].startswith("# llr_masked: ") and "nats" in lines[0] and lines[1].startswith("# motif_top: ")


def test_help_epilog_lists_columns_and_verdicts():
    help_text = build_parser().format_help()
    text = " ".join(help_text.split())  # wrapped lines joined
    for key in legend.all_columns():
        assert f" {key}: " in text and f"\n  {key}: " in help_text, key
    for name in list_scores():
        assert get_score(name).evidence.verdict in text


def test_readme_and_cli_agree():
    """docs/variants.md's 'Which score to trust' table carries the CLI's verdicts and numbers; its column table names every
    column kind and no longer recommends llr_masked for pre-trained-model-only users (its measured section says it loses)."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "variants.md").read_text()
    section = page[page.index("## Which score to trust"):]
    for score in list_scores():
        e = get_score(score).evidence
        row = next(line for line in section.splitlines() if line.startswith(f"| {score} |"))
        assert f"**{e.verdict}**" in row and e.measured.replace("|", "\\|") in row, score
    variants = page[: page.index("## Which score to trust")]
    llr_row = next(line for line in variants.splitlines() if line.startswith("| `llr_masked` |"))
    assert "you have a pre-trained model and no labels" not in llr_row and "lose" in llr_row
    for key in legend.all_columns():
        if key not in ("id", "chrom", "pos", "ref", "alt", "kind", "notes"):
            stem = re.split(r"[<:]", key)[0].rstrip("_")
            assert stem in variants, key
    assert legend.EVIDENCE_PAGE == "docs/variants.md#which-score-to-trust"


def test_support_names_what_the_model_folder_records(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"sequence_config": {"kmer": 6}}))
    (tmp_path / "pretraining_summary.json").write_text(json.dumps({"global_step": 1000, "after": {"mgm_loss": 7.75}}))
    support = legend.support(["llr", "motif"], model=str(tmp_path))
    assert support["llr"]["this_run"] == "this model: 1000 pre-training steps, validation MGM 7.75 nats (uniform guess 8.32)"
    assert support["llr"]["verdict"] == get_score("llr").evidence.verdict and "this_run" not in support["motif"]
    assert all(entry["evidence"] == "docs/variants.md#which-score-to-trust" for entry in support.values())
    clf = tmp_path / "clf"
    clf.mkdir()
    (clf / "results.json").write_text(json.dumps({"task": "tfbs", "results": {"test": {"roc_auc": 0.788, "loss": 0.5}}}))
    assert legend.support(["supervised"], classifier=str(clf))["supervised"]["this_run"] == "this classifier: task tfbs, test roc_auc 0.788"


@pytest.mark.slow
def test_cli_writes_the_legend_and_support(tmp_path, capsys):
    j_site = "TGGCCACCAGGGGGCGCTA"  # the CTCF (MA0139.1) consensus
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ref_sequence,alt_sequence,id\n"
                     f"{NEUTRAL[:30]}{j_site}{NEUTRAL[:30]},{NEUTRAL[:30]}{j_site[:4]}A{j_site[5:]}{NEUTRAL[:30]},ctcf\n"
                     f"{NEUTRAL[:40]},{NEUTRAL[:20]}C{NEUTRAL[21:40]},far\n")
    out = tmp_path / "o"
    assert cli_main(["--alleles", str(pairs), "--report_motifs", "CTCF", "--output", str(out), "--no_progress"]) == 0
    import pandas as pd
    import pyarrow.parquet as pq

    frame = pd.read_parquet(f"{out}.parquet")
    text = Path(f"{out}.tsv").read_text().splitlines()
    comments = [line for line in text if line.startswith("#")]
    assert text[: len(comments)] == comments and len(comments) == len(frame.columns)  # one line per column, on top
    assert [c[2:].split(": ")[0] for c in comments] == list(frame.columns)
    tsv = pd.read_csv(f"{out}.tsv", sep="\t", comment="#", keep_default_na=False)
    assert list(tsv.columns) == list(frame.columns) and tsv["id"].tolist() == ["ctcf", "far"]
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert list(summary["legend"]) == list(frame.columns)
    assert all(d["meaning"] != "no legend entry" for d in summary["legend"].values())
    assert list(summary["support"]) == ["motif"] and summary["motif_pvalue"] == 1e-4
    assert summary["support"]["motif"]["evidence"] == "docs/variants.md#which-score-to-trust"
    meta = json.loads(pq.read_schema(f"{out}.parquet").metadata[b"genebert_legend"])
    assert list(meta) == list(frame.columns)
    assert frame["motif_top"].tolist()[1] == "" and frame["motif_top"][0].startswith("CTCF_MA0139.1 -")
    assert "motif_*: " + get_score("motif").evidence.verdict in capsys.readouterr().out
