"""``score_variants(options) -> ScoreVariantsResult``: a whole ``genebert-score-variants`` run from Python.

Input file in (VCF / variant table + genome, allele table, or paired FASTA), result files out:
``<output>.parquet`` and ``<output>.tsv`` (one row per variant) plus ``<output>.summary.json``
(:meth:`ScoreVariantsResult.to_dict`). A killed run resumes from its last complete chunk when run
again with the same options. Under ``accelerate launch`` (GPUs) or ``torchrun --nproc_per_node N``
(CPU processes) each process scores every ``num_processes``-th chunk and the main process merges
the parts once all are written. :class:`ScoreVariantsOptions` is also what the command line parses
(:mod:`.cli`), so both share every option's name, default and help.

For variants already in memory, :func:`~.scoring.score_variant_records` returns the same table as a DataFrame.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
from accelerate import PartialState
from tqdm.auto import tqdm

from dataset_scripts.cli import UsageError, fspath_options
from modeling_genebert.model_folders import check_model_folder
from dataset_scripts.output_folders import check_output_files
from dataset_scripts.variants import WindowStats, read_allele_table, read_paired_fasta, read_variant_table, read_vcf
from modeling_genebert.precision import INFERENCE_DEFAULT, INFERENCE_PRECISION_HELP, PRECISIONS

from . import legend
from .motif_effects import DEFAULT_PVALUE
from .output import ChunkedResults, finished_files
from .scores import get_scores, list_scores
from .scoring import STRANDS, VariantScorer, iter_pairs

COMMAND = "genebert-score-variants"

INPUT, MODELS, RUN = "input (one of)", "models and scores", "run"
# options that do not change the scores: a run resumed with other values continues the same results
NOT_IN_MANIFEST = ("no_progress", "overwrite", "batch_size", "device")


@dataclass(kw_only=True)
class ScoreVariantsOptions:
    """What to score, with which models and scores, and where to write (the command line's options).

    Path options take a ``str`` or a ``pathlib.Path``."""

    vcf: str | None = field(default=None, metadata={"group": INPUT, "help": "VCF, plain or bgzipped (SNVs and short indels; multi-allelic records are split); needs --genome"})
    variants: str | None = field(default=None, metadata={"group": INPUT, "help": "CSV/TSV table with columns chrom,pos,ref,alt[,id] (pos 1-based); needs --genome"})
    alleles: str | None = field(default=None, metadata={"group": INPUT, "help": "CSV/TSV table with columns ref_sequence,alt_sequence[,id] (no genome needed)"})
    ref_fasta: str | None = field(default=None, metadata={"group": INPUT, "help": "FASTA of reference-allele sequences, paired record by record with --alt_fasta"})
    alt_fasta: str | None = field(default=None, metadata={"group": INPUT, "help": "FASTA of alternative-allele sequences, paired record by record with --ref_fasta"})
    genome: str | None = field(default=None, metadata={"group": INPUT, "help": "genome FASTA (plain or bgzip; pyfaidx index built if missing) for --vcf / --variants"})
    window: int | None = field(default=None, metadata={"help": "bases of context centred on each variant (genome inputs); default 200, or what the model reads if less"})
    skip_ref_mismatch: bool = field(default=False, metadata={"help": "skip and count variants whose REF differs from the genome (default: error)"})
    model_name_or_path: str | None = field(default=None, metadata={"group": MODELS, "help": "GeneBERT folder (pre-training or masked-LM for the zero-shot LLR; any for the embedding shift)"})
    classifier: str | None = field(default=None, metadata={"group": MODELS, "help": "fine-tuned classifier folder (genebert-finetune output) for Δ logit / Δ probability per class"})
    atlas: str | None = field(default=None, metadata={"group": MODELS, "help": "cell-type score: a pre-training dataset folder, or a .npz of regions x TFs matrices per cell type (needs a pre-trained --model_name_or_path)"})
    atlas_samples: int = field(default=256, metadata={"group": MODELS, "help": "samples of regions_per_sample regions read per cell type of the atlas (default 256)"})
    motifs: str | None = field(default=None, metadata={"group": MODELS, "help": "motif set: JASPAR release name or motif file (default JASPAR2018 CORE vertebrates)"})
    no_motifs: bool = field(default=False, metadata={"group": MODELS, "help": "skip the motif break/gain scores"})
    scores: str | None = field(default=None, metadata={"group": MODELS, "help": "comma-separated subset of the registered scores, listed at the end of --help (default: all the given models allow)"})
    strand: str = field(default="both", metadata={"group": MODELS, "choices": STRANDS, "help": "average model scores over both strands (default), or forward only"})
    pooling: str = field(default="mean", metadata={"group": MODELS, "choices": ("mean", "cls"), "help": "embedding pooling for the cosine distance (default mean)"})
    top_motifs: int = field(default=3, metadata={"group": MODELS, "help": "number of significant motifs listed in motif_top per variant, the most significant site first (default 3)"})
    report_motifs: str = field(default="", metadata={"group": MODELS, "help": "comma-separated motif ids or names to report as their own Δ columns, e.g. MA0139.1"})
    motif_pvalue: float = field(default=DEFAULT_PVALUE, metadata={
        "group": MODELS, "help": "a motif counts only where its ref or alt site has p <= this under the motif's own null score "
                                 "distribution (FIMO-style, per window; default %(default)g)"})
    output: str = field(metadata={"group": RUN, "help": "output prefix: writes <output>.parquet, <output>.tsv and <output>.summary.json"})
    batch_size: int = field(default=32, metadata={"group": RUN, "help": "sequences per forward pass (default 32)"})
    chunk_size: int = field(default=1024, metadata={"group": RUN, "help": "variants per resumable chunk; memory stays flat in the input size (default 1024)"})
    overwrite: bool = field(default=False, metadata={"group": RUN, "help": "replace a finished run's files, or discard the parts of an interrupted one instead of resuming"})
    precision: str = field(default=INFERENCE_DEFAULT, metadata={"group": RUN, "choices": PRECISIONS, "help": INFERENCE_PRECISION_HELP})
    device: str | None = field(default=None, metadata={"group": RUN, "help": "torch device, e.g. cpu or cuda (default: the process's device under accelerate launch, else cpu)"})
    no_progress: bool = field(default=False, metadata={"group": RUN, "help": "no progress bar"})

    def __post_init__(self) -> None:
        fspath_options(self)  # path options may be given as pathlib.Path


@dataclass
class ScoreVariantsResult:
    """What a run wrote and measured; :meth:`to_dict` is ``<output>.summary.json``."""

    parquet: Path
    tsv: Path
    summary_json: Path  # not in the JSON (it is the JSON)
    input: str  # which input option: vcf, variants, alleles or ref_fasta/alt_fasta
    rows: int
    scored_now: int
    resumed_from_earlier_run: int
    processes: int
    skipped_ref_mismatch: int  # counted only for the chunks scored in this run
    padded_past_chromosome_end: int
    seconds: float
    variants_per_second: float | None
    scorer: dict[str, Any]  # VariantScorer.info(): scores, strand, pooling, classes, motif settings (top level in the JSON)
    legend: dict[str, dict[str, str]]  # per column: meaning, sign, unit
    support: dict[str, dict[str, str]]  # per score: verdict and evidence
    ref_mismatch_examples: list[str] = field(default_factory=list)  # not in the JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": {"parquet": str(self.parquet), "tsv": str(self.tsv)},
            "input": self.input, "rows": self.rows, "scored_now": self.scored_now,
            "resumed_from_earlier_run": self.resumed_from_earlier_run, "processes": self.processes,
            "skipped_ref_mismatch": self.skipped_ref_mismatch, "padded_past_chromosome_end": self.padded_past_chromosome_end,
            "seconds": self.seconds, "variants_per_second": self.variants_per_second,
            **self.scorer, "legend": self.legend, "support": self.support,
        }


def check_options(options: ScoreVariantsOptions) -> None:
    """Bad numbers, a missing atlas and model folders fail before any input is read."""
    for name in ("window", "batch_size", "chunk_size", "atlas_samples"):
        if getattr(options, name) is not None and getattr(options, name) < 1:
            raise UsageError(f"--{name} must be at least 1, got {getattr(options, name)}")
    if options.top_motifs < 0:
        raise UsageError(f"--top_motifs must be >= 0, got {options.top_motifs}")
    if not 0.0 < options.motif_pvalue < 1.0:
        raise UsageError(f"--motif_pvalue must be between 0 and 1, got {options.motif_pvalue}")
    if options.atlas and not os.path.exists(options.atlas):
        raise FileNotFoundError(f"--atlas {options.atlas} does not exist")
    for name in ("model_name_or_path", "classifier"):
        if getattr(options, name):
            check_model_folder(getattr(options, name), f"--{name}")
    need_motifs = [score.name for score in get_scores(_score_names(options)) if "motifs" in score.needs]
    if options.no_motifs and need_motifs:
        raise UsageError(f"--no_motifs contradicts --scores {','.join(need_motifs)}")
    # a finished run is never replaced silently; an interrupted one (parts only) resumes
    check_output_files(finished_files(options.output), COMMAND, overwrite=options.overwrite)


def _score_names(options: ScoreVariantsOptions) -> list[str]:
    return [s.strip() for s in (options.scores or "").split(",") if s.strip()]


def _genome_input(options: ScoreVariantsOptions) -> bool:
    return bool(options.vcf or options.variants)


def open_source(options: ScoreVariantsOptions) -> tuple[Iterable, str]:
    """(iterable of Variant or AllelePair records, the input option's name); exactly one input must be given."""
    given = [name for name in ("vcf", "variants", "alleles") if getattr(options, name)]
    if options.ref_fasta or options.alt_fasta:
        if not (options.ref_fasta and options.alt_fasta):
            raise UsageError("--ref_fasta and --alt_fasta go together")
        given.append("ref_fasta/alt_fasta")
    if len(given) != 1:
        raise UsageError(f"give exactly one input: --vcf, --variants, --alleles or --ref_fasta/--alt_fasta (got {given or 'none'})")
    for name in ("vcf", "variants", "alleles", "ref_fasta", "alt_fasta", "genome"):
        path = getattr(options, name)
        if path and not os.path.isfile(path):
            raise FileNotFoundError(f"--{name} {path} does not exist")
    if _genome_input(options):
        if not options.genome:
            raise UsageError(f"--{'vcf' if options.vcf else 'variants'} needs --genome (the FASTA the positions refer to)")
        return (read_vcf(options.vcf) if options.vcf else read_variant_table(options.variants)), given[0]
    if options.genome:
        raise UsageError("--genome is used only with --vcf or --variants")
    if options.alleles:
        return read_allele_table(options.alleles), given[0]
    return read_paired_fasta(options.ref_fasta, options.alt_fasta), given[0]


def build_scorer(options: ScoreVariantsOptions, device: str) -> VariantScorer:
    return VariantScorer(
        options.model_name_or_path, classifier=options.classifier, motifs=False if options.no_motifs else options.motifs,
        atlas=options.atlas, atlas_samples=options.atlas_samples, scores=_score_names(options) or None,
        strand=options.strand, pooling=options.pooling, top_motifs=options.top_motifs,
        report_motifs=[m.strip() for m in options.report_motifs.split(",") if m.strip()], motif_pvalue=options.motif_pvalue,
        batch_size=options.batch_size, device=options.device or device, precision=options.precision,
    )


def resolve_window(options: ScoreVariantsOptions, limit: int | None) -> ScoreVariantsOptions:
    """``options`` with ``window`` set (default 200, or what the model reads if less); too long for the model fails."""
    window = options.window if options.window is not None else (min(200, limit) if limit else 200)
    if _genome_input(options) and limit and window > limit:
        raise UsageError(f"--window {window} is longer than the model reads ({limit} bases); use --window {limit} or less")
    return dataclasses.replace(options, window=window)


def score_variants(options: ScoreVariantsOptions) -> ScoreVariantsResult | None:
    """Score the variants of ``options``' input and write the result files; see the module docstring.

    Returns None on the non-main processes of a distributed run (the main process merges their parts).
    """
    check_options(options)
    source, kind = open_source(options)
    # under `accelerate launch` / torchrun every process scores chunks index % num_processes == process_index;
    # cpu=True lets processes without a GPU form a (gloo) group too
    state = PartialState(cpu=not torch.cuda.is_available() or (options.device or "").startswith("cpu"))
    scorer = build_scorer(options, str(state.device))
    options = resolve_window(options, scorer.max_bases())
    settings = {"argv": {k: v for k, v in sorted(dataclasses.asdict(options).items()) if k not in NOT_IN_MANIFEST},
                "scorer": scorer.info()}
    with state.main_process_first():  # the main process clears (--overwrite) and writes the manifest first
        results = ChunkedResults(options.output, settings, overwrite=options.overwrite and state.is_main_process)
        done_before = results.done_indices()  # read before any process of this run writes a part
    stats = WindowStats()
    pairs = iter_pairs(source, options.genome, options.window, options.skip_ref_mismatch, stats) if _genome_input(options) else source
    started = time.time()
    chunks, resumed = _score_chunks(pairs, scorer, results, done_before, state, stats, options)
    if chunks == 0 and stats.ref_mismatch == 0:
        raise ValueError(f"no variants in the input ({kind}): nothing was written")
    if chunks == 0 and state.is_main_process:  # every variant skipped: an empty but complete table
        results.write(0, scorer.score([]))
    state.wait_for_everyone()  # every shard's parts are written before the main process merges them
    if not state.is_main_process:
        return None
    return _merge(results, scorer, stats, options, kind, chunks, resumed, state.num_processes, time.time() - started)


def _score_chunks(pairs, scorer: VariantScorer, results: ChunkedResults, done_before: set[int], state: PartialState,
                  stats: WindowStats, options: ScoreVariantsOptions) -> tuple[int, int]:
    """Score this process's share of the chunks not done before; returns (chunks read, variants resumed)."""
    resumed, chunks = 0, 0
    bar = tqdm(desc="scoring variants", unit="variant", disable=options.no_progress or not state.is_main_process, file=sys.stderr)
    for index, chunk in enumerate(iter(lambda: list(itertools.islice(pairs, options.chunk_size)), [])):
        chunks = index + 1
        if index in done_before:
            resumed += len(chunk)
        elif index % state.num_processes == state.process_index and not results.done(index):
            before = (stats.ref_mismatch, stats.padded)
            frame = scorer.score(chunk)
            results.write(index, frame, {"ref_mismatch": stats.ref_mismatch - before[0], "padded": stats.padded - before[1]})
        bar.update(len(chunk))
    bar.close()
    return chunks, resumed


def _merge(results: ChunkedResults, scorer: VariantScorer, stats: WindowStats, options: ScoreVariantsOptions, kind: str,
           chunks: int, resumed: int, processes: int, elapsed: float) -> ScoreVariantsResult:
    """Merge every part into the final files and write ``<output>.summary.json``."""
    missing = sorted(set(range(max(chunks, 1))) - results.done_indices())
    if missing:
        raise RuntimeError(f"{results.parts}: parts {missing[:5]} are missing after every process finished; "
                           "run the same command again to score them")
    part_stats = results.part_stats()
    rows = results.finish(header=legend.comment_lines,
                          metadata=lambda columns: {"genebert_legend": json.dumps(legend.legend(columns))})
    info = scorer.info()
    result = ScoreVariantsResult(
        parquet=Path(results.parquet), tsv=Path(results.tsv), summary_json=Path(str(results.output) + ".summary.json"),
        input=kind, rows=rows, scored_now=rows - resumed, resumed_from_earlier_run=resumed, processes=processes,
        skipped_ref_mismatch=stats.ref_mismatch,
        padded_past_chromosome_end=sum(s.get("padded", 0) for s in part_stats) or stats.padded,
        seconds=round(elapsed, 2),
        variants_per_second=round((rows - resumed) / elapsed, 1) if elapsed and rows > resumed else None,
        scorer=info, legend=legend.legend(results.columns),
        support=legend.support(info["scores"], options.model_name_or_path, options.classifier),
        ref_mismatch_examples=list(stats.examples),
    )
    with open(result.summary_json, "w", encoding="utf-8") as fh:
        json.dump(result.to_dict(), fh, indent=1)
    return result


__all__ = ["ScoreVariantsOptions", "ScoreVariantsResult", "check_options", "open_source", "score_variants"]
