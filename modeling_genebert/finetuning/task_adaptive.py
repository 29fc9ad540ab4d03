"""Task-adaptive pre-training (Gururangan et al. 2020, "Don't Stop Pretraining"): before fine-tuning, continue
masked genome modelling (MGM) on the task's own training sequences, without their labels.

Pre-training saw the genome at large; a task's sequences (core promoters, ChIP-seq peaks) are a narrow slice
of it, and a few hundred MGM steps on that slice move the encoder towards it. Only the training split is
read: validation and test sequences would leak into the model that is then scored on them.

Everything but the data is pre-training's: ``GeneBertForPreTraining``'s tied k-mer decoder and loss (no
NGSP pair and no region matrix here, so MGM is the only loss term), span masking
(:func:`~modeling_genebert.pretraining.masking.apply_mgm_masking`) with ``genebert-pretrain``'s default
ratio and span, its dropout, and its ``GeneBertTrainer`` (which logs the MGM loss of every step).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import TrainingArguments, set_seed

from dataset_scripts.cli import UsageError
from modeling_genebert import GeneBertForPreTraining
from modeling_genebert.cards.folder import finish_output_folder
from modeling_genebert.downstream.long_inputs import fit_to_window
from modeling_genebert.folder_tokenizer import load_tokenizer
from modeling_genebert.pretraining.masking import apply_mgm_masking
from modeling_genebert.pretraining.pretrain import DataArguments, PretrainingArguments, build_pretraining_model
from modeling_genebert.pretraining.trainer import GeneBertTrainer

TAPT_FOLDER = "task_adaptive_pretraining"  # under fine-tuning's --output_dir
RECORD_FILE = "task_adaptive_pretraining.json"


def check_pretraining_folder(path: str | None) -> None:
    """Task-adaptive pre-training continues a GeneBERT pre-training folder's MGM head: anything else is refused."""
    if path is None:
        raise UsageError("--tapt_steps continues pre-training: give a GeneBERT pre-training folder "
                         "(genebert-pretrain's output/final) as --model_name_or_path")
    config_file = Path(path) / "config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    architectures = config.get("architectures") or []
    if config.get("model_type") != "genebert" or "GeneBertForPreTraining" not in architectures:
        raise UsageError(f"--tapt_steps: {path} is not a GeneBERT pre-training folder (model_type "
                         f"{config.get('model_type')!r}, architectures {architectures}); task-adaptive pre-training "
                         "continues genebert-pretrain's masked genome modelling head")


def check_task_adaptive_options(model_args) -> None:
    """Fail before any data is read when ``--tapt_steps`` cannot run."""
    if model_args.tapt_steps < 0:
        raise UsageError(f"--tapt_steps must be 0 (off) or a number of steps, got {model_args.tapt_steps}")
    if not model_args.tapt_steps:
        return
    if model_args.from_scratch:
        raise UsageError("--tapt_steps continues pre-trained weights: it cannot be combined with --from_scratch")
    check_pretraining_folder(model_args.model_name_or_path)


@dataclass
class MaskedSequenceCollator:
    """Batches of single sequences for MGM: tokenized, padded and span-masked as ``genebert-pretrain`` masks."""

    tokenizer: Any
    max_length: int
    seed: int
    mask_ratio: float = DataArguments.mask_ratio
    _generator: torch.Generator = field(init=False, repr=False)

    def __post_init__(self):
        self._generator = torch.Generator().manual_seed(self.seed)

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        encoding = self.tokenizer([row["sequence"] for row in rows], padding=True, truncation=True,
                                  max_length=self.max_length, pad_to_multiple_of=8, return_tensors="pt",
                                  return_special_tokens_mask=True)
        maskable = ~encoding.pop("special_tokens_mask").bool() & encoding["attention_mask"].bool()
        encoding["input_ids"], encoding["labels"] = apply_mgm_masking(
            encoding["input_ids"], maskable, ratio=self.mask_ratio, span=self.tokenizer.kmer,
            mask_token_id=self.tokenizer.mask_token_id, first_kmer_id=len(self.tokenizer.all_special_tokens),
            vocab_size=len(self.tokenizer), generator=self._generator,
        )
        return dict(encoding)


