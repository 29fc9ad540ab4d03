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


def fail(message: str) -> int:
    """Print ``error: message`` on stderr; return the exit status for bad input (2)."""
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
                raise
            return fail(f"{error} (set {DEBUG_VARIABLE}=1 to see the traceback)")
        return 0

    main.__doc__ = f"Console entry point ({prog}): exit 0, or 2 with 'error: ...' on stderr for bad input."
    return main


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


__all__ = ["DEBUG_VARIABLE", "USER_ERRORS", "UsageError", "console_script", "debugging", "fail", "group_options"]
