"""Score ``supervised``: Δ logit and Δ probability per class of a fine-tuned classifier (:mod:`..supervised`)."""

from __future__ import annotations

import torch

from .registry import Column, Evidence, VariantScore, register_score


def supervised_columns(scorer, batch) -> dict:
    """``delta_logit:<class>`` and ``delta_prob:<class>`` of the strand-averaged logits (alt - ref)."""
    model, n, size = scorer.supervised, len(batch), scorer.batch_size

    def logits(sequences) -> torch.Tensor:
        if not n:
            return torch.zeros(0, len(model.labels))
        return torch.cat([model.logits(sequences[lo : lo + size]) for lo in range(0, n, size)])

    ref_logits = alt_logits = 0
    strands = len(batch.strands)
    for ref_seqs, alt_seqs, *_ in batch.strands:
        ref_logits, alt_logits = ref_logits + logits(ref_seqs) / strands, alt_logits + logits(alt_seqs) / strands
    return model.columns(ref_logits, alt_logits)


SUPERVISED = register_score(VariantScore(
    name="supervised",
    title="delta_logit / delta_prob",
    columns=(
        Column("delta_logit:<class>", "alt - ref logit of a fine-tuned classifier for that class (config.id2label)",
               "positive = the alt allele looks more like <class>", "logit (natural log-odds)"),
        Column("delta_prob:<class>", "alt - ref predicted probability of that class",
               "positive = more likely <class> with alt", "probability, -1 to 1"),
    ),
    compute=supervised_columns,
    needs=("classifier",),
    evidence=Evidence(
        verdict="supported only for the trait the classifier predicts",
        measured="a DHS-accessibility classifier (held-out AUC 0.785-0.788) is at chance on CTCF allele-specific "
                 "binding: direction accuracy 0.49-0.51",
        use="when the classifier was fine-tuned for the trait you care about; check it on labelled variants",
    ),
))
