"""Start-up check of every genebert command: torch and torchvision must be a matched pair.

A mismatched pair (the report: torch 2.13.0+cpu with the default, CUDA, torchvision 0.28.0) failed
with 40 lines of traceback ending in ``operator torchvision::nms does not exist``. Now
``modeling_genebert/__init__`` asks :mod:`modeling_genebert.torch_pair` (standard library only) before it
imports anything that needs torchvision, and each console script (:mod:`modeling_genebert.commands`)
says in one line what to install and exits 2. The failures are simulated: versions through the metadata
reader or a stand-in ``dist-info`` folder, a broken torchvision as a stand-in package that fails on import
the way the real one does.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import modeling_genebert
from modeling_genebert import torch_pair
from modeling_genebert.commands import entry_points

ROOT = Path(__file__).resolve().parents[1]
NMS = "operator torchvision::nms does not exist"
HEAVY = ("torch", "torchvision", "transformers", "timm")


def versions(monkeypatch, torch_version, torchvision_version):
    table = {"torch": torch_version, "torchvision": torchvision_version}
    monkeypatch.setattr(torch_pair, "installed_version", lambda name: table.get(name))


@pytest.mark.parametrize("torch_version, torchvision_version, problem", [
    ("2.14.1", "0.29.1", None),
    ("2.14.1+cu130", "0.29.1+cu130", None),
    ("2.14.1+cpu", "0.29.1+cpu", None),
    ("2.14.1+cu130", "0.29.1", None),  # PyPI's default build is CUDA: nothing to say
    ("2.13.0+cpu", "0.28.0", "torch 2.13.0+cpu (a CPU build) and torchvision 0.28.0 (the default (CUDA) build) are not a matched pair"),
    ("2.14.1", "0.28.0", "torch 2.14.1 and torchvision 0.28.0 are not a matched pair (torch 2.14 goes with torchvision 0.29)"),
    ("2.13.0", "0.29.1", "(torch 2.13 goes with torchvision 0.28)"),
    ("1.13.1", "0.14.1", None),
    (None, "0.29.1", "torch is not installed"),
    ("2.14.1", None, None),
])
def test_the_compatibility_table(torch_version, torchvision_version, problem):
    found = torch_pair.pair_problem(torch_version, torchvision_version)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found, found


def test_a_mismatch_is_one_line_saying_what_to_install_and_exit_2(monkeypatch, capsys):
    versions(monkeypatch, "2.13.0+cpu", "0.28.0")
    assert entry_points.finetune(["--help"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: torch 2.13.0+cpu (a CPU build) and torchvision 0.28.0 (the default (CUDA) build) are not a "
                   "matched pair; install a matched pair: pip install torch==2.14.1 torchvision==0.29.1 "
                   "--index-url https://download.pytorch.org/whl/cpu"]


def test_a_torchvision_that_does_not_import_is_caught_before_the_command(monkeypatch, capsys):
    versions(monkeypatch, "2.14.1", "0.29.1")
    monkeypatch.setattr(torch_pair, "_import_problem", lambda *versions: f"torchvision 0.29.1 does not work with torch 2.14.1 ({NMS})")
    assert entry_points.explain(["--help"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: torchvision 0.29.1 does not work with torch 2.14.1 ({NMS}); install a matched pair: "
        "pip install torch==2.14.1 torchvision==0.29.1"]


def test_the_installed_pair_passes_and_the_command_runs(capsys):
    assert torch_pair.installed_pair_problem() is None and modeling_genebert.TORCH_PAIR_PROBLEM is None
    with pytest.raises(SystemExit) as exit_:
        entry_points.build_finetuning(["--help"])
    assert exit_.value.code == 0 and "genebert-build-finetuning" in capsys.readouterr().out


def test_every_console_script_starts_in_the_command_room():
    scripts = {e.name: e.value for e in metadata.entry_points(group="console_scripts") if e.name.startswith("genebert-")}
    assert set(scripts) == {"genebert-finetune", "genebert-pretrain", "genebert-predict", "genebert-explain",
                            "genebert-benchmark", "genebert-embed", "genebert-analysis", "genebert-score-variants",
                            "genebert-build-pretraining", "genebert-build-finetuning"}
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        assert module == "modeling_genebert.commands.entry_points", (name, target)
        assert function == name.removeprefix("genebert-").replace("-", "_") and callable(getattr(entry_points, function))


def _imports(path: Path) -> list[ast.stmt]:
    return [node for node in ast.parse(path.read_text()).body if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_the_rule_that_keeps_the_check_first():
    """torch_pair imports the standard library only, and it is the first import of the package."""
    for node in _imports(ROOT / "modeling_genebert" / "torch_pair.py"):
        names = [node.module] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
        for name in names:
            assert name == "__future__" or name.split(".")[0] in sys.stdlib_module_names, name
    first = _imports(ROOT / "modeling_genebert" / "__init__.py")[0]
    assert isinstance(first, ast.ImportFrom) and first.module == "torch_pair" and first.level == 1


def _fresh_interpreter(tmp_path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for name in ("GENEBERT_DEBUG", torch_pair.SKIP_VARIABLE):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


LOADED = f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"


def test_a_broken_torchvision_in_a_fresh_interpreter(tmp_path):
    """End to end: a torchvision that raises the nms error on import, in front of the real one on sys.path."""
    fake = tmp_path / "torchvision"
    fake.mkdir()
    (fake / "__init__.py").write_text(f"raise RuntimeError({NMS!r})\n")
    code = f"import sys; from modeling_genebert.commands.entry_points import explain; status = explain(['--help']); {LOADED}; sys.exit(status)"
    result = _fresh_interpreter(tmp_path, code)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: torchvision ") and NMS in lines[0], lines
    assert "pip install torch==2.14.1 torchvision==0.29.1" in lines[0] and "Traceback" not in result.stderr
    assert result.stdout.strip() == "[]"  # neither torch nor anything built on it was imported


def test_a_mismatched_pair_in_a_fresh_interpreter(tmp_path):
    """The metadata of a torchvision 0.28 in front of the real one: the command says so before importing torch,
    and a library user gets TorchPairError with the same advice from the package's names."""
    info = tmp_path / "torchvision-0.28.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torchvision\nVersion: 0.28.0\n")
    torch_version = metadata.version("torch")
    command = f"import sys; from modeling_genebert.commands.entry_points import pretrain; status = pretrain(['--help']); {LOADED}; sys.exit(status)"
    result = _fresh_interpreter(tmp_path, command)
    assert result.returncode == 2 and result.stdout.strip() == "[]", (result.stdout, result.stderr)
    assert result.stderr.strip().splitlines() == [
        f"error: torch {torch_version} and torchvision 0.28.0 are not a matched pair (torch 2.14 goes with torchvision 0.29); "
        f"install a matched pair: {torch_pair.install_line(torch_version)}"]
    library = ("import modeling_genebert\ntry:\n    modeling_genebert.GeneBertModel\nexcept ImportError as error:\n"
               "    print(type(error).__name__, error)")
    result = _fresh_interpreter(tmp_path, library)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("TorchPairError modeling_genebert.GeneBertModel is not available: torch ")
    assert "pip install torch==2.14.1 torchvision==0.29.1" in result.stdout


def test_the_readme_install_lines_pin_the_pair_the_check_suggests():
    readme = (ROOT / "README.md").read_text()
    pair = f"pip install torch=={torch_pair.PINNED_TORCH} torchvision=={torch_pair.PINNED_TORCHVISION}"
    assert f"{pair} --index-url {torch_pair.CPU_INDEX} &&" in readme  # the CPU line
    assert f"{pair} &&" in readme  # the GPU line
