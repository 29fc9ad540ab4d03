"""``genebert-explain``: attributions, attention, motifs and region-side TF attributions for a classifier.

    genebert-explain --model_name_or_path runs/tfbs --input peaks.fa --output_dir report/

Writes to ``--output_dir``: ``report.html`` / ``report.md`` (title: model, class, input; a legend of the
scores; true labels and the model's quality where the input has a label column), ``sequences.tsv`` (scores), ``ism_delta.npy`` ``(N, L, 4)``,
``ism_contributions.npy`` / ``ig_attributions.npy`` ``(N, L)`` (``.npz`` of per-sequence arrays when
lengths differ), ``motifs.csv`` / ``motifs.json``, ``tf_attributions.csv`` (region models),
``attention.npy`` (with ``--attention``), PNGs, and ``report.html`` with every picture embedded.
"""

from __future__ import annotations

import argparse

from dataset_scripts.cli import console_script, options_parser

from .api import COMMAND, ExplainOptions, ExplainResult, explain


def build_parser() -> argparse.ArgumentParser:
    return options_parser(ExplainOptions, prog=COMMAND, description=__doc__)


def run_command(argv: list[str] | None = None) -> ExplainResult:
    (options,) = build_parser().parse_options(argv)
    result = explain(options)
    print(f"wrote {result.output_dir / 'report.html'}")
    return result


main = console_script(run_command, COMMAND)

if __name__ == "__main__":
    raise SystemExit(main())
