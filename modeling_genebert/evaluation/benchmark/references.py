"""Published reference numbers (``references.yaml``): DNABERT-2 on GUE, the GeneBERT paper's tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_REFERENCES = Path(__file__).with_name("references.yaml")
SOURCE_KEYS = {"method", "citation", "table", "compute", "split", "scale", "note"}
ENTRY_KEYS = {"source", "task", "table", "data", "metrics"}


@dataclass(frozen=True)
class Reference:
    """One published row: ``metrics`` on the 0-1 scale of our own numbers (the file's ``scale`` divided out)."""

    task: str
    method: str
    metrics: dict
    citation: str
    table: str
    compute: str
    split: str
    data: str | None = None

    @property
    def label(self) -> str:
        return f"{self.method} [{self.table}]"


def load_references(path: str | Path | None = None) -> list[Reference]:
    path = Path(path) if path else DEFAULT_REFERENCES
    if not path.exists():
        raise FileNotFoundError(f"--references {path}: no such file")
    data = yaml.safe_load(path.read_text()) or {}
    sources = data.get("sources") or {}
    out = []
    for name, source in sources.items():
        extra = sorted(set(source) - SOURCE_KEYS)
        if extra:
            raise ValueError(f"{path}: sources.{name}: unknown key(s) {extra}; known: {sorted(SOURCE_KEYS)}")
    for i, entry in enumerate(data.get("references") or []):
        extra = sorted(set(entry) - ENTRY_KEYS)
        if extra:
            raise ValueError(f"{path}: references[{i}]: unknown key(s) {extra}; known: {sorted(ENTRY_KEYS)}")
        source = sources.get(entry.get("source"))
        if source is None:
            raise ValueError(f"{path}: references[{i}]: source {entry.get('source')!r} is not under 'sources'")
        scale = float(source.get("scale", 1))
        out.append(Reference(
            task=str(entry["task"]),
            method=source.get("method", entry["source"]),
            metrics={k: float(v) / scale for k, v in (entry.get("metrics") or {}).items()},
            citation=source.get("citation", ""),
            table=entry.get("table") or source.get("table", ""),
            compute=source.get("compute", ""),
            split=source.get("split", "test"),
            data=entry.get("data"),
        ))
    return out


def references_for(task: str, references: list[Reference]) -> list[Reference]:
    return [r for r in references if r.task == task]


__all__ = ["DEFAULT_REFERENCES", "Reference", "load_references", "references_for"]
