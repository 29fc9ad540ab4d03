"""The ten console scripts: check the torch / torchvision pair, then run the command.

``modeling_genebert/__init__`` has already asked :mod:`modeling_genebert.torch_pair` before it imported
anything that needs torchvision; here a problem becomes one line ``error: ... pip install torch==X
torchvision==Y`` and exit status 2 (``GENEBERT_DEBUG=1``: the traceback of importing torchvision). Each
model command is imported only after the check, inside its entry point, so a script loads its own command
and no other; the build commands' mains come from the data side, which imports neither torch nor
transformers, so they are imported here at the top.
"""

from __future__ import annotations

import functools
from typing import Callable

from dataset_scripts.build import main_finetuning, main_pretraining
from dataset_scripts.cli import debugging, fail

from .. import torch_pair


def _pair_status() -> int:
    """0 when torch and torchvision work together; else print what to install and return 2."""
    problem = torch_pair.installed_pair_problem()
    if problem is None:
        return 0
    if debugging():
        import torchvision  # noqa: F401  (shows the traceback)
    return fail(problem)


Main = Callable[[list[str] | None], int]


def command(load_main: Callable[[], Main]) -> Main:
    """The console entry point that checks the pair, then runs the ``main`` that ``load_main`` imports."""

    @functools.wraps(load_main)
    def entry_point(argv: list[str] | None = None) -> int:
        if status := _pair_status():
            return status
        return load_main()(argv)

    return entry_point


@command
def pretrain() -> Main:
    """genebert-pretrain"""
    from ..pretraining.pretrain import main
    return main


@command
def finetune() -> Main:
    """genebert-finetune"""
    from ..finetuning.finetune import main
    return main


@command
def predict() -> Main:
    """genebert-predict"""
    from ..finetuning.predict import main
    return main


@command
def embed() -> Main:
    """genebert-embed"""
    from ..evaluation.embed import main
    return main


@command
def analysis() -> Main:
    """genebert-analysis"""
    from ..evaluation.analysis import main
    return main


@command
def explain() -> Main:
    """genebert-explain"""
    from ..explain.cli import main
    return main


@command
def score_variants() -> Main:
    """genebert-score-variants"""
    from ..variants.cli import main
    return main


@command
def benchmark() -> Main:
    """genebert-benchmark"""
    from ..evaluation.benchmark.runner import main
    return main


@command
def build_pretraining() -> Main:
    """genebert-build-pretraining"""
    return main_pretraining


@command
def build_finetuning() -> Main:
    """genebert-build-finetuning"""
    return main_finetuning


__all__ = ["analysis", "benchmark", "build_finetuning", "build_pretraining", "command", "embed", "explain", "finetune",
           "predict", "pretrain", "score_variants"]
