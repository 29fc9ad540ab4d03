"""Motif break / gain with significance (issue 22 item 1)."""

import itertools

import numpy as np
import pytest

from dataset_scripts.motifs import MotifSet, ScoreNull, load_jaspar_motifs
from dataset_scripts.variants import pair_from_sequences
from modeling_genebert.variants import score_variants
from modeling_genebert.variants.cli import main as cli_main
from modeling_genebert.variants.motif_effects import STRONG_BITS, WEAK_BITS, MotifEffects

NEUTRAL = "ATGC" * 20  # no JASPAR 2018 motif has a site with p <= 1e-4 here


@pytest.fixture(scope="module")
def jaspar():
    return load_jaspar_motifs()


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
    frame = score_variants(None, [pair_from_sequences(ref, alt, "far")], motifs=effects, report_motifs=["MA0139.1"])
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
    frame = score_variants(None, [pair_from_sequences(ref, alt, "ctcf")], motifs=effects, report_motifs=["CTCF"])
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

