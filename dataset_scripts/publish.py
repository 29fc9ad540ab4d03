"""Build an output folder out of sight and publish it atomically.

:class:`AtomicOutput` is the whole protocol::

    output = AtomicOutput(output_dir, overwrite=False)  # recovers killed builds; refuses an existing output
    ...                                                  # read inputs, check options
    with output as build_dir:                            # a temporary sibling folder
        ...                                              # write everything into build_dir
    # published: build_dir renamed to output_dir; on any exception (KeyboardInterrupt
    # included) build_dir is removed and an existing output_dir is untouched

The temporary folder is ``.NAME.tmp-PID-XXXXXXXX`` next to ``NAME``. Replacing an existing
output takes two renames: the old one goes to ``.NAME.old-PID-XXXXXXXX``, the new one
takes its place, the old one is deleted. A build killed outright (SIGKILL, power loss)
leaves those folders behind; the next build of the same output
(:func:`recover_interrupted_builds`) removes a dead build's temporary folder and puts a
previous dataset back if the kill fell between the two renames.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid

logger = logging.getLogger(__name__)


def _sibling(output_dir: str, kind: str) -> str:
    parent, base = os.path.split(output_dir)
    return os.path.join(parent, f".{base}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    return True


def recover_interrupted_builds(output_dir: str) -> None:
    """Undo what a killed build (SIGKILL, power loss) of ``output_dir`` left behind.

    Its temporary folder is removed; if it died between the two renames that replace an
    existing dataset, the previous dataset (kept as ``.NAME.old-PID-*``) is put back, so a
    rerun never finds the old data gone. Folders of builds still running are left alone.
    """
    parent, base = os.path.split(output_dir)
    if not os.path.isdir(parent):
        return
    pattern = re.compile(rf"\.{re.escape(base)}\.(tmp|old)-(\d+)-[0-9a-f]{{8}}")
    for name in sorted(os.listdir(parent)):
        match = pattern.fullmatch(name)
        if not match or process_alive(int(match.group(2))):
            continue
        path = os.path.join(parent, name)
        if match.group(1) == "old" and not os.path.exists(output_dir):
            os.replace(path, output_dir)
            logger.warning("%s: restored the previous dataset from an interrupted replacement", output_dir)
        else:
            shutil.rmtree(path, ignore_errors=True)
            logger.warning("%s: removed %s left by an interrupted build", output_dir, name)


def publish(build_dir: str, output_dir: str) -> None:
    """Rename ``build_dir`` to ``output_dir``, replacing an existing one (old -> .old-*, new in, old deleted)."""
    if os.path.exists(output_dir):
        old = _sibling(output_dir, "old")
        os.replace(output_dir, old)
        os.replace(build_dir, output_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(build_dir, output_dir)


class AtomicOutput:
    """An output folder that appears whole or not at all (see the module docstring).

    Creating it recovers interrupted builds of ``output_dir`` and raises
    ``FileExistsError`` if the output exists and ``overwrite`` is false; entering it
    creates the temporary build folder and returns its path; leaving it publishes the
    folder, or removes it if the block raised.
    """

    def __init__(self, output_dir: str | os.PathLike, overwrite: bool = False):
        self.path = os.path.abspath(os.fspath(output_dir))
        recover_interrupted_builds(self.path)
        if os.path.exists(self.path) and not overwrite:
            raise FileExistsError(f"{self.path} exists; pass overwrite=True to replace it")
        self.build_dir: str | None = None

    def __enter__(self) -> str:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.build_dir = _sibling(self.path, "tmp")
        os.makedirs(self.build_dir)
        return self.build_dir

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                publish(self.build_dir, self.path)
        finally:
            shutil.rmtree(self.build_dir, ignore_errors=True)  # gone already when published
        return False


__all__ = ["AtomicOutput", "process_alive", "publish", "recover_interrupted_builds"]
