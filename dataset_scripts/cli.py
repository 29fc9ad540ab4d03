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
import copy
import dataclasses
import functools
import logging
import os
import re
import sys
import types
from typing import Any, Callable, Iterable, Mapping

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


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """What a command's log looks like: INFO and up with time and logger name; transformers' own at WARNING.

    Called by :func:`console_script` only: library code leaves logging to its caller (a notebook,
    a pipeline), so importing or calling it never adds handlers to the root logger.
    """
    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO)
    transformers = sys.modules.get("transformers")  # only a command that loaded it has a verbosity to set
    if transformers is not None:
        transformers.utils.logging.set_verbosity_warning()


def console_script(run: Callable[[list[str] | None], object], prog: str = "genebert") -> Callable[[list[str] | None], int]:
    """Wrap ``run(argv)`` as the console entry point ``prog``: 0 on success, 2 and ``error: ...`` on bad input.

    Logging is configured here (:func:`configure_logging`), once, before ``run``. The wrapper
    never returns ``run``'s result: the console-script shim passes the return value to
    ``sys.exit``, which would print a dict and exit 1.
    """

    def main(argv: list[str] | None = None) -> int:
        configure_logging()
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
        if ("default" in text.lower() or not action.option_strings or action.default is None or action.default is False
                or action.default in ("", []) or action.default is argparse.SUPPRESS):  # 0 is shown, False is not
            return text
        return f"{text} (default: %(default)s)"


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


# ----------------------------------------------------------------------------- options dataclass <-> argparse
_ALIASES = re.compile(r"(?<![\w/-])(--?[A-Za-z][\w-]*)(?:/--?[A-Za-z][\w-]*)+")  # "--a_b/--a-b/-a" in an error


@functools.cache
def _options_parser_class() -> type:
    """:class:`OptionsParser`, made on first use: transformers (its package and ``hf_argparser``, about a second;
    no torch) loads when a command builds its parser, not when the data side is imported."""
    from transformers.hf_argparser import HfArgumentParser

    class OptionsParser(HfArgumentParser):
        """transformers' ``HfArgumentParser`` (one ``--snake_case`` option and its ``--dashed-alias`` per field of
        an options dataclass; ``metadata``: ``help``, ``choices``, ``metavar``, ``aliases``) with our ``--help``
        (:class:`HelpFormatter`) and one more metadata key, ``group``: the title of the ``--help`` section the
        option is listed under (none: the parser's own)."""

        def __init__(self, dataclass_types=None, **kwargs):
            kwargs.setdefault("formatter_class", HelpFormatter)
            self._titled_groups: dict[str, argparse._ArgumentGroup] = {}  # filled while the base adds the fields
            super().__init__(dataclass_types, **kwargs)

        def group(self, title: str) -> argparse._ArgumentGroup:
            """The ``--help`` section ``title`` (made the first time): where a command adds options of its own."""
            if title not in self._titled_groups:
                self._titled_groups[title] = self.add_argument_group(title)
            return self._titled_groups[title]

        def _parse_dataclass_field(self, parser, field):
            """The base passes every metadata key to ``add_argument``: ``group`` is ours, so it picks the section."""
            title = field.metadata.get("group")
            if title is None:
                return super()._parse_dataclass_field(parser, field)
            field = copy.copy(field)
            field.metadata = types.MappingProxyType({k: v for k, v in field.metadata.items() if k != "group"})
            return super()._parse_dataclass_field(self.group(title), field)

        def error(self, message: str):
            """argparse names an option by all its spellings (``--batch_size/--batch-size``): name it once, as
            ``--help`` lists it first."""
            super().error(_ALIASES.sub(r"\1", message))

        def parse_options(self, argv: list[str] | None = None) -> tuple:
            """The command line as the options dataclasses (in order), then a namespace of the options a command
            added itself (e.g. ``--show``) if any. Unlike ``parse_args_into_dataclasses``' defaults no ``.args``
            file beside the script is read, and an unknown option is argparse's ``error: unrecognized arguments``
            (exit status 2)."""
            *parsed, unknown = self.parse_args_into_dataclasses(argv, return_remaining_strings=True,
                                                                look_for_args_file=False)
            if unknown:
                self.error(f"unrecognized arguments: {' '.join(unknown)}")
            return tuple(parsed)

    OptionsParser.__qualname__ = "OptionsParser"
    return OptionsParser


