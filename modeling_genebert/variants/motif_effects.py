"""Motif break / gain: per JASPAR motif, Δ max log-odds (alt - ref) over the sites that overlap the variant.

Both alleles are scanned with the data side's :class:`~dataset_scripts.motif_scan.MotifScanner`
(both strands) over the variant's neighbourhood. For motif ``m`` of width ``w`` only the
windows that overlap the changed bases count (start ``q`` with ``q <= end - 1`` and
``q + w > offset``), so a strong site elsewhere in the window cannot hide a broken one.
A motif without any scoreable overlapping window (N bases) gets Δ 0.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from dataset_scripts import MotifScanner, load_motifs


class MotifEffects:
    """``deltas(pairs) -> [n, M]`` Δ max log-odds; ``top(deltas, n)`` -> ``"CTCF MA0139.1 -6.20; ..."``."""

    def __init__(self, motifs=None, device: str = "cpu"):
        self.motifs = load_motifs(motifs)
        self.scanner = MotifScanner(self.motifs, device=device)
        self.widths = torch.as_tensor(self.motifs.widths)
        self.labels = [f"{name} {mid}" for name, mid in zip(self.motifs.names, self.motifs.ids)]

    @property
    def max_width(self) -> int:
        return int(self.widths.max())

    def _local(self, sequence: str, offset: int, length: int) -> tuple[str, int]:
        """The stretch that any window overlapping ``[offset, offset + length)`` can touch; new offset."""
        lo = max(0, offset - self.max_width + 1)
        hi = min(len(sequence), offset + max(length, 1) + self.max_width - 1)
        return sequence[lo:hi], offset - lo

    def _best_overlapping(self, sequences: Sequence[str], offsets: Sequence[int], lengths: Sequence[int]) -> np.ndarray:
        if not sequences:
            return np.zeros((0, len(self.widths)), dtype=np.float32)
        scores = self.scanner.position_scores(sequences)  # [n, L, S*M]
        n, L, _ = scores.shape
        m = len(self.widths)
        scores = scores.view(n, L, -1, m)  # strands
        q = torch.arange(L)[None, :, None]
        off = torch.as_tensor(offsets)[:, None, None]
        end = off + torch.as_tensor(lengths).clamp(min=1)[:, None, None]  # an insertion point touches 1 base
        overlap = (q <= end - 1) & (q + self.widths[None, None, :] > off)  # [n, L, M]
        scores = scores.masked_fill(~overlap[:, :, None, :], float("-inf"))
        return scores.amax(dim=(1, 2)).numpy()

    def deltas(self, ref_seqs, alt_seqs, offsets, ref_lens, alt_lens) -> np.ndarray:
        """``[n, M]`` float32: best overlapping alt site score minus best overlapping ref site score."""
        ref_local = [self._local(s, o, n) for s, o, n in zip(ref_seqs, offsets, ref_lens)]
        alt_local = [self._local(s, o, n) for s, o, n in zip(alt_seqs, offsets, alt_lens)]
        ref = self._best_overlapping([s for s, _ in ref_local], [o for _, o in ref_local], list(ref_lens))
        alt = self._best_overlapping([s for s, _ in alt_local], [o for _, o in alt_local], list(alt_lens))
        with np.errstate(invalid="ignore"):
            delta = alt - ref
        return np.where(np.isfinite(delta), delta, 0.0).astype(np.float32)

    def top(self, deltas: np.ndarray, n: int = 3) -> list[str]:
        """Per row, the ``n`` motifs with the largest |Δ| as ``"NAME ID Δ"`` joined by ``"; "``."""
        out = []
        for row in deltas:
            order = np.argsort(-np.abs(row), kind="stable")[:n]
            out.append("; ".join(f"{self.labels[i]} {row[i]:+.2f}" for i in order if row[i] != 0))
        return out

    def index(self, motif: str) -> int:
        """Column of a motif given by JASPAR id (``MA0139.1``, or ``MA0139`` for any version) or by name."""
        for i, (mid, name) in enumerate(zip(self.motifs.ids, self.motifs.names)):
            if motif in (mid, name) or mid.split(".")[0] == motif:
                return i
        raise ValueError(f"motif {motif!r} is not in the motif set ({self.motifs.source or len(self.motifs)} motifs)")


__all__ = ["MotifEffects"]
