"""Score ``cell_type``: per cell type of an atlas, the change in SRM similarity to its regions (:mod:`..cell_types`)."""

from __future__ import annotations

import numpy as np

from .embedding import allele_embeddings
from .registry import Column, Evidence, VariantScore, register_score


def cell_type_columns(scorer, batch) -> dict[str, np.ndarray]:
    """``srm_delta:<cell type>``, averaged over the strands, from the encoder pass the embedding score shares."""
    n, shift = len(batch), {}
    for strand in batch.shared(allele_embeddings, scorer):
        for lo, _, ref_srm, _, alt_srm in strand:
            for name, values in scorer.cell_type.columns(ref_srm, alt_srm).items():
                shift.setdefault(name, np.zeros(n))[lo : lo + len(values)] += values / len(batch.strands)
    return shift or {f"srm_delta:{name}": np.zeros(0) for name in scorer.cell_type.cell_types}


CELL_TYPE = register_score(VariantScore(
    name="cell_type",
    title="srm_delta",
    columns=(Column("srm_delta:<cell type>",
                    "cos(alt, c) - cos(ref, c): c is that cell type's mean region embedding in the atlas, the alleles' "
                    "windows through the SRM sequence projection",
                    "positive = the alt allele looks more like that cell type's accessible DNA; compare across cell "
                    "types", "cosine similarity, -2 to 2"),),
    compute=cell_type_columns,
    needs=("srm", "atlas"),
    evidence=Evidence(
        verdict="exploratory",
        measured="CTCF direction accuracy 0.525 (K562) / 0.482 (HepG2) with the 1,000-step k-6 tiny model, 0.568 / "
                 "0.523 with the 2,400-step k-4 one; MPRA mean of 17 elements 0.039 / -0.041 and 0.029 / -0.026 "
                 "(K562 +0.10 to +0.17 on the four blood-cell elements with the first); the release "
                 "checkpoints/genebert-tiny: 0.520 / 0.462 and 0.025 / -0.037 (K562 +0.04 to +0.16 on GP1BA, HBB and PKLR, -0.02 on HBG1)",
        use="to compare cell types for one variant, not to rank variants",
    ),
))
