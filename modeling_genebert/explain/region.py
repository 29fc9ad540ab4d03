"""Region side: which transcription factors (columns of the ``regions x TFs`` matrix) drive a prediction.

Integrated Gradients (captum ``IntegratedGradients``) of the class log-odds w.r.t. the region matrix,
with the sequence tokens held fixed. The baseline is the region matrix of a dinucleotide shuffle of
each sequence (``baseline="shuffle"``, motif evidence expected by chance at the same composition) or
all zeros (``baseline="zeros"``). A TF's attribution sums its column over the region rows; the table
averages over sequences and names each TF by its JASPAR name and matrix id.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from dataset_scripts.finetuning_data import dinucleotide_shuffle

from .loading import check_sequences
from .tokens import class_score


def tf_attributions(explained, sequences: Sequence[str], target=None, baseline: str = "shuffle", n_steps: int = 50,
                    batch_size: int = 32, seed: int = 0, progress: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """-> (table sorted by mean attribution: ``tf, motif_id, attribution, mean_abs_attribution, rank``;
    per-sequence attributions ``(N, TFs)``). The model must have been fine-tuned with region input."""
    from captum.attr import IntegratedGradients  # lazy: captum is the optional ``explain`` extra

    if explained.region_builder is None or not explained.model.config.classifier_region_fusion:
        raise ValueError(f"{explained.folder or 'the model'}: no region input (fine-tuned without --region_input); "
                         "TF attributions need a model that reads a region matrix")
    if baseline not in ("shuffle", "zeros"):
        raise ValueError(f"baseline must be 'shuffle' or 'zeros', got {baseline!r}")
    target = explained.class_index(target)
    sequences = check_sequences(sequences, explained.window)
    model, tok = explained.model, explained.tokenizer
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)

    def forward(region_matrix, input_ids, attention_mask):
        return class_score(model(input_ids=input_ids, attention_mask=attention_mask, region_matrix=region_matrix).logits, target)

    ig = IntegratedGradients(forward)
    per_sequence = []
    for a in tqdm(range(0, len(sequences), batch_size), desc="TF attributions", disable=not progress):
        chunk = sequences[a:a + batch_size]
        enc = tok(chunk, padding=True, return_tensors="pt")
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        region = explained.region_matrix(chunk).to(device)
        if baseline == "shuffle":
            base = explained.region_matrix([dinucleotide_shuffle(s, rng) for s in chunk]).to(device)
        else:
            base = torch.zeros_like(region)
        attr = ig.attribute(region, baselines=base, additional_forward_args=(ids, mask), n_steps=n_steps,
                            internal_batch_size=len(chunk) * n_steps)
        per_sequence.append(attr.sum(1).detach().cpu().numpy())  # sum over region rows -> [batch, TFs]
    per_sequence = np.concatenate(per_sequence).astype(np.float32)
    motif_set = explained.region_builder.motif_set
    table = pd.DataFrame({
        "tf": motif_set.names, "motif_id": motif_set.ids,
        "attribution": per_sequence.mean(0), "mean_abs_attribution": np.abs(per_sequence).mean(0),
    }).sort_values("attribution", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table, per_sequence
