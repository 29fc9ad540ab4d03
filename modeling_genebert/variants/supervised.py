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

import json
import os
from typing import Sequence

import numpy as np
import torch

from modeling_genebert import GeneBertForSequenceClassification
from modeling_genebert.downstream.cls_only import cls_only_last_layer
from modeling_genebert.downstream.region_input import RegionMatrixBuilder
from modeling_genebert.folder_tokenizer import load_tokenizer


class SupervisedEffect:
    """Loads a fine-tuned classifier folder; ``logits(sequences) -> [n, classes]``."""

    def __init__(self, folder: str | os.PathLike, device: str = "cpu"):
        folder = os.fspath(folder)
        if not os.path.isfile(os.path.join(folder, "config.json")):
            raise FileNotFoundError(f"classifier folder {folder} has no config.json")
        self.model = GeneBertForSequenceClassification.from_pretrained(folder).eval().to(device)
        self.tokenizer = load_tokenizer(folder, self.model.config)
        self.device = device
        info = {}
        results = os.path.join(folder, "results.json")
        if os.path.isfile(results):
            with open(results, encoding="utf-8") as fh:
                info = json.load(fh)
        task = info.get("task")
        if task == "variant_pair":
            raise ValueError(f"{folder} is a ref/alt pair classifier (task variant_pair): it scores pairs itself, not alleles")
        id2label = self.model.config.id2label or {}
        self.labels = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(self.model.config.num_labels)]
        self.region_builder = None
        region = info.get("region_input") or None
        if region and self.model.config.classifier_region_fusion:
            spec = region.get("motifs")
            # results.json keeps a description ("JASPAR2018 CORE vertebrates") or a path: try it, its
            # release name, then the default set; the TF count must match what the model was trained on
            candidates = [spec, str(spec).split()[0] if spec else None, None]
            builder = None
            for candidate in dict.fromkeys(candidates):
                try:
                    builder = RegionMatrixBuilder(candidate, int(region.get("rows", 1)), region.get("aggregation", "max"))
                    break
                except (ValueError, OSError, KeyError):
                    continue
            if builder is None:
                raise ValueError(f"{folder}: cannot rebuild the region input's motif set {spec!r}")
            if builder.num_tfs != region.get("num_tfs", builder.num_tfs):
                raise ValueError(f"{folder}: results.json records {region.get('num_tfs')} TFs for the region input, "
                                 f"but the motif set {spec!r} has {builder.num_tfs}")
            self.region_builder = builder

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
