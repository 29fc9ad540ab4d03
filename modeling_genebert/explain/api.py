"""``explain(options) -> ExplainResult``: a whole ``genebert-explain`` run from Python.

A fine-tuned classifier folder and a sequence file in; a report folder out (``--output_dir``):
``report.html`` / ``report.md``, ``sequences.tsv``, the attribution arrays, motifs, PNGs and
``summary.json`` (:meth:`ExplainResult.to_dict`). The run is a row of named steps: read and select
the sequences, score them, ISM, Integrated Gradients, their agreement, logos, attention, motif
discovery, region-side TF attributions, the report. :class:`ExplainOptions` is also what the command
line parses (:mod:`.cli`), so both share every option's name, default and help.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dataset_scripts.cli import UsageError, fspath_options
from dataset_scripts.output_folders import OutputFolder
from dataset_scripts.sequence_input import read_sequences
from dataset_scripts.sequences import one_hot
from modeling_genebert.precision import (
    INFERENCE_DEFAULT,
    INFERENCE_PRECISION_HELP,
    PRECISIONS,
    inference_precision,
    resolved_precision,
)

from . import plots
from .agreement import top_window_overlap
from .attention import attention_maps
from .integrated_gradients import ig_path_points, integrated_gradients, seconds_per_path_point
from .ism import ism_contributions, ism_windows, saturation_mutagenesis, seconds_per_window
from .loading import ExplainedModel, check_sequences, load_classifier
from .motifs import MATCH_Q, discover_motifs, jaspar_ppms, motif_table
from .quality import quality, read_labels
from .region import tf_attributions
from .report import legend_section, report_title, write_report
from .tokens import class_score

METHODS = ("ism", "ig")
COMMAND = "genebert-explain"


@dataclass(kw_only=True)
class ExplainOptions:
    """Which model, which sequences, which attributions and motif settings, and where the report goes.

    Path options take a ``str`` or a ``pathlib.Path``."""

    model_name_or_path: str = field(metadata={"help": "a genebert-finetune output folder (sequence classifier)"})
    input: str = field(metadata={"help": "sequences: FASTA (.fa/.fasta, gz ok), CSV/TSV with a 'sequence' column, or one per line"})
    output_dir: str = field(metadata={"help": "folder for the arrays, tables, PNGs and report.html"})
    class_name: str | None = field(default=None, metadata={"help": "class to explain, by name or id (default: the last class, e.g. 'bound')"})
    methods: str = field(default="ism,ig", metadata={"help": "comma-separated attribution methods: ism (saturation mutagenesis), ig (Integrated Gradients)"})
    strands: str = field(default="both", metadata={"choices": ("both", "forward"), "help": "ISM and IG: mean of both strands, or the forward strand only"})
    ig_steps: int = field(default=50, metadata={"help": "Integrated Gradients interpolation steps"})
    ig_path: str = field(default="bases", metadata={"choices": ("bases", "tokens"), "help": "IG per base on a one-hot path (signed, local), or over k-mer token embeddings summed to bases (the older, smeared form)"})
    label_column: str = field(default="label", metadata={"help": "column of a CSV/TSV input with each sequence's true class (name or id); when present the report shows the model's quality on these sequences"})
    attribute_label: str | None = field(default=None, metadata={"help": "attribute only the sequences whose true label is this class (e.g. bound); quality is still measured on all"})
    batch_size: int = field(default=64, metadata={"help": "windows per forward pass: ISM mutants, IG path points (bases path), sequences / 8 per captum call (tokens path); 64 was fastest on one core (benchmarks/explain_speed.py)"})
    precision: str = field(default=INFERENCE_DEFAULT, metadata={"choices": PRECISIONS, "help": INFERENCE_PRECISION_HELP + " (predictions and ISM; Integrated Gradients always run in fp32)"})
    max_sequences: int = field(default=0, metadata={"help": "explain only the first N sequences (0: all)"})
    sequence_column: str = field(default="sequence", metadata={"help": "sequence column of a CSV/TSV input"})
    logos: int = field(default=5, metadata={"help": "per-sequence attribution logos to draw"})
    motifs: str = field(default="ism", metadata={"choices": ("ism", "ig", "none"), "help": "attributions TF-MoDISco clusters into motifs (both give hypothetical contributions), or none"})
    motif_input: str = field(default="hypothetical", metadata={"choices": ("hypothetical", "contributions"), "help": "what TF-MoDISco's hypothetical track gets: the centred per-base deltas (hypothetical), or only the observed bases' contributions"})
    seqlet_fdr: float = field(default=0.05, metadata={"help": "TF-MoDISco's target FDR for calling seqlets (0.2 is modisco-lite's own default; higher finds more in few sequences)"})
    sliding_window_size: int = field(default=21, metadata={"help": "TF-MoDISco's seqlet-calling window in bases (modisco-lite's default 21)"})
    flank_size: int = field(default=10, metadata={"help": "bases added on each side of a seqlet (modisco-lite's default 10)"})
    trim_threshold: float = field(default=0.3, metadata={"help": "trim each motif's flanks where its contribution falls below this share of its peak before Tomtom (lower keeps flanks that tell family members apart)"})
    top_matches: int = field(default=5, metadata={"help": "JASPAR matches listed per discovered motif, best Tomtom p-value first (default 5)"})
    min_cluster_size: int = field(default=10, metadata={"help": "fewest seqlets a motif may have (TF-MoDISco's final_min_cluster_size; metaclusters need twice that)"})
    jaspar: str | None = field(default=None, metadata={"help": "motif set Tomtom names motifs from (default JASPAR 2018 CORE vertebrates, shipped)"})
    attention: bool = field(default=False, metadata={"help": "also write attention maps (per layer and head, in bases) of the first sequence"})
    region_baseline: str = field(default="shuffle", metadata={"choices": ("shuffle", "zeros"), "help": "IG baseline of the region matrix (region-input models)"})
    seed: int = field(default=0, metadata={"help": "seed (dinucleotide shuffles of the region baseline)"})
    no_progress: bool = field(default=False, metadata={"help": "hide progress bars"})
    overwrite: bool = field(default=False, metadata={"help": "write into a non-empty --output_dir (without it such a folder is refused)"})

    def __post_init__(self) -> None:
        fspath_options(self)  # path options may be given as pathlib.Path


@dataclass
class ExplainResult:
    """What a run wrote and measured; :meth:`to_dict` is ``summary.json`` (the parts a run did not make are left out)."""

    output_dir: Path  # not in the JSON
    title: str
    model: str
    class_name: str  # "class" in the JSON
    input: str
    sequences: int  # how many were explained
    files: dict[str, str]  # array / table names in output_dir, by what they hold
    report: Path  # report.html
    precision: str = "fp32"  # what predictions and ISM ran in ("fp32" / "bf16"); IG always fp32
    quality: dict[str, Any] | None = None  # with true labels: accuracy, ROC-AUC, MCC, ... on every labelled sequence
    ig_path: str | None = None
    ig_max_abs_convergence_delta: float | None = None
    ig_ism_agreement: dict[str, float] | None = None
    seqlet_yield: dict[str, int] | None = None
    motifs: list[dict[str, Any]] | None = None
    top_tfs: list[dict[str, Any]] | None = None  # region-input models
    plan: dict[str, int] | None = None  # sequences, ISM windows and IG path points, as the plan line said

    def to_dict(self) -> dict[str, Any]:
        optional = ("plan", "quality", "ig_path", "ig_max_abs_convergence_delta", "ig_ism_agreement", "seqlet_yield", "motifs", "top_tfs")
        summary = {"title": self.title, "model": self.model, "class": self.class_name, "input": self.input,
                   "sequences": self.sequences, "precision": self.precision, "files": self.files,
                   **{name: getattr(self, name) for name in optional if getattr(self, name) is not None},
                   "report": str(self.report)}
        return json.loads(json.dumps(summary, default=float))  # numpy numbers as the file has them


def check_options(options: ExplainOptions) -> list[str]:
    """The attribution methods asked for; impossible combinations and numbers fail before anything is read."""
    methods = [m.strip() for m in options.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise UsageError(f"--methods {options.methods!r}: choose from {', '.join(METHODS)}")
    if options.motifs != "none" and options.motifs not in methods:
        raise UsageError(f"--motifs {options.motifs} needs that method in --methods {options.methods!r}")
    for name in ("sliding_window_size", "flank_size", "min_cluster_size", "top_matches"):
        if getattr(options, name) < 1:
            raise UsageError(f"--{name} must be at least 1, got {getattr(options, name)}")
    return methods


@dataclass
class Selection:
    """The input's sequences: every one the model scores (all, when there are true labels for the quality)
    and the ones explained (``--attribute_label``, ``--max_sequences``)."""

    scored_sequences: list[str]
    scored_labels: list[int] | None  # true class ids of scored_sequences
    names: list[str]  # of the explained sequences
    sequences: list[str]
    rows: list[int]  # where each explained sequence is in scored_sequences
    labels: list[int] | None  # true class ids of the explained sequences


def select_sequences(options: ExplainOptions, explained: ExplainedModel) -> Selection:
    names, sequences, _ = read_sequences(options.input, options.sequence_column, alphabet="ACGTN")
    labels = read_labels(options.input, options.label_column, explained.label_names)
    if labels is not None and len(labels) != len(sequences):
        raise UsageError(f"{options.input}: {len(labels)} {options.label_column!r} values for {len(sequences)} sequences")
    if labels is None and options.attribute_label is not None:
        raise UsageError(f"--attribute_label needs a {options.label_column!r} column in --input (see --label_column)")
    keep = np.arange(len(sequences))
    if options.attribute_label is not None:
        keep = keep[np.asarray(labels) == explained.class_index(options.attribute_label)]
        if not len(keep):
            raise UsageError(f"no sequence of {options.input} has {options.label_column} {options.attribute_label!r}")
    if options.max_sequences > 0:
        keep = keep[: options.max_sequences]
    scored = np.arange(len(sequences)) if labels is not None else keep  # quality needs every labelled sequence
    scored_names = [names[i] for i in scored]
    scored_sequences = check_sequences([sequences[i] for i in scored], explained.window, scored_names)
    position = {j: i for i, j in enumerate(scored)}
    rows = [position[j] for j in keep]
    return Selection(scored_sequences=scored_sequences, scored_labels=[labels[j] for j in scored] if labels is not None else None,
                     names=[scored_names[i] for i in rows], sequences=[scored_sequences[i] for i in rows], rows=rows,
                     labels=[labels[j] for j in keep] if labels is not None else None)


@dataclass
class _Run:
    """What the steps share: the options, the model and class, the sequences, the folder, and the report so far."""

    options: ExplainOptions
    explained: ExplainedModel
    target: int
    chosen: Selection
    out: Path
    summary: dict[str, Any]  # summary.json so far
    sections: list = field(default_factory=list)  # the report's (heading, content) so far
    probabilities: np.ndarray | None = None  # [scored sequences, classes], set by score_sequences

    @property
    def class_name(self) -> str:
        return self.explained.label_names[self.target]

    @property
    def progress(self) -> bool:
        return not self.options.no_progress


def explain(options: ExplainOptions) -> ExplainResult:
    """Explain the classifier's ``class_name`` on the input's sequences and write the report folder."""
    methods = check_options(options)
    output = OutputFolder(options.output_dir, COMMAND, overwrite=options.overwrite)
    explained = load_classifier(options.model_name_or_path, command=COMMAND)  # checked before the input is read
    chosen = select_sequences(options, explained)
    target = explained.class_index(options.class_name)
    run = _Run(options, explained, target, chosen, output.start(),
               {"title": report_title(options.model_name_or_path, explained.label_names[target], options.input),
                "model": options.model_name_or_path, "class": explained.label_names[target],
                "input": options.input, "sequences": len(chosen.sequences),
                "precision": resolved_precision(options.precision, explained.model.device), "files": {}})
    scores, table = score_sequences(run)
    describe_model_and_quality(run, methods, scores)
    print(plan_the_work(run, methods), file=sys.stderr, flush=True)
    contributions, hypothetical, ig_hypothetical = {}, None, None
    if "ism" in methods:
        contributions["ism"], hypothetical = attribute_ism(run)
    if "ig" in methods:
        contributions["ig"], ig_hypothetical = attribute_ig(run)
    if "ism" in contributions and "ig" in contributions:
        compare_ig_and_ism(run, contributions)
    draw_logos(run, contributions, scores)
    if options.attention:
        draw_attention(run)
    if options.motifs != "none":
        find_motifs(run, contributions, hypothetical, ig_hypothetical)
    if explained.model.config.classifier_region_fusion:
        attribute_region(run)
    run.sections.append(sequences_section(table))
    run.summary["report"] = Path(write_report(run.out / "report.html", run.summary["title"], run.sections))
    result = ExplainResult(output_dir=run.out, class_name=run.summary.pop("class"), **run.summary)
    (run.out / "summary.json").write_text(json.dumps(result.to_dict(), indent=1))
    output.finish()
    return result


# ----------------------------------------------------------------------------- the steps
REPORT_ROWS = 200  # sequences listed in the report (all of them are in sequences.tsv)


def sequences_section(table: pd.DataFrame, rows: int = REPORT_ROWS) -> tuple[str, pd.DataFrame]:
    """The report's sequence table: all rows, or the first ``rows`` with a heading that says so."""
    if len(table) <= rows:
        return f"Sequences (all {len(table)})", table
    return f"Sequences (first {rows} of {len(table)}; all {len(table)} are in sequences.tsv)", table.head(rows)


