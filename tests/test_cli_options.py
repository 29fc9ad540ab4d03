"""The shared pieces of every typed command: an options dataclass as a parser (transformers' HfArgumentParser plus
our ``group`` metadata and --help), logging set up by the CLI only."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from dataset_scripts.cli import LOG_FORMAT, console_script, options_parser, split_commas


@dataclass(kw_only=True)
class ToyOptions:
    input: str = field(metadata={"help": "input file", "aliases": ["-i"]})
    window: int | None = field(default=None, metadata={"help": "bases of context"})
    pvalue: float = field(default=1e-4, metadata={"group": "motifs", "help": "motif p-value (default %(default)g)"})
    strand: str = field(default="both", metadata={"group": "motifs", "choices": ("both", "forward"), "help": "strands"})
    no_motifs: bool = field(default=False, metadata={"group": "motifs", "help": "skip motifs"})
    names: list[str] | None = field(default=None, metadata={"help": "comma-separated names"})

    def __post_init__(self):
        self.names = split_commas(self.names)


def _parser():
    parser = options_parser(ToyOptions, prog="toy")
    parser.group("motifs").add_argument("--show", type=int, default=10, help="rows printed")
    return parser


def test_a_dataclass_becomes_typed_options_with_its_defaults_and_the_rest_stays_apart():
    options, rest = _parser().parse_options(["-i", "a.csv", "--window", "41", "--pvalue", "0.01", "--no-motifs",
                                             "--show", "3", "--names", "a,b", "c"])
    assert options == ToyOptions(input="a.csv", window=41, pvalue=0.01, no_motifs=True, names=["a", "b", "c"])
    assert vars(rest) == {"show": 3}
    options, _ = _parser().parse_options(["--input", "b.csv", "--no_motifs", "false"])
    assert options == ToyOptions(input="b.csv")


def test_required_fields_choices_and_unknown_options_are_argparse_errors_naming_one_spelling(capsys):
    for argv, message in ((["--window", "3"], "the following arguments are required: --input"),
                          (["--input", "a", "--strand", "reverse"], "invalid choice: 'reverse'"),
                          (["--input", "a", "--colour", "red"], "unrecognized arguments: --colour red"),
                          (["--input", "a", "--no-motifs", "maybe"], "error: argument --no_motifs: Truthy value expected")):
        with pytest.raises(SystemExit) as exit:
            _parser().parse_options(argv)
        assert exit.value.code == 2 and message in capsys.readouterr().err


def test_the_group_metadata_is_the_help_section_an_option_is_listed_under():
    parser = _parser()
    sections = {group.title: [action.dest for action in group._group_actions] for group in parser._action_groups}
    assert sections["motifs"] == ["pvalue", "strand", "no_motifs", "show"]
    assert sections["options"] == ["help", "input", "window", "names"]
    help_text = " ".join(parser.format_help().split())
    assert "motifs: --pvalue PVALUE motif p-value (default 0.0001)" in help_text
    assert "--strand {both,forward} strands (default: both)" in help_text
    assert "--input INPUT, -i INPUT input file" in help_text


def test_split_commas_takes_the_comma_and_the_space_separated_forms():
    assert split_commas(["chr1,chr2", "chr3", " chr4 , "]) == ["chr1", "chr2", "chr3", "chr4"]
    assert split_commas("a,b") == ["a", "b"] and split_commas(None) is None and split_commas([""]) == []


def test_the_cli_module_imports_without_torch_and_its_parser_loads_no_torch():
    """transformers.hf_argparser (what every parser is built on) loads no torch; the data side loads it only
    when a parser is built, so importing dataset_scripts.cli loads neither."""
    import subprocess
    import sys

    probe = """
import sys
import dataset_scripts.cli as cli
assert "torch" not in sys.modules and "transformers" not in sys.modules, "importing the cli module"
from dataclasses import dataclass, field

@dataclass
class Options:
    path: str = field(default="x", metadata={"group": "input", "help": "a path"})

cli.options_parser(Options).parse_options(["--path", "y"])
import dataset_scripts.build as build
build.pretraining_parser().format_help(), build.finetuning_parser().parse_options(["-o", "x"])
assert "transformers.hf_argparser" in sys.modules
assert "torch" not in sys.modules, [m for m in sys.modules if m.startswith("torch")][:5]
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


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
