"""``genebert-finetune``: fine-tune GeneBERT (or a DNABERT / BERT baseline) on a sequence-classification task.

Tasks come from the registry (:mod:`dataset_scripts.tasks`, ``--list_tasks``): the paper's
``promoter``, ``tfbs``, ``disease``, ``splice`` (adds SpliceAI's top-k accuracy and PR-AUC),
``generic`` (any CSV/TSV/FASTA ``sequence,label`` set), ``variant_pair`` (ref / alt pairs) and
any the user registers. The model is

* a GeneBERT folder (``genebert-pretrain`` output or a fine-tuned one): the sequence encoder,
  the [CLS] pooler and, with ``--region_input``, the region encoder load from it;
* a DNABERT / BERT checkpoint folder (``config.json`` of ``model_type: bert`` + ``vocab.txt``
  + ``BertForMaskedLM`` weights): the paper's baseline, imported key by key;
* nothing (``--preset tiny``) or ``--from_scratch``: the same architecture, randomly initialised.

``--region_input`` scans every sequence with JASPAR motifs (the data side's torch
``conv1d`` scanner) into a ``rows x TFs`` region matrix, which
``GeneBertForSequenceClassification`` encodes and concatenates to [CLS].

Strand: DNA reads the same on its reverse complement. ``--rc_augment`` reads every training example on a
random strand each time it is drawn (token level, :class:`~.data.StrandFlip`); ``--rc_average`` scores
validation / test on both strands and averages the logits, reported apart as ``results_rc_average``.

``--tapt_steps N`` first continues masked genome modelling for N steps on the training sequences alone
(task-adaptive pre-training, :mod:`.task_adaptive`) and fine-tunes from that model.

Outputs in ``--output_dir``: the fine-tuned model (safetensors, config, tokenizer, remote
code), ``results.json`` (metrics per split with their definitions, seed,
hyper-parameters, data sizes, CPU time) and a model card ``README.md`` whose YAML holds
``model-index`` results. Every ``TrainingArguments`` option passes through.

From Python: :func:`finetune` takes the command's three option dataclasses
(:mod:`.arguments`) and returns a :class:`FinetuneResult` (``to_dict()`` is ``results.json``).

Example (GUE core promoters)::

    genebert-finetune --model_name_or_path outputs/genebert-tiny/final --task promoter \\
        --train_file prom_core_all/train.csv.gz --validation_file prom_core_all/dev.csv.gz \\
        --output_dir outputs/finetune-promoter
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import EvalPrediction, HfArgumentParser, Trainer, set_seed

from dataset_scripts.cli import check_bounds, console_script, group_options
from modeling_genebert.model_folders import check_model_folder
from dataset_scripts.output_folders import TRAINER_LEFTOVERS, OutputFolder
from dataset_scripts.tasks import REF_ALT, Task, get_task, list_tasks
from modeling_genebert.cards.finetune_card import finetuning_model_card, results_text, with_rc_average
from modeling_genebert.cards.folder import finish_output_folder, remove_checkpoints
from modeling_genebert.cards.model_card import save_model_card
from modeling_genebert.downstream.long_inputs import SequenceLevelMetrics
from modeling_genebert.downstream.metrics import PAPER_METRICS, build_compute_metrics, describe
from modeling_genebert.downstream.region_input import RegionMatrixBuilder
from modeling_genebert.finetuning.arguments import (
    FinetuneDataArguments,
    FinetuneModelArguments,
    FinetuneTrainingArguments,
)
from modeling_genebert.finetuning.data import (
    ClassificationCollator,
    RandomStrand,
    StrandFlip,
    load_task_data,
    prepare_features,
    strand_flip,
)
from modeling_genebert.finetuning.lora import apply_lora, lora_summary, save_lora
from modeling_genebert.finetuning.models import load_model_and_tokenizer
from modeling_genebert.finetuning.task_adaptive import adapt_to_task, check_task_adaptive_options
from modeling_genebert.precision import training_precision

logger = logging.getLogger("genebert.finetune")


def _round(metrics: dict[str, float]) -> dict[str, float]:
    return {k: (round(float(v), 6) if isinstance(v, (float, int, np.floating)) else v) for k, v in metrics.items()}


def final_step_evaluation(trainer: Trainer) -> dict[str, float] | None:
    """The validation metrics the Trainer logged at its last step (``eval_strategy``), keyed as
    ``trainer.evaluate(metric_key_prefix="validation")`` would key them, so they are not computed twice."""
    for entry in reversed(trainer.state.log_history):
        if "eval_loss" in entry:
            if entry.get("step") != trainer.state.global_step:
                return None
            return {"validation_" + k.removeprefix("eval_"): v for k, v in entry.items() if k.startswith("eval_")}
    return None


def evaluate_splits(trainer: Trainer, features, compute_metrics, strands: StrandFlip | None = None):
    """``(results, results_rc_average)``: the metrics of each evaluated split as given and, with ``strands``,
    with the logits of both strands averaged (``{}`` without)."""
    results, averaged = {}, {}
    for split in ("validation", "test"):
        if split not in features:
            continue
        if isinstance(compute_metrics, SequenceLevelMetrics):
            compute_metrics.split = split
        metrics = final_step_evaluation(trainer) if split == "validation" else None
        if strands is not None:
            forward = trainer.predict(features[split], metric_key_prefix=split)
            metrics = metrics or forward.metrics
            averaged[split] = _round(strand_averaged_metrics(trainer, features[split], forward, strands, compute_metrics))
        elif metrics is None:
            metrics = trainer.evaluate(features[split], metric_key_prefix=split)
        results[split] = _round({k.removeprefix(f"{split}_"): v for k, v in metrics.items()
                                 if not k.endswith(("_runtime", "_per_second", "epoch"))})
    return results, averaged


def strand_averaged_metrics(trainer: Trainer, dataset, forward, strands: StrandFlip, compute_metrics) -> dict:
    """Metrics of the mean of the forward logits (``forward``, a ``trainer.predict`` output) and the reverse
    complement's. With sliding windows each window's two strands are averaged, then windows per sequence."""
    reverse = trainer.predict(dataset.map(strands.batch, batched=True, desc="reverse complement"))

    def logits_of(output):
        return output.predictions[0] if isinstance(output.predictions, (tuple, list)) else output.predictions

    logits = (logits_of(forward) + logits_of(reverse)) / 2
    return compute_metrics(EvalPrediction(predictions=logits, label_ids=forward.label_ids))


def dataset_name_of(path: str | None) -> str:
    """``prom_core_all/train.csv.gz`` -> ``prom_core_all``: a split's file name says nothing, its folder does."""
    if not path:
        return "dataset"
    path = Path(path)
    stem = path.name.split(".")[0]
    if stem.lower() in ("train", "training", "dev", "valid", "validation", "test") and path.parent.name:
        return path.parent.resolve().name
    return stem


