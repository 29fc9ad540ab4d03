"""DNA sequence utilities every room shares: one IUPAC complement table, vectorised one-hot encoding.

On the lowest floor (stdlib and numpy only), so the data side, the model rooms, the benchmarks and the
examples import one reverse complement instead of writing their own (there were six, with two tables).
"""

from __future__ import annotations

import numpy as np

# IUPAC codes and their complements, both cases: R<->Y, K<->M, B<->V, D<->H; S, W and N are their own
_COMPLEMENT = str.maketrans("ACGTNRYKMSWBDHVacgtnrykmswbdhv", "TGCANYRMKSWVHDBtgcanyrmkswvhdb")
_ONE_HOT_INDEX = np.full(256, -1, dtype=np.int64)
_ONE_HOT_INDEX[[ord(c) for c in "ACGT"]] = np.arange(4)


def reverse_complement(sequence: str) -> str:
    """The other strand, read 5' to 3' (IUPAC codes complemented, case kept)."""
    return sequence.translate(_COMPLEMENT)[::-1]


def one_hot(sequence: str) -> np.ndarray:
    """``(L, 4)`` float32 one-hot, columns A C G T; any other character (N, lower case) is all zeros."""
    codes = _ONE_HOT_INDEX[np.frombuffer(sequence.encode("latin-1"), dtype=np.uint8)]
    out = np.zeros((len(sequence), 4), dtype=np.float32)
    known = codes >= 0
    out[np.flatnonzero(known), codes[known]] = 1.0
    return out


__all__ = ["one_hot", "reverse_complement"]
