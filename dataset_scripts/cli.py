"""One dialect for every GeneBERT console script.

Bad input (a malformed file, a missing path, an impossible option) ends with one line
``error: <message>`` on stderr and exit status 2, never a traceback: the message already
names the file, line, field and value. ``GENEBERT_DEBUG=1`` in the environment shows the
traceback instead. Anything else (a bug of ours) still raises with its traceback.

Lives on the data side because it is the lowest layer every command shares and it must
stay importable without torch or transformers.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Iterable, Mapping

# what bad input raises: DataFormatError is a ValueError; missing / unreadable files are OSErrors
USER_ERRORS = (ValueError, OSError)
DEBUG_VARIABLE = "GENEBERT_DEBUG"


class UsageError(ValueError):
    """An option or a combination of options that cannot work; the message says which."""


def debugging() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def close_progress_bars() -> None:
    """Close every open tqdm bar, so that an error line starts a line of its own (not glued onto a bar)."""
    tqdm_module = sys.modules.get("tqdm")  # loaded only if some bar was made
    for bar in list(getattr(getattr(tqdm_module, "tqdm", None), "_instances", ()) or ()):
        try:
            bar.close()
        except Exception:  # a bar that cannot draw any more must not hide the error
            pass
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


def fail(message: str) -> int:
    """Print ``error: message`` on stderr (on a line of its own); return the exit status for bad input (2)."""
    close_progress_bars()
    print(f"error: {message}", file=sys.stderr)
    return 2


def console_script(run: Callable[[list[str] | None], object], prog: str = "genebert") -> Callable[[list[str] | None], int]:
    """Wrap ``run(argv)`` as the console entry point ``prog``: 0 on success, 2 and ``error: ...`` on bad input.

    The wrapper never returns ``run``'s result: the console-script shim passes the return
    value to ``sys.exit``, which would print a dict and exit 1.
    """

    def main(argv: list[str] | None = None) -> int:
        try:
            run(argv)
        except USER_ERRORS as error:
            if debugging():
                close_progress_bars()
                raise
            return fail(f"{error} (set {DEBUG_VARIABLE}=1 to see the traceback)")
        except BaseException:
            close_progress_bars()  # the traceback starts on a line of its own too
            raise
        return 0

    main.__doc__ = f"Console entry point ({prog}): exit 0, or 2 with 'error: ...' on stderr for bad input."
    return main


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` that shows each option's default (unless its help already says it, or it has none)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text.lower() or not action.option_strings or action.default in (None, False, "", [])
                or action.default is argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


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


def group_options(parser: argparse.ArgumentParser, groups: Mapping[str, Iterable[str]], rest: str) -> None:
    """Order ``--help`` as users read it: the named groups of options first, every other option last.

    ``groups`` maps a title to option names (``dest``); options in no group (e.g. the
    ``TrainingArguments`` a command passes through) go under ``rest``.
    """
    general = parser._optionals  # argparse keeps every optional action here until it is moved
    placed = {name: title for title, names in groups.items() for name in names}
    new = {title: parser.add_argument_group(title) for title in (*groups, rest)}
    for action in list(general._group_actions):
        if action.dest == "help":
            continue
        general._group_actions.remove(action)
        new[placed.get(action.dest, rest)]._group_actions.append(action)
    parser._action_groups = [g for g in parser._action_groups if g not in new.values()] + list(new.values())


__all__ = ["DEBUG_VARIABLE", "USER_ERRORS", "HelpFormatter", "UsageError", "check_model_folder", "close_progress_bars",
           "console_script", "debugging", "fail", "group_options"]