def warmup_of(training_args) -> dict:
    """transformers reads ``warmup_steps`` below 1 as a fraction of all steps: record which it was."""
    warmup = training_args.warmup_steps
    return {"warmup_ratio": warmup} if 0 < warmup < 1 else {"warmup_steps": int(warmup)}


@dataclass
class FinetuneResult:
    """What a fine-tuning run wrote and measured; :meth:`to_dict` is ``results.json``."""

    task: str
    task_title: str
    model_name_or_path: str  # the folder fine-tuned from, or "preset:NAME"
    init: str  # how the weights started, e.g. "pre-trained GeneBERT + LoRA (r=8)"
    from_scratch: bool
    region_input: dict[str, Any] | bool  # the motif scan's settings (--region_input), else False
    dataset: str
    labels: dict[int, str]
    splice_neither_label: int | None
    data_sizes: dict[str, int]
    seed: int
    hyperparameters: dict[str, Any]
    results: dict[str, dict[str, float]]  # split -> metric -> value
    results_rc_average: dict[str, dict[str, float]] | None  # --rc_average: both strands' logits averaged; else None
    metric_definitions: dict[str, str]
    paper_metrics: list[str]
    train_loss: float | None
    compute: dict[str, Any]
    output_dir: Path  # the fine-tuned model (or LoRA adapter) folder with its card
    results_file: Path  # where to_dict() was written (not in the JSON)

    def to_dict(self) -> dict[str, Any]:
        summary = {name: getattr(self, name) for name in (
            "task", "task_title", "model_name_or_path", "init", "from_scratch", "region_input", "dataset", "labels",
            "splice_neither_label", "data_sizes", "seed", "hyperparameters", "results")}
        if self.results_rc_average is not None:
            summary["results_rc_average"] = self.results_rc_average
        return {**summary, "metric_definitions": self.metric_definitions, "paper_metrics": self.paper_metrics,
                "train_loss": self.train_loss, "compute": self.compute, "output_dir": str(self.output_dir)}


