"""Start-up check of every genebert command: torch and torchvision must be a matched pair.

A mismatched pair (the report: torch 2.13.0+cpu with the default, CUDA, torchvision 0.28.0) failed
with 40 lines of traceback ending in ``operator torchvision::nms does not exist``. Now each console
script starts in :mod:`dataset_scripts.startup`, which says in one line what to install and exits 2.
The failures are simulated: versions through the metadata reader, a broken torchvision as a stand-in
package that fails on import the way the real one does.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from dataset_scripts import startup

ROOT = Path(__file__).resolve().parents[1]
NMS = "operator torchvision::nms does not exist"


def versions(monkeypatch, torch_version, torchvision_version):
    table = {"torch": torch_version, "torchvision": torchvision_version}
    monkeypatch.setattr(startup, "installed_version", lambda name: table.get(name))


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
    found = startup.pair_problem(torch_version, torchvision_version)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found, found


def test_a_mismatch_is_one_line_saying_what_to_install_and_exit_2(monkeypatch, capsys):
    versions(monkeypatch, "2.13.0+cpu", "0.28.0")
    imported = []
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: imported.append(name))
    assert startup.finetune(["--help"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: torch 2.13.0+cpu (a CPU build) and torchvision 0.28.0 (the default (CUDA) build) are not a "
                   "matched pair; install a matched pair: pip install torch==2.14.1 torchvision==0.29.1 "
                   "--index-url https://download.pytorch.org/whl/cpu"]
    assert imported == []  # neither torchvision nor the command was imported


def test_a_torchvision_that_does_not_import_is_caught_before_the_command(monkeypatch, capsys):
    versions(monkeypatch, "2.14.1", "0.29.1")
    imported = []

    def fake_import(name, *args):
        imported.append(name)
        if name == "torchvision":
            raise RuntimeError(NMS)
        raise AssertionError(f"the command {name} must not be imported")

    monkeypatch.setattr(importlib, "import_module", fake_import)
    assert startup.explain(["--help"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: torchvision 0.29.1 does not work with torch 2.14.1 ({NMS}); install a matched pair: "
        "pip install torch==2.14.1 torchvision==0.29.1"]
    assert imported == ["torchvision"]


def test_the_installed_pair_passes_and_the_builders_do_not_import_torchvision(monkeypatch):
    assert startup.check_torch_pair(import_torchvision=False) == 0
    calls = []
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: calls.append(name) or _Main())
    assert startup.build_finetuning(["--help"]) == 0
    assert calls == ["dataset_scripts.build"]


class _Main:
    def main_finetuning(self, argv):
        return 0


def test_every_console_script_starts_with_the_check():
    scripts = {e.name: e.value for e in metadata.entry_points(group="console_scripts") if e.name.startswith("genebert-")}
    assert {"genebert-finetune", "genebert-pretrain", "genebert-predict", "genebert-explain", "genebert-benchmark",
            "genebert-embed", "genebert-analysis", "genebert-score-variants", "genebert-build-pretraining",
            "genebert-build-finetuning"} <= set(scripts)
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        assert module == "dataset_scripts.startup", (name, target)
        assert callable(getattr(startup, function)), name


def test_a_broken_torchvision_in_a_fresh_interpreter(tmp_path):
    """End to end: a torchvision that raises the nms error on import, in front of the real one on sys.path."""
    fake = tmp_path / "torchvision"
    fake.mkdir()
    (fake / "__init__.py").write_text(f"raise RuntimeError({NMS!r})\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("GENEBERT_DEBUG", None)
    code = "import sys; from dataset_scripts.startup import explain; sys.exit(explain(['--help']))"
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: torchvision ") and NMS in lines[0], lines
    assert "pip install torch==2.14.1 torchvision==0.29.1" in lines[0] and "Traceback" not in result.stderr


def test_the_readme_install_lines_pin_the_pair_the_check_suggests():
    readme = (ROOT / "README.md").read_text()
    pair = f"pip install torch=={startup.PINNED_TORCH} torchvision=={startup.PINNED_TORCHVISION}"
    assert f"{pair} --index-url {startup.CPU_INDEX} &&" in readme  # the CPU line
    assert f"{pair} &&" in readme  # the GPU line
