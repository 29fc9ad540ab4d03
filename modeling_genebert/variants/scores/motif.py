"""Score ``motif``: motif break / gain with significance, per JASPAR motif (:mod:`..motif_effects`)."""

from __future__ import annotations

from ..motif_effects import MotifEffects
from .registry import Column, Evidence, VariantScore, register_score


def motif_columns(scorer, batch) -> dict[str, object]:
    """The ``motif_*`` columns; both alleles scanned in chunks of at least 64 variants (the scan is batched)."""
    pairs, step = batch.pairs, max(scorer.batch_size, 64)
    parts = [scorer.motif_effects.calls([p.ref_seq for p in chunk], [p.alt_seq for p in chunk], [p.offset for p in chunk],
                                        [p.ref_len for p in chunk], [p.alt_len for p in chunk])
             for chunk in (pairs[lo : lo + step] for lo in range(0, max(len(pairs), 1), step))]
    return scorer.motif_effects.columns(MotifEffects.concat(parts), scorer.top_motifs, [j for _, j in scorer.report])


MOTIF = register_score(VariantScore(
    name="motif",
    title="motif_*",
    columns=(
        Column("motif_significant", "number of motifs whose best site overlapping the variant passes the motif p-value "
               "(motif_pvalue in summary.json) in the ref or the alt allele", "count, 0 = no site", "motifs"),
        Column("motif_max_abs_delta", "largest |Δ log-odds| (alt - ref, best overlapping site) over the significant "
               "motifs; 0 when none", "unsigned", "bits (log2 odds)"),
        Column("motif_max_abs_delta_log10p", "largest |Δ -log10 p| of the best overlapping site over the significant "
               "motifs; 0 when none", "unsigned", "-log10 p"),
        Column("motif_top", "up to --top_motifs significant motifs, the most significant site first: 'NAME_ID Δ bits, "
               "-log10p ref to alt, effect' joined by '; '; effect = motifbreakR's call on |Δ| (strong >= 1.01 bits, "
               "weak > 0.577 bits, else neutral); empty when no motif passes",
               "Δ negative = the site is weaker in alt (broken), positive = stronger (gained)", "text"),
        Column("motif_delta:<NAME_ID>", "Δ log-odds of that motif's best site overlapping the variant, alt - ref "
               "(reported whether or not the site is significant)", "negative = site weaker in alt (broken)",
               "bits (log2 odds)"),
        Column("motif_delta_log10p:<NAME_ID>", "alt - ref of the site's -log10 p", "negative = site less significant in alt",
               "-log10 p"),
        Column("motif_ref_log10p:<NAME_ID>", "-log10 p of that motif's best overlapping site in the ref allele (p: one "
               "window of background DNA scoring as high, exact null distribution)", "higher = stronger site", "-log10 p"),
        Column("motif_alt_log10p:<NAME_ID>", "-log10 p of that motif's best overlapping site in the alt allele",
               "higher = stronger site", "-log10 p"),
        Column("motif_effect:<NAME_ID>", "motifbreakR's call for that motif: strong (|Δ| >= 1.01 bits), weak (> 0.577 "
               "bits) or neutral; empty when neither allele's site passes the p-value", "", "text"),
    ),
    compute=motif_columns,
    needs=("motifs",),
    evidence=Evidence(
        verdict="supported for naming the site; weak for ranking effect sizes",
        measured="CTCF pairs: 182 of 396 have a CTCF site at p <= 1e-4; among them CTCF direction accuracy 0.912 "
                 "and motif_top names CTCF first for 0.709 (CTCF or CTCFL 0.857, CTCF within the top 3 0.934); MPRA "
                 "(17 elements, SNVs): motif_max_abs_delta vs |effect| mean Spearman 0.117, positive on all 17 "
                 "(0.03-0.18), against 0.004 over all motifs without the threshold",
        use="to name the binding site a variant breaks or gains; it says little about how much expression changes",
    ),
    support_columns=("motif_significant", "motif_max_abs_delta", "motif_max_abs_delta_log10p", "motif_top",
                     "motif_delta:<NAME_ID>"),
))
