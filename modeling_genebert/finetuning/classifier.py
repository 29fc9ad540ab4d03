"""A ``genebert-finetune`` output folder, loaded for use: the classifier, its tokenizer, class names and region input.

One loader for every command that runs a fine-tuned classifier (``genebert-predict``, ``genebert-explain``, the
supervised score of ``genebert-score-variants``): LoRA adapter folders, class names and the region input
behave the same in all of them.
The folder holds the model (``config.json`` + weights, or a LoRA adapter), the tokenizer and
``results.json``; the latter records ``region_input`` (motifs, rows, aggregation) when the model was
fine-tuned with ``--region_input``, and the same ``RegionMatrixBuilder`` is rebuilt from it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from dataset_scripts.cli import UsageError
from modeling_genebert.model_folders import check_model_folder
from modeling_genebert import GeneBertForSequenceClassification
from modeling_genebert.downstream.long_inputs import bases_per_window
from modeling_genebert.downstream.region_input import RegionMatrixBuilder
from modeling_genebert.folder_tokenizer import load_tokenizer


@dataclass
class Classifier:
    """A classifier in eval mode with its tokenizer, class names, region-matrix builder (if any) and fine-tuning record."""

    model: Any
    tokenizer: Any
    label_names: list[str]
    region_builder: Any = None
    folder: str = ""
    info: dict = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def hyperparameters(self) -> dict:
        return self.info.get("hyperparameters") or {}

    @property
    def window(self) -> int:
        """The longest sequence (bases) that fits the model's window without truncation."""
        max_tokens = min(self.model.config.sequence_config.max_position_embeddings,
                         int(getattr(self.tokenizer, "model_max_length", 10**9) or 10**9))
        return bases_per_window(self.tokenizer, max_tokens)

    @property
    def kmer(self) -> int:
        return int(self.tokenizer.kmer)

    def class_index(self, target: int | str | None) -> int:
        return resolve_class(target, self.label_names)

    def region_matrix(self, sequences: Sequence[str]) -> torch.Tensor | None:
        if self.region_builder is None:
            return None
        return torch.from_numpy(self.region_builder(list(sequences)))


def resolve_class(target: int | str | None, label_names: Sequence[str]) -> int:
    """Class name or id -> id; ``None`` -> the last class (``bound`` / the positive class of a binary task)."""
    names = list(label_names)
    if target is None:
        return len(names) - 1
    if isinstance(target, str) and target in names:
        return names.index(target)
    try:
        index = int(target)
    except (TypeError, ValueError):
        index = None
    if index is None or not 0 <= index < len(names):
        raise ValueError(f"class {target!r} does not exist; the model's classes are {names} (name or id 0..{len(names) - 1})")
    return index


def load_classifier(folder: str | os.PathLike, device: str | torch.device | None = None,
                    command: str = "this command") -> Classifier:
    """A fine-tuned folder (full model, merged LoRA, or LoRA adapter) -> :class:`Classifier` on ``device``
    (default: where it loads, the CPU; :func:`default_device` is the GPU where there is one); a folder that holds
    no sequence classifier is a ``UsageError`` naming ``command``."""
    folder = check_model_folder(folder)
    path = Path(folder)
    if (path / "adapter_config.json").is_file():
        from modeling_genebert.finetuning.lora import load_lora_model  # peft is imported only for adapter folders

        model = load_lora_model(path, merge=True)
    else:
        architectures = json.loads((path / "config.json").read_text()).get("architectures") or []
        if "GeneBertForSequenceClassification" not in architectures:
            raise UsageError(
                f"--model_name_or_path {folder}: not a fine-tuned classifier (architectures {architectures}); "
                f"{command} needs a genebert-finetune output folder, not a pre-training checkpoint"
            )
        model = GeneBertForSequenceClassification.from_pretrained(path)
    model = model.eval()
    if device:
        model.to(device)
    tokenizer = load_tokenizer(path, model.config)
    id2label = model.config.id2label or {}
    label_names = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(model.config.num_labels)]
    # the fine-tuning's record: results.json, or finetune_results.json in a genebert-benchmark run folder (whose
    # results.json is the benchmark's own record of the run)
    record = next((path / name for name in ("finetune_results.json", "results.json") if (path / name).is_file()), None)
    info = json.loads(record.read_text()) if record else {}
    region_builder = None
    if model.config.classifier_region_fusion:  # the fine-tuning's region input, or its defaults
        region = info.get("region_input") or {}
        region_builder = RegionMatrixBuilder(_motif_spec(region), int(region.get("rows", 1)),
                                             region.get("aggregation", "max"), strands=region.get("strands", "both"))
        if region_builder.num_tfs != region.get("num_tfs", region_builder.num_tfs):
            raise ValueError(f"{folder}: {record.name} records {region.get('num_tfs')} TFs for the region input, "
                             f"but the motif set {region.get('motifs')!r} has {region_builder.num_tfs}")
        if region_builder.num_tfs != model.config.region_config.num_tfs:
            raise ValueError(f"{folder}: the model reads {model.config.region_config.num_tfs} TFs but the region input "
                             f"rebuilt from {record.name if record else 'the defaults'} scans {region_builder.num_tfs} "
                             "motifs: the fine-tuning's record (its region_input) is missing or from another model")
    return Classifier(model, tokenizer, label_names, region_builder, str(folder), info)


def default_device() -> str:
    """Where a command runs a classifier unless told: the GPU where there is one, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _motif_spec(region: dict) -> str | None:
    """The fine-tuning record's region_input (its ``motif_file``, or ``motifs``: a path, or a description such as
    ``'JASPAR2018 collection=CORE ... (pyjaspar)'``) -> a spec ``load_motifs`` takes."""
    motif_file = region.get("motif_file")
    if motif_file:
        if not os.path.isfile(motif_file):
            raise ValueError(f"the fine-tuning record's region_input.motif_file {motif_file} does not exist: the region matrix "
                             "cannot be rebuilt without the motif file the model was fine-tuned with")
        return motif_file
    description = region.get("motifs")
    if not description or os.path.exists(description):
        return description or None
    first = str(description).split()[0]
    if first.upper().startswith("JASPAR"):
        return None if first.upper() == "JASPAR2018" else first
    raise ValueError(f"region_input motifs {description!r} in results.json: no such motif file to rebuild the region matrix")


__all__ = ["Classifier", "default_device", "load_classifier", "resolve_class"]
