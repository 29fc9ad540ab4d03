"""Pictures: attribution sequence logos, discovered motif beside its JASPAR match, TF attribution bars,
attention heatmaps. Each function writes a PNG (matplotlib ``Agg``, no display needed) and returns its path."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .loading import one_hot


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


def _logo(matrix: np.ndarray, ax, title: str = "", ylabel: str = ""):
    import logomaker  # lazy: logomaker is the optional ``explain`` extra

    df = pd.DataFrame(np.asarray(matrix, dtype=np.float64), columns=list("ACGT"))
    logomaker.Logo(df, ax=ax, color_scheme="classic")
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)


def attribution_logo(contribution: np.ndarray, sequence: str, path, title: str = "", ylabel: str = "attribution"):
    """Per-base attributions ``(L,)`` drawn as the observed letters scaled by their attribution (negative below 0)."""
    plt = _plt()
    oh = one_hot(sequence) * np.asarray(contribution, dtype=np.float32)[:, None]
    fig, ax = plt.subplots(figsize=(max(6, len(sequence) / 8), 1.8))
    _logo(oh, ax, title, ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return os.fspath(path)


def motif_logo_pair(motif, jaspar_ppm: np.ndarray | None, path, jaspar_title: str = ""):
    """Discovered motif (contribution-weighted matrix and PPM in bits) beside the matched JASPAR PPM (bits),
    the JASPAR motif reverse-complemented when Tomtom matched the minus strand."""
    plt = _plt()
    panels = 3 if jaspar_ppm is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(4 * panels, 1.9))
    _logo(motif.cwm, axes[0], f"{motif.name}: CWM ({motif.n_seqlets} seqlets)", "contribution")
    _logo(_information(motif.ppm), axes[1], f"{motif.name}: PPM", "bits")
    if jaspar_ppm is not None:
        ppm = np.asarray(jaspar_ppm, dtype=np.float64)  # (w, 4)
        if motif.best.get("strand") == "-":
            ppm = ppm[::-1, ::-1]
        _logo(_information(ppm), axes[2], jaspar_title, "bits")
        axes[2].set_ylim(0, 2)
    axes[1].set_ylim(0, 2)
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
