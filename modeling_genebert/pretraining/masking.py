"""Masked genome modelling for overlapping k-mers.

With stride-1 k-mers a lone masked token is readable from its neighbours (they share
k-1 bases), so masks are laid down as contiguous spans of ``span`` tokens (default k,
as DNABERT does). Span starts are drawn with probability ``1 - (1 - ratio)**(1/span)``
so that, away from sequence ends, the expected masked fraction equals ``ratio``.
Masked positions then follow BERT's 80/10/10 rule ([MASK] / random k-mer / unchanged).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def span_mask(
    maskable: torch.Tensor, ratio: float, span: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Boolean mask of contiguous ``span``-token runs covering ~``ratio`` of ``maskable`` positions.

    ``maskable`` is a bool tensor [batch, length] (False for special and padding tokens);
    spans are clipped at non-maskable positions, never extended over them.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")
    if span < 1:
        raise ValueError(f"mask span must be >= 1, got {span}")
    start_prob = 1.0 - (1.0 - ratio) ** (1.0 / span)
    starts = (torch.rand(maskable.shape, generator=generator) < start_prob) & maskable
    # A position is masked when a span started at one of the `span` positions up to and including it.
    covered = F.max_pool1d(
        F.pad(starts.float().unsqueeze(1), (span - 1, 0)), kernel_size=span, stride=1
    ).squeeze(1)
    mask = covered.bool() & maskable
    # Guarantee at least one masked token per row that has any maskable token, so every
    # sample contributes to the MGM loss.
    empty = ~mask.any(dim=1) & maskable.any(dim=1)
    if empty.any():
        for row in empty.nonzero().flatten().tolist():
            candidates = maskable[row].nonzero().flatten()
            pick = candidates[torch.randint(len(candidates), (1,), generator=generator)]
            mask[row, pick : pick + span] = maskable[row, pick : pick + span]
    return mask


def apply_mgm_masking(
    input_ids: torch.Tensor,
    maskable: torch.Tensor,
    *,
    ratio: float,
    span: int,
    mask_token_id: int,
    first_kmer_id: int,
    vocab_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (masked input_ids, labels) with labels = -100 outside the masked spans."""
    mask = span_mask(maskable, ratio, span, generator)
    labels = torch.where(mask, input_ids, torch.full_like(input_ids, -100))
    masked_ids = input_ids.clone()
    draw = torch.rand(input_ids.shape, generator=generator)
    to_mask_token = mask & (draw < 0.8)
    to_random = mask & (draw >= 0.8) & (draw < 0.9)
    masked_ids[to_mask_token] = mask_token_id
    random_ids = torch.randint(first_kmer_id, vocab_size, input_ids.shape, generator=generator)
    masked_ids[to_random] = random_ids[to_random]
    return masked_ids, labels