def check_options(model_args: FinetuneModelArguments, data_args: FinetuneDataArguments) -> Task:
    """The task; a model folder that is not one and impossible ``--tapt_steps`` / ``--peft`` fail before data is read."""
    task = get_task(data_args.task)
    check_bounds(data_args, {"max_length": (">=", 3), "window_overlap": (">=", 0), "max_train_samples": (">=", 1),
                             "max_eval_samples": (">=", 1), "validation_split_percentage": (">=", 0)})
    check_bounds(model_args, {"lora_rank": (">=", 1), "lora_alpha": (">", 0), "lora_dropout": (">=", 0),
                              "classifier_dropout": (">=", 0), "region_rows": (">=", 1), "tapt_steps": (">=", 0),
                              "tapt_learning_rate": (">", 0), "tapt_batch_size": (">=", 1)})
    if model_args.model_name_or_path:
        check_model_folder(model_args.model_name_or_path, weights=not model_args.from_scratch)
    check_task_adaptive_options(model_args)
    if model_args.peft is not None and model_args.peft != "lora":
        raise ValueError(f"--peft {model_args.peft!r}: the supported method is 'lora'")
    if model_args.merge_lora and model_args.peft is None:
        raise ValueError("--merge_lora needs --peft lora")
    if model_args.region_wide and not (model_args.region_input or "region_matrix" in task.inputs):
        raise ValueError("--region_wide reads the region matrix: add --region_input (or use a task whose examples "
                         "carry a region_matrix)")
    return task


def load_labelled_data(task: Task, data_args: FinetuneDataArguments, seed: int):
    """``(splits, id2label)``: the task's data with its class names checked."""
    data = load_task_data(task, data_args, seed)
    label_names = list(data["train"].features["label"].names)
    task.check_labels(label_names)
    neither = data_args.splice_neither_label
    if "splice" in task.metrics and neither is not None and not 0 <= neither < len(label_names):
        raise ValueError(f"--splice_neither_label {neither} is not a class id")
    return data, dict(enumerate(label_names))


def region_input_of(model_args: FinetuneModelArguments, task: Task, train):
    """``(region builder or None, (rows, TFs) or None)``: the motif scan of ``--region_input``, or the task's own matrix."""
    if model_args.region_input:
        builder = RegionMatrixBuilder(model_args.motifs, model_args.region_rows, model_args.region_aggregation,
                                      strands=model_args.region_strands)
        return builder, (builder.matrix_rows * (2 if task.inputs == REF_ALT else 1), builder.num_tfs)
    if "region_matrix" in task.inputs:
        return None, tuple(np.asarray(train[0]["region_matrix"]).shape)
    return None, None


def build_classifier(model_args, task: Task, train, data_args, training_args, id2label: dict[int, str], region_shape):
    """``(model, tokenizer, init, task_adaptation, peft_info)``: the classifier to train, after ``--tapt_steps`` and
    with ``--peft lora`` applied; ``init`` says where its weights come from."""
    start_args, task_adaptation = adapt_to_task(model_args, train, task, data_args.max_length, training_args)
    model, tokenizer, init = load_model_and_tokenizer(start_args, len(id2label), id2label, region_shape)
    init += f" + task-adaptive pre-training ({model_args.tapt_steps} steps)" if task_adaptation else ""
    peft_info = None
    if model_args.peft is not None:
        model = apply_lora(model, model_args.lora_rank, model_args.lora_alpha, model_args.lora_dropout,
                           model_args.lora_target_modules)
        peft_info = lora_summary(model)
        init += f" + LoRA (r={model_args.lora_rank})"
    return model, tokenizer, init, task_adaptation, peft_info


def hyperparameters_of(model_args, data_args, training_args, trainer: Trainer, max_length: int, features, owners,
                       task_adaptation, peft_info) -> dict[str, Any]:
    """The run's settings as results.json and the model card record them."""
    return {
        "task": data_args.task,
        **({"num_train_epochs": training_args.num_train_epochs} if training_args.max_steps <= 0
           else {"max_steps": training_args.max_steps}),
        "epochs_run": round(float(trainer.state.epoch or 0), 3),
        "global_steps": trainer.state.global_step,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
        "learning_rate": training_args.learning_rate,
        "lr_scheduler_type": getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type),
        **warmup_of(training_args),
        "weight_decay": training_args.weight_decay,
        "max_length": max_length,
        "long_inputs": data_args.long_inputs,
        **({"window_overlap": data_args.window_overlap, "window_aggregation": data_args.window_aggregation,
            "windows": {split: len(ds) for split, ds in features.items()}} if owners else {}),
        "classifier_dropout": model_args.classifier_dropout,
        "classifier_pooling": trainer.model.config.classifier_pooling,
        "rc_augment": data_args.rc_augment,
        "rc_average": data_args.rc_average,
        "task_adaptive_pretraining": task_adaptation,
        **({"peft": peft_info} if peft_info else {}),
        "precision": training_precision(training_args),
        "seed": training_args.seed,
    }


