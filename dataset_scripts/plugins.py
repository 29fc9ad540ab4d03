"""Entry-point groups through which other packages add to GeneBERT's registries.

``genebert.tasks`` (each entry a ``Task``) and ``genebert.variant_scores`` (each entry a ``VariantScore``):
a package that declares an entry in its ``setup.cfg`` / ``pyproject.toml`` is picked up by every command,
which runs in its own process where a ``register_*`` call in the user's code would never run. A registry
calls :func:`load_plugins` before it is read; each group is loaded once per process, and a name already
registered (a built-in) keeps its definition. A plugin module that reads a registry while it is being
imported (``get_task("promoter")`` to derive its own task) gets the registry as it stands; the other
group loads at the next read, once that module is whole.
"""

from __future__ import annotations

from importlib import metadata
from typing import Callable

_LOADED: set[str] = set()
_loading = False  # a group's entry points are being imported


def load_plugins(group: str, kind: type, add: Callable[[object], None]) -> None:
    """Load every entry point of ``group`` once; each must be a ``kind`` instance, which ``add`` registers."""
    global _loading
    if group in _LOADED or _loading:  # while a plugin imports, the registries answer as they stand
        return
    _loading = True
    try:
        for entry in metadata.entry_points(group=group):
            value = entry.load()
            if not isinstance(value, kind):
                raise TypeError(f"entry point {entry.name} = {entry.value} in {group!r} is not a {kind.__name__}")
            add(value)
        _LOADED.add(group)
    finally:
        _loading = False


__all__ = ["load_plugins"]
