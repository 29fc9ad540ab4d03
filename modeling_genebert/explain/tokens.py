"""Tokens <-> bases, the scalar a class is explained by, and batched forward passes.

**Projection.** A k-mer token covers ``k`` consecutive bases (its ``offset_mapping`` span). A base's
attribution is the *sum* over the tokens covering it: ``base = P @ token`` with ``P[i, t] = 1`` when
token ``t``'s span holds base ``i`` (``[CLS]``/``[SEP]``/padding cover nothing). Interior bases sum
``k`` tokens, the first and last ``k - 1`` bases fewer. Summing the base attributions therefore counts
every token ``k`` times; completeness (IG) holds for the token attributions, ``sum(tokens) = f(x) - f(baseline)``.

**Class score.** A class ``c`` is explained by its log-odds ``logit_c - logsumexp(other logits)``
(for two classes the logit difference), so ISM deltas and IG attributions are in the same units.
"""

from __future__ import annotations

from itertools import product
from typing import Sequence

import numpy as np
import torch

from modeling_genebert.downstream.cls_only import cls_only_last_layer

BASES = "ACGT"
_CODE = np.full(256, 4, dtype=np.int64)
for _i, _b in enumerate(BASES):
    _CODE[ord(_b)] = _i


def class_score(logits: torch.Tensor, target: int) -> torch.Tensor:
    """``[batch, classes]`` -> ``[batch]`` log-odds of class ``target``."""
    logits = logits.float()
    if logits.shape[-1] == 1:
        return logits[..., 0]
    others = torch.cat([logits[..., :target], logits[..., target + 1:]], dim=-1)
    return logits[..., target] - torch.logsumexp(others, dim=-1)


def projection_matrix(offsets: Sequence[Sequence[int]], length: int) -> np.ndarray:
    """``(L, T)`` 0/1 matrix: base ``i`` is covered by token ``t`` (from the tokenizer's ``offset_mapping``)."""
    P = np.zeros((length, len(offsets)), dtype=np.float32)
    for t, (start, end) in enumerate(offsets):
        if end > start:
            P[start:min(end, length), t] = 1.0
    return P


def to_bases(token_values: np.ndarray, offsets: Sequence[Sequence[int]], length: int) -> np.ndarray:
    """Token attributions ``(..., T)`` -> base attributions ``(..., L)``: each base sums its covering tokens."""
    P = projection_matrix(offsets, length)
    return np.asarray(token_values)[..., : P.shape[1]] @ P.T


def encode_codes(sequence: str) -> np.ndarray:
    """``"ACGTN"`` -> ``[0, 1, 2, 3, 4]``."""
    return _CODE[np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)]


def kmer_lut(tokenizer) -> np.ndarray:
    """``[4^k]`` token id of every k-mer by its base-4 number (first base most significant), [UNK] where the
    vocabulary lacks it; built once per tokenizer object (a 4^k-entry Python loop)."""
    cached = getattr(tokenizer, "_genebert_kmer_lut", None)
    if cached is not None:
        return cached
    vocab, unk = tokenizer.get_vocab(), tokenizer.unk_token_id
    lut = np.fromiter((vocab.get("".join(kmer), unk) for kmer in product(BASES, repeat=int(tokenizer.kmer))),
                      dtype=np.int64, count=4 ** int(tokenizer.kmer))
    try:
        tokenizer._genebert_kmer_lut = lut
    except AttributeError:
        pass
    return lut


