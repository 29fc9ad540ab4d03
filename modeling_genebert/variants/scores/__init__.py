"""Variant scores, one file each, registered in :mod:`.registry`; importing this package registers the built-ins.

Built-ins, in the order they are computed and written: ``llr`` (:mod:`.llr`), ``embedding``
(:mod:`.embedding`), ``supervised`` (:mod:`.supervised`), ``cell_type`` (:mod:`.cell_type`),
``motif`` (:mod:`.motif`). A new score is one more file with one :func:`register_score` call
(docs/variants.md#adding-a-score).
"""

from .registry import (
    MODEL_NEEDS,
    NEEDS,
    NOT_MEASURED,
    Column,
    Evidence,
    VariantBatch,
    VariantScore,
    get_score,
    get_scores,
    list_scores,
    register_score,
)
from . import llr, embedding, supervised, cell_type, motif  # noqa: F401  (the built-ins; registration order is column order)

__all__ = ["MODEL_NEEDS", "NEEDS", "NOT_MEASURED", "Column", "Evidence", "VariantBatch", "VariantScore", "get_score", "get_scores",
           "list_scores", "register_score"]