def write_card_and_results(result: FinetuneResult, compute: dict[str, Any]) -> None:
    """The model card (with ``model-index``) in the output folder and ``results.json``."""
    card = finetuning_model_card(
        task=result.task,
        base_model=result.model_name_or_path,
        init=result.init,
        results=result.results,
        dataset_name=result.dataset,
        data_sizes=result.data_sizes,
        label_names=list(result.labels.values()),
        region_input=result.region_input or None,
        hyperparameters=result.hyperparameters,
        seed=result.seed,
        compute=compute,
        results_rc_average=result.results_rc_average or {},
    )
    save_model_card(card, result.output_dir)
    result.results_file.parent.mkdir(parents=True, exist_ok=True)
    result.results_file.write_text(json.dumps(result.to_dict(), indent=2, default=str))


def finetune(model_args: FinetuneModelArguments, data_args: FinetuneDataArguments,
             training_args: FinetuneTrainingArguments) -> FinetuneResult:
    """Fine-tune, evaluate validation / test and write the model folder, its card and ``results.json``.

    ``training_args`` is completed in place (no pinned memory without a GPU). Under ``accelerate launch`` every
    process calls this and gets the result; the main process writes the card and results.
    """
    task = check_options(model_args, data_args)
    output_folder = OutputFolder(training_args.output_dir, "genebert-finetune", overwrite=training_args.overwrite,
                                 leftovers=TRAINER_LEFTOVERS, main_process=training_args.process_index == 0)
    if not torch.cuda.is_available():
        training_args.dataloader_pin_memory = False  # nothing to pin for on a CPU-only machine
    set_seed(training_args.seed)
    cpu_start, wall_start = time.process_time(), time.perf_counter()

    data, id2label = load_labelled_data(task, data_args, training_args.seed)
    region_builder, region_shape = region_input_of(model_args, task, data["train"])
    output_folder.start()  # marks the run as under way until it has finished
    model, tokenizer, init, task_adaptation, peft_info = build_classifier(
        model_args, task, data["train"], data_args, training_args, id2label, region_shape)
    max_length = min(data_args.max_length, model.config.sequence_config.max_position_embeddings)
    features, owners = prepare_features(
        data, task, tokenizer, max_length, region_builder,
        data_args.long_inputs, data_args.window_overlap, data_args.window_aggregation,
    )
    compute_metrics = build_compute_metrics(
        metric_sets=task.metrics, neither_label=data_args.splice_neither_label, id2label=id2label
    )
    if owners:
        compute_metrics = SequenceLevelMetrics(compute_metrics, owners, data_args.window_aggregation)
    strands = strand_flip(tokenizer, task, region_builder) if data_args.rc_augment or data_args.rc_average else None
    train = features["train"]
    if data_args.rc_augment:  # training only: validation / test are read as given
        train = train.with_transform(RandomStrand(strands, training_args.seed))

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=features["validation"],
        data_collator=ClassificationCollator(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
    )
    train_cpu, train_wall = time.process_time(), time.perf_counter()
    train_result = trainer.train()
    train_cpu, train_wall = time.process_time() - train_cpu, time.perf_counter() - train_wall
    results, results_rc_average = evaluate_splits(trainer, features, compute_metrics,
                                                  strands=strands if data_args.rc_average else None)

    output_dir = Path(training_args.output_dir)
    if peft_info is not None:  # an adapter folder (+ tokenizer, head_config.json) or, with --merge_lora, a merged one
        peft_info["saved"] = save_lora(trainer, output_dir, merge=model_args.merge_lora)
    else:
        trainer.save_model(str(output_dir))  # weights, config (+ auto_map), remote code, tokenizer
    compute = {
        "train wall seconds": round(train_wall, 1),
        "train CPU minutes": round(train_cpu / 60, 2),
        "device": str(training_args.device),
        "torch threads": torch.get_num_threads(),
    }
    metric_names = sorted({m for r in results.values() for m in r})
    splice = "splice" in task.metrics
    result = FinetuneResult(
        task=data_args.task,
        task_title=task.title,
        model_name_or_path=model_args.model_name_or_path or f"preset:{model_args.preset}",
        init=init,
        from_scratch=model_args.from_scratch or model_args.model_name_or_path is None,
        region_input=region_builder.info() | {"wide": model_args.region_wide} if region_builder else False,
        dataset=data_args.dataset_name or dataset_name_of(data_args.dataset_path or data_args.train_file),
        labels=id2label,
        splice_neither_label=data_args.splice_neither_label if splice else None,
        data_sizes={split: len(ds) for split, ds in data.items()},
        seed=training_args.seed,
        hyperparameters=hyperparameters_of(model_args, data_args, training_args, trainer, max_length, features, owners,
                                           task_adaptation, peft_info),
        results=results,
        results_rc_average=results_rc_average if data_args.rc_average else None,
        metric_definitions=describe(metric_names),
        paper_metrics=list(PAPER_METRICS),
        train_loss=train_result.metrics.get("train_loss"),
        compute={**compute, "total CPU minutes": round((time.process_time() - cpu_start) / 60, 2),
                 "total wall seconds": round(time.perf_counter() - wall_start, 1)},
        output_dir=output_dir,
        results_file=Path(data_args.results_file or output_dir / "results.json"),
    )
    if trainer.is_world_process_zero():
        write_card_and_results(result, compute)
        finish_output_folder(output_dir, trainer)
        if not training_args.keep_checkpoints:
            remove_checkpoints(output_dir)
        output_folder.finish()
    return result


