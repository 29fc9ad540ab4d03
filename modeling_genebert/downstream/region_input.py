"""Region input for fine-tuning: a sequence's ``rows x TFs`` matrix computed on the fly by motif scanning.

The model never scans motifs itself; this builder runs the data side's scanner (the same
JASPAR set and aggregation as pre-training by default) over each sequence, cut into
``rows`` equal tiles, so ``GeneBertForSequenceClassification`` can fuse the region encoding
with [CLS].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataset_scripts import MotifScanner, load_motifs


def _tiles(sequence: str, rows: int) -> list[str]:
    bounds = np.linspace(0, len(sequence), rows + 1).round().astype(int)
    return [sequence[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


class RegionMatrixBuilder:
    """Sequence -> ``rows x TFs`` matrix of PWM scores (max log-odds by default), via the data side's scanner."""

    def __init__(self, motifs: str | None = None, rows: int = 1, aggregation: str = "max", device: str = "cpu"):
        self.motif_set = load_motifs(motifs)
        self.scanner = MotifScanner(self.motif_set, device=device)
        self.rows, self.aggregation = rows, aggregation
        self.description = (
            getattr(self.motif_set, "source", None) or (motifs or "JASPAR2018 CORE vertebrates")
        )

    @property
    def num_tfs(self) -> int:
        return self.scanner.num_motifs

    def __call__(self, sequences: list[str]) -> np.ndarray:
        pieces = [tile for s in sequences for tile in _tiles(s.strip(), self.rows)]
        scores = self.scanner.scan(pieces, aggregation=self.aggregation)
        return scores.reshape(len(sequences), self.rows, -1).astype(np.float32)

    def info(self) -> dict[str, Any]:
        return {"motifs": str(self.description), "rows": self.rows, "num_tfs": self.num_tfs, "aggregation": self.aggregation}

