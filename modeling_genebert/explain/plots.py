"""Pictures: attribution sequence logos, discovered motif beside its JASPAR match, TF attribution bars,
attention heatmaps. Each function writes a PNG (matplotlib ``Agg``, no display needed) and returns its path."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from dataset_scripts.sequences import one_hot



def _plt():
    # lazy on purpose: choosing the Agg backend at import time would switch the backend of any
    # program (e.g. a notebook) that merely imports this module
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _information(ppm: np.ndarray) -> np.ndarray:
    """PPM ``(w, 4)`` -> letter heights in bits (information content x probability)."""
    p = np.clip(np.asarray(ppm, dtype=np.float64), 1e-9, 1)
    p = p / p.sum(1, keepdims=True)
    ic = 2 + (p * np.log2(p)).sum(1, keepdims=True)
    return p * ic


# Glyph geometry. logomaker stretches each letter's outline to fill its box (width x height), so a
# box much taller than wide turns the T's crossbar into a block over a hairline stem (a 101-bp logo
# 12 inches wide and 1.8 high had boxes 10x taller than wide). Every logo here is sized so that a
# full-height letter is at most GLYPH_ASPECT times taller than wide; long sequences are shown as an
# overview track plus a letter logo of the window that matters.
BASE_WIDTH_IN = 0.3  # inches per position in a letter logo
GLYPH_ASPECT = 2.0  # the tallest letter's height / width
LOGO_WINDOW = 30  # positions in the letter panel of a per-sequence attribution logo
COLORS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}


def _logo(matrix: np.ndarray, ax, title: str = "", ylabel: str = "", start: int = 0):
    import logomaker  # lazy: logomaker is the optional ``explain`` extra

    df = pd.DataFrame(np.asarray(matrix, dtype=np.float64), columns=list("ACGT"))
    df.index = np.arange(start, start + len(df))
    # flip_below=False: letters below the axis stay readable (not upside down); font pinned to the
    # DejaVu Sans Bold that matplotlib ships, so the outline is the same on every machine
    logomaker.Logo(df, ax=ax, color_scheme=COLORS, flip_below=False, font_name="DejaVu Sans", font_weight="bold",
                   width=0.9, vpad=0.02)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlim(start - 0.5, start + len(df) - 0.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _axis_height(width_in_per_position: float, span: float, tallest: float) -> float:
    """Axis height (inches) at which a letter of height ``tallest`` on a y-range of ``span`` is GLYPH_ASPECT x its width."""
    if tallest <= 0 or span <= 0:
        return 0.8
    return float(np.clip(GLYPH_ASPECT * 0.9 * width_in_per_position * span / tallest, 0.6, 2.2))


def top_window(values: np.ndarray, width: int) -> int:
    """Start of the ``width``-base window with the largest sum of ``values`` (clipped to the sequence)."""
    values = np.asarray(values, dtype=np.float64)
    width = min(width, len(values))
    sums = np.convolve(values, np.ones(width), mode="valid")
    return int(np.argmax(sums))


def attribution_logo(contribution: np.ndarray, sequence: str, path, title: str = "", ylabel: str = "attribution",
                     window: int = LOGO_WINDOW):
    """Per-base attributions ``(L,)``: an overview track of the whole sequence (bars, dark above 0 / blue
    below) and, under it, a letter logo of the ``window`` bases centred on the 10 with the largest total |attribution|,
    letters scaled by their signed attribution (below the axis when negative)."""
    plt = _plt()
    values = np.asarray(contribution, dtype=np.float64)
    length = len(sequence)
    window = min(window, length)
    core = top_window(np.abs(values), min(10, window))  # centre the window on the peak of the strongest 10 bases
    centre = core + int(np.argmax(np.abs(values[core:core + 10])))
    start = int(np.clip(centre - window // 2, 0, length - window))
    shown = values[start:start + window]
    lo, hi = min(0.0, shown.min()), max(0.0, shown.max())
    span = (hi - lo) * 1.1 or 1.0
    axis_h = _axis_height(BASE_WIDTH_IN, span, np.abs(shown).max())
    width = max(6.0, window * BASE_WIDTH_IN + 1.0)
    fig, (top, ax) = plt.subplots(2, 1, figsize=(width, axis_h + 1.9),
                                  gridspec_kw={"height_ratios": [0.9, axis_h], "hspace": 0.6})
    top.bar(np.arange(1, length + 1), values, width=1.0, color=np.where(values >= 0, "#444444", "#7fa7d1"))
    top.axvspan(start + 0.5, start + window + 0.5, color="#f4d35e", alpha=0.35, lw=0)
    top.axhline(0, color="black", lw=0.5)
    top.set_xlim(0.5, length + 0.5)
    top.set_title(title + (f"  (shaded: bases {start + 1}-{start + window}, shown below)" if window < length else ""), fontsize=9)
    top.set_ylabel(ylabel, fontsize=7)
    top.tick_params(labelsize=7)
    oh = one_hot(sequence[start:start + window]) * shown.astype(np.float32)[:, None]
    _logo(oh, ax, "", ylabel, start=start + 1)  # positions 1-based, as in the title
    ax.set_ylim(lo - 0.05 * span, hi + 0.05 * span)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return os.fspath(path)


def motif_logo_pair(motif, jaspar_ppm: np.ndarray | None, path, jaspar_title: str = ""):
    """Discovered motif (contribution-weighted matrix and PPM in bits) beside the matched JASPAR PPM (bits),
    the JASPAR motif reverse-complemented when Tomtom matched the minus strand."""
    plt = _plt()
    panels = [(motif.cwm, f"{motif.name}: CWM ({motif.n_seqlets} seqlets)", "contribution", None),
              (_information(motif.ppm), f"{motif.name}: PPM", "bits", (0, 2))]
    if jaspar_ppm is not None:
        ppm = np.asarray(jaspar_ppm, dtype=np.float64)  # (w, 4)
        if motif.best.get("strand") == "-":
            ppm = ppm[::-1, ::-1]
        panels.append((_information(ppm), jaspar_title, "bits", (0, 2)))
    widths = [max(len(m), 6) * BASE_WIDTH_IN + 0.7 for m, *_ in panels]
    heights = []
    for m, _, _, ylim in panels:
        stacked = np.clip(m, 0, None).sum(1).max() if ylim is None else ylim[1]
        heights.append(_axis_height(BASE_WIDTH_IN, max(stacked, 1e-9) * 1.05, np.abs(m).max()))
    fig, axes = plt.subplots(1, len(panels), figsize=(sum(widths), max(heights) + 0.7),
                             gridspec_kw={"width_ratios": widths})
    for ax, (m, title, ylabel, ylim) in zip(axes, panels):
        _logo(m, ax, title, ylabel, start=1)
        if ylim is not None:
            ax.set_ylim(*ylim)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return os.fspath(path)


def tf_bar_chart(table: pd.DataFrame, path, top: int = 20, title: str = "Region-side TF attributions"):
    """Bar chart of the ``top`` TFs by |attribution| (``table`` from :func:`~modeling_genebert.explain.region.tf_attributions`)."""
    plt = _plt()
    shown = table.reindex(table["attribution"].abs().sort_values(ascending=False).index).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(shown) + 1))
    colors = ["#c0392b" if v > 0 else "#2e86c1" for v in shown["attribution"]]
    ax.barh([f"{n} ({i})" for n, i in zip(shown["tf"], shown["motif_id"])], shown["attribution"], color=colors)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("mean IG attribution (class log-odds)", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return os.fspath(path)


def attention_heatmaps(bases: np.ndarray, path, title: str = "attention (bases)"):
    """``(layers, heads, L, L)`` base-projected attention -> grid of heatmaps, one per layer and head."""
    plt = _plt()
    layers, heads = bases.shape[:2]
    fig, axes = plt.subplots(layers, heads, figsize=(2.2 * heads, 2.2 * layers), squeeze=False)
    for layer in range(layers):
        for head in range(heads):
            ax = axes[layer][head]
            ax.imshow(bases[layer, head], cmap="viridis", aspect="auto")
            ax.set_title(f"layer {layer} head {head}", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return os.fspath(path)
