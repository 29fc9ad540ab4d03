"""Attention maps per layer and head, projected from tokens to bases.

SDPA (the default) cannot return attention weights, so the call switches the model to ``eager``
attention and restores the previous implementation afterwards, also when the forward pass fails.
A base-by-base map is ``A_bases = P A P^T`` with ``P`` the base x token coverage matrix
(:func:`~modeling_genebert.explain.tokens.projection_matrix`): the attention between two bases is the
sum over the token pairs covering them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import transformers

from .loading import check_sequences
from .tokens import projection_matrix


@contextlib.contextmanager
def eager_attention(model):
    """Run the block with ``eager`` attention; restore the model's implementation (e.g. ``sdpa``) on exit."""
    previous = model.config._attn_implementation
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the region sub-config has no attention layers to switch
    try:
        if previous != "eager":
            model.set_attn_implementation("eager")
        yield model
    finally:
        if model.config._attn_implementation != previous:
            model.set_attn_implementation(previous)
        transformers.logging.set_verbosity(verbosity)


@dataclass
class AttentionMaps:
    """``tokens``: ``(layers, heads, T, T)`` token attention; ``bases``: ``(layers, heads, L, L)`` projected;
    ``cls_to_bases``: ``(layers, heads, L)`` attention of [CLS] to each base (summed over covering tokens)."""

    tokens: np.ndarray
    bases: np.ndarray
    cls_to_bases: np.ndarray


@torch.no_grad()
def attention_maps(explained, sequence: str) -> AttentionMaps:
    """Attention of every layer and head for one sequence, in tokens and projected to bases."""
    (sequence,) = check_sequences([sequence], explained.window)
    model, tok = explained.model, explained.tokenizer
    device = next(model.parameters()).device
    enc = tok([sequence], return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")[0].tolist()
    region = explained.region_matrix([sequence])
    with eager_attention(model):
        out = model(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
                    region_matrix=region.to(device) if region is not None else None, output_attentions=True)
    att = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()  # [layers, heads, T, T]
    P = projection_matrix(offsets, len(sequence))
    bases = np.einsum("it,lhts,js->lhij", P, att, P, optimize=True)
    cls = np.einsum("it,lht->lhi", P, att[:, :, 0, :], optimize=True)
    return AttentionMaps(att, bases.astype(np.float32), cls.astype(np.float32))
