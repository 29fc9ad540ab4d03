"""A self-contained HTML report: tables and every PNG embedded as base64 (one file to mail or archive)."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import pandas as pd


def _img(path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(Path(path).name)}">'


def write_report(path, title: str, sections: list[tuple[str, object]]) -> str:
    """``sections``: ``(heading, content)`` with content a DataFrame, a PNG path, a list of PNG paths, or text."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}img{max-width:100%;display:block;"
             "margin:.5em 0}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
             "padding:3px 6px}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if isinstance(content, pd.DataFrame):
            parts.append(content.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0))
        elif isinstance(content, (list, tuple)):
            parts.extend(_img(p) for p in content)
        elif isinstance(content, (str, os.PathLike)) and str(content).endswith(".png") and Path(content).is_file():
            parts.append(_img(content))
        else:
            parts.append(f"<p>{html.escape(str(content))}</p>")
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")
    return os.fspath(path)
