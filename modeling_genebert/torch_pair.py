"""Is the installed torch / torchvision a matched pair? Answered from package metadata, before either is imported.

A torchvision that does not match torch fails deep inside an import (transformers and timm import
torchvision) with 40 lines of traceback ending in ``operator torchvision::nms does not exist``. So
:mod:`modeling_genebert` asks this module first, and the console scripts (:mod:`.commands`) turn a
problem into one line ``error: ... pip install torch==X torchvision==Y`` and exit status 2. The
installed versions are read from the package metadata (no import), compared with PyTorch's
compatibility table (torch 2.N pairs with torchvision 0.(N+15); torch 1.N with 0.(N+1)) and with each
other's build (a ``+cpu`` torch needs a ``+cpu`` torchvision); then torchvision is imported once, so
that a pair that still does not work is caught here too.

The rule that keeps the check first: this module imports the standard library only, and it is the
first import of ``modeling_genebert/__init__.py`` (tests/test_data_startup_checks.py holds both).
"""

from __future__ import annotations

import os
import re
from importlib import metadata

# the pair that the README's install lines and CI pin
PINNED_TORCH, PINNED_TORCHVISION = "2.14.1", "0.29.1"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SKIP_VARIABLE = "GENEBERT_SKIP_TORCH_CHECK"


class TorchPairError(ImportError):
    """torch and torchvision are not a matched pair; the message says what to install."""


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _build(version: str) -> str:
    """The local build label: ``2.13.0+cpu`` -> ``cpu``, ``0.29.1+cu130`` -> ``cu130``, ``0.28.0`` -> ``''``."""
    return version.partition("+")[2].lower()


def matching_torchvision(torch_version: str) -> str | None:
    """``major.minor`` of the torchvision release that goes with ``torch_version`` (None when not in the table)."""
    release = _release(torch_version)
    if release is None:
        return None
    major, minor = release
    if major == 2:
        return f"0.{minor + 15}"
    if major == 1 and minor >= 4:
        return f"0.{minor + 1}"
    return None


def install_line(torch_version: str | None) -> str:
    """What to install: the pinned pair, from PyTorch's CPU index when the installed torch is a CPU build."""
    line = f"pip install torch=={PINNED_TORCH} torchvision=={PINNED_TORCHVISION}"
    if torch_version and _build(torch_version) == "cpu":
        line += f" --index-url {CPU_INDEX}"
    return line


def pair_problem(torch_version: str | None, torchvision_version: str | None) -> str | None:
    """Why the installed versions are not a matched pair, or None when they are (or cannot be judged)."""
    if torch_version is None:
        return "torch is not installed"
    if torchvision_version is None:
        return None  # nothing to mismatch; timm and transformers work without it or say so
    expected = matching_torchvision(torch_version)
    found = _release(torchvision_version)
    if expected is not None and found is not None and f"{found[0]}.{found[1]}" != expected:
        return (f"torch {torch_version} and torchvision {torchvision_version} are not a matched pair "
                f"(torch {'.'.join(map(str, _release(torch_version)))} goes with torchvision {expected})")
    builds = _build(torch_version), _build(torchvision_version)
    if builds[0] != builds[1] and ("cpu" in builds or all(builds)):
        def kind(label):
            return "a CPU build" if label == "cpu" else (f"a {label} build" if label else "the default (CUDA) build")
        return (f"torch {torch_version} ({kind(builds[0])}) and torchvision {torchvision_version} "
                f"({kind(builds[1])}) are not a matched pair")
    return None


def _import_problem(torch_version: str | None, torchvision_version: str | None) -> str | None:
    try:
        import torchvision  # noqa: F401  (the import that fails on a broken pair)
    except ModuleNotFoundError as error:
        if error.name == "torchvision":
            return None
        message = error
    except Exception as error:  # e.g. RuntimeError: operator torchvision::nms does not exist
        message = error
    else:
        return None
    first = str(message).strip().splitlines()[-1] if str(message).strip() else type(message).__name__
    return f"torchvision {torchvision_version} does not work with torch {torch_version} ({first})"


def installed_pair_problem() -> str | None:
    """The one line that says what is wrong with the installed pair and what to install; None when it works
    (or when ``GENEBERT_SKIP_TORCH_CHECK=1`` says not to look)."""
    if os.environ.get(SKIP_VARIABLE, "").strip().lower() in ("1", "true", "yes"):
        return None
    torch_version, torchvision_version = installed_version("torch"), installed_version("torchvision")
    problem = pair_problem(torch_version, torchvision_version)
    if problem is None and torchvision_version is not None:
        problem = _import_problem(torch_version, torchvision_version)
    return None if problem is None else f"{problem}; install a matched pair: {install_line(torch_version)}"


__all__ = ["CPU_INDEX", "PINNED_TORCH", "PINNED_TORCHVISION", "TorchPairError", "install_line", "installed_pair_problem",
           "matching_torchvision", "pair_problem"]
