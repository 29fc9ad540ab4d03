"""Benchmark-overlap filter: find pre-training windows that share an exact k-mer with benchmark sequences.

A pre-training corpus cut from the genome can hold the very sequences a benchmark tests on (GUE's
promoters and TF sites are pieces of the human genome too). :class:`OverlapIndex` holds every
k-mer (default 32) of a set of sequence files, on both strands, 2-bit packed into one ``uint64``
each and stored canonically (the smaller of a k-mer and its reverse complement), sorted; a window
overlaps when any of its canonical k-mers is in the index. K-mers holding N or another non-ACGT
code are skipped on both sides; case is ignored (soft-masking).

The files are read with :func:`.sequence_input.iter_sequences`: GUE-style CSV / TSV (plain or
gzip) with a ``sequence`` column, FASTA, or one sequence per line; bad input names the file and
line. Packing is vectorised with numpy: about a second per million bases.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from .readers import DataFormatError
from .sequence_input import iter_sequences

OVERLAP_K = 32
_CHUNK_BASES = 4_000_000  # bases packed at a time (memory: ~40 bytes per base while packing)
_CODES = np.full(256, 4, dtype=np.uint8)
for _i, _base in enumerate(b"ACGT"):
    _CODES[_base] = _CODES[_base + 32] = _i  # upper and lower case


def canonical_kmers(sequences: Sequence[str], k: int = OVERLAP_K) -> tuple[np.ndarray, np.ndarray]:
    """``(kmers, owner)``: every canonical ``k``-mer (``uint64``, 2 bits per base, A=0 C=1 G=2 T=3) of
    ``sequences`` that holds only A/C/G/T, and the index of the sequence it comes from."""
    if not 1 <= k <= 32:
        raise ValueError(f"k must be in 1..32 (a k-mer is packed into 64 bits), got {k}")
    if not sequences:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    joined = "N".join(sequences).encode("ascii", "replace")  # N between sequences: no k-mer spans two
    codes = _CODES[np.frombuffer(joined, dtype=np.uint8)]
    n = len(codes)
    m = n - k + 1
    if m <= 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    bad = np.concatenate([[0], np.cumsum(codes == 4, dtype=np.int64)])
    valid = (bad[k:] - bad[:-k]) == 0
    forward_codes = (codes & 3).astype(np.uint64)
    reverse_codes = np.uint64(3) - forward_codes  # the complement
    two = np.uint64(2)
    forward = np.zeros(m, np.uint64)
    reverse = np.zeros(m, np.uint64)
    for j in range(k):
        forward = (forward << two) | forward_codes[j : j + m]
        reverse = (reverse << two) | reverse_codes[k - 1 - j : k - 1 - j + m]
    canonical = np.minimum(forward, reverse)[valid]
    starts = np.cumsum([0] + [len(s) + 1 for s in sequences[:-1]])
    owner = np.searchsorted(starts, np.flatnonzero(valid), side="right") - 1
    return canonical, owner


def _chunks(sequences: Iterable[str]) -> Iterable[list[str]]:
    chunk, size = [], 0
    for sequence in sequences:
        chunk.append(sequence)
        size += len(sequence) + 1
        if size >= _CHUNK_BASES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


@dataclass
class OverlapIndex:
    """The canonical ``k``-mers of some sequence files: per file and their union, each sorted and unique."""

    k: int = OVERLAP_K
    files: dict[str, np.ndarray] = field(default_factory=dict)  # path -> its sorted unique k-mers
    sequences: dict[str, int] = field(default_factory=dict)  # path -> sequences read
    union: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    seconds: float = 0.0

    @classmethod
    def from_files(cls, paths: Sequence[str | os.PathLike], k: int = OVERLAP_K) -> "OverlapIndex":
        """Read every file (FASTA, CSV/TSV with a ``sequence`` column, one sequence per line; plain or gzip)."""
        if not 1 <= k <= 32:
            raise ValueError(f"the overlap k-mer length must be in 1..32 (a k-mer is packed into 64 bits), got {k}")
        started = time.time()
        index = cls(k=k)
        for path in paths:
            path = os.fspath(path)
            if path in index.files:
                raise DataFormatError(f"{path}: given twice")
            parts, count = [], 0
            records = (record.sequence for record in iter_sequences(path))
            for chunk in _chunks(records):
                count += len(chunk)
                kmers, _ = canonical_kmers(chunk, k)
                parts.append(np.unique(kmers))
            index.files[path] = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)
            index.sequences[path] = count
        if index.files:
            index.union = np.unique(np.concatenate(list(index.files.values())))
        index.seconds = time.time() - started
        return index

    @staticmethod
    def _member(sorted_kmers: np.ndarray, kmers: np.ndarray) -> np.ndarray:
        if not len(sorted_kmers) or not len(kmers):
            return np.zeros(len(kmers), bool)
        at = np.searchsorted(sorted_kmers, kmers)
        at[at == len(sorted_kmers)] = 0
        return sorted_kmers[at] == kmers

    def overlapping(self, sequences: Sequence[str]) -> np.ndarray:
        """Boolean mask: which ``sequences`` share a ``k``-mer (either strand) with any indexed file."""
        hit = np.zeros(len(sequences), bool)
        first = 0
        for chunk in _chunks(sequences):
            kmers, owner = canonical_kmers(chunk, self.k)
            hit[first + owner[self._member(self.union, kmers)]] = True
            first += len(chunk)
        return hit

    def overlapping_per_file(self, sequences: Sequence[str]) -> dict[str, int]:
        """For each indexed file, how many of ``sequences`` share a ``k``-mer with it (a sequence may count for several)."""
        kmers, owner = canonical_kmers(list(sequences), self.k)
        return {path: int(len(np.unique(owner[self._member(file_kmers, kmers)]))) for path, file_kmers in self.files.items()}

    def describe(self) -> dict:
        """What ``build_info.json`` records of the index itself."""
        return {
            "k": self.k,
            "files": {path: {"sequences": self.sequences[path], "kmers": int(len(kmers))} for path, kmers in self.files.items()},
            "kmers": int(len(self.union)),
            "index_seconds": round(self.seconds, 2),
        }


__all__ = ["OVERLAP_K", "OverlapIndex", "canonical_kmers"]
