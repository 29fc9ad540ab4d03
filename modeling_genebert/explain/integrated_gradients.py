"""Integrated Gradients over the word (k-mer) embeddings, with captum's ``LayerIntegratedGradients``.

The baseline replaces every k-mer token by ``[PAD]`` and keeps ``[CLS]``, ``[SEP]`` and the attention
mask, so completeness reads ``sum(token attributions) ~= s(x) - s(baseline)`` for the class log-odds ``s``
(``delta`` returned per sequence is captum's convergence delta). Token attributions (summed over the
embedding dimension) are projected to bases by summing the k tokens covering each base
(see :mod:`modeling_genebert.explain.tokens`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .loading import check_sequences
from .tokens import class_score, to_bases


@dataclass
class IGResult:
    """``bases``: ``(N, L)`` (or a list when lengths differ); ``tokens``: per-sequence token attributions
    (``[CLS]`` ... ``[SEP]``); ``delta``: captum's convergence delta ``(N,)``; ``scores`` / ``baseline_scores``: ``s(x)``, ``s(baseline)``."""

    bases: object
    tokens: list
    delta: np.ndarray
    scores: np.ndarray
    baseline_scores: np.ndarray


def integrated_gradients(explained, sequences: Sequence[str], target=None, n_steps: int = 50, batch_size: int = 32,
                         internal_batch_size: int | None = None, progress: bool = False) -> IGResult:
    """Integrated Gradients of the class log-odds w.r.t. the k-mer embeddings, projected to bases."""
    from captum.attr import LayerIntegratedGradients  # lazy: captum is the optional ``explain`` extra

    target = explained.class_index(target)
    sequences = check_sequences(sequences, explained.window)
    model, tok = explained.model, explained.tokenizer
    device = next(model.parameters()).device
    embeddings = model.get_input_embeddings()

    def forward(input_ids, attention_mask, region_matrix=None):
        # captum expands the additional arguments (mask, region matrix) along the batch with the inputs
        return class_score(model(input_ids=input_ids, attention_mask=attention_mask, region_matrix=region_matrix).logits, target)

    lig = LayerIntegratedGradients(forward, embeddings)
    bases, tokens, deltas, scores, base_scores = [], [], [], [], []
    for a in tqdm(range(0, len(sequences), batch_size), desc="integrated gradients", disable=not progress):
        chunk = sequences[a:a + batch_size]
        enc = tok(chunk, padding=True, return_tensors="pt", return_offsets_mapping=True)
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        special = torch.tensor([[o[1] <= o[0] for o in row] for row in enc["offset_mapping"].tolist()], device=device)
        baseline = torch.where(special, ids, torch.full_like(ids, tok.pad_token_id))
        region = explained.region_matrix(chunk)
        region = region.to(device) if region is not None else None
        attr, delta = lig.attribute(ids, baselines=baseline, additional_forward_args=(mask, region), n_steps=n_steps,
                                    internal_batch_size=internal_batch_size or len(chunk) * n_steps,
                                    return_convergence_delta=True)
        token_attr = attr.sum(-1).detach().cpu().numpy() * mask.cpu().numpy()
        with torch.no_grad():
            scores.append(forward(ids, mask, region).cpu().numpy())
            base_scores.append(forward(baseline, mask, region).cpu().numpy())
        deltas.append(delta.detach().cpu().numpy())
        for row, (s, offsets) in enumerate(zip(chunk, enc["offset_mapping"].tolist())):
            n = int(mask[row].sum())
            tokens.append(token_attr[row, :n])
            bases.append(to_bases(token_attr[row, :n], offsets[:n], len(s)).astype(np.float32))
    same = len({len(s) for s in sequences}) == 1
    return IGResult(np.stack(bases) if same else bases, tokens, np.concatenate(deltas),
                    np.concatenate(scores), np.concatenate(base_scores))
