"""Command line: build GeneBERT pre-training and fine-tuning datasets.

    python -m dataset_scripts.build pretraining --output DIR [options]
    python -m dataset_scripts.build finetuning --output DIR --task T --train F [options]

``main_pretraining`` / ``main_finetuning`` are the entry points of the console scripts
``genebert-build-pretraining`` / ``genebert-build-finetuning``: parse the command line into the options
dataclass of :mod:`.build_api`, call its function, print the summary. Every option is documented in
``--help`` and spelled ``--snake_case``; the older ``--dashed-spelling`` of each is accepted as an alias.
Bad input ends with ``error: <message>`` on stderr and exit status 2 (``GENEBERT_DEBUG=1`` shows the
traceback), see :mod:`.cli`.
"""

from __future__ import annotations

import argparse
import json
import sys

from .build_api import (
    FINETUNING_COMMAND,
    PRETRAINING_COMMAND,
    BuildFinetuningOptions,
    BuildPretrainingOptions,
    FinetuningBuildResult,
    build_finetuning,
    build_pretraining,
)
from .cli import console_script, options_parser
from .tasks import list_tasks


def pretraining_parser(prog: str | None = None) -> argparse.ArgumentParser:
    return options_parser(BuildPretrainingOptions, prog=prog, description=(
        "Build the GeneBERT pre-training dataset (samples of consecutive accessible regions of one cell type:\n"
        "per-region sequences + a regions x TFs motif-score matrix) as sharded Parquet with a dataset card.\n"
        "With no region source, builds the default from the embedded ENCODE DHS mini-atlas (K562, HepG2; no\n"
        "downloads)."
    ))


def run_pretraining(argv=None) -> dict:
    """``genebert-build-pretraining`` without the error handling: parse, build, print the summary; returns
    what ``build_info.json`` holds."""
    (options,) = pretraining_parser(PRETRAINING_COMMAND).parse_options(argv)
    result = build_pretraining(options)
    print(json.dumps(result.summary(), indent=1))
    return result.to_dict()


def main_pretraining(argv=None) -> int:
    """Console entry point of ``genebert-build-pretraining``: 0 on success, 2 and ``error: ...`` on bad input."""
    return console_script(run_pretraining)(argv)


def finetuning_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = options_parser(BuildFinetuningOptions, prog=prog, description=(
        "Build a GeneBERT fine-tuning dataset (the task's input columns + label as ClassLabel) and save it with\n"
        "datasets' save_to_disk plus label_mapping.json. Every registered task reads CSV/TSV/FASTA files; tfbs\n"
        "turns positives without labels into positives + dinucleotide-shuffled negatives; splice can also be cut\n"
        "from a genome FASTA + annotated sites (--genome, --sites)."
    ))
    next(action for action in parser._actions if action.dest == "task").choices = list_tasks()  # registered by now
    return parser


def run_finetuning(argv=None) -> FinetuningBuildResult:
    """``genebert-build-finetuning`` without the error handling: parse, build, save, print the summary."""
    (options,) = finetuning_parser(FINETUNING_COMMAND).parse_options(argv)
    result = build_finetuning(options)
    print(json.dumps(result.to_dict()))
    return result


def main_finetuning(argv=None) -> int:
    """Console entry point of ``genebert-build-finetuning``: 0 on success, 2 and ``error: ...`` on bad input."""
    return console_script(run_finetuning)(argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in ("pretraining", "finetuning"):
        print(
            "usage: python -m dataset_scripts.build {pretraining,finetuning} [options]\n"
            "  pretraining  build the pre-training dataset (see: ... pretraining --help)\n"
            "  finetuning   build a fine-tuning dataset (see: ... finetuning --help)"
        )
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return main_pretraining(argv[1:]) if argv[0] == "pretraining" else main_finetuning(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