def _save(path: Path, arrays) -> str:
    if isinstance(arrays, np.ndarray):
        np.save(path.with_suffix(".npy"), arrays)
        return path.with_suffix(".npy").name
    np.savez(path.with_suffix(".npz"), *arrays)
    return path.with_suffix(".npz").name


def _padded(arrays, length: int, channels: int | None = None) -> np.ndarray:
    shape = (len(arrays), length) + ((channels,) if channels else ())
    out = np.zeros(shape, dtype=np.float32)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def score_sequences(run: _Run) -> tuple[np.ndarray, pd.DataFrame]:
    """Class log-odds and probabilities of every scored sequence (``run.probabilities``, for the quality);
    returns the explained sequences' ``[log-odds, probability]`` rows and their table, written as ``sequences.tsv``."""
    explained, chosen, target = run.explained, run.chosen, run.target
    scores, probabilities = [], []
    with torch.no_grad(), inference_precision(run.options.precision, explained.model.device):
        for a in range(0, len(chosen.scored_sequences), 64):
            chunk = chosen.scored_sequences[a:a + 64]
            enc = explained.tokenizer(chunk, padding=True, return_tensors="pt")
            logits = explained.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                     region_matrix=explained.region_matrix(chunk)).logits
            scores.append(np.stack([class_score(logits, target).numpy(), logits.float().softmax(-1)[:, target].numpy()], 1))
            probabilities.append(logits.float().softmax(-1).numpy())
    run.probabilities = np.concatenate(probabilities)
    explained_scores = np.concatenate(scores)[chosen.rows]
    class_name = run.class_name
    table = pd.DataFrame({"name": chosen.names, "length": [len(s) for s in chosen.sequences],
                          f"log_odds_{class_name}": explained_scores[:, 0], f"p_{class_name}": explained_scores[:, 1],
                          "predicted": [explained.label_names[c] for c in run.probabilities[chosen.rows].argmax(-1)]})
    if chosen.labels is not None:
        table.insert(2, "true_label", [explained.label_names[label] for label in chosen.labels])
    table.to_csv(run.out / "sequences.tsv", sep="\t", index=False)
    return explained_scores, table


