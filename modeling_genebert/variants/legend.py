"""What each ``genebert-score-variants`` column means, and which scores the measurements support.

One source for the ``--help`` epilog, the TSV's ``# column: meaning`` header lines, the legend and
the per-run ``support`` block of ``summary.json``, and the tables of ``docs/variants.md``:
:func:`describe` gives a column's meaning, sign and unit; :func:`support` says, for the scores of
one run, what was measured for them and whether that supports using them. The variant's own
columns are here; every score's columns and evidence come from its declaration in the score
registry (:mod:`.scores`), so a registered score is described everywhere at once.

Every built-in score's evidence comes from ``benchmarks/variant_scoring.py`` (``docs/variants.md``,
"Which score to trust"); a per-run note adds what the given model folders record about themselves
(pre-training steps and validation MGM loss, a classifier's task and test metrics).
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from dataclasses import asdict
from typing import Iterable

from .scores import MODEL_NEEDS, Column, get_scores, list_scores

# the docs page (relative to the repository root) with the measurements behind the built-in scores' evidence
EVIDENCE_PAGE = "docs/variants.md#which-score-to-trust"

# the variant's own columns, before the scores' (notes last)
VARIANT_COLUMNS = (
    Column("id", "the variant's id from the input (VCF ID, id column, FASTA record name; rowN when none)", "", "text"),
    Column("chrom", "chromosome of the variant (empty for allele-sequence inputs)", "", "text"),
    Column("pos", "1-based position of the variant (for allele sequences: of the first differing base)", "", "base"),
    Column("ref", "reference allele (- for an insertion between sequences)", "", "bases"),
    Column("alt", "alternative allele (- for a deletion between sequences)", "", "bases"),
    Column("kind", "snv, mnv (several bases substituted) or indel", "", "text"),
)
NOTES = Column("notes", "what to know about the row: padding past a chromosome end, cropping to the model window, "
                        "undefined scores", "", "text")


def all_columns() -> dict[str, Column]:
    """Every column kind (name or template) in output order: the variant's, each registered score's, notes."""
    out = {c.name: c for c in VARIANT_COLUMNS}
    for score in get_scores(list_scores()):
        out.update((c.name, c) for c in score.columns)
    out[NOTES.name] = NOTES
    return out


def _template(column: str, known: dict[str, Column]) -> str | None:
    if column in known:
        return column
    for key in known:
        if "<" in key:
            prefix = key[: key.index("<")]
            if column.startswith(prefix) and len(column) > len(prefix):
                return key
    return None


def describe(column: str) -> dict[str, str]:
    """``{"meaning", "sign", "unit"}`` of an output column; ``KeyError`` for a column without a legend entry."""
    known = all_columns()
    key = _template(column, known)
    if key is None:
        raise KeyError(f"column {column!r} has no legend entry")
    meaning, sign, unit = known[key].meaning, known[key].sign, known[key].unit
    if key != column:  # fill the template's variable part
        part = column[len(key[: key.index("<")]):]
        placeholder = key[key.index("<"): key.index(">") + 1]
        meaning, sign = meaning.replace(placeholder, part), sign.replace(placeholder, part)
    return {"meaning": meaning, "sign": sign, "unit": unit}


UNDESCRIBED = {"meaning": "no legend entry", "sign": "", "unit": ""}


def legend(columns: Iterable[str]) -> dict[str, dict[str, str]]:
    """The legend of the given output columns, in order (a column without an entry gets ``UNDESCRIBED``)."""
    out = {}
    for c in columns:
        try:
            out[c] = describe(c)
        except KeyError:
            out[c] = dict(UNDESCRIBED)
    return out


def comment_lines(columns: Iterable[str]) -> list[str]:
    """``# column: meaning (sign; unit)`` lines for the top of the TSV."""
    lines = []
    for column, d in legend(columns).items():
        extra = "; ".join(x for x in (d["sign"], d["unit"]) if x)
        lines.append(f"# {column}: {d['meaning']}" + (f" ({extra})" if extra else ""))
    return lines


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def model_note(folder) -> str:
    """What a pre-training folder records about itself (steps, validation MGM loss against a uniform guess)."""
    if not isinstance(folder, (str, os.PathLike)):
        return "model given as an object: its training is not recorded here"
    summary = _read_json(os.path.join(os.fspath(folder), "pretraining_summary.json"))
    config = _read_json(os.path.join(os.fspath(folder), "config.json"))
    k = (config.get("sequence_config") or {}).get("kmer")
    steps, mgm = summary.get("global_step"), (summary.get("after") or {}).get("mgm_loss")
    if steps is None:
        return f"{os.fspath(folder)}: no pretraining_summary.json, its training is not recorded"
    note = f"this model: {steps} pre-training steps"
    if mgm is not None:
        note += f", validation MGM {mgm:.2f} nats"
        if k:
            note += f" (uniform guess {math.log(4 ** k):.2f})"
    return note


def classifier_note(folder) -> str:
    if not isinstance(folder, (str, os.PathLike)):
        return "classifier given as an object"
    results = _read_json(os.path.join(os.fspath(folder), "results.json"))
    if not results:
        return f"{os.fspath(folder)}: no results.json"
    task = results.get("task", "?")
    splits = results.get("results") or {}
    split = "test" if "test" in splits else ("validation" if "validation" in splits else None)
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in (splits.get(split) or {}).items()
                        if k in ("roc_auc", "accuracy", "mcc") and isinstance(v, (int, float))) if split else ""
    return f"this classifier: task {task}" + (f", {split} {metrics}" if metrics else "")


def support(scores: Iterable[str], model=None, classifier=None) -> dict[str, dict[str, str]]:
    """Per score of this run: its columns, the verdict of the measurements, the numbers, how to use it, and
    what the given model folders record about themselves."""
    out = {}
    for score in get_scores(list(scores)):
        entry = {"columns": ", ".join(score.support_columns), **asdict(score.evidence), "evidence": EVIDENCE_PAGE}
        if MODEL_NEEDS.intersection(score.needs) and model is not None:
            entry["this_run"] = model_note(model)
        elif "classifier" in score.needs and classifier is not None:
            entry["this_run"] = classifier_note(classifier)
        out[score.name] = entry
    return out


def epilog(width: int = 100) -> str:
    """The ``--help`` epilog: every column and the measured support of each score (lines wrapped to ``width``)."""
    def wrap(text: str) -> str:
        return textwrap.fill(text, width=width, initial_indent="  ", subsequent_indent="      ")

    lines = ["output columns (also the TSV's '# column: meaning' lines and summary.json 'legend'):"]
    for c in all_columns().values():
        extra = "; ".join(x for x in (c.sign, c.unit) if x)
        lines.append(wrap(f"{c.name}: {c.meaning}" + (f" ({extra})" if extra else "")))
    lines.append("")
    lines.append(f"which score to trust (measured; {EVIDENCE_PAGE}; per run in summary.json 'support'):")
    for score in get_scores(list_scores()):
        lines.append(wrap(f"{score.title}: {score.evidence.verdict}: {score.evidence.use}"))
    return "\n".join(lines)


__all__ = ["EVIDENCE_PAGE", "NOTES", "VARIANT_COLUMNS", "all_columns", "comment_lines", "describe", "epilog", "legend",
           "support"]