class KmerIds:
    """Vectorised k-mer token ids for many variants of one sequence (ISM), checked against the tokenizer.

    ``ids(codes)`` maps base codes ``[..., L]`` to ``[..., T]`` input ids with [CLS] / [SEP] added, using
    the k-mer starts of the tokenizer's own ``offset_mapping`` for the reference; a k-mer holding N is [UNK].
    ``substitutions(positions, bases)`` gives the ids of single-base mutants of the reference by
    changing only the (at most k) tokens that cover each substituted base.
    """

    def __init__(self, tokenizer, reference: str):
        enc = tokenizer(reference, return_offsets_mapping=True)
        self.reference_ids = np.asarray(enc["input_ids"], dtype=np.int64)
        offsets = enc["offset_mapping"]
        self.offsets = [tuple(o) for o in offsets]
        content = [t for t, (a, b) in enumerate(self.offsets) if b > a]
        self.content = np.asarray(content, dtype=np.int64)
        self.k = int(tokenizer.kmer)
        starts = np.asarray([self.offsets[t][0] for t in content], dtype=np.int64)
        self.gather = starts[:, None] + np.arange(self.k)[None, :]  # [T_content, k]
        self.unk = tokenizer.unk_token_id
        self.lut = kmer_lut(tokenizer)
        self.powers = 4 ** np.arange(self.k - 1, -1, -1)
        self.codes = encode_codes(reference)
        check = self.ids(self.codes[None])[0]
        if not np.array_equal(check, self.reference_ids):
            raise ValueError("k-mer ids computed for ISM differ from the tokenizer's; unsupported tokenizer settings")
        windows = self.codes[self.gather]
        self._has_n = (windows > 3).any(-1)
        self._kmer = (np.minimum(windows, 3) * self.powers).sum(-1)  # base-4 number of each content token
        self._token_at = np.full(len(reference), -1, dtype=np.int64)  # content token starting at each base
        self._token_at[starts] = np.arange(len(starts))

    def ids(self, codes: np.ndarray) -> np.ndarray:
        windows = codes[..., self.gather]  # [..., T_content, k]
        has_n = (windows > 3).any(-1)
        kmer = (np.minimum(windows, 3) * self.powers).sum(-1)
        ids = np.where(has_n, self.unk, self.lut[kmer])
        out = np.broadcast_to(self.reference_ids, codes.shape[:-1] + self.reference_ids.shape).copy()
        out[..., self.content] = ids
        return out

    def substitutions(self, positions: np.ndarray, bases: np.ndarray) -> np.ndarray:
        """``[M, T]`` ids of the reference with base ``bases[m]`` (0-3) at ``positions[m]`` (an A/C/G/T base):
        the reference's ids with the tokens covering the position changed (the same as ``ids`` of the mutant codes)."""
        positions, bases = np.asarray(positions, dtype=np.int64), np.asarray(bases, dtype=np.int64)
        out = np.repeat(self.reference_ids[None], len(positions), axis=0)
        change = bases - self.codes[positions]
        for o in range(self.k):  # the token starting o bases before the position holds it at offset o
            start = positions - o
            t = np.where(start >= 0, self._token_at[np.maximum(start, 0)], -1)
            m = np.nonzero(t >= 0)[0]
            t = t[m]
            new = self._kmer[t] + change[m] * self.powers[o]
            out[m, self.content[t]] = np.where(self._has_n[t], self.unk, self.lut[new])
        return out


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Codes ``[..., L]`` of the reverse complement (N stays N)."""
    rc = np.where(codes < 4, 3 - codes, 4)
    return rc[..., ::-1].copy()


@torch.no_grad()
def score_ids(model, ids: np.ndarray, target: int, batch_size: int = 256, region_matrix: torch.Tensor | None = None,
              progress=None, before_batch=None) -> np.ndarray:
    """Class-``target`` log-odds of equal-length id rows ``[N, T]`` in batches (no padding needed).

    ``region_matrix``: one ``[1, R, F]`` for every row, or ``[N, R, F]``, one per row. ``before_batch(lo, hi)``
    is called before the rows ``lo:hi`` go through the model."""
    device = next(model.parameters()).device
    out = np.empty(len(ids), dtype=np.float32)
    with cls_only_last_layer(model):
        _score_batches(model, ids, target, batch_size, region_matrix, progress, device, out, before_batch)
    return out


def _score_batches(model, ids, target, batch_size, region_matrix, progress, device, out, before_batch=None) -> None:
    for a in range(0, len(ids), batch_size):
        if before_batch is not None:
            before_batch(a, min(a + batch_size, len(ids)))
        batch = torch.from_numpy(np.ascontiguousarray(ids[a:a + batch_size])).to(device)
        kwargs = {}
        if region_matrix is not None:
            region = region_matrix[a:a + batch_size] if len(region_matrix) == len(ids) and len(ids) > 1 else region_matrix
            kwargs["region_matrix"] = region.to(device).expand(len(batch), *region_matrix.shape[-2:])
        logits = model(input_ids=batch, attention_mask=torch.ones_like(batch), **kwargs).logits
        out[a:a + len(batch)] = class_score(logits, target).cpu().numpy()
        if progress is not None:
            progress(len(batch)) if callable(progress) else progress.update(len(batch))
