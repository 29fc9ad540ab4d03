"""Region input for fine-tuning: a sequence's ``rows x TFs`` matrix computed on the fly by motif scanning.

The model never scans motifs itself; this builder runs the data side's scanner (the same
JASPAR set and aggregation as pre-training by default) over each sequence, cut into
``rows`` equal tiles, so ``GeneBertForSequenceClassification`` can fuse the region encoding
with [CLS]. Tiles say roughly where the best sites lie; ``strands="separate"`` gives each
tile two rows (forward strand, then reverse) so the matrix also says which strand they lie on.
Pre-training's matrices are one row per 50-bp window with both strands pooled: ``rows`` that cut
a sequence into 50-bp tiles and ``strands="both"`` show the region encoder what SRM trained it on.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from dataset_scripts import MotifScanner, load_motifs


def _tiles(sequence: str, rows: int) -> list[str]:
    bounds = np.linspace(0, len(sequence), rows + 1).round().astype(int)
    return [sequence[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


STRANDS = ("both", "separate")


class RegionMatrixBuilder:
    """Sequence -> ``matrix_rows x TFs`` matrix of PWM scores (max log-odds by default), via the data side's scanner.

    ``matrix_rows`` is ``rows`` (tiles) with ``strands="both"``, ``2 * rows`` with ``"separate"``; the
    rows run tile by tile (forward then reverse within a tile), so reversing them is the reverse
    complement's matrix (what ``--rc_augment`` relies on).
    """

    def __init__(self, motifs: str | None = None, rows: int = 1, aggregation: str = "max", device: str = "cpu",
                 strands: str = "both"):
        if strands not in STRANDS:
            raise ValueError(f"region strands must be one of {STRANDS}, got {strands!r}")
        self.motif_set = load_motifs(motifs)
        # a user's motif file is recorded by its absolute path, so predict / explain can rebuild the same scan
        self.motif_file = os.path.abspath(motifs) if isinstance(motifs, (str, os.PathLike)) and os.path.isfile(motifs) else None
        self.scanner = MotifScanner(self.motif_set, device=device)
        self.rows, self.aggregation, self.strands = rows, aggregation, strands
        self.description = (
            getattr(self.motif_set, "source", None) or (motifs or "JASPAR2018 CORE vertebrates")
        )

    @property
    def num_tfs(self) -> int:
        return self.scanner.num_motifs

    @property
    def matrix_rows(self) -> int:
        return self.rows * (2 if self.strands == "separate" else 1)

    def __call__(self, sequences: list[str]) -> np.ndarray:
        pieces = [tile for s in sequences for tile in _tiles(s.strip(), self.rows)]
        scores = self.scanner.scan(pieces, aggregation=self.aggregation, per_strand=self.strands == "separate")
        return scores.reshape(len(sequences), self.matrix_rows, -1).astype(np.float32)

    def info(self) -> dict[str, Any]:
        info = {"motifs": str(self.description), "rows": self.rows, "strands": self.strands, "num_tfs": self.num_tfs,
                "aggregation": self.aggregation}
        return info | ({"motif_file": self.motif_file} if self.motif_file else {})

