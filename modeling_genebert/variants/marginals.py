"""Per-base masked marginals for overlapping k-mer models: what is at position i, and how likely is each base?

With overlapping k-mers (stride 1) base ``i`` of a sequence is covered by up to ``k``
tokens. Masking only one of them leaks the base through its neighbours, so the **whole
span** of covering tokens is masked at once. The MGM head then predicts, for each masked
token ``j``, a distribution over the ``4**k`` k-mers (special tokens excluded,
renormalised); summing it over the k-mers whose base at offset ``i - start_j`` is ``b``
gives that token's marginal ``m_j(b)``.

**Combination:** the ``k`` marginals are combined as a normalised product of experts,
``p(b) ∝ exp(mean_j log m_j(b))`` (the geometric mean of the covering tokens' marginals,
renormalised over A, C, G, T). The log-likelihood ratio of two bases is then the mean of
the per-token log ratios, ``log p(alt) - log p(ref) = mean_j [log m_j(alt) - log m_j(ref)]``,
which does not depend on the normalisation.

Bases near the ends are covered by fewer than ``k`` tokens (only those are used). A base
whose covering tokens would all fall outside the model's window gets NaN.
"""

from __future__ import annotations

import functools
import warnings
from typing import Sequence

import numpy as np
import torch

BASE_ORDER = "ACGT"


def kmer_base_onehot(tokenizer) -> torch.Tensor:
    """``[k, vocab, 4]`` float tensor: 1 where vocabulary entry ``v`` has base ``b`` (ACGT order) at offset ``o``.

    Special tokens and added tokens have no base (all zeros), so they drop out of the marginals.
    Built once per vocabulary (cached): scoring one variant at a time must not rebuild it.
    """
    vocab = tokenizer.get_vocab()
    return _onehot_table(tokenizer.kmer, tuple(sorted(vocab, key=vocab.get)), tuple(sorted(vocab.values())))


@functools.lru_cache(maxsize=8)
def _onehot_table(k: int, tokens: tuple[str, ...], ids: tuple[int, ...]) -> torch.Tensor:
    table = np.zeros((k, ids[-1] + 1, 4), dtype=np.float32)
    index = {b: i for i, b in enumerate(BASE_ORDER)}
    for token, i in zip(tokens, ids):
        if len(token) == k and set(token) <= set(BASE_ORDER):
            table[np.arange(k), i, [index[base] for base in token]] = 1.0
    return torch.from_numpy(table)


def _mask_logits_model(model):
    """A callable ``(ids, mask, rows, columns) -> MGM logits at [rows, columns]`` for a GeneBertForMaskedLM
    or a GeneBertForPreTraining: the k-mer decoder (vocabulary-sized, the largest matmul of a small
    model) runs on the k masked positions per row only, not on every token."""
    if getattr(model.config, "mgm_weight", 1.0) == 0 and model.__class__.__name__ == "GeneBertForPreTraining":
        raise ValueError("this model has no MGM head (config.mgm_weight is 0): the masked log-likelihood ratio needs one")
    head = model.cls.predictions

    def logits(input_ids, attention_mask, rows, columns):
        hidden = model.genebert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return head(hidden[rows, columns])

    return logits