def describe_model_and_quality(run: _Run, methods: list[str], scores: np.ndarray) -> None:
    """The report's legend, the model-and-input line, and the model's quality where the input has true labels."""
    options, explained, chosen, class_name = run.options, run.explained, run.chosen, run.class_name
    legend_keys = list(methods) + ["logos"] + (["motifs"] if options.motifs != "none" else [])
    if chosen.labels is not None:
        legend_keys.append("quality")
    run.sections += [legend_section(legend_keys),
                     ("Model and input", f"Model {options.model_name_or_path}; class '{class_name}' (of {', '.join(explained.label_names)}); "
                                         f"input {options.input}: {len(chosen.scored_sequences)} sequences, {len(chosen.sequences)} explained "
                                         f"(mean p({class_name}) = {scores[:, 1].mean():.3f}).")]
    if chosen.labels is None:
        run.sections.append(("Model quality", f"No true labels in the input (no '{options.label_column}' column): add one to a "
                                              "CSV/TSV input to see the model's accuracy, ROC-AUC and MCC on these sequences."))
        return
    metrics, counts = quality(chosen.scored_labels, run.probabilities, explained.label_names)
    run.summary["quality"] = metrics
    run.sections.append((f"Model quality on these {metrics['sequences']} sequences (true labels from column '{options.label_column}')",
                         pd.DataFrame([dict(metrics)])))
    run.sections.append(("True and predicted labels per class", counts))


