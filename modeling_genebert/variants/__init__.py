"""Variant-effect scoring: zero-shot masked LLR, embedding shift, supervised Δ, motif break / gain.

One concern per module:

* :mod:`.marginals` -- per-base masked marginals for overlapping k-mers (``masked_marginals``),
  the masked log-likelihood ratio, base-level ``fill_base``.
* :mod:`.embedding` -- embedding shift (cosine distance, pooling named).
* :mod:`.cell_types` -- per-cell-type score from sequence-region matching (an atlas's region-embedding centroids).
* :mod:`.supervised` -- Δ logit / Δ probability per class of a fine-tuned classifier folder.
* :mod:`.motif_effects` -- Δ max log-odds per JASPAR motif over sites overlapping the variant.
* :mod:`.scores` -- the score registry: one file per score (name, columns and their legend, needs, evidence,
  compute function); the scorer, the legend and the command read it.
* :mod:`.scoring` -- :class:`VariantScorer` and :func:`score_variant_records` (variants in memory -> a DataFrame).
* :mod:`.output` -- resumable chunked Parquet/TSV results.
* :mod:`.api` -- :func:`score_variants` (:class:`ScoreVariantsOptions` -> :class:`ScoreVariantsResult`): input files
  -> result files, the whole run.
* :mod:`.cli` -- ``genebert-score-variants`` (parse, call :func:`score_variants`, print).

Inputs (VCF, tables, paired FASTA) are read on the data side: :mod:`dataset_scripts.variants`.
"""

from .cell_types import CellTypeMatching, read_atlas
from .marginals import fill_base, log_likelihood_ratio, masked_log_marginals, masked_marginals
from .motif_effects import MotifEffects
from .scoring import VariantScorer, score_variant_records
from .api import ScoreVariantsOptions, ScoreVariantsResult, score_variants

__all__ = ["CellTypeMatching", "MotifEffects", "ScoreVariantsOptions", "ScoreVariantsResult", "VariantScorer", "fill_base",
           "log_likelihood_ratio", "masked_log_marginals", "masked_marginals", "read_atlas", "score_variant_records",
           "score_variants"]
