"""In-silico saturation mutagenesis: every single-base substitution (3 per base), batched, both strands.

``delta[n, i, b] = s(x with base b at i) - s(x)`` where ``s`` is the class log-odds
(:func:`~modeling_genebert.explain.tokens.class_score`); with ``strands="both"``, ``s`` is the mean of the
forward sequence's score and its reverse complement's. ``delta`` is 0 at the observed base and at N.
Mutant token ids are computed with array arithmetic from the tokenizer's own k-mer table (checked
against the tokenizer for each reference), so one forward pass scores ``batch_size`` mutants.

For a model with region input the region matrix is held at the reference sequence's (mutants are not
re-scanned): the attribution is that of the sequence given its region evidence.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from .loading import check_sequences, one_hot
from .tokens import KmerIds, encode_codes, reverse_complement_codes, score_ids


def _variants(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference codes ``[L]`` -> (mutant codes ``[M, L]``, positions ``[M]``, bases ``[M]``), M = 3 x (non-N bases)."""
    pos, base = [], []
    for i, c in enumerate(codes):
        if c < 4:
            for b in range(4):
                if b != c:
                    pos.append(i)
                    base.append(b)
    pos, base = np.asarray(pos, dtype=np.int64), np.asarray(base, dtype=np.int64)
    mutants = np.repeat(codes[None], len(pos), axis=0)
    mutants[np.arange(len(pos)), pos] = base
    return mutants, pos, base


def saturation_mutagenesis(explained, sequences: Sequence[str], target=None, strands: str = "both",
                           batch_size: int = 256, progress: bool = False):
    """All 3L single mutants of each sequence -> ``delta`` ``(N, L, 4)`` (a list of ``(L, 4)`` when lengths differ).

    ``explained``: an :class:`~modeling_genebert.explain.loading.ExplainedModel`; ``target``: class name or id
    (default: the last class); ``strands``: ``"both"`` (mean of forward and reverse-complement scores) or ``"forward"``.
    """
    if strands not in ("both", "forward"):
        raise ValueError(f"strands must be 'both' or 'forward', got {strands!r}")
    target = explained.class_index(target)
    sequences = check_sequences(sequences, explained.window)
    model, tokenizer = explained.model, explained.tokenizer
    total = sum(3 * sum(c != "N" for c in s) + 1 for s in sequences) * (2 if strands == "both" else 1)
    bar = tqdm(total=total, desc="ISM mutants", unit="seq", disable=not progress)
    out = []
    for s in sequences:
        codes = encode_codes(s)
        region = explained.region_matrix([s])
        mutants, pos, base = _variants(codes)
        rows = np.concatenate([codes[None], mutants])
        scores = score_ids(model, KmerIds(tokenizer, s).ids(rows), target, batch_size, region, bar)
        if strands == "both":
            rc = reverse_complement_codes(rows)
            rc_ids = KmerIds(tokenizer, "".join("ACGTN"[c] for c in rc[0])).ids(rc)
            scores = (scores + score_ids(model, rc_ids, target, batch_size, region, bar)) / 2
        delta = np.zeros((len(s), 4), dtype=np.float32)
        delta[pos, base] = scores[1:] - scores[0]
        out.append(delta)
    bar.close()
    return np.stack(out) if len({len(s) for s in sequences}) == 1 else out


def ism_contributions(delta: np.ndarray, sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """ISM deltas ``(L, 4)`` -> (per-base contribution ``(L,)``, hypothetical contributions ``(L, 4)``).

    Hypothetical contributions are the deltas centred per position (``delta - mean over the 4 bases``),
    the form TF-MoDISco takes; the observed base's contribution is its entry there, i.e. minus the
    sum of its three substitution effects / 4 (positive when mutating the base away lowers the score).
    """
    delta = np.asarray(delta, dtype=np.float32)
    hyp = delta - delta.mean(axis=-1, keepdims=True)
    contribution = (hyp * one_hot(sequence)).sum(-1)
    return contribution, hyp
