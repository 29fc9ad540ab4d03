"""Property / fuzz tests of the vectorized motif scanner against Biopython (issue "Hardening: bad input").

Random sequences -- mixed case, N and other IUPAC codes, gaps, empty strings, sequences
shorter than the motifs -- are scanned with a handful of real JASPAR 2018 motifs (pyjaspar
ships the database: no network) of widths 6 to 21. The scanner must equal Biopython's
``PSSM.calculate`` (on the upper-cased sequence, both strands) to 1e-4, at every position
and for the per-sequence maxima, with the documented conventions of
``dataset_scripts/motif_scan.py``: a window holding a non-ACGT code has no score
(Biopython: ``nan``), and a sequence without any scoreable window gets the motif's lowest
possible score.
"""

import numpy as np
import pytest
from Bio.motifs.jaspar import calculate_pseudocounts
from hypothesis import given
from hypothesis import strategies as st

from dataset_scripts.motif_scan import MotifScanner, encode
from dataset_scripts.motifs import motif_set_from_bio
from conftest import fuzz_settings

# generated inputs per test in a full run (reported in the hardening issue); the fast tier runs a quarter of them
EXAMPLES = {
    "test_maxima_equal_biopython": 120,
    "test_every_position_equals_biopython": 40,
    "test_case_strands_and_batching_do_not_change_scores": 50,
    "test_non_nucleotides_are_named": 60,
}

# JASPAR 2018 CORE vertebrates: Arnt (6 bp), MAX (10), Gata1 (11), SPI1 (14), CTCF (19), IRF1 (21)
MOTIF_IDS = ("MA0004.1", "MA0058.3", "MA0035.3", "MA0080.4", "MA0139.1", "MA0050.2")
NUCLEOTIDE_CODES = set("ACGTNRYSWKMBDHVU-.") | set("acgtnryswkmbdhvu")


def fuzz(test_name: str):
    return fuzz_settings(EXAMPLES[test_name])


@pytest.fixture(scope="module")
def jaspar():
    """(scanner, motif set, Biopython forward / reverse-complement PSSMs) of the six motifs."""
    from pyjaspar import jaspardb

    db = jaspardb(release="JASPAR2018")
    bio = [db.fetch_motif_by_id(i) for i in MOTIF_IDS]
    motifs = motif_set_from_bio(bio)  # the package's matrices (default: JASPAR pseudocounts, uniform background)
    pssms = []
    for m in bio:  # Biopython's own, independently
        m.pseudocounts = calculate_pseudocounts(m)
        pssms.append((m.pssm, m.pssm.reverse_complement()))
    return MotifScanner(motifs), motifs, pssms


def biopython_scores(pssms, seq: str) -> list[np.ndarray]:
    """Per motif: forward then reverse position scores (nan where a window holds a non-ACGT code)."""
    upper = seq.upper()
    out = []
    for fwd, rev in pssms:
        if len(upper) < fwd.length:
            out.append(np.array([]))
        else:
            out.append(np.concatenate([np.atleast_1d(fwd.calculate(upper)), np.atleast_1d(rev.calculate(upper))]))
    return out


def dna(max_size=70):
    """Mostly A/C/G/T, both cases, with N runs, other IUPAC codes and gaps; empty strings included."""
    alphabet = list("ACGT" * 8 + "acgt" * 3 + "Nn" * 2 + "RYKMSWBDHVU" + "ryk" + "-.")
    return st.one_of(
        st.text(alphabet=st.sampled_from(alphabet), max_size=max_size),
        st.text(alphabet=st.sampled_from(list("ACGTacgt")), min_size=20, max_size=max_size),  # fully scoreable
    )


