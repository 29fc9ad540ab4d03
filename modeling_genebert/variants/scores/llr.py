"""Score ``llr``: the zero-shot masked log-likelihood ratio at the variant base (:mod:`..marginals`)."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch

from ..marginals import log_likelihood_ratio, masked_log_marginals
from .registry import Column, Evidence, VariantScore, register_score


def llr_columns(scorer, batch) -> dict[str, np.ndarray]:
    """``llr_masked`` per SNV, averaged over the strands; NaN with a note for indels and multi-base substitutions."""
    pairs, strands, n = batch.pairs, batch.strands, len(batch)
    snv = [i for i, p in enumerate(pairs) if p.is_snv and p.ref_seq[p.offset] in "ACGT" and p.alt_seq[p.offset] in "ACGT"]
    llr = np.full((len(strands), n), np.nan)
    for s, (ref_seqs, _, offsets, ref_b, alt_b) in enumerate(strands):
        if snv and scorer.precision == "auto":
            # measured (benchmarks/bf16_accuracy.py): bf16 LLRs rank Kircher MPRA variants with Spearman
            # 0.987 against fp32, below the 0.99 asked; "auto" keeps them in fp32, "bf16" forces it
            llr_precision = torch.autocast(torch.device(scorer.device).type, enabled=False)
        else:
            llr_precision = contextlib.nullcontext()
        if snv:
            # one masked pass per (window, position): the alternatives at one site share it
            sites: dict[tuple[str, int], int] = {}
            site_of = [sites.setdefault((ref_seqs[i], offsets[i]), len(sites)) for i in snv]
            with llr_precision:
                lm = masked_log_marginals(scorer.mlm, scorer.tokenizer, [seq for seq, _ in sites], [at for _, at in sites],
                                          batch_size=scorer.batch_size)
            llr[s, snv] = log_likelihood_ratio(lm[site_of], [ref_b[i] for i in snv], [alt_b[i] for i in snv])
    for i, p in enumerate(pairs):
        if not p.is_snv:
            batch.notes[i].append("llr_masked undefined for indels / multi-base substitutions (NaN)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (indels) stay NaN
        return {"llr_masked": np.nanmean(llr, axis=0)}


LLR = register_score(VariantScore(
    name="llr",
    title="llr_masked",
    columns=(Column("llr_masked",
                    "zero-shot log P(alt) - log P(ref) at the variant base from the MGM head (the k tokens covering the "
                    "base masked, k-mer predictions marginalised onto the base, averaged); SNVs only, NaN otherwise",
                    "negative = the model finds the alt base less likely than the ref base", "nats"),),
    compute=llr_columns,
    needs=("mlm",),
    evidence=Evidence(
        verdict="not supported by the measurements",
        measured="two tiny models, both at chance: 1,000 steps, k 6 (validation MGM 7.75 nats, uniform 8.32): CTCF "
                 "direction accuracy 0.447, MPRA mean Spearman -0.013; 2,400 steps, k 4, DHS + genome windows "
                 "(MGM 5.04, uniform 5.56): 0.520 and 0.009; the release checkpoints/genebert-tiny (k 6, MGM 7.45): "
                 "0.515 and 0.008",
        use="only after checking it on labelled variants; a briefly pre-trained model has not learnt which base "
            "belongs where",
    ),
))
