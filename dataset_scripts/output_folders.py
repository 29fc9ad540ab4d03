"""One policy for the output folders (and output files) of every GeneBERT command: no silent overwrite.

A command may write into its output folder when

* the folder does not exist, or is empty;
* the user said so: ``--overwrite`` (or, where resuming applies, ``--resume_from_checkpoint``);
* the folder is the leftover of an interrupted run of the same command: it holds the marker
  :data:`MARKER` that the command writes when it starts and removes when it finishes, or nothing
  but what such a run leaves (``checkpoint-N`` folders of a Trainer);
* the command resumes by design and the folder is its own (``genebert-benchmark``: finished runs are
  never run again, so nothing is lost).

Anything else (a finished model, someone else's files) is refused with an ``error:`` line that names
the folder and the flag. Lives on the data side, beside :mod:`.cli`, so that every command, the
data builders included, shares it without importing torch.

Usage in a command::

    folder = OutputFolder(args.output_dir, "genebert-explain", overwrite=args.overwrite)  # checks
    folder.start()    # creates the folder and the marker (before the first write)
    ...
    folder.finish()   # the run is complete: the marker goes
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Sequence

from .cli import UsageError

MARKER = ".genebert-run-in-progress.json"
TRAINER_LEFTOVERS = ("checkpoint-*",)


class OutputExistsError(UsageError):
    """The output folder (or file) holds results the command would overwrite; the message names the flag."""


def _entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _marker_command(folder: Path) -> str | None:
    try:
        return json.loads((folder / MARKER).read_text()).get("command")
    except (OSError, ValueError, AttributeError):
        return None


def _shown(names: Sequence[str], limit: int = 4) -> str:
    listed = ", ".join(names[:limit])
    return listed + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_output_folder(
    path: str | os.PathLike,
    command: str,
    *,
    overwrite: bool = False,
    resume: bool = False,
    leftovers: Iterable[str] = (),
    own_layout: Iterable[str] | None = None,
    resume_flag: str | None = None,
) -> Path:
    """Raise :class:`OutputExistsError` unless ``command`` may write into ``path`` (see the module docstring).

    ``leftovers``: glob patterns of what an interrupted run leaves (e.g. ``checkpoint-*``); a folder
    holding nothing else is taken as such a leftover. ``own_layout``: for commands that resume by
    design, the patterns their own folder consists of. ``resume_flag``: the option that resumes
    (named in the error), e.g. ``--resume_from_checkpoint auto``; ``resume`` says it was given.
    """
    folder = Path(path)
    flags = "--overwrite" + (f" (or {resume_flag} to continue its run)" if resume_flag else "")
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"{folder} is a file, not a folder: choose another output folder")
    if not folder.is_dir() or overwrite:
        return folder
    names = _entries(folder)
    if not names:
        return folder
    if resume and resume_flag:
        return folder
    marker = _marker_command(folder)
    if marker == command:
        return folder  # the leftover of an interrupted run of this command
    rest = [n for n in names if n != MARKER and not any(fnmatch.fnmatch(n, p) for p in leftovers)]
    if not rest:
        return folder
    if own_layout is not None and marker is None and all(any(fnmatch.fnmatch(n, p) for p in own_layout) for n in rest):
        return folder
    by = f" (written by {marker})" if marker else ""
    raise OutputExistsError(
        f"{folder} is not empty{by}: it holds {_shown(rest)}; {command} does not overwrite it: pass {flags}, "
        "or choose another output folder"
    )


def check_output_files(paths: Iterable[str | os.PathLike], command: str, *, overwrite: bool = False) -> None:
    """The same policy for commands that write files (``PREFIX.parquet``, ...): existing ones need ``--overwrite``."""
    existing = [os.fspath(p) for p in paths if os.path.exists(p)]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{_shown(existing)} already exist{'s' if len(existing) == 1 else ''}; {command} does not overwrite "
            "them: pass --overwrite, or choose another output prefix"
        )


class OutputFolder:
    """An output folder under the policy: checked when made, marked while the run is under way."""

    def __init__(self, path: str | os.PathLike, command: str, *, overwrite: bool = False, resume: bool = False,
                 leftovers: Iterable[str] = (), own_layout: Iterable[str] | None = None,
                 resume_flag: str | None = None, main_process: bool = True):
        self.command, self.main_process = command, main_process
        self.path = check_output_folder(path, command, overwrite=overwrite, resume=resume, leftovers=leftovers,
                                        own_layout=own_layout, resume_flag=resume_flag)

    @property
    def marker(self) -> Path:
        return self.path / MARKER

    def start(self) -> Path:
        """Create the folder and the in-progress marker (main process only); returns the folder."""
        self.path.mkdir(parents=True, exist_ok=True)
        if self.main_process:
            self.marker.write_text(json.dumps({
                "command": self.command, "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "argv": sys.argv[1:],
                "note": "this run has not finished; running the same command again continues or redoes it",
            }, indent=1))
        return self.path

    def finish(self) -> None:
        """The run is complete: remove the marker."""
        if self.main_process:
            self.marker.unlink(missing_ok=True)


__all__ = ["MARKER", "TRAINER_LEFTOVERS", "OutputExistsError", "OutputFolder", "check_output_files", "check_output_folder"]