@fuzz("test_maxima_equal_biopython")
@given(seqs=st.lists(dna(), min_size=1, max_size=6), batch_size=st.sampled_from([None, 1, 2, 5]))
def test_maxima_equal_biopython(jaspar, seqs, batch_size):
    scanner, motifs, pssms = jaspar
    got = scanner.scan(seqs, batch_size=batch_size)
    assert got.shape == (len(seqs), len(MOTIF_IDS)) and got.dtype == np.float32
    lowest = motifs.min_scores()
    for i, seq in enumerate(seqs):
        for k, scores in enumerate(biopython_scores(pssms, seq)):
            scoreable = scores[~np.isnan(scores)]
            expected = scoreable.max() if scoreable.size else lowest[k]
            assert abs(got[i, k] - expected) < 1e-4, (seq, MOTIF_IDS[k], got[i, k], expected)


@fuzz("test_every_position_equals_biopython")
@given(seqs=st.lists(dna(), min_size=1, max_size=4))
def test_every_position_equals_biopython(jaspar, seqs):
    """Position p of column k (forward) / M + k (reverse) == Biopython; windows past the end do not exist."""
    scanner, motifs, pssms = jaspar
    m = len(motifs)
    pos = scanner.position_scores(seqs).numpy()
    assert pos.shape == (len(seqs), max(map(len, seqs)), 2 * m)
    for i, seq in enumerate(seqs):
        for k, scores in enumerate(biopython_scores(pssms, seq)):
            n = scores.size // 2
            for got, ref in ((pos[i, :n, k], scores[:n]), (pos[i, :n, m + k], scores[n:])):
                np.testing.assert_array_equal(np.isneginf(got), np.isnan(ref))  # no score exactly where Biopython has none
                ok = ~np.isnan(ref)
                np.testing.assert_allclose(got[ok], ref[ok], rtol=0, atol=1e-4)
            assert np.isneginf(pos[i, n:, k]).all() and np.isneginf(pos[i, n:, m + k]).all()


COMPLEMENT = str.maketrans("ACGTacgtNn", "TGCAtgcaNn")


@fuzz("test_case_strands_and_batching_do_not_change_scores")
@given(seqs=st.lists(st.text(alphabet=st.sampled_from(list("ACGTacgtNn")), max_size=70), min_size=1, max_size=5))
def test_case_strands_and_batching_do_not_change_scores(jaspar, seqs):
    scanner, _, _ = jaspar
    got = scanner.scan(seqs)
    np.testing.assert_array_equal(scanner.scan([s.upper() for s in seqs]), got)  # soft-masking is ignored
    np.testing.assert_array_equal(scanner.scan([s.lower() for s in seqs]), got)
    # both strands: the reverse complement has the same maxima
    np.testing.assert_allclose(scanner.scan([s.translate(COMPLEMENT)[::-1] for s in seqs]), got, atol=1e-5)
    # a sequence's row does not depend on its batch mates (padding past the end scores nothing)
    for i, s in enumerate(seqs):
        np.testing.assert_allclose(scanner.scan([s])[0], got[i], atol=1e-6)
    for agg in ("mean", "logsumexp", "count"):
        assert np.isfinite(scanner.scan(seqs, aggregation=agg)).all()


@fuzz("test_non_nucleotides_are_named")
@given(
    before=st.lists(st.text(alphabet=st.sampled_from(list("ACGTN")), max_size=10), max_size=3),
    prefix=st.text(alphabet=st.sampled_from(list("ACGTacgtN")), max_size=30),
    bad=st.characters().filter(lambda c: c not in NUCLEOTIDE_CODES),
    suffix=st.text(max_size=10),
)
def test_non_nucleotides_are_named(jaspar, before, prefix, bad, suffix):
    """Anything that is not a nucleotide code (unicode junk, controls, digits...) is named, never scored."""
    scanner, _, _ = jaspar
    seqs = [*before, prefix + bad + suffix]
    message = f"sequence {len(before)}: character {bad!r} at position {len(prefix)} is not a nucleotide code"
    for call in (lambda: encode(seqs), lambda: scanner.scan(seqs)):
        with pytest.raises(ValueError) as info:
            call()
        assert message in str(info.value)


def test_example_budget_is_recorded():
    names = {n for n, f in globals().items() if n.startswith("test_") and hasattr(f, "hypothesis")}
    assert names == set(EXAMPLES)