def task_adaptive_pretraining(
    model_folder: str | Path,
    sequences: Sequence[str],
    output_dir: str | Path,
    *,
    steps: int,
    learning_rate: float = 5e-4,
    batch_size: int = 32,
    seed: int = 42,
    max_length: int = 512,
    **training_options,
) -> Path:
    """Continue MGM from the pre-training folder ``model_folder`` for ``steps`` optimizer steps on ``sequences``
    (a task's training split; longer ones are cut into windows); returns ``output_dir``, a GeneBERT pre-training
    folder holding ``task_adaptive_pretraining.json`` (steps, losses, CPU time). ``training_options`` go to
    ``TrainingArguments`` (e.g. ``use_cpu``, ``bf16``)."""
    from datasets import Dataset

    check_pretraining_folder(str(model_folder))
    if not sequences:
        raise ValueError("task-adaptive pre-training got no training sequences")
    cpu_start = time.process_time()
    loaded = GeneBertForPreTraining.from_pretrained(model_folder)
    model = build_pretraining_model(loaded.config, PretrainingArguments.pretraining_dropout)
    model.load_state_dict(loaded.state_dict())
    tokenizer = load_tokenizer(model_folder, loaded.config)
    max_length = min(max_length, loaded.config.sequence_config.max_position_embeddings)
    windows, _ = fit_to_window(sequences, tokenizer, max_length, "sliding_window", window_overlap=0)
    log_every = max(1, steps // 10)  # the MGM loss is recorded as the mean of each such run of steps
    args = TrainingArguments(
        output_dir=str(output_dir), max_steps=steps, per_device_train_batch_size=batch_size,
        learning_rate=learning_rate, warmup_steps=0.1, weight_decay=0.01, max_grad_norm=1.0, logging_steps=log_every,
        save_strategy="no", report_to=[], seed=seed, remove_unused_columns=False, **training_options,
    )
    trainer = GeneBertTrainer(model=model, args=args, train_dataset=Dataset.from_dict({"sequence": list(windows)}),
                              data_collator=MaskedSequenceCollator(tokenizer, max_length, seed), processing_class=tokenizer)
    trainer.train()
    trainer.save_model(str(output_dir))  # weights, config (+ auto_map), remote code, tokenizer
    finish_output_folder(output_dir, trainer)
    losses = [entry["mgm_loss"] for entry in trainer.state.log_history if "mgm_loss" in entry]
    record = {
        "steps": trainer.state.global_step, "learning_rate": learning_rate, "batch_size": batch_size,
        "train_sequences": len(sequences), "windows": len(windows), "max_length": max_length,
        "mgm_loss_first": losses[0], "mgm_loss_last": losses[-1], "mgm_loss_steps_averaged": log_every, "seed": seed,
        "cpu_minutes": round((time.process_time() - cpu_start) / 60, 2), "from": str(model_folder),
    }
    (Path(output_dir) / RECORD_FILE).write_text(json.dumps(record, indent=2))
    return Path(output_dir)


def adapt_to_task(model_args, train_split, task, max_length: int, training_args):
    """``--tapt_steps``: ``(model arguments to fine-tune from, record for results.json)``; unchanged and ``None``
    without. Reads only the training split's sequences (a pair task's ref and alt both)."""
    if not model_args.tapt_steps:
        return model_args, None
    sequences = [s for column in task.inputs if column != "region_matrix" for s in train_split[column]]
    folder = task_adaptive_pretraining(
        model_args.model_name_or_path, sequences, Path(training_args.output_dir) / TAPT_FOLDER,
        steps=model_args.tapt_steps, learning_rate=model_args.tapt_learning_rate, batch_size=model_args.tapt_batch_size,
        seed=training_args.seed, max_length=max_length, use_cpu=training_args.use_cpu, bf16=training_args.bf16,
        disable_tqdm=training_args.disable_tqdm,
    )
    set_seed(training_args.seed)  # the classifier head starts as it would without task-adaptive pre-training
    record = {**json.loads((folder / RECORD_FILE).read_text()), "folder": str(folder)}
    return dataclasses.replace(model_args, model_name_or_path=str(folder)), record


__all__ = ["MaskedSequenceCollator", "adapt_to_task", "check_task_adaptive_options", "task_adaptive_pretraining"]
