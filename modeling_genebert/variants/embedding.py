"""Embedding shift: cosine distance between the ref and alt allele embeddings of the sequence encoder.

Poolings: ``mean`` (masked mean of the last hidden states over the k-mer tokens, the
default: every base moves it) or ``cls`` (the [CLS] hidden state). The output column
names the pooling, e.g. ``embedding_cosine_distance_mean``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from modeling_genebert.modeling_genebert import masked_mean

POOLINGS = ("mean", "cls")


@torch.no_grad()
def encode(encoder, tokenizer, sequences: Sequence[str], pooling: str = "mean", max_length: int | None = None):
    """One forward pass: ``([n, hidden] pooled embedding, [n, projection] SRM sequence_embeds or None)``.

    The second is the L2-normalised SRM projection (pooled as the model was pre-trained), present
    when the encoder has its SRM parts; the cell-type score reads it from the same pass.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    limit = encoder.config.sequence_config.max_position_embeddings
    device = next(encoder.parameters()).device
    batch = tokenizer(list(sequences), padding=True, truncation=True, max_length=min(max_length or limit, limit),
                      return_tensors="pt", return_special_tokens_mask=True)
    special = batch.pop("special_tokens_mask").bool()
    batch = {key: value.to(device) for key, value in batch.items()}
    out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    hidden = out.last_hidden_state
    if pooling == "cls":
        pooled = hidden[:, 0]
    else:
        pooled = masked_mean(hidden, (~special.to(device)) & batch["attention_mask"].bool())
    srm = getattr(out, "sequence_embeds", None)
    return pooled.float().cpu(), (srm.float().cpu() if srm is not None else None)


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """``1 - cos(a_i, b_i)`` per row."""
    return (1.0 - torch.nn.functional.cosine_similarity(a, b, dim=-1)).double().numpy()


__all__ = ["POOLINGS", "cosine_distance", "encode"]