def plan_the_work(run: _Run, methods: list[str]) -> str:
    """The plan line printed before the attributions: sequences, ISM windows, IG path points, and the minutes
    they should take at the rates of one timed pass of each, made now on the first sequence
    (``run.summary["plan"]`` keeps the counts)."""
    options, sequences = run.options, run.chosen.sequences
    lengths = sorted({len(s) for s in sequences})
    span = f"{lengths[0]} bp" if len(lengths) == 1 else f"{lengths[0]}-{lengths[-1]} bp"
    windows = ism_windows(sequences, options.strands) if "ism" in methods else 0
    ig_strands = options.strands if options.ig_path == "bases" else "forward"
    points = ig_path_points(sequences, options.ig_steps, options.ig_path, ig_strands) if "ig" in methods else 0
    run.summary["plan"] = {"sequences": len(sequences), "ism_windows": windows, "ig_path_points": points}
    parts, seconds, rates = [f"plan: {len(sequences):,} sequences of {span}"], 0.0, []
    if windows:
        with inference_precision(options.precision, run.explained.model.device):
            rate = seconds_per_window(run.explained, sequences[0], run.target, options.batch_size)
        seconds += windows * rate
        rates.append(f"{rate * 1e3:.2g} ms per ISM window")
        parts.append(f"ISM {windows:,} windows ({'both strands' if options.strands == 'both' else 'forward strand'})")
    if points:
        rate = seconds_per_path_point(run.explained, sequences[0], run.target, options.ig_steps, options.batch_size, options.ig_path)
        seconds += points * rate
        rates.append(f"{rate * 1e3:.2g} ms per IG point")
        parts.append(f"IG {points:,} path points ({options.ig_steps} steps, {options.ig_path} path, "
                     f"{'both strands' if ig_strands == 'both' else 'forward strand'})")
    if rates:
        parts.append(f"estimated {seconds / 60:.1f} minutes ({seconds:,.0f} s) for these ({', '.join(rates)}, timed now on a batch of "
                     f"{options.batch_size}); scoring, pictures and motif discovery come on top")
    return "; ".join(parts)


