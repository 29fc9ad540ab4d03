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


class KmerIds:
    """Vectorised k-mer token ids for many variants of one sequence (ISM), checked against the tokenizer.

    ``ids(codes)`` maps base codes ``[..., L]`` to ``[..., T]`` input ids with [CLS] / [SEP] added, using
    the k-mer starts of the tokenizer's own ``offset_mapping`` for the reference; a k-mer holding N is [UNK].
    """

    def __init__(self, tokenizer, reference: str):
        enc = tokenizer(reference, return_offsets_mapping=True)
        self.reference_ids = np.asarray(enc["input_ids"], dtype=np.int64)
        offsets = enc["offset_mapping"]
        self.offsets = [tuple(o) for o in offsets]
        content = [t for t, (a, b) in enumerate(self.offsets) if b > a]
        self.content = np.asarray(content)
        self.k = int(tokenizer.kmer)
        starts = np.asarray([self.offsets[t][0] for t in content])
        self.gather = starts[:, None] + np.arange(self.k)[None, :]  # [T_content, k]
        vocab = tokenizer.get_vocab()
        self.unk = tokenizer.unk_token_id
        n = 4 ** self.k
        lut = np.full(n, self.unk, dtype=np.int64)
        for i, kmer in enumerate(product(BASES, repeat=self.k)):
            lut[i] = vocab.get("".join(kmer), self.unk)
        self.lut = lut
        self.powers = 4 ** np.arange(self.k - 1, -1, -1)
        check = self.ids(encode_codes(reference)[None])[0]
        if not np.array_equal(check, self.reference_ids):
            raise ValueError("k-mer ids computed for ISM differ from the tokenizer's; unsupported tokenizer settings")

    def ids(self, codes: np.ndarray) -> np.ndarray:
        windows = codes[..., self.gather]  # [..., T_content, k]
        has_n = (windows > 3).any(-1)
        kmer = (np.minimum(windows, 3) * self.powers).sum(-1)
        ids = np.where(has_n, self.unk, self.lut[kmer])
        out = np.broadcast_to(self.reference_ids, codes.shape[:-1] + self.reference_ids.shape).copy()
        out[..., self.content] = ids
        return out


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Codes ``[..., L]`` of the reverse complement (N stays N)."""
    rc = np.where(codes < 4, 3 - codes, 4)
    return rc[..., ::-1].copy()


@torch.no_grad()
def score_ids(model, ids: np.ndarray, target: int, batch_size: int = 256, region_matrix: torch.Tensor | None = None,
              progress=None) -> np.ndarray:
    """Class-``target`` log-odds of equal-length id rows ``[N, T]`` in batches (no padding needed)."""
    device = next(model.parameters()).device
    out = np.empty(len(ids), dtype=np.float32)
    for a in range(0, len(ids), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(ids[a:a + batch_size])).to(device)
        kwargs = {}
        if region_matrix is not None:
            kwargs["region_matrix"] = region_matrix.to(device).expand(len(batch), *region_matrix.shape[-2:])
        logits = model(input_ids=batch, attention_mask=torch.ones_like(batch), **kwargs).logits
        out[a:a + len(batch)] = class_score(logits, target).cpu().numpy()
        if progress is not None:
            progress.update(len(batch))
    return out
