"""The model a fine-tuning starts from: a GeneBERT folder, a DNABERT/BERT folder, or a preset, with a new head."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from modeling_genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.convert_checkpoints import genebert_config_from_bert, load_sequence_encoder_weights
from modeling_genebert.finetuning.arguments import FinetuneModelArguments
from modeling_genebert.folder_tokenizer import load_tokenizer

logger = logging.getLogger("genebert.finetune")


def folder_kind(path: str) -> str:
    config_file = Path(path) / "config.json"
    if not config_file.exists():
        raise FileNotFoundError(f"{path}: no config.json (expected a GeneBERT or DNABERT/BERT folder)")
    model_type = json.loads(config_file.read_text()).get("model_type")
    if model_type == "genebert":
        return "genebert"
    if model_type == "bert":
        return "bert"
    raise ValueError(f"{path}: model_type {model_type!r} is neither 'genebert' nor 'bert'")


def load_model_and_tokenizer(model_args: FinetuneModelArguments, num_labels: int, id2label: dict[int, str], region_shape):
    """Returns ``(model, tokenizer, init_description)``."""
    label2id = {v: k for k, v in id2label.items()}
    overrides: dict[str, Any] = dict(num_labels=num_labels, id2label=id2label, label2id=label2id)
    overrides["classifier_region_fusion"] = region_shape is not None
    overrides["classifier_region_wide"] = region_shape is not None and model_args.region_wide
    if model_args.classifier_pooling is not None:
        overrides["classifier_pooling"] = model_args.classifier_pooling
    path = model_args.model_name_or_path

    def fit_region(config: GeneBertConfig, pretrained: bool) -> bool:
        """Fit the region config to the matrix; True when a pre-trained encoder's TF-facing layers must start afresh."""
        if region_shape is None:
            return False
        rows, num_tfs = region_shape
        region = config.region_config
        new_tfs = pretrained and region.num_tfs != num_tfs
        if new_tfs:  # e.g. --motifs JASPAR2026: the layers that read TF columns cannot carry over, the rest can
            logger.warning("%s was pre-trained on %d TFs but --region_input scans %d motifs: the region encoder's "
                           "TF-facing input layers start from random weights, its other layers from the folder",
                           path, region.num_tfs, num_tfs)
        region.num_tfs = num_tfs
        if rows > region.max_regions:
            raise ValueError(f"the region matrix has {rows} rows (--region_rows, times 2 with --region_strands separate "
                             f"and with ref / alt pairs), more than the region encoder's max_regions {region.max_regions}")
        if not pretrained:
            region.regions_per_sample = rows
        return new_tfs

    if path is None:
        config = GeneBertConfig.from_preset(model_args.preset, **overrides)
        fit_region(config, pretrained=False)
        _set_dropout(config, model_args.classifier_dropout)
        tokenizer = GeneBertTokenizer(k=config.sequence_config.kmer)
        return GeneBertForSequenceClassification(config), tokenizer, f"random (from scratch, preset {model_args.preset})"

    kind = folder_kind(path)
    if kind == "bert":
        config, tokenizer = genebert_config_from_bert(path, **overrides)
        fit_region(config, pretrained=False)
        _set_dropout(config, model_args.classifier_dropout)
        model = GeneBertForSequenceClassification(config)
        if model_args.from_scratch:
            return model, tokenizer, "random (from scratch, DNABERT/BERT architecture)"
        report = load_sequence_encoder_weights(model, path)
        logger.info("sequence encoder from %s: missing %s, unexpected %s", path, report["missing_keys"], report["unexpected_keys"])
        return model, tokenizer, "DNABERT/BERT checkpoint"

    config = GeneBertConfig.from_pretrained(path)
    tokenizer = load_tokenizer(path, config)
    for key, value in overrides.items():
        setattr(config, key, value)
    config.architectures = None
    new_tfs = fit_region(config, pretrained=not model_args.from_scratch)
    _set_dropout(config, model_args.classifier_dropout)
    if model_args.from_scratch:
        return GeneBertForSequenceClassification(config), tokenizer, "random (from scratch, GeneBERT architecture)"
    # from_pretrained says in one line which heads are new; a missing encoder weight is a loud warning
    model = GeneBertForSequenceClassification.from_pretrained(path, config=config, ignore_mismatched_sizes=new_tfs)
    init = "pre-trained GeneBERT"
    return model, tokenizer, init + (f" (region encoder's TF input layers new for {config.region_config.num_tfs} motifs)"
                                     if new_tfs else "")


def _set_dropout(config: GeneBertConfig, dropout: float | None) -> None:
    if dropout is not None:
        config.sequence_config.classifier_dropout = dropout