def attribute_ism(run: _Run) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Saturation mutagenesis: per-base contributions and hypothetical contributions; writes the ISM arrays."""
    options, sequences = run.options, run.chosen.sequences
    with inference_precision(options.precision, run.explained.model.device):
        delta = saturation_mutagenesis(run.explained, sequences, run.target, options.strands, options.batch_size, run.progress)
    pairs = [ism_contributions(d, s) for d, s in zip(delta, sequences)]
    contributions = [c for c, _ in pairs]
    run.summary["files"]["ism_delta"] = _save(run.out / "ism_delta", delta)
    run.summary["files"]["ism_contributions"] = _save(
        run.out / "ism_contributions", np.stack(contributions) if isinstance(delta, np.ndarray) else contributions)
    return contributions, [h for _, h in pairs]


def attribute_ig(run: _Run) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Integrated Gradients: per-base attributions (and hypothetical ones on the one-hot path); writes the IG arrays."""
    options = run.options
    ig = integrated_gradients(run.explained, run.chosen.sequences, run.target, options.ig_steps, max(1, options.batch_size // 8),
                              internal_batch_size=options.batch_size if options.ig_path == "bases" else None, progress=run.progress, path=options.ig_path,
                              strands=options.strands if options.ig_path == "bases" else "forward")
    run.summary["files"]["ig_attributions"] = _save(run.out / "ig_attributions", ig.bases)
    if ig.hypothetical is not None:
        run.summary["files"]["ig_hypothetical"] = _save(run.out / "ig_hypothetical", ig.hypothetical)
    run.summary["ig_path"] = options.ig_path
    run.summary["ig_max_abs_convergence_delta"] = float(np.abs(ig.delta).max())
    return list(ig.bases), ig.hypothetical


def compare_ig_and_ism(run: _Run, contributions: dict[str, list[np.ndarray]]) -> None:
    agreement = top_window_overlap(contributions["ig"], contributions["ism"], width=10)
    run.summary["ig_ism_agreement"] = agreement
    run.sections.append(("Do IG and ISM point at the same bases?",
                         f"In {agreement['overlap_share']:.0%} of the {agreement['sequences']} sequences the 10-base window with the "
                         f"highest IG overlaps the one with the highest ISM (chance: {agreement['chance_overlap']:.0%}); "
                         f"median per-sequence Pearson r between the two = {agreement['median_pearson_r']:.2f}."))


def draw_logos(run: _Run, contributions: dict[str, list[np.ndarray]], scores: np.ndarray) -> None:
    """Attribution logos of the most confident sequences, per method."""
    names, sequences = run.chosen.names, run.chosen.sequences
    order = np.argsort(-scores[:, 0])[:min(run.options.logos, len(sequences))]
    for method, values in contributions.items():
        paths = [plots.attribution_logo(values[i], sequences[i], run.out / f"logo_{method}_{j}.png",
                                        f"{names[i]} (p = {scores[i, 1]:.2f}) - {method.upper()} attribution to '{run.class_name}'",
                                        ylabel="log-odds")
                 for j, i in enumerate(order)]
        run.sections.append((f"{method.upper()} attribution logos (most confident sequences)", paths))


def draw_attention(run: _Run) -> None:
    name = run.chosen.names[0]
    maps = attention_maps(run.explained, run.chosen.sequences[0])
    np.save(run.out / "attention.npy", maps.bases)
    run.summary["files"]["attention"] = "attention.npy"
    run.sections.append((f"Attention of {name} (per layer and head, bases)",
                         plots.attention_heatmaps(maps.bases, run.out / "attention.png", f"{name}: attention between bases")))


def find_motifs(run: _Run, contributions: dict[str, list[np.ndarray]], hypothetical, ig_hypothetical) -> None:
    """TF-MoDISco over the chosen attributions, Tomtom matches in JASPAR; writes motifs.csv / .json and logos."""
    options, sequences, out = run.options, run.chosen.sequences, run.out
    length = max(len(s) for s in sequences)
    oh = _padded([one_hot(s) for s in sequences], length, 4)
    if options.motifs == "ism":
        hyp = _padded(hypothetical, length, 4)
    elif ig_hypothetical is not None:
        hyp = _padded(list(ig_hypothetical), length, 4)
    else:
        hyp = oh * _padded(contributions["ig"], length)[..., None]
    if options.motif_input == "contributions":
        hyp = oh * (oh * hyp).sum(-1, keepdims=True)  # the observed base's contribution only
    found, seqlets = discover_motifs(oh, hyp, options.jaspar, target_seqlet_fdr=options.seqlet_fdr,
                                     sliding_window_size=options.sliding_window_size, flank_size=options.flank_size,
                                     top_matches=options.top_matches, trim_threshold=options.trim_threshold,
                                     min_metacluster_size=2 * options.min_cluster_size,
                                     final_min_cluster_size=options.min_cluster_size, verbose=False, return_yield=True)
    run.summary["seqlet_yield"] = seqlets
    run.sections.append(("Seqlet yield (TF-MoDISco)",
                         f"{seqlets['positive']} seqlets raise '{run.class_name}' and {seqlets['negative']} lower it in {seqlets['sequences']} "
                         f"sequences ({options.motifs.upper()} {options.motif_input}, seqlet FDR {options.seqlet_fdr}, window "
                         f"{options.sliding_window_size}); {seqlets['kept']} of them are in the {seqlets['motifs']} motif(s) below "
                         f"(a motif needs at least {options.min_cluster_size} seqlets)."))
    mtable = motif_table(found)
    mtable.to_csv(out / "motifs.csv", index=False)
    (out / "motifs.json").write_text(json.dumps(
        [{**row, "matches": m.matches.to_dict(orient="records")} for row, m in zip(mtable.to_dict(orient="records"), found)],
        indent=1, default=float))
    run.summary["motifs"] = mtable.to_dict(orient="records")
    ids, _, ppms = jaspar_ppms(options.jaspar)
    paths = []
    for m in found:
        best = m.best
        j = ids.index(best["match_id"]) if best else None
        jaspar_title = (f"JASPAR {best['match_name']} {best['match_id']} (q={best['q_value']:.2g}"
                        + ("" if best["q_value"] < MATCH_Q else ", not significant: only the nearest") + ")") if best else ""
        paths.append(plots.motif_logo_pair(m, ppms[j].T if j is not None else None, out / f"{m.name}.png", jaspar_title))
    run.sections += motif_sections(mtable)
    if paths:
        run.sections.append(("Motif logos: discovered (CWM, PPM) beside the matched JASPAR motif", paths))


def motif_sections(mtable: pd.DataFrame) -> list[tuple[str, object]]:
    """The report's motif tables: motifs whose best JASPAR match is significant (q < MATCH_Q), then, apart, the
    motifs whose nearest JASPAR motif is not (their name is a guess)."""
    heading = "Discovered motifs (TF-MoDISco) and their Tomtom matches in JASPAR 2018"
    if not len(mtable):
        return [(heading, "TF-MoDISco found no motif in these attributions (too few sequences or no consistent signal).")]
    named, unnamed = mtable[mtable["significant"]], mtable[~mtable["significant"]]
    out = [(f"{heading}: significant matches (q < {MATCH_Q})",
            named.drop(columns="significant") if len(named) else f"No discovered motif has a JASPAR match with q < {MATCH_Q}.")]
    if len(unnamed):
        out.append((f"Motifs without a significant JASPAR match (best q >= {MATCH_Q}: the name is only the nearest motif)",
                    unnamed.drop(columns="significant")))
    return out


def attribute_region(run: _Run) -> None:
    """Region-input models: IG over the region matrix, per TF; writes tf_attributions.csv and a bar chart."""
    tf_table, _ = tf_attributions(run.explained, run.chosen.sequences, run.target, run.options.region_baseline,
                                  seed=run.options.seed, progress=run.progress)
    tf_table.to_csv(run.out / "tf_attributions.csv", index=False)
    run.summary["files"]["tf_attributions"] = "tf_attributions.csv"
    run.summary["top_tfs"] = tf_table.head(10)[["tf", "motif_id", "attribution"]].to_dict(orient="records")
    run.sections.append(("Region side: TF attributions (IG over the region matrix)",
                         plots.tf_bar_chart(tf_table, run.out / "tf_attributions.png")))
    run.sections.append(("Top TFs", tf_table.head(20)))


__all__ = ["ExplainOptions", "ExplainResult", "Selection", "check_options", "explain", "select_sequences"]
