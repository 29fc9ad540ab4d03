"""Motif loading and the vectorized scanner, checked against Biopython on real sequences."""

import gzip
import os

import numpy as np
import pytest
from Bio.motifs.jaspar import calculate_pseudocounts

from dataset_scripts.motif_scan import MotifScanner, encode
from dataset_scripts.motifs import (
    MotifSet,
    fetch_jaspar_bio_motifs,
    jaspar_releases,
    load_jaspar_motifs,
    load_motifs,
    read_motif_file,
)

DATA = os.path.join(os.path.dirname(__file__), "data", "dataset_scripts")


@pytest.fixture(scope="module")
def jaspar(jaspar2018_vertebrates):
    return jaspar2018_vertebrates


@pytest.fixture(scope="module")
def real_sequences():
    """Real DHS sequences (ENCODE, hg38) and a soft-masked genome piece, plus N / short cases."""
    seqs = []
    with gzip.open(os.path.join(DATA, "dhs_subset.tsv.gz"), "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        col = header.index("sequence")
        for i, line in enumerate(fh):
            if i % 16 == 0:
                seqs.append(line.rstrip("\n").split("\t")[col])
    with open(os.path.join(DATA, "genome_pieces.fa")) as fh:
        piece = "".join(l.strip() for l in fh if not l.startswith(">"))
    lower = next(i for i, c in enumerate(piece) if c.islower())
    seqs.append(piece[lower - 60 : lower + 90])  # mixed-case soft-masked DNA
    s = seqs[0]
    seqs.append(s[:40] + "N" + s[41:120] + "n" + s[121:])  # Ns inside
    seqs.append(s[:12])  # shorter than many motifs
    seqs.append("N" * 30)  # nothing scoreable
    return seqs


def _bio_position_scores(bio_motifs, seqs):
    """Biopython: per motif, per sequence, (forward, reverse) position scores (nan where N)."""
    out = []
    for m in bio_motifs:
        m.pseudocounts = calculate_pseudocounts(m)
        p = m.pssm
        rc = p.reverse_complement()
        row = []
        for s in seqs:
            u = s.upper()
            if len(u) < m.length:
                row.append((np.array([]), np.array([])))
            else:
                row.append((np.atleast_1d(p.calculate(u)), np.atleast_1d(rc.calculate(u))))
        out.append(row)
    return out


@pytest.fixture(scope="module")
def biopython_scores(real_sequences):
    """Biopython's motifs and their position scores on the real sequences, computed once for the tests below."""
    bio = fetch_jaspar_bio_motifs()
    return bio, _bio_position_scores(bio, real_sequences)


def test_jaspar2018_vertebrates_is_the_papers_579(jaspar):
    assert "JASPAR2018" in jaspar_releases()
    assert len(jaspar) == 579
    assert jaspar.ids == sorted(jaspar.ids)
    assert len(set(jaspar.ids)) == 579
    assert min(jaspar.widths) == 6 and max(jaspar.widths) == 21
    assert "JASPAR2018" in jaspar.source


def test_pssm_equals_biopython(jaspar, biopython_scores):
    bio, _ = biopython_scores
    for k in (0, 100, 578):
        m = bio[k]
        m.pseudocounts = calculate_pseudocounts(m)
        ref = np.array([m.pssm[b] for b in "ACGT"])
        np.testing.assert_allclose(jaspar.pssms[k], ref, rtol=0, atol=1e-12)


def test_scores_equal_biopython_at_every_position(jaspar, real_sequences, biopython_scores):
    _, ref = biopython_scores
    sc = MotifScanner(jaspar)
    pos = sc.position_scores(real_sequences).numpy()
    m = len(jaspar)
    max_diff = 0.0
    for k in range(m):
        for i, s in enumerate(real_sequences):
            fwd, rev = ref[k][i]
            n = len(fwd)
            for arr, col in ((fwd, k), (rev, m + k)):
                got = pos[i, :n, col]
                assert np.array_equal(np.isnan(arr), np.isneginf(got)), (k, i)
                ok = ~np.isnan(arr)
                if ok.any():
                    max_diff = max(max_diff, float(np.abs(arr[ok] - got[ok]).max()))
                assert np.all(np.isneginf(pos[i, n:, col]))  # windows past the end do not exist
    assert max_diff < 1e-4


def test_max_aggregation_equals_biopython_maxima(jaspar, real_sequences, biopython_scores):
    _, ref = biopython_scores
    got = MotifScanner(jaspar).scan(real_sequences, batch_size=3)
    assert got.shape == (len(real_sequences), 579) and got.dtype == np.float32
    mins = jaspar.min_scores()
    for k in range(579):
        for i in range(len(real_sequences)):
            both = np.concatenate(ref[k][i])
            expected = np.nanmax(both) if both.size and not np.all(np.isnan(both)) else mins[k]
            assert abs(got[i, k] - expected) < 1e-4, (k, i)
    # the all-N sequence gets each motif's lowest possible score; a number can be chosen instead
    np.testing.assert_allclose(got[-1], mins, atol=1e-4)
    assert np.all(MotifScanner(jaspar).scan(["N" * 30], fill_value=-99.0) == -99.0)


def test_other_aggregations(real_sequences):
    ms = read_motif_file(os.path.join(DATA, "three_motifs.jaspar"))
    sc = MotifScanner(ms)
    seqs = real_sequences[:4] + [real_sequences[-3]]
    pos = sc.position_scores(seqs).numpy()  # (n, L, 2M)
    m = len(ms)
    for agg in ("mean", "logsumexp", "count"):
        got = sc.scan(seqs, aggregation=agg)
        for i in range(len(seqs)):
            for k in range(m):
                v = np.concatenate([pos[i, :, k], pos[i, :, m + k]])
                v = v[np.isfinite(v)]
                if agg == "mean":
                    exp = v.mean()
                elif agg == "logsumexp":
                    exp = np.log2(np.sum(2.0 ** v.astype(np.float64)))
                else:
                    lo, hi = ms.min_scores()[k], ms.max_scores()[k]
                    exp = np.sum(v >= lo + 0.8 * (hi - lo))
                assert abs(got[i, k] - exp) < 1e-3, (agg, i, k)
    assert sc.scan(seqs, aggregation="count", threshold=0.0, absolute_threshold=True).sum() > 0
    with pytest.raises(ValueError, match="aggregation must be one of"):
        sc.scan(seqs, aggregation="median")


def test_lower_case_scores_like_upper_and_strands(real_sequences):
    ms = read_motif_file(os.path.join(DATA, "three_motifs.jaspar"))
    s = real_sequences[1]
    sc = MotifScanner(ms)
    np.testing.assert_array_equal(sc.scan([s.lower()]), sc.scan([s.upper()]))
    # reverse complement of the sequence: both-strand maxima unchanged
    comp = str.maketrans("ACGT", "TGCA")
    np.testing.assert_allclose(sc.scan([s.translate(comp)[::-1]]), sc.scan([s]), atol=1e-5)
    fwd = MotifScanner(ms, both_strands=False).scan([s])
    assert np.all(fwd <= sc.scan([s]) + 1e-6)


def test_per_strand_aggregates_each_strand_and_swaps_under_reverse_complement(real_sequences):
    """``per_strand``: row 0 is the forward strand's aggregate, row 1 the reverse's; their max is the
    pooled scan, the reverse complement swaps them, and sequences without a scoreable window get the fill."""
    ms = read_motif_file(os.path.join(DATA, "three_motifs.jaspar"))
    sc = MotifScanner(ms)
    seqs = real_sequences[:3] + real_sequences[-3:]
    pos = sc.position_scores(seqs).numpy()  # (n, L, 2M)
    m = len(ms)
    for agg in ("max", "mean", "count"):
        got = sc.scan(seqs, aggregation=agg, per_strand=True)
        assert got.shape == (len(seqs), 2, m)
        for i in range(len(seqs) - 1):  # the last one is all N
            for k in range(m):
                for strand in (0, 1):
                    v = pos[i, :, strand * m + k]
                    v = v[np.isfinite(v)]
                    if not len(v):
                        continue
                    exp = {"max": v.max(), "mean": v.mean()}.get(agg)
                    if agg == "count":
                        lo, hi = ms.min_scores()[k], ms.max_scores()[k]
                        exp = np.sum(v >= lo + 0.8 * (hi - lo))
                    assert abs(got[i, strand, k] - exp) < 1e-3, (agg, i, k, strand)
    both = sc.scan(seqs, per_strand=True)
    np.testing.assert_array_equal(both.max(axis=1), sc.scan(seqs))
    np.testing.assert_array_equal(both[-1], np.stack([ms.min_scores()] * 2).astype(np.float32))
    comp = str.maketrans("ACGT", "TGCA")
    s = real_sequences[1]
    np.testing.assert_allclose(sc.scan([s.translate(comp)[::-1]], per_strand=True)[0, ::-1], both[1], atol=1e-5)
    assert sc.scan([], per_strand=True).shape == (0, 2, m)
    with pytest.raises(ValueError, match="both_strands=True"):
        MotifScanner(ms, both_strands=False).scan([s], per_strand=True)


def test_encode_rejects_non_nucleotides():
    assert encode(["ACGTN", "acgtr"]).tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    with pytest.raises(ValueError, match=r"sequence 1: character 'X' at position 2"):
        encode(["ACGT", "ACXT"])


@pytest.mark.parametrize("name", ["three_motifs.jaspar", "three_motifs.transfac", "three_motifs.meme"])
def test_motif_files_in_three_formats_give_the_jaspar_matrices(name):
    ref = read_motif_file(os.path.join(DATA, "three_motifs.jaspar"))
    ms = load_motifs(os.path.join(DATA, name))
    assert len(ms) == 3
    for a, b in zip(ms.pssms, ref.pssms):
        np.testing.assert_allclose(a, b, atol=1e-4)  # MEME stores rounded probabilities
    assert ref.names == ["Gata1", "Hnf4a", "CTCF"]


def test_pseudocounts_background_and_errors(tmp_path):
    path = os.path.join(DATA, "three_motifs.jaspar")
    gc = read_motif_file(path, background=0.6)
    assert gc.background["G"] == pytest.approx(0.3) and gc.background["A"] == pytest.approx(0.2)
    flat = read_motif_file(path, pseudocounts=1.0)
    assert not np.allclose(flat.pssms[0], read_motif_file(path).pssms[0])
    with pytest.raises(ValueError, match="non-finite"):
        read_motif_file(path, pseudocounts=0)  # zero counts -> log(0)
    with pytest.raises(ValueError, match="GC fraction"):
        read_motif_file(path, background=1.5)
    bad = tmp_path / "bad.motifs"
    bad.write_text("hello\n")
    with pytest.raises(ValueError, match="cannot guess the motif format"):
        read_motif_file(bad)
    with pytest.raises(ValueError, match="unknown JASPAR release"):
        load_jaspar_motifs(release="JASPAR1999")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_motifs(tmp_path / "missing.jaspar")
    assert isinstance(load_motifs(gc), MotifSet)


def test_other_releases_and_groups_are_selectable():
    ms = load_jaspar_motifs(release="JASPAR2024", tax_group="insects")
    assert 50 < len(ms) < 400
    assert "JASPAR2024" in ms.source
