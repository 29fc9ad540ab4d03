"""What each ``genebert-score-variants`` column means, and which scores the measurements support.

One source for the ``--help`` epilog, the TSV's ``# column: meaning`` header lines, the legend and
the per-run ``support`` block of ``summary.json``, and the tables of ``docs/variants.md``:
:func:`describe` gives a column's meaning, sign and unit; :func:`support` says, for the scores of
one run, what was measured for them and whether that supports using them.

Every number in :data:`EVIDENCE` comes from ``benchmarks/variant_scoring.py`` (``docs/variants.md``,
"Which score to trust"); a per-run note adds what the given model folders record about themselves
(pre-training steps and validation MGM loss, a classifier's task and test metrics).
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from typing import Iterable

# the docs page (relative to the repository root) with the measurements behind EVIDENCE
EVIDENCE_PAGE = "docs/variants.md#which-score-to-trust"

# name, or template with <...> for the part that varies -> (meaning, sign, unit)
COLUMNS: dict[str, tuple[str, str, str]] = {
    "id": ("the variant's id from the input (VCF ID, id column, FASTA record name; rowN when none)", "", "text"),
    "chrom": ("chromosome of the variant (empty for allele-sequence inputs)", "", "text"),
    "pos": ("1-based position of the variant (for allele sequences: of the first differing base)", "", "base"),
    "ref": ("reference allele (- for an insertion between sequences)", "", "bases"),
    "alt": ("alternative allele (- for a deletion between sequences)", "", "bases"),
    "kind": ("snv, mnv (several bases substituted) or indel", "", "text"),
    "llr_masked": ("zero-shot log P(alt) - log P(ref) at the variant base from the MGM head (the k tokens covering "
                   "the base masked, k-mer predictions marginalised onto the base, averaged); SNVs only, NaN otherwise",
                   "negative = the model finds the alt base less likely than the ref base", "nats"),
    "embedding_cosine_distance_<pooling>": ("1 - cosine similarity of the ref and alt sequence embeddings "
                                            "(pooling named: mean or cls)", "unsigned, 0 = no change, up to 2", "1 - cos"),
    "delta_logit:<class>": ("alt - ref logit of a fine-tuned classifier for that class (config.id2label)",
                            "positive = the alt allele looks more like <class>", "logit (natural log-odds)"),
    "delta_prob:<class>": ("alt - ref predicted probability of that class", "positive = more likely <class> with alt",
                           "probability, -1 to 1"),
    "srm_delta:<cell type>": ("cos(alt, c) - cos(ref, c): c is that cell type's mean region embedding in the atlas, "
                              "the alleles' windows through the SRM sequence projection",
                              "positive = the alt allele looks more like that cell type's accessible DNA; compare "
                              "across cell types", "cosine similarity, -2 to 2"),
    "motif_significant": ("number of motifs whose best site overlapping the variant passes the motif p-value "
                          "(motif_pvalue in summary.json) in the ref or the alt allele", "count, 0 = no site", "motifs"),
    "motif_max_abs_delta": ("largest |Δ log-odds| (alt - ref, best overlapping site) over the significant motifs; 0 "
                            "when none", "unsigned", "bits (log2 odds)"),
    "motif_max_abs_delta_log10p": ("largest |Δ -log10 p| of the best overlapping site over the significant motifs; 0 "
                                   "when none", "unsigned", "-log10 p"),
    "motif_top": ("up to --top_motifs significant motifs, the most significant site first: 'NAME_ID Δ bits, -log10p "
                  "ref to alt, effect' joined by '; '; effect = motifbreakR's call on |Δ| (strong >= 1.01 bits, weak > "
                  "0.577 bits, else neutral); empty when no motif passes",
                  "Δ negative = the site is weaker in alt (broken), positive = stronger (gained)", "text"),
    "motif_delta:<NAME_ID>": ("Δ log-odds of that motif's best site overlapping the variant, alt - ref (reported "
                              "whether or not the site is significant)", "negative = site weaker in alt (broken)",
                              "bits (log2 odds)"),
    "motif_delta_log10p:<NAME_ID>": ("alt - ref of the site's -log10 p", "negative = site less significant in alt",
                                     "-log10 p"),
    "motif_ref_log10p:<NAME_ID>": ("-log10 p of that motif's best overlapping site in the ref allele (p: one window of "
                                   "background DNA scoring as high, exact null distribution)", "higher = stronger site",
                                   "-log10 p"),
    "motif_alt_log10p:<NAME_ID>": ("-log10 p of that motif's best overlapping site in the alt allele", "higher = stronger "
                                   "site", "-log10 p"),
    "motif_effect:<NAME_ID>": ("motifbreakR's call for that motif: strong (|Δ| >= 1.01 bits), weak (> 0.577 bits) or "
                               "neutral; empty when neither allele's site passes the p-value", "", "text"),
    "notes": ("what to know about the row: padding past a chromosome end, cropping to the model window, undefined "
              "scores", "", "text"),
}

# score (as in --scores) -> columns it writes
SCORE_COLUMNS = {
    "llr": ["llr_masked"],
    "embedding": ["embedding_cosine_distance_<pooling>"],
    "supervised": ["delta_logit:<class>", "delta_prob:<class>"],
    "cell_type": ["srm_delta:<cell type>"],
    "motif": ["motif_significant", "motif_max_abs_delta", "motif_max_abs_delta_log10p", "motif_top",
              "motif_delta:<NAME_ID>"],
}

# Measured with benchmarks/variant_scoring.py on CTCF allele-specific binding (Shi et al. 2016, 396 pairs) and the
# Kircher et al. 2019 saturation MPRA (17 elements, 28,232 variants); docs/variants.md#which-score-to-trust.
EVIDENCE: dict[str, dict[str, str]] = {
    "motif": {
        "verdict": "supported for naming the site; weak for ranking effect sizes",
        "measured": "CTCF pairs: 182 of 396 have a CTCF site at p <= 1e-4; among them CTCF direction accuracy 0.912 "
                    "and motif_top names CTCF first for 0.709 (CTCF or CTCFL 0.857, CTCF within the top 3 0.934); MPRA "
                    "(17 elements, SNVs): motif_max_abs_delta vs |effect| mean Spearman 0.117, positive on all 17 "
                    "(0.03-0.18), against 0.004 over all motifs without the threshold",
        "use": "to name the binding site a variant breaks or gains; it says little about how much expression changes",
    },
    "llr": {
        "verdict": "not supported by the measurements",
        "measured": "two tiny models, both at chance: 1,000 steps, k 6 (validation MGM 7.75 nats, uniform 8.32): CTCF "
                    "direction accuracy 0.447, MPRA mean Spearman -0.013; 2,400 steps, k 4, DHS + genome windows "
                    "(MGM 5.04, uniform 5.56): 0.520 and 0.009",
        "use": "only after checking it on labelled variants; a briefly pre-trained model has not learnt which base "
               "belongs where",
    },
    "embedding": {
        "verdict": "weak, and only with a longer pre-trained model",
        "measured": "MPRA embedding shift vs |effect| mean Spearman 0.016 with the 1,000-step k-6 tiny model; 0.100, "
                    "positive on 16 of 17 elements, with the 2,400-step k-4 tiny model (6-mer LR baseline 0.075, "
                    "significant-motif |Δ| 0.120)",
        "use": "as a label-free 'how much does the model's view change'; check on labelled variants that your model "
               "ranks them before ranking by it",
    },
    "supervised": {
        "verdict": "supported only for the trait the classifier predicts",
        "measured": "a DHS-accessibility classifier (held-out AUC 0.785-0.788) is at chance on CTCF allele-specific "
                    "binding: direction accuracy 0.49-0.51",
        "use": "when the classifier was fine-tuned for the trait you care about; check it on labelled variants",
    },
    "cell_type": {
        "verdict": "exploratory",
        "measured": "CTCF direction accuracy 0.525 (K562) / 0.482 (HepG2) with the 1,000-step k-6 tiny model, 0.568 / "
                    "0.523 with the 2,400-step k-4 one; MPRA mean of 17 elements 0.039 / -0.041 and 0.029 / -0.026 "
                    "(K562 +0.10 to +0.17 on the four blood-cell elements with the first)",
        "use": "to compare cell types for one variant, not to rank variants",
    },
}

SCORE_NAMES = {"llr": "llr_masked", "embedding": "embedding_cosine_distance", "supervised": "delta_logit / delta_prob",
               "cell_type": "srm_delta", "motif": "motif_*"}


def _template(column: str) -> str | None:
    if column in COLUMNS:
        return column
    for key in COLUMNS:
        if "<" in key:
            prefix = key[: key.index("<")]
            if column.startswith(prefix) and len(column) > len(prefix):
                return key
    return None


def describe(column: str) -> dict[str, str]:
    """``{"meaning", "sign", "unit"}`` of an output column; ``KeyError`` for a column without a legend entry."""
    key = _template(column)
    if key is None:
        raise KeyError(f"column {column!r} has no legend entry")
    meaning, sign, unit = COLUMNS[key]
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
    for score in scores:
        entry = {"columns": ", ".join(SCORE_COLUMNS[score]), **EVIDENCE[score], "evidence": EVIDENCE_PAGE}
        if score in ("llr", "embedding", "cell_type") and model is not None:
            entry["this_run"] = model_note(model)
        elif score == "supervised" and classifier is not None:
            entry["this_run"] = classifier_note(classifier)
        out[score] = entry
    return out


def epilog(width: int = 100) -> str:
    """The ``--help`` epilog: every column and the measured support of each score (lines wrapped to ``width``)."""
    def wrap(text: str) -> str:
        return textwrap.fill(text, width=width, initial_indent="  ", subsequent_indent="      ")

    lines = ["output columns (also the TSV's '# column: meaning' lines and summary.json 'legend'):"]
    for key, (meaning, sign, unit) in COLUMNS.items():
        extra = "; ".join(x for x in (sign, unit) if x)
        lines.append(wrap(f"{key}: {meaning}" + (f" ({extra})" if extra else "")))
    lines.append("")
    lines.append(f"which score to trust (measured; {EVIDENCE_PAGE}; per run in summary.json 'support'):")
    for score, e in EVIDENCE.items():
        lines.append(wrap(f"{SCORE_NAMES[score]}: {e['verdict']}: {e['use']}"))
    return "\n".join(lines)


__all__ = ["COLUMNS", "EVIDENCE", "EVIDENCE_PAGE", "SCORE_COLUMNS", "comment_lines", "describe", "epilog", "legend",
           "support"]