def options_parser(dataclass_types, **kwargs) -> argparse.ArgumentParser:
    """A command's parser, generated from its options dataclass(es) (an ``OptionsParser``, see
    :func:`_options_parser_class`), so a command and its Python API share one definition of every option;
    ``kwargs`` go to ``argparse.ArgumentParser`` (``prog``, ``description``, ``epilog``, ...)."""
    return _options_parser_class()(dataclass_types, **kwargs)


def split_commas(values: str | Iterable[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` (or ``"a,b"``) -> ``["a", "b", "c"]``: a list option keeps taking the comma-separated form
    the build commands always had, beside space-separated values (call from ``__post_init__``); None stays None."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def fspath_options(options: Any) -> None:
    """Let a Python caller give path options as ``pathlib.Path`` (any ``os.PathLike``): each such field
    of the options dataclass becomes its ``str``, once (call from ``__post_init__``), so the code that
    reads the options (``f"{output}.parquet"``, JSON summaries) needs no conversion of its own."""
    for spec in dataclasses.fields(options):
        value = getattr(options, spec.name)
        if isinstance(value, os.PathLike):
            setattr(options, spec.name, os.fspath(value))


# TrainingArguments' numbers that torch or the Trainer would reject only after the data were read and tokenised
TRAINING_BOUNDS = {
    "per_device_train_batch_size": (">=", 1), "per_device_eval_batch_size": (">=", 1),
    "gradient_accumulation_steps": (">=", 1), "num_train_epochs": (">", 0), "learning_rate": (">=", 0),
    "weight_decay": (">=", 0), "warmup_steps": (">=", 0), "logging_steps": (">", 0), "save_steps": (">", 0),
    "eval_steps": (">", 0), "save_total_limit": (">=", 1), "dataloader_num_workers": (">=", 0),
}


def check_bounds(options: Any, bounds: Mapping[str, tuple[str, float]]) -> None:
    """Each named option of ``options`` that is set meets its bound (``">="`` or ``">"``), else a ``UsageError``
    naming the option: called where the options are parsed, before any data is read or any folder made."""
    for name, (relation, bound) in bounds.items():
        value = getattr(options, name, None)
        if value is None or isinstance(value, bool):
            continue
        if (value < bound) if relation == ">=" else (value <= bound):
            wanted = f"at least {bound}" if relation == ">=" else f"greater than {bound}"
            raise UsageError(f"--{name} must be {wanted}, got {value}")


def options_given(parser: argparse.ArgumentParser, argv: list[str], what: str) -> dict[str, Any]:
    """Only the options ``argv`` sets, typed by ``parser`` (a command's own): what a command that calls another
    (``--finetune_args``, ``--pretrain_args``) lays over the options it chose itself, as later options on a command
    line win. An unknown or malformed option is a :class:`UsageError` naming ``what`` (the option that carried it)."""
    for action in parser._actions:
        action.default = argparse.SUPPRESS  # what argv does not set stays out of the namespace
    parser.exit_on_error = False
    try:
        given, unknown = parser.parse_known_args(argv)
    except argparse.ArgumentError as error:
        raise UsageError(f"{what}: {error}") from None
    if unknown:
        raise UsageError(f"{what}: {' '.join(unknown)} is not an option of {parser.prog}")
    return vars(given)


__all__ = ["DEBUG_VARIABLE", "LOG_FORMAT", "USER_ERRORS", "HelpFormatter", "UsageError",
           "close_progress_bars", "configure_logging", "console_script", "debugging", "fail", "fspath_options", "group_options",
           "options_given", "options_parser", "split_commas"]
