"""Supervised effect: Δ logit and Δ probability per class of a fine-tuned classifier (alt - ref).

The classifier is a ``genebert-finetune`` output folder (``GeneBertForSequenceClassification``
+ tokenizer). Columns are named by the class names of ``config.id2label``, e.g.
``delta_logit:K562`` and ``delta_prob:K562``. When the folder's ``results.json`` says the model
was fine-tuned with ``--region_input``, each allele's region matrix is recomputed by motif
scanning with the same settings (motif set, rows, aggregation), so the region branch also
sees the alt allele. Pair classifiers (task inputs ``ref_sequence``/``alt_sequence``) are not
single-sequence scorers and are refused.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

from modeling_genebert.downstream.cls_only import cls_only_last_layer
from modeling_genebert.finetuning.classifier import load_classifier


class SupervisedEffect:
    """A fine-tuned classifier folder (loaded as every command loads one); ``logits(sequences) -> [n, classes]``."""

    def __init__(self, folder: str | os.PathLike, device: str = "cpu"):
        classifier = load_classifier(folder, device, command="the supervised score (--classifier)")
        if classifier.info.get("task") == "variant_pair":
            raise ValueError(f"{os.fspath(folder)} is a ref/alt pair classifier (task variant_pair): it scores pairs "
                             "itself, not alleles")
        self.model, self.tokenizer, self.device = classifier.model, classifier.tokenizer, device
        self.labels, self.region_builder = classifier.label_names, classifier.region_builder

    @torch.no_grad()
    def logits(self, sequences: Sequence[str], max_length: int | None = None) -> torch.Tensor:
        limit = self.model.config.sequence_config.max_position_embeddings
        batch = self.tokenizer(list(sequences), padding=True, truncation=True,
                               max_length=min(max_length or limit, limit), return_tensors="pt")
        inputs = {"input_ids": batch["input_ids"].to(self.device), "attention_mask": batch["attention_mask"].to(self.device)}
        if self.region_builder is not None:
            inputs["region_matrix"] = torch.as_tensor(self.region_builder(list(sequences))).to(self.device)
        with cls_only_last_layer(self.model):  # the same logits, the last layer for [CLS] only
            return self.model(**inputs).logits.float().cpu()

    def columns(self, ref_logits: torch.Tensor, alt_logits: torch.Tensor) -> dict[str, np.ndarray]:
        """``delta_logit:<class>`` and ``delta_prob:<class>`` columns (alt - ref)."""
        d_logit = (alt_logits - ref_logits).double().numpy()
        d_prob = (alt_logits.softmax(-1) - ref_logits.softmax(-1)).double().numpy()
        out = {}
        for i, name in enumerate(self.labels):
            out[f"delta_logit:{name}"] = d_logit[:, i]
        for i, name in enumerate(self.labels):
            out[f"delta_prob:{name}"] = d_prob[:, i]
        return out


__all__ = ["SupervisedEffect"]
