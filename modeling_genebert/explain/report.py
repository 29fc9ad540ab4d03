"""The report a biologist reads: ``report.html`` (self-contained, every PNG embedded as base64: one file to
mail or archive) and the same as ``report.md`` (pictures linked beside it).

Its title names the model, the class and the input file; a legend says what each score shows and
what its sign means; where the input carries labels, the true labels and the model's quality on
these sequences come before any attribution.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import pandas as pd

LEGEND = {
    "ism": ("ISM (in-silico saturation mutagenesis)",
            "each base is changed to each of the three other bases and the model is scored again. A base's value "
            "is how much the class's log-odds falls, on average over its three mutations, when the base is changed. "
            "Positive (letter above the axis): the base supports the class; negative (letter below the axis): the "
            "base works against it, mutating it would raise the class's score; near 0: the model does not care "
            "about this base. Unit: natural log-odds of the class. ISM is a direct measurement."),
    "ig": ("IG (Integrated Gradients, per base)",
           "the difference between the sequence's class log-odds and that of an 'average' sequence (every position "
           "25% A, C, G and T) shared out among the bases, from gradients along the way between the two. Positive: "
           "the observed base raises the class's log-odds above what an average base would give; negative: it lowers "
           "it. One sequence's values add up to its score minus the average sequence's. IG is a gradient estimate of "
           "what ISM measures and should point at the same bases."),
    "logos": ("Logos",
              "the upper track shows every base of the sequence (dark bars up: supports the class, blue bars down: "
              "against it); the letters below are the shaded window, each letter as tall as its value."),
    "motifs": ("Motifs (TF-MoDISco, Tomtom)",
               "TF-MoDISco collects seqlets, short stretches whose summed attribution is far above what shuffled "
               "attributions give, and clusters them into motifs (CWM: mean contribution of each base; PPM: base "
               "frequencies, in bits). Tomtom names each motif by its closest JASPAR 2018 motifs; q < 0.05 is a "
               "significant match. Seqlet yield: how many seqlets were called and how many ended in a motif; few "
               "seqlets mean few sequences or a weak, inconsistent signal."),
    "quality": ("Model quality",
                "computed on these sequences from their true labels: accuracy (share predicted right), ROC-AUC "
                "(0.5 chance, 1 perfect ranking), MCC (0 chance, 1 perfect). Explanations of a model that cannot "
                "tell the classes apart describe noise."),
}


def report_title(model: str, class_name: str, input_file: str) -> str:
    return (f"GeneBERT explanation: class '{class_name}' of model {Path(str(model)).name or model} "
            f"on {Path(str(input_file)).name}")


def legend_section(keys) -> tuple[str, list[tuple[str, str]]]:
    return ("How to read this report", [LEGEND[k] for k in keys if k in LEGEND])


def _img(path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(Path(path).name)}">'


def _is_png(content) -> bool:
    return isinstance(content, (str, os.PathLike)) and str(content).endswith(".png") and Path(content).is_file()


def _is_legend(content) -> bool:
    return isinstance(content, list) and content and all(isinstance(c, tuple) and len(c) == 2 for c in content)


def write_report(path, title: str, sections: list[tuple[str, object]], subtitle: str = "", markdown: bool = True) -> str:
    """``sections``: ``(heading, content)`` with content a DataFrame, a PNG path, a list of PNG paths, a
    legend (list of ``(term, text)``) or text. Writes ``path`` (HTML) and, with ``markdown``, ``report.md`` beside it."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}img{max-width:100%;display:block;"
             "margin:.5em 0}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
             "padding:3px 6px}dt{font-weight:bold;margin-top:.4em}dd{margin-left:1.5em}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    md = [f"# {title}", ""]
    if subtitle:
        parts.append(f"<p>{html.escape(subtitle)}</p>")
        md += [subtitle, ""]
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        md += [f"## {heading}", ""]
        if isinstance(content, pd.DataFrame):
            parts.append(content.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0))
            md.append(_markdown_table(content))
        elif _is_legend(content):
            parts.append("<dl>" + "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in content) + "</dl>")
            md += [f"- **{t}**: {d}" for t, d in content]
        elif isinstance(content, (list, tuple)):
            parts.extend(_img(p) for p in content)
            md += [f"![{Path(p).stem}]({Path(p).name})" for p in content]
        elif _is_png(content):
            parts.append(_img(content))
            md.append(f"![{Path(content).stem}]({Path(content).name})")
        else:
            parts.append(f"<p>{html.escape(str(content))}</p>")
            md.append(str(content))
        md.append("")
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")
    if markdown:
        Path(path).with_name("report.md").write_text("\n".join(md), encoding="utf-8")
    return os.fspath(path)


def _markdown_table(table: pd.DataFrame) -> str:
    def cell(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v).replace("|", "\\|")

    rows = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    rows += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(rows)
