"""``genebert-score-variants``: score variants (VCF / tables / allele pairs) with GeneBERT models and motifs.

Thin command line over :func:`.api.score_variants` (parse, call, print); the readers are the data
side's (:mod:`dataset_scripts.variants`). Results: ``<output>.parquet`` and ``<output>.tsv`` (one row
per variant) plus ``<output>.summary.json``; a short table on stdout. A killed run resumes from its
last complete chunk when run again with the same options. Under ``accelerate launch`` (GPUs) or
``torchrun --nproc_per_node N`` (CPU processes) each process scores every ``num_processes``-th chunk
(its shard) and the main process merges the parts once all are written.
"""

from __future__ import annotations

import argparse
import os
import sys

import pandas as pd

from dataset_scripts.cli import console_script, options_parser

from . import legend
from .api import COMMAND, RUN, ScoreVariantsOptions, ScoreVariantsResult, score_variants
from .scores import get_score


def build_parser() -> argparse.ArgumentParser:
    p = options_parser(ScoreVariantsOptions, prog=COMMAND, description=__doc__.split("\n\n")[0],
                       epilog=legend.epilog())
    p.group(RUN).add_argument("--show", type=int, default=10, help="rows of the result table printed on stdout (default 10)")
    return p


def run_command(argv: list[str] | None = None) -> ScoreVariantsResult | None:
    """Parse, score, print the summary (on the main process only)."""
    options, cli = build_parser().parse_options(argv)
    result = score_variants(options)
    if result is not None:
        print_summary(result, cli.show)
    return result


def print_summary(result: ScoreVariantsResult, show: int) -> None:
    _print_table(result.parquet, show)
    print(f"scored {result.rows} variants ({result.resumed_from_earlier_run} from an earlier run) -> {result.parquet} and {result.tsv}")
    for score, entry in result.support.items():
        print(f"{get_score(score).title}: {entry['verdict']} ({entry['evidence']}; summary.json 'support')")
    if result.skipped_ref_mismatch:
        print(f"skipped {result.skipped_ref_mismatch} variants whose REF does not match the genome, e.g. {result.ref_mismatch_examples[0]}")
    if result.padded_past_chromosome_end:
        print(f"{result.padded_past_chromosome_end} windows ran past a chromosome end and were padded with N (see notes)")


def _print_table(path, show: int) -> None:
    if show <= 0 or not os.path.exists(path):
        return
    frame = pd.read_parquet(path).head(show)
    keep = [c for c in frame.columns if c != "notes"]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 48):
        print(frame[keep].to_string(index=False, float_format=lambda x: f"{x:.3g}"))


main = console_script(run_command, COMMAND)

if __name__ == "__main__":
    sys.exit(main())
