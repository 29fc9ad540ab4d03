"""The shared pieces of every typed command: an options dataclass as argparse options, logging set up by the CLI only."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field

import pytest

from dataset_scripts.cli import LOG_FORMAT, HelpFormatter, add_options, console_script, parse_options


@dataclass(kw_only=True)
class ToyOptions:
    input: str = field(metadata={"help": "input file"})
    window: int | None = field(default=None, metadata={"help": "bases of context"})
    pvalue: float = field(default=1e-4, metadata={"group": "motifs", "help": "motif p-value (default %(default)g)"})
    strand: str = field(default="both", metadata={"group": "motifs", "choices": ("both", "forward"), "help": "strands"})
    no_motifs: bool = field(default=False, metadata={"group": "motifs", "help": "skip motifs"})


def _parser():
    parser = argparse.ArgumentParser(prog="toy", formatter_class=HelpFormatter)
    groups = add_options(parser, ToyOptions)
    groups["motifs"].add_argument("--show", type=int, default=10, help="rows printed")
    return parser


def test_a_dataclass_becomes_typed_options_with_its_defaults_and_the_rest_stays_apart():
    options, rest = parse_options(_parser(), ToyOptions, ["--input", "a.csv", "--window", "41", "--pvalue", "0.01",
                                                          "--no_motifs", "--show", "3"])
    assert options == ToyOptions(input="a.csv", window=41, pvalue=0.01, no_motifs=True)
    assert vars(rest) == {"show": 3}
    options, _ = parse_options(_parser(), ToyOptions, ["--input", "b.csv"])
    assert options == ToyOptions(input="b.csv")


def test_required_fields_choices_and_help_come_from_the_dataclass(capsys):
    with pytest.raises(SystemExit):
        parse_options(_parser(), ToyOptions, ["--window", "3"])
    assert "the following arguments are required: --input" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_options(_parser(), ToyOptions, ["--input", "a", "--strand", "reverse"])
    assert "invalid choice: 'reverse'" in capsys.readouterr().err
    help_text = " ".join(_parser().format_help().split())
    assert "motifs: --pvalue PVALUE motif p-value (default 0.0001)" in help_text
    assert "--strand {both,forward} strands (default: both)" in help_text


def test_unsupported_field_types_are_refused_when_the_parser_is_built():
    @dataclass
    class Bad:
        paths: list = field(default_factory=list, metadata={"help": "x"})

    with pytest.raises(TypeError, match="an option must be str, int, float or bool"):
        add_options(argparse.ArgumentParser(), Bad)


def test_logging_is_configured_by_the_console_script_and_only_there(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a fresh interpreter
    monkeypatch.setattr(root, "level", logging.WARNING)
    seen = []

    def command(argv):
        seen.append([type(h) for h in root.handlers])  # the command runs with logging set up

    assert console_script(command, "toy")([]) == 0
    assert seen == [[logging.StreamHandler]] and root.handlers[0].formatter._fmt == LOG_FORMAT
    assert root.level == logging.INFO


@pytest.mark.slow
def test_importing_the_library_adds_no_log_handler():
    """A fresh interpreter imports every module of the package: the root logger still has no handler."""
    import subprocess
    import sys

    probe = """
import importlib, logging, pkgutil, sys
import dataset_scripts, modeling_genebert
for package in (dataset_scripts, modeling_genebert):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional extra that is not installed
            continue
        if logging.getLogger().handlers:
            sys.exit(f"importing {module.name} configured logging")
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
