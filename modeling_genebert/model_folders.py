"""Is a path a model folder? Checked where the options are parsed, before any data is read.

Every command and typed API function that takes a model folder asks this first, so a wrong path is one
line naming the option, not a transformers traceback after minutes of data loading.
"""

from __future__ import annotations

import os

from dataset_scripts.cli import UsageError

MODEL_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "adapter_model.safetensors")


def check_model_folder(path, option: str = "--model_name_or_path", weights: bool = True) -> str:
    """Fail early (before any data is read) when ``path`` is not a model folder; returns it.

    A model folder holds ``config.json`` (an adapter folder ``adapter_config.json``) and, unless
    ``weights`` is false (an architecture to train from scratch), weights.
    """
    folder = os.fspath(path)
    if not os.path.exists(folder):
        raise FileNotFoundError(f"{option} {folder}: no such folder")
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {folder}: a file, not a model folder")
    if not any(os.path.isfile(os.path.join(folder, name)) for name in ("config.json", "adapter_config.json")):
        raise UsageError(f"{option} {folder}: not a model folder (no config.json)")
    if weights and not any(os.path.isfile(os.path.join(folder, name)) for name in MODEL_WEIGHTS):
        raise UsageError(f"{option} {folder}: not a model folder (no weights: {', '.join(MODEL_WEIGHTS[::2])})")
    return folder


__all__ = ["MODEL_WEIGHTS", "check_model_folder"]
