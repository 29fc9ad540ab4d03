"""LoRA fine-tuning (``genebert-finetune --peft lora``) through the ``peft`` library.

What is adapted, and why these defaults:

* LoRA matrices go into the **sequence encoder's** attention projections only
  (``genebert.bert.encoder.layer.*``); the default ``--lora_target_modules query,value`` is
  what Hu et al. (2021, LoRA, section 7.1) found best for a fixed parameter budget on
  transformer attention, and what ``peft`` itself uses for BERT models. ``query,key,value,dense``
  (every linear layer of a BERT block: attention output, intermediate and output ``dense``)
  is the heavier alternative. Names are matched as leaf names inside the encoder, so a region
  encoder's own layers are never adapted by accident.
* The head stays fully trainable (``modules_to_save``): the classifier (new, randomly
  initialised), the [CLS] pooler (pre-trained for NGSP, not for the task) and, with
  ``--region_input``, the region encoder (and its projection) that the head fuses.
* ``--lora_rank 8 --lora_alpha 16`` (scale alpha/r = 2) and ``--lora_dropout 0.1``: the
  usual settings for BERT-sized models.

Saving: the output folder is a ``peft`` adapter folder (``adapter_config.json`` +
``adapter_model.safetensors``) plus the tokenizer and ``head_config.json`` (labels and head
options). Load it onto the base model with::

    from peft import PeftModel
    from modeling_genebert import GeneBertForSequenceClassification
    base = GeneBertForSequenceClassification.from_pretrained(BASE, num_labels=2)   # the pre-trained folder
    model = PeftModel.from_pretrained(base, ADAPTER_DIR)

or with :func:`load_lora_model` (``load_lora_model(ADAPTER_DIR)``), which reads the labels
and head options from ``head_config.json``. ``--merge_lora`` instead saves an ordinary
GeneBERT folder with the LoRA products merged into the weights (no ``peft`` needed to load).
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from pathlib import Path

import peft
import torch.nn as nn

from modeling_genebert import GeneBertForSequenceClassification

logger = logging.getLogger("genebert.finetune")

ENCODER_PREFIX = "genebert.bert.encoder."
HEAD_CONFIG = "head_config.json"
HEAD_CONFIG_KEYS = ("num_labels", "id2label", "label2id", "classifier_pooling", "classifier_region_fusion",
                    "classifier_region_wide")


@contextlib.contextmanager
def _peft_wrapping():
    """peft's PeftModel reads transformers' deprecated ``is_gradient_checkpointing`` (a FutureWarning on every
    LoRA run that is peft's to fix, not the user's): that one warning is silenced while peft wraps a model."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def parse_target_modules(spec: str | list[str]) -> list[str]:
    names = spec if isinstance(spec, list) else [s.strip() for s in spec.split(",")]
    names = [n for n in names if n]
    if not names:
        raise ValueError("--lora_target_modules is empty; e.g. query,value")
    return names


def encoder_target_modules(model, leaf_names: list[str]) -> list[str]:
    """Full names of the sequence encoder's ``nn.Linear`` modules whose name ends with one of ``leaf_names``."""
    found, used = [], set()
    for name, module in model.named_modules():
        if not name.startswith(ENCODER_PREFIX) or not isinstance(module, nn.Linear):
            continue
        for leaf in leaf_names:
            if name == leaf or name.endswith("." + leaf):
                found.append(name)
                used.add(leaf)
                break
    unused = [leaf for leaf in leaf_names if leaf not in used]
    if unused:
        leaves = sorted({n.split(".")[-1] for n, m in model.named_modules()
                         if n.startswith(ENCODER_PREFIX) and isinstance(m, nn.Linear)})
        raise ValueError(f"--lora_target_modules {unused} match no linear layer of the sequence encoder; "
                         f"its linear layers are named {leaves} (or give a dotted suffix such as attention.output.dense)")
    return found


