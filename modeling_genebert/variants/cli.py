"""``genebert-score-variants``: score variants (VCF / tables / allele pairs) with GeneBERT models and motifs.

Thin command line over :mod:`.scoring`; the readers are the data side's
(:mod:`dataset_scripts.variants`). Results: ``<output>.parquet`` and ``<output>.tsv`` (one row
per variant) plus ``<output>.summary.json``; a short table on stdout. A killed run resumes
from its last complete chunk when run again with the same options. Under ``accelerate launch``
(GPUs) or ``torchrun --nproc_per_node N`` (CPU processes) each process scores every
``num_processes``-th chunk (its shard) and the main process merges the parts once all are written.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time

import pandas as pd
import torch
from accelerate import PartialState
from tqdm.auto import tqdm

from dataset_scripts.cli import HelpFormatter, UsageError, check_model_folder, console_script
from dataset_scripts.variants import WindowStats, read_allele_table, read_paired_fasta, read_variant_table, read_vcf
from modeling_genebert.precision import PRECISION_HELP, PRECISIONS

from . import legend
from .motif_effects import DEFAULT_PVALUE
from .output import ChunkedResults
from .scoring import SCORES, STRANDS, VariantScorer, iter_pairs


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genebert-score-variants", description=__doc__.split("\n\n")[0],
                                epilog=legend.epilog(), formatter_class=HelpFormatter)
    src = p.add_argument_group("input (one of)")
    src.add_argument("--vcf", help="VCF, plain or bgzipped (SNVs and short indels; multi-allelic records are split); needs --genome")
    src.add_argument("--variants", help="CSV/TSV table with columns chrom,pos,ref,alt[,id] (pos 1-based); needs --genome")
    src.add_argument("--alleles", help="CSV/TSV table with columns ref_sequence,alt_sequence[,id] (no genome needed)")
    src.add_argument("--ref_fasta", help="FASTA of reference-allele sequences, paired record by record with --alt_fasta")
    src.add_argument("--alt_fasta", help="FASTA of alternative-allele sequences, paired record by record with --ref_fasta")
    src.add_argument("--genome", help="genome FASTA (plain or bgzip; pyfaidx index built if missing) for --vcf / --variants")
    p.add_argument("--window", type=int, default=None, help="bases of context centred on each variant (genome inputs); default 200, or what the model reads if less")
    p.add_argument("--skip_ref_mismatch", action="store_true", help="skip and count variants whose REF differs from the genome (default: error)")
    m = p.add_argument_group("models and scores")
    m.add_argument("--model_name_or_path", help="GeneBERT folder (pre-training or masked-LM for the zero-shot LLR; any for the embedding shift)")
    m.add_argument("--classifier", help="fine-tuned classifier folder (genebert-finetune output) for Δ logit / Δ probability per class")
    m.add_argument("--atlas", help="cell-type score: a pre-training dataset folder, or a .npz of regions x TFs matrices per cell type (needs a pre-trained --model_name_or_path)")
    m.add_argument("--atlas_samples", type=int, default=256, help="samples of regions_per_sample regions read per cell type of the atlas (default 256)")
    m.add_argument("--motifs", default=None, help="motif set: JASPAR release name or motif file (default JASPAR2018 CORE vertebrates)")
    m.add_argument("--no_motifs", action="store_true", help="skip the motif break/gain scores")
    m.add_argument("--scores", default=None, help=f"comma-separated subset of {','.join(SCORES)} (default: all the given models allow)")
    m.add_argument("--strand", choices=STRANDS, default="both", help="average model scores over both strands (default), or forward only")
    m.add_argument("--pooling", choices=("mean", "cls"), default="mean", help="embedding pooling for the cosine distance (default mean)")
    m.add_argument("--top_motifs", type=int, default=3, help="number of significant motifs listed in motif_top per variant, the most significant site first (default 3)")
    m.add_argument("--report_motifs", default="", help="comma-separated motif ids or names to report as their own Δ columns, e.g. MA0139.1")
    m.add_argument("--motif_pvalue", type=float, default=DEFAULT_PVALUE,
                   help="a motif counts only where its ref or alt site has p <= this under the motif's own null score "
                        "distribution (FIMO-style, per window; default %(default)g)")
    o = p.add_argument_group("run")
    o.add_argument("--output", required=True, help="output prefix: writes <output>.parquet, <output>.tsv and <output>.summary.json")
    o.add_argument("--batch_size", type=int, default=32, help="sequences per forward pass (default 32)")
    o.add_argument("--chunk_size", type=int, default=1024, help="variants per resumable chunk; memory stays flat in the input size (default 1024)")
    o.add_argument("--overwrite", action="store_true", help="discard parts of an earlier interrupted run instead of resuming")
    o.add_argument("--precision", default="auto", choices=PRECISIONS, help=PRECISION_HELP)
    o.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: the process's device under accelerate launch, else cpu)")
    o.add_argument("--show", type=int, default=10, help="rows of the result table printed on stdout (default 10)")
    o.add_argument("--no_progress", action="store_true", help="no progress bar")
    return p


def _source(args):
    """(iterable of Variant or AllelePair, description, needs genome)."""
    given = [name for name in ("vcf", "variants", "alleles") if getattr(args, name)]
    if args.ref_fasta or args.alt_fasta:
        if not (args.ref_fasta and args.alt_fasta):
            raise UsageError("--ref_fasta and --alt_fasta go together")
        given.append("ref_fasta/alt_fasta")
    if len(given) != 1:
        raise UsageError(f"give exactly one input: --vcf, --variants, --alleles or --ref_fasta/--alt_fasta (got {given or 'none'})")
    for name in ("vcf", "variants", "alleles", "ref_fasta", "alt_fasta", "genome"):
        path = getattr(args, name)
        if path and not os.path.isfile(path):
            raise FileNotFoundError(f"--{name} {path} does not exist")
    if args.vcf or args.variants:
        if not args.genome:
            raise UsageError(f"--{'vcf' if args.vcf else 'variants'} needs --genome (the FASTA the positions refer to)")
        return (read_vcf(args.vcf) if args.vcf else read_variant_table(args.variants)), given[0]
    if args.genome:
        raise UsageError("--genome is used only with --vcf or --variants")
    if args.alleles:
        return read_allele_table(args.alleles), given[0]
    return read_paired_fasta(args.ref_fasta, args.alt_fasta), given[0]


def run(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    for name in ("window", "batch_size", "chunk_size", "atlas_samples"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.top_motifs < 0:
        raise UsageError(f"--top_motifs must be >= 0, got {args.top_motifs}")
    if not 0.0 < args.motif_pvalue < 1.0:
        raise UsageError(f"--motif_pvalue must be between 0 and 1, got {args.motif_pvalue}")
    if args.atlas and not os.path.exists(args.atlas):
        raise FileNotFoundError(f"--atlas {args.atlas} does not exist")
    for option in ("model_name_or_path", "classifier"):  # model folders are checked before any input is read
        if getattr(args, option):
            check_model_folder(getattr(args, option), f"--{option}")
    source, kind = _source(args)
    scores = [s.strip() for s in args.scores.split(",") if s.strip()] if args.scores else None
    if args.no_motifs and scores and "motif" in scores:
        raise UsageError("--no_motifs contradicts --scores motif")
    # under `accelerate launch` / torchrun every process scores chunks index % num_processes == process_index;
    # cpu=True lets processes without a GPU form a (gloo) group too
    state = PartialState(cpu=not torch.cuda.is_available() or (args.device or "").startswith("cpu"))
    main_process = state.is_main_process
    scorer = VariantScorer(
        args.model_name_or_path, classifier=args.classifier, motifs=False if args.no_motifs else args.motifs,
        atlas=args.atlas, atlas_samples=args.atlas_samples,
        scores=scores, strand=args.strand, pooling=args.pooling, top_motifs=args.top_motifs,
        report_motifs=[m.strip() for m in args.report_motifs.split(",") if m.strip()], motif_pvalue=args.motif_pvalue,
        batch_size=args.batch_size, device=args.device or str(state.device), precision=args.precision,
    )
    limit = scorer.max_bases()
    if args.window is None:
        args.window = min(200, limit) if limit else 200
    if (args.vcf or args.variants) and limit and args.window > limit:
        raise UsageError(f"--window {args.window} is longer than the model reads ({limit} bases); use --window {limit} or less")
    settings = {"argv": {k: v for k, v in sorted(vars(args).items()) if k not in ("show", "no_progress", "overwrite", "batch_size", "device")},
                "scorer": scorer.info()}
    with state.main_process_first():  # the main process clears (--overwrite) and writes the manifest first
        results = ChunkedResults(args.output, settings, overwrite=args.overwrite and main_process)
        done_before = results.done_indices()
    stats = WindowStats()
    pairs = iter_pairs(source, args.genome, args.window, args.skip_ref_mismatch, stats) if (args.vcf or args.variants) else source
    started, scored, resumed = time.time(), 0, 0
    bar = tqdm(desc="scoring variants", unit="variant", disable=args.no_progress or not main_process, file=sys.stderr)
    index = -1
    for index, chunk in enumerate(iter(lambda: list(itertools.islice(pairs, args.chunk_size)), [])):
        if index in done_before:
            resumed += len(chunk)
        elif index % state.num_processes == state.process_index and not results.done(index):
            before = (stats.ref_mismatch, stats.padded)
            frame = scorer.score(chunk)
            results.write(index, frame, {"ref_mismatch": stats.ref_mismatch - before[0], "padded": stats.padded - before[1]})
            scored += len(chunk)
        bar.update(len(chunk))
    bar.close()
    if index < 0 and stats.ref_mismatch == 0:
        raise ValueError(f"no variants in the input ({kind}): nothing was written")
    if index < 0 and main_process:  # every variant skipped: an empty but complete table
        results.write(0, scorer.score([]))
    state.wait_for_everyone()  # every shard's parts are written before the main process merges them
    if not main_process:
        return {"process_index": state.process_index, "scored_now": scored}
    expected = set(range(max(index + 1, 1)))
    missing = sorted(expected - results.done_indices())
    if missing:
        raise RuntimeError(f"{results.parts}: parts {missing[:5]} are missing after every process finished; "
                           "run the same command again to score them")
    part_stats = results.part_stats()
    rows = results.finish(header=legend.comment_lines,
                          metadata=lambda columns: {"genebert_legend": json.dumps(legend.legend(columns))})
    elapsed = time.time() - started
    summary = {
        "output": {"parquet": str(results.parquet), "tsv": str(results.tsv)},
        "input": kind, "rows": rows, "scored_now": rows - resumed, "resumed_from_earlier_run": resumed,
        "processes": state.num_processes,
        # skips happen while reading, so they are counted only for chunks scored in this run
        "skipped_ref_mismatch": stats.ref_mismatch,
        "padded_past_chromosome_end": sum(s.get("padded", 0) for s in part_stats) or stats.padded,
        "seconds": round(elapsed, 2),
        "variants_per_second": round((rows - resumed) / elapsed, 1) if elapsed and rows > resumed else None,
        **scorer.info(),
        "legend": legend.legend(results.columns),
        "support": legend.support(scorer.info()["scores"], args.model_name_or_path, args.classifier),
    }
    summary_path = str(results.output) + ".summary.json"
    with open(summary_path, "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=1)
    _print_table(results.parquet, args.show)
    print(f"scored {rows} variants ({resumed} from an earlier run) -> {results.parquet} and {results.tsv}")
    for score, entry in summary["support"].items():
        print(f"{legend.SCORE_NAMES[score]}: {entry['verdict']} ({entry['evidence']}; summary.json 'support')")
    if stats.ref_mismatch:
        print(f"skipped {stats.ref_mismatch} variants whose REF does not match the genome, e.g. {stats.examples[0]}")
    if summary["padded_past_chromosome_end"]:
        print(f"{summary['padded_past_chromosome_end']} windows ran past a chromosome end and were padded with N (see notes)")
    return summary


def _print_table(path, show: int) -> None:
    if show <= 0 or not os.path.exists(path):
        return
    frame = pd.read_parquet(path).head(show)
    keep = [c for c in frame.columns if c != "notes"]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 48):
        print(frame[keep].to_string(index=False, float_format=lambda x: f"{x:.3g}"))


main = console_script(run, "genebert-score-variants")

if __name__ == "__main__":
    sys.exit(main())