@torch.no_grad()
def masked_log_marginals(
    model, tokenizer, sequences: Sequence[str], positions: Sequence[int], batch_size: int = 64, max_length: int | None = None
) -> np.ndarray:
    """``float64 [n, k, 4]`` log-marginals per covering token (NaN rows where a token is missing).

    Row ``r`` masks every token covering base ``positions[r]`` of ``sequences[r]`` and returns,
    for each covering token (ordered by its offset of that base, 0..k-1), ``log m_j(b)``.
    """
    if tokenizer.stride != 1:
        raise ValueError(f"masked marginals need overlapping k-mers (stride 1); this tokenizer has stride {tokenizer.stride}")
    if len(sequences) != len(positions):
        raise ValueError(f"got {len(sequences)} sequences but {len(positions)} positions")
    k = tokenizer.kmer
    cfg = model.config.sequence_config if hasattr(model.config, "sequence_config") else model.config
    limit = cfg.max_position_embeddings
    max_length = min(max_length or limit, limit)
    onehot = kmer_base_onehot(tokenizer)
    logits_of = _mask_logits_model(model)
    device = next(model.parameters()).device
    out = np.full((len(sequences), k, 4), np.nan)
    offsets = torch.arange(k)
    for lo in range(0, len(sequences), batch_size):
        seqs = [s for s in sequences[lo : lo + batch_size]]
        pos = torch.as_tensor(list(positions[lo : lo + batch_size]), dtype=torch.long)
        lengths = torch.as_tensor([len(s) for s in seqs])
        if ((pos < 0) | (pos >= lengths)).any():
            bad = int(((pos < 0) | (pos >= lengths)).nonzero()[0, 0])
            raise ValueError(f"position {int(pos[bad])} is outside sequence {lo + bad} ({int(lengths[bad])} bases)")
        enc = tokenizer(seqs, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        ids, attention = enc["input_ids"].clone(), enc["attention_mask"]
        n_tokens = attention.sum(1) - 2  # k-mer tokens kept per row ([CLS] ... [SEP])
        # token j covers bases j .. j+k-1; the covering tokens of base p are j = p - o, o = 0..k-1
        token = pos[:, None] - offsets[None, :]  # [b, k]
        valid = (token >= 0) & (token < n_tokens[:, None])
        column = (token + 1).clamp(min=0, max=ids.shape[1] - 1)  # +1: [CLS]
        rows = torch.arange(len(seqs))[:, None].expand_as(column)
        ids[rows[valid], column[valid]] = tokenizer.mask_token_id
        picked = logits_of(ids.to(device), attention.to(device), rows.to(device), column.to(device)).float().cpu()  # [b, k, vocab]
        kmer = onehot.sum(-1).sum(0) > 0  # k-mer tokens only (specials excluded, then renormalised)
        picked = picked.masked_fill(~kmer, float("-inf"))
        probs = picked.softmax(-1)
        marg = torch.einsum("bkv,kvc->bkc", probs, onehot)  # offset o of token p-o is o
        log_marg = marg.clamp(min=1e-30).log().double()
        log_marg[~valid] = float("nan")
        out[lo : lo + len(seqs)] = log_marg.numpy()
    return out


def combine_log_marginals(log_marginals: np.ndarray) -> np.ndarray:
    """``[n, k, 4]`` per-token log-marginals -> ``[n, 4]`` probabilities (normalised product of experts)."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isnan(log_marginals), np.nan, log_marginals), axis=1) if log_marginals.size else np.zeros((0, 4))
    mean = mean - np.nanmax(mean, axis=1, keepdims=True) if len(mean) else mean
    p = np.exp(mean)
    return p / p.sum(axis=1, keepdims=True)


def masked_marginals(
    model, tokenizer, sequences: Sequence[str], positions: Sequence[int], batch_size: int = 64, max_length: int | None = None
) -> np.ndarray:
    """``[n, 4]`` probabilities of A, C, G, T at ``positions[r]`` (0-based) of ``sequences[r]``.

    The span of k tokens covering the base is masked; each covering token's k-mer distribution
    is marginalised onto the base and the marginals are combined as a normalised product of
    experts (see the module docstring). Rows sum to 1; a row with no covering token is NaN.
    ``model``: a ``GeneBertForMaskedLM`` or ``GeneBertForPreTraining`` (with its MGM head).
    """
    log_marginals = masked_log_marginals(model, tokenizer, sequences, positions, batch_size, max_length)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        return combine_log_marginals(log_marginals)


def log_likelihood_ratio(log_marginals: np.ndarray, ref_base: Sequence[str], alt_base: Sequence[str]) -> np.ndarray:
    """``mean_j [log m_j(alt) - log m_j(ref)]`` per row (NaN where a base is not A/C/G/T or nothing covers it)."""
    index = {b: i for i, b in enumerate(BASE_ORDER)}
    out = np.full(len(log_marginals), np.nan)
    for r, (a, b) in enumerate(zip(ref_base, alt_base)):
        if a in index and b in index:
            diff = log_marginals[r, :, index[b]] - log_marginals[r, :, index[a]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[r] = np.nanmean(diff) if np.isfinite(diff).any() else np.nan
    return out


def fill_base(model, tokenizer, sequence: str, position: int) -> list[dict]:
    """Base-level fill-mask: the four full-length sequences with base ``position`` replaced, best first."""
    p = masked_marginals(model, tokenizer, [sequence], [position])[0]
    order = np.argsort(-p)
    return [
        {"score": float(p[i]), "base": BASE_ORDER[i], "sequence": sequence[:position] + BASE_ORDER[i] + sequence[position + 1 :]}
        for i in order
    ]


__all__ = ["BASE_ORDER", "combine_log_marginals", "fill_base", "kmer_base_onehot", "log_likelihood_ratio",
           "masked_log_marginals", "masked_marginals"]
