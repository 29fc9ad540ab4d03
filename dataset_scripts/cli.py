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
import dataclasses
import logging
import os
import sys
import types
import typing
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


# ----------------------------------------------------------------------------- options dataclass <-> argparse
def _option_type(annotation) -> tuple[type, bool]:
    """``(int | float | str | bool, is_list)`` from a field's annotation (``X | None`` -> ``X``; ``list[X]``:
    an option taking one or more values)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    is_list = typing.get_origin(annotation) is list
    if is_list:
        annotation = typing.get_args(annotation)[0]
    if annotation not in (str, int, float, bool) or (is_list and annotation is bool):
        raise TypeError(f"an option must be str, int, float or bool, a list of one of the first three, "
                        f"or one of them | None, not {annotation!r}")
    return annotation, is_list


def add_options(parser: argparse.ArgumentParser, options_class: type) -> dict[str, argparse._ArgumentGroup]:
    """Add one ``--name`` per field of the dataclass ``options_class``, so a command and its Python API
    share one definition of every option (name, type, default, help, choices).

    A field without a default is a required option; a ``bool`` field (default False) is a flag; a
    ``list[X]`` field takes one or more values (``nargs="+"``).
    ``metadata``: ``help`` (required), ``choices``, ``metavar``, and ``group``, the title of the
    ``--help`` section the option is listed under (none: the parser's own). Returns the groups by title.
    """
    hints = typing.get_type_hints(options_class)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for spec in dataclasses.fields(options_class):
        meta = dict(spec.metadata)
        title = meta.pop("group", None)
        if title is not None and title not in groups:
            groups[title] = parser.add_argument_group(title)
        target = parser if title is None else groups[title]
        kind, is_list = _option_type(hints[spec.name])
        if is_list:
            meta["nargs"] = "+"
        if spec.default is not dataclasses.MISSING:
            meta["default"] = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            meta["default"] = spec.default_factory()
        else:
            meta["required"] = True
        if kind is bool:
            if meta.get("default") is not False:
                raise TypeError(f"{options_class.__name__}.{spec.name}: a flag must default to False")
            meta["action"] = "store_true"
        else:
            meta["type"] = kind
        target.add_argument(f"--{spec.name}", dest=spec.name, **meta)
    return groups


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


def parse_options(parser: argparse.ArgumentParser, options_class: type, argv: list[str] | None = None) -> tuple[Any, argparse.Namespace]:
    """``(options_class instance, the other parsed arguments)``: the command line as the options dataclass
    (see :func:`add_options`) plus what only the command line has (e.g. ``--show``)."""
    parsed = vars(parser.parse_args(argv))
    names = {spec.name for spec in dataclasses.fields(options_class)}
    options = options_class(**{name: value for name, value in parsed.items() if name in names})
    return options, argparse.Namespace(**{name: value for name, value in parsed.items() if name not in names})


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


__all__ = ["DEBUG_VARIABLE", "LOG_FORMAT", "USER_ERRORS", "HelpFormatter", "UsageError", "add_options", "check_model_folder",
           "close_progress_bars", "configure_logging", "console_script", "debugging", "fail", "fspath_options", "group_options",
           "options_given", "parse_options"]
