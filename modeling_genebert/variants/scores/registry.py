"""The variant-score registry: one declaration per score, read by the scorer, the legend and the command.

A :class:`VariantScore` says everything the package needs to know about a score: its ``--scores`` name,
the columns it writes with their legend entries (meaning, sign, unit), what it needs (a model, a
classifier, an atlas, motifs: :data:`NEEDS`), what was measured for it, and the function that
computes its columns for a batch of variants. :class:`~..scoring.VariantScorer`, :mod:`..legend`
(``--help`` epilog, TSV header, ``summary.json`` ``legend`` and ``support``) and the ``--scores``
option all read it; none keeps its own list. Adding a score is one file with one
:func:`register_score` call (docs/variants.md#adding-a-score); another package can ship scores through
the ``genebert.variant_scores`` entry-point group (each entry a :class:`VariantScore`), which
``genebert-score-variants`` then offers like the built-ins.

At run time it imports nothing of GeneBERT's but the standard-library plugin loader, so the score files
register into it without import cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from dataset_scripts.plugins import load_plugins

# the scoring.VariantScorer that runs a score (its models, motifs and options); named, not imported, so that the
# registry stays below the scorer that reads it
VariantScorer = Any

# what a score can need -> how an error names it; the scorer says which of them a run was given
NEEDS: dict[str, str] = {
    "mlm": "a model with an MGM head (a pre-training or masked-LM folder)",
    "model": "a model (--model_name_or_path)",
    "srm": "a pre-trained model (--model_name_or_path)",  # its SRM parts are checked when the atlas is embedded
    "classifier": "a fine-tuned classifier (--classifier)",
    "atlas": "an atlas (--atlas)",
    "motifs": "motifs",
}
# needs met by the --model_name_or_path folder: the run's support note then says what that folder records
MODEL_NEEDS = frozenset({"mlm", "model", "srm"})


@dataclass(frozen=True)
class Column:
    """One output column's legend entry; ``name`` is exact or a template whose ``<...>`` part the run fills
    (``delta_logit:<class>`` from the classifier's classes, ``motif_delta:<NAME_ID>`` from --report_motifs)."""

    name: str
    meaning: str
    sign: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Evidence:
    """What was measured for a score (``--help``, stdout, ``summary.json`` ``support``)."""

    verdict: str
    measured: str
    use: str


NOT_MEASURED = Evidence("not measured", "no measurement recorded for this score",
                        "check it on labelled variants before ranking by it")


@dataclass
class VariantBatch:
    """The variants of one :meth:`~..scoring.VariantScorer.score` call, as every score's ``compute`` reads them.

    ``pairs``: the allele pairs (cropped to the models' window); ``strands``: per strand read (forward, then
    the reverse complement unless ``strand="forward"``) ``(ref_seqs, alt_seqs, snv_offsets, ref_bases,
    alt_bases)``; ``notes``: per variant, the notes a score adds to (the ``notes`` column).
    """

    pairs: Sequence[Any]
    strands: list[tuple]
    notes: list[list[str]]
    _shared: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.pairs)

    def shared(self, step: Callable[[VariantScorer, VariantBatch], Any], scorer: VariantScorer):
        """``step(scorer, batch)``, run at its first call for this batch: a pass that several scores read
        (one encoder pass per allele serves the embedding and the cell-type scores) runs once."""
        if step not in self._shared:
            self._shared[step] = step(scorer, self)
        return self._shared[step]


@dataclass(frozen=True)
class VariantScore:
    """One variant score.

    Args:
        name: the ``--scores`` value.
        title: how stdout and ``--help`` name its columns (``llr_masked``, ``motif_*``).
        columns: legend entries of the columns it writes, in output order.
        compute: ``compute(scorer, batch) -> {column: values}``, one value per variant of the
            :class:`VariantBatch`, computed batched; the scorer's loaded models are its attributes.
        needs: keys of :data:`NEEDS`; a run computes the score only when it was given all of them.
        evidence: what was measured for it (default: :data:`NOT_MEASURED`).
        support_columns: the columns ``summary.json`` ``support`` lists for it (default: every column).
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    compute: Callable[[VariantScorer, VariantBatch], Mapping[str, Any]]
    needs: tuple[str, ...] = ()
    evidence: Evidence = NOT_MEASURED
    support_columns: tuple[str, ...] | None = None

    def __post_init__(self):
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ValueError(f"variant score name must be letters, digits or '_', got {self.name!r}")
        unknown = [need for need in self.needs if need not in NEEDS]
        if unknown:
            raise ValueError(f"variant score {self.name!r}: unknown needs {unknown}; known: {list(NEEDS)}")
        if not self.columns:
            raise ValueError(f"variant score {self.name!r} declares no columns (their legend entries)")
        if self.support_columns is None:
            object.__setattr__(self, "support_columns", tuple(c.name for c in self.columns))

    def needs_text(self) -> str:
        """The error when a run lacks what the score needs: ``score 'llr' needs a model with an MGM head (...)``."""
        return f"score {self.name!r} needs " + " and ".join(NEEDS[need] for need in self.needs)


_SCORES: dict[str, VariantScore] = {}


def register_score(score: VariantScore, *, replace: bool = False) -> VariantScore:
    """Add ``score`` to the registry (``replace=True`` to redefine a name); returns it. Scores are listed,
    computed and written in registration order."""
    if score.name in _SCORES and not replace:
        raise ValueError(f"variant score {score.name!r} is already registered; pass replace=True to redefine it")
    _SCORES[score.name] = score
    return score


ENTRY_POINT_GROUP = "genebert.variant_scores"  # another package's scores (dataset_scripts.plugins)


def _load_entry_points() -> None:
    load_plugins(ENTRY_POINT_GROUP, VariantScore, lambda score: _SCORES.setdefault(score.name, score))


def list_scores() -> list[str]:
    """Registered score names, in registration order (built-ins, then entry-point scores, then the user's)."""
    _load_entry_points()
    return list(_SCORES)


def get_scores(names: Sequence[str]) -> list[VariantScore]:
    """The scores called ``names``; unknown names are one error listing them and the registered ones."""
    _load_entry_points()
    unknown = [name for name in names if name not in _SCORES]
    if unknown:
        raise ValueError(f"unknown score(s) {unknown}; choose from {tuple(_SCORES)}")
    return [_SCORES[name] for name in names]


def get_score(name: str) -> VariantScore:
    """The score called ``name`` (an unknown name is an error listing the registered ones)."""
    return get_scores([name])[0]


__all__ = ["Column", "Evidence", "MODEL_NEEDS", "NEEDS", "NOT_MEASURED", "VariantBatch", "VariantScore", "get_score",
           "get_scores", "list_scores", "register_score"]