# ----------------------------------------------------------------------------- command line
def build_parser() -> HfArgumentParser:
    """``genebert-finetune``'s options: model, data and GeneBERT's training defaults first, then the rest of
    ``TrainingArguments`` (passed through)."""
    parser = HfArgumentParser((FinetuneModelArguments, FinetuneDataArguments, FinetuneTrainingArguments))
    parser.add_argument("--list_tasks", action="store_true",
                        help="print the registered task names, one per line, and exit")
    group_options(parser, {
        "model": [f.name for f in dataclasses.fields(FinetuneModelArguments)],
        "data": [f.name for f in dataclasses.fields(FinetuneDataArguments)] + ["list_tasks"],
        "training (GeneBERT's defaults)": list(FinetuneTrainingArguments.__annotations__),
    }, rest="every other transformers TrainingArguments option (passed through)")
    parser.prog = "genebert-finetune"
    parser.usage = ("genebert-finetune [--model_name_or_path FOLDER] --task TASK --train_file FILE "
                    "[--validation_file FILE] [--test_file FILE] [--output_dir DIR] [options]")
    return parser


def parse_args(argv: list[str] | None = None):
    """``(model, data, training arguments, the command line's own options)``; a single ``.json`` argument is read as a
    file of options."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".json"):
        return (*parser.parse_json_file(os.path.abspath(argv[0])), argparse.Namespace(list_tasks=False))
    return parser.parse_args_into_dataclasses(args=argv)


def print_summary(result: FinetuneResult) -> None:
    print(f"\nGeneBERT fine-tuning: {result.task_title} on {result.dataset} "
          f"(init: {result.init}; region input: {'yes' if result.region_input else 'no'}; seed {result.seed})")
    print(results_text(with_rc_average(result.results, result.results_rc_average or {})))
    print(f"train: {result.hyperparameters['global_steps']} steps, {result.compute['train wall seconds']:.0f} s wall, "
          f"{result.compute['train CPU minutes']:.1f} CPU-min")
    print(f"results: {result.results_file}\nmodel + card: {result.output_dir}")


def run_command(argv: list[str] | None = None) -> FinetuneResult | None:
    """Parse; list the tasks, or fine-tune and print the summary (on the main process only)."""
    model_args, data_args, training_args, command_line = parse_args(argv)
    if command_line.list_tasks:
        print("\n".join(list_tasks()))
        return None
    result = finetune(model_args, data_args, training_args)
    if training_args.process_index == 0:
        print_summary(result)
    return result


main = console_script(run_command, "genebert-finetune")

__all__ = ["FinetuneResult", "build_parser", "finetune", "main", "parse_args"]

if __name__ == "__main__":
    sys.exit(main())
