"""dataset_scripts.sequences: the one reverse complement and one-hot encoding every room imports."""

import numpy as np
import pytest

from dataset_scripts.sequences import one_hot, reverse_complement

IUPAC = "ACGTNRYKMSWBDHV"


def test_reverse_complement_pairs_every_iupac_code_and_keeps_case():
    assert reverse_complement("AACGTn") == "nACGTT"
    pairs = dict(zip(IUPAC, "TGCANYRMKSWVHDB"))
    for base, other in pairs.items():
        assert reverse_complement(base) == other and reverse_complement(base.lower()) == other.lower()
        assert reverse_complement(reverse_complement(base)) == base  # an involution
    assert reverse_complement("") == "" and reverse_complement("X") == "X"  # unknown characters pass through


@pytest.mark.parametrize("sequence", ["ACGTNACGT", "acgtACGT", "", "NNNN", "TTTTGGGGCCCCAAAA"])
def test_one_hot_is_the_per_base_loop_vectorised(sequence):
    expected = np.zeros((len(sequence), 4), dtype=np.float32)
    for i, c in enumerate(sequence):
        if c in "ACGT":
            expected[i, "ACGT".index(c)] = 1.0
    got = one_hot(sequence)
    assert got.dtype == np.float32 and got.shape == (len(sequence), 4)
    np.testing.assert_array_equal(got, expected)
