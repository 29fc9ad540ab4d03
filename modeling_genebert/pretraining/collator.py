"""Turns pre-training dataset rows into GeneBERT batches (pairing, tokenizing, masking).

Row schema (written by ``dataset_scripts``): ``sequences`` (R region windows),
``region_matrix`` (R x TFs), ``negative_sequences`` / ``negative_region_matrix``.

The pairing follows the row (``dataset_scripts.pretraining_load`` documents both):

* ``contiguous`` (schema version 2, R negative sequences): every window is cut after
  ``len(window) // 2`` bases. Segment A = the R left halves; segment B = the R right halves,
  the genome immediately following each A_i ("is next", label 0), or another sample's right
  halves ("not next", label 1) with ``negative_region_matrix`` (the scan of exactly those
  composite windows).
* ``next_regions`` (schema version 1, R - R//2 negative sequences): segment A = the first
  ``R // 2`` regions; B = the sample's second half or the stored negative half.

Labels are drawn 50/50 from a seeded generator. The region matrix always describes exactly
the bases placed in the input, region by region, so sequence-region matching pairs stay true.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from modeling_genebert.pretraining.masking import apply_mgm_masking

logger = logging.getLogger(__name__)

NEXT, NOT_NEXT = 0, 1  # BertForPreTraining's convention for next_sentence_label


@dataclass
class GeneBertPretrainingCollator:
    tokenizer: Any
    max_length: int = 512
    mask_ratio: float = 0.15
    mask_span: int | None = None  # default: the tokenizer's k
    not_next_probability: float = 0.5
    seed: int = 42
    pad_to_multiple_of: int | None = 8
    _generator: torch.Generator = field(init=False, repr=False)
    _warned_truncation: bool = field(default=False, init=False, repr=False)

    def __post_init__(self):
        self._generator = torch.Generator().manual_seed(self.seed)
        if self.mask_span is None:
            self.mask_span = int(getattr(self.tokenizer, "kmer", 1))

    def reseed(self, seed: int) -> None:
        """Give each data-parallel process its own masking/pairing stream."""
        self._generator.manual_seed(seed)

    @contextlib.contextmanager
    def frozen(self, seed: int, mask_ratio: float):
        """Fixed masks and pairings (e.g. for evaluations to compare), restoring the training stream after."""
        state, ratio = self._generator.get_state(), self.mask_ratio
        self._generator.manual_seed(seed)
        self.mask_ratio = mask_ratio
        try:
            yield self
        finally:
            self._generator.set_state(state)
            self.mask_ratio = ratio

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("cannot collate an empty batch")
        draws = torch.rand(len(rows), generator=self._generator)
        segments_a, segments_b, matrices, next_labels = [], [], [], []
        for row, draw in zip(rows, draws.tolist()):
            sequences = list(row["sequences"])
            matrix = np.asarray(row["region_matrix"], dtype=np.float32)
            if matrix.shape[0] != len(sequences):
                raise ValueError(
                    f"sample {row.get('sample_id', '?')}: region_matrix has {matrix.shape[0]} rows "
                    f"but the sample has {len(sequences)} region sequences"
                )
            negatives = list(row["negative_sequences"])
            not_next = draw < self.not_next_probability
            next_labels.append(NOT_NEXT if not_next else NEXT)
            if len(negatives) == len(sequences):  # contiguous: left halves | right halves (or another sample's)
                segments_a.append("".join(bases[: len(bases) // 2] for bases in sequences))
                if not_next:
                    segments_b.append("".join(negatives))
                    matrices.append(np.asarray(row["negative_region_matrix"], dtype=np.float32))
                else:
                    segments_b.append("".join(bases[len(bases) // 2 :] for bases in sequences))
                    matrices.append(matrix)
                continue
            half = len(sequences) // 2
            if len(negatives) != len(sequences) - half:
                raise ValueError(
                    f"sample {row.get('sample_id', '?')}: {len(negatives)} negative sequences for {len(sequences)} "
                    f"regions (expected {len(sequences)}: contiguous pairing, or {len(sequences) - half}: next_regions)"
                )
            if not_next:
                second = negatives
                second_matrix = np.asarray(row["negative_region_matrix"], dtype=np.float32)
            else:
                second, second_matrix = sequences[half:], matrix[half:]
            segments_a.append("".join(sequences[:half]))
            segments_b.append("".join(second))
            matrices.append(np.concatenate([matrix[:half], second_matrix], axis=0))

        if len({m.shape for m in matrices}) != 1:
            raise ValueError(f"region matrices of one batch differ in shape: {sorted({m.shape for m in matrices})}")
        encoding = self.tokenizer(
            segments_a,
            segments_b,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of,
            return_tensors="pt",
            return_special_tokens_mask=True,
        )
        self._warn_if_truncated(segments_a, segments_b)
        special = encoding.pop("special_tokens_mask").bool()
        maskable = ~special & encoding["attention_mask"].bool()
        input_ids, labels = apply_mgm_masking(
            encoding["input_ids"],
            maskable,
            ratio=self.mask_ratio,
            span=self.mask_span,
            mask_token_id=self.tokenizer.mask_token_id,
            first_kmer_id=len(self.tokenizer.all_special_tokens),
            vocab_size=len(self.tokenizer),
            generator=self._generator,
        )
        return {
            "input_ids": input_ids,
            "attention_mask": encoding["attention_mask"],
            "token_type_ids": encoding["token_type_ids"],
            "labels": labels,
            "next_sentence_label": torch.tensor(next_labels, dtype=torch.long),
            "region_matrix": torch.from_numpy(np.stack(matrices)),
        }

    def _warn_if_truncated(self, segments_a: list[str], segments_b: list[str]) -> None:
        if self._warned_truncation:
            return
        k = int(getattr(self.tokenizer, "kmer", 1))
        longest = max(len(a) + len(b) for a, b in zip(segments_a, segments_b))
        needed = longest - 2 * (k - 1) + 3
        if needed > self.max_length:
            self._warned_truncation = True
            logger.warning(
                "pre-training pairs need up to %d tokens but max_length is %d: the ends of the "
                "segments are truncated, so the region matrix describes more bases than the model "
                "sees. Lower bases_per_region when building the dataset.",
                needed,
                self.max_length,
            )