def head_modules(model) -> list[str]:
    """Module names that train fully beside LoRA: the classifier (and its wide region read-out), the pooler and any
    region encoder."""
    names = ["classifier"] + (["region_wide"] if getattr(model, "region_wide", None) is not None else [])
    genebert = getattr(model, "genebert", None)
    if genebert is not None:
        if getattr(genebert.bert, "pooler", None) is not None:
            names.append("genebert.bert.pooler")
        names += [f"genebert.{child}" for child, _ in genebert.named_children() if child != "bert"]
    return names


def apply_lora(model, rank: int = 8, alpha: float = 16, dropout: float = 0.1,
               target_modules: str | list[str] = "query,value"):
    """Wrap ``model`` (a ``GeneBertForSequenceClassification``) as a ``peft`` LoRA model."""
    if rank < 1:
        raise ValueError(f"--lora_rank must be >= 1, got {rank}")
    if not 0 <= dropout < 1:
        raise ValueError(f"--lora_dropout must be in [0, 1), got {dropout}")
    targets = encoder_target_modules(model, parse_target_modules(target_modules))
    config = peft.LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
        modules_to_save=head_modules(model), bias="none",
    )
    with _peft_wrapping():
        wrapped = peft.get_peft_model(model, config)
    trainable, total = wrapped.get_nb_trainable_parameters()
    logger.info("LoRA r=%d alpha=%s on %d layers: %d of %d parameters trainable (%.2f%%)",
                rank, alpha, len(targets), trainable, total, 100 * trainable / max(total, 1))
    return wrapped


def lora_summary(wrapped) -> dict:
    trainable, total = wrapped.get_nb_trainable_parameters()
    config = wrapped.peft_config["default"]
    return {"method": "lora", "rank": config.r, "alpha": config.lora_alpha, "dropout": config.lora_dropout,
            "target_modules": sorted(config.target_modules), "modules_to_save": sorted(config.modules_to_save or []),
            "trainable_parameters": int(trainable), "total_parameters": int(total)}


def save_lora(trainer, output_dir: str | Path, merge: bool = False) -> str:
    """Save the trained LoRA model: an adapter folder (default) or, with ``merge``, a merged GeneBERT folder.

    Returns ``"adapter"`` or ``"merged"``.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    wrapped = trainer.model
    tokenizer = trainer.processing_class
    if merge:
        merged = wrapped.merge_and_unload()
        merged.save_pretrained(output_dir)
        if tokenizer is not None:
            tokenizer.save_pretrained(output_dir)
        trainer.model = merged
        return "merged"
    wrapped.save_pretrained(output_dir)
    if tokenizer is not None:
        tokenizer.save_pretrained(output_dir)
    config = wrapped.get_base_model().config
    head = {key: getattr(config, key) for key in HEAD_CONFIG_KEYS if hasattr(config, key)}
    (output_dir / HEAD_CONFIG).write_text(json.dumps(head, indent=2, default=str))
    return "adapter"


def load_lora_model(adapter_dir: str | Path, base_model_name_or_path: str | None = None, merge: bool = False):
    """Load an adapter folder saved by ``--peft lora`` onto its base model (a ``PeftModel``; merged with ``merge``)."""
    adapter_dir = Path(adapter_dir)
    adapter_config = json.loads((adapter_dir / "adapter_config.json").read_text())
    base = base_model_name_or_path or adapter_config.get("base_model_name_or_path")
    if not base:
        raise ValueError(f"{adapter_dir}: adapter_config.json names no base model; pass base_model_name_or_path")
    head = json.loads((adapter_dir / HEAD_CONFIG).read_text()) if (adapter_dir / HEAD_CONFIG).exists() else {}
    if "id2label" in head:
        head["id2label"] = {int(k): v for k, v in head["id2label"].items()}
    model = GeneBertForSequenceClassification.from_pretrained(base, **head)
    with _peft_wrapping():
        model = peft.PeftModel.from_pretrained(model, str(adapter_dir))
    return model.merge_and_unload() if merge else model


__all__ = ["apply_lora", "encoder_target_modules", "head_modules", "load_lora_model", "lora_summary", "save_lora"]
