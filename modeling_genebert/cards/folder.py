"""One policy for every folder GeneBERT writes (pre-trained, fine-tuned).

* No pickles: the Trainer's ``training_args.bin`` becomes ``training_args.json``; the
  Trainer's state (the logged loss history) is kept as ``trainer_state.json``.
* Every file is readable as the user's umask allows (safetensors writes weights with mode
  0600 through a temporary file, so on a shared machine nobody else could read them).
* Intermediate ``checkpoint-N`` folders (optimizer state included) are removed once the
  final folder is written, unless the user keeps them (``--keep_checkpoints true``); while a
  run is under way they are what ``--resume_from_checkpoint auto`` continues from.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def finish_output_folder(folder: str | os.PathLike, trainer) -> None:
    """Replace ``training_args.bin`` by JSON, keep the trainer state, give every file the umask's default mode."""
    folder = Path(folder)
    (folder / "training_args.bin").unlink(missing_ok=True)
    (folder / "training_args.json").write_text(trainer.args.to_json_string())
    trainer.state.save_to_json(str(folder / "trainer_state.json"))
    mode = 0o666 & ~_umask()
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(mode)


def remove_checkpoints(output_dir: str | os.PathLike) -> list[str]:
    """Delete the ``checkpoint-N`` folders of a finished run; returns their names."""
    removed = []
    for path in sorted(Path(output_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*")):
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(path.name)
    return removed


__all__ = ["finish_output_folder", "remove_checkpoints"]
