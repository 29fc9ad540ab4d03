"""``genebert-pretrain``: multi-modal pre-training with ``transformers.Trainer``.

With no arguments it builds the embedded K562/HepG2 mini-atlas, pre-trains the "tiny"
preset for a few CPU minutes and writes a Hub-ready folder (safetensors, config with
``auto_map``, tokenizer, remote code, model card). Every ``TrainingArguments`` option
passes through, and the same script runs under ``accelerate launch``.

From Python: :func:`pretrain` takes the command's three option dataclasses (:class:`ModelArguments`,
:class:`DataArguments`, :class:`PretrainingArguments`) and returns a :class:`PretrainResult`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from transformers import HfArgumentParser, TrainerCallback, TrainerState, TrainingArguments, set_seed
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from dataset_scripts import build_default_pretraining_dataset, load_pretraining_dataset
from dataset_scripts.cli import TRAINING_BOUNDS, UsageError, check_bounds, console_script
from dataset_scripts.output_folders import TRAINER_LEFTOVERS, OutputFolder
from dataset_scripts.pretraining_load import NGSP_NEGATIVES, NGSP_PAIRINGS
from dataset_scripts.readers import cache_dir
from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from modeling_genebert.cards.folder import finish_output_folder, remove_checkpoints
from modeling_genebert.cards.model_card import pretraining_model_card, save_model_card
from modeling_genebert.configuration_genebert import kmer_vocab_size
from modeling_genebert.convert_checkpoints import load_sequence_encoder_weights
from modeling_genebert.pretraining.callbacks import MaskRatioScheduleCallback, StopAtStepCallback
from modeling_genebert.pretraining.collator import GeneBertPretrainingCollator
from modeling_genebert.pretraining.trainer import COMPONENTS, GeneBertTrainer
from modeling_genebert.precision import PRECISION_HELP, apply_training_precision, training_precision

logger = logging.getLogger("genebert.pretrain")

# The paper's schedule (section 4.1): 120k steps, warm-up, peak LR 4e-4, batch 2000
# (here 25 per device x 10 accumulation steps x 8 GPUs), bf16 on GPUs.
TRAINING_PRESETS = {
    "paper": dict(
        max_steps=120_000,
        warmup_steps=10_000,
        learning_rate=4e-4,
        lr_scheduler_type="linear",
        weight_decay=0.01,
        per_device_train_batch_size=25,
        gradient_accumulation_steps=10,
        bf16=True,
        logging_steps=100,
        save_steps=2_000,
        eval_steps=2_000,
    ),
    # What a CPU run of this package's size can afford: 1,000 steps of 16 pairs, short warm-up,
    # peak LR 1e-3 decaying linearly.
    "cpu": dict(
        max_steps=1_000,
        warmup_steps=60,
        learning_rate=1e-3,
        lr_scheduler_type="linear",
        weight_decay=0.01,
        per_device_train_batch_size=16,
        logging_steps=50,
        save_steps=250,
        eval_steps=250,
    ),
}


@dataclass
class ModelArguments:
    preset: str = field(default="tiny", metadata={"help": 'model preset: "tiny" (CPU demo), "small" (CPU budget) or "paper"'})
    config_file: str | None = field(default=None, metadata={"help": "a GeneBertConfig JSON (overrides --preset)"})
    kmer: int | None = field(
        default=None,
        metadata={"help": "k of the k-mer tokens (3-8), replacing the preset's 6; the vocabulary follows "
                  "(5 + 4**k tokens). k 4 fine-tunes better at CPU budgets; 6 loads DNABERT-6 vocabularies"},
    )
    init_sequence_encoder_from: str | None = field(
        default=None, metadata={"help": "DNABERT / BERT checkpoint folder to initialise the sequence encoder"}
    )
    region_encoder_weights: str | None = field(
        default=None, metadata={"help": "local timm weights file (e.g. ImageNet Swin) for the region encoder"}
    )
    mgm_weight: float | None = field(default=None, metadata={"help": "override the MGM loss weight"})
    ngsp_weight: float | None = field(default=None, metadata={"help": "override the NGSP loss weight"})
    srm_weight: float | None = field(default=None, metadata={"help": "override the SRM loss weight (lambda)"})


@dataclass
class DataArguments:
    dataset_path: str | None = field(
        default=None,
        metadata={"help": "a pre-training dataset built by dataset_scripts; default: the embedded mini-atlas"},
    )
    default_bases_per_region: int = field(
        default=50,
        metadata={"help": "window per region when building the embedded mini-atlas (50: halves long enough for NGSP)"},
    )
    default_ngsp_pairing: str = field(
        default="contiguous",
        metadata={
            "help": "NGSP pairs of the embedded mini-atlas: next_regions (B = the next accessible regions) or "
            "contiguous (B = the genome right after A, per region; dataset schema 2); "
            "a --dataset_path dataset keeps the pairing it was built with"
        },
    )
    default_ngsp_negatives: str = field(
        default="shuffled",
        metadata={
            "help": "with --default_ngsp_pairing contiguous: the \"not next\" B is another sample's right halves "
            "(other_sample) or a dinucleotide shuffle of the sample's own (shuffled: composition-matched, learnable)"
        },
    )
    streaming: bool = field(default=False, metadata={"help": "stream the Parquet shards (IterableDataset)"})
    max_length: int = field(default=512, metadata={"help": "tokens per pair, specials included"})
    mask_ratio: float = field(default=0.15, metadata={"help": "MGM mask ratio"})
    final_mask_ratio: float = field(default=0.20, metadata={"help": "MGM mask ratio for the final steps"})
    final_mask_fraction: float = field(default=1 / 6, metadata={"help": "fraction of steps at the final ratio"})
    mask_span: int | None = field(default=None, metadata={"help": "masked span length in tokens (default k)"})
    max_eval_samples: int | None = field(default=512, metadata={"help": "cap on validation samples"})
    training_preset: str | None = field(
        default=None, metadata={"help": 'apply a training schedule ("paper" or "cpu") to options left at their defaults'}
    )


@dataclass
class PretrainingArguments(TrainingArguments):
    """``TrainingArguments`` with defaults that make the no-argument run a CPU demo."""

    output_dir: str = field(default="outputs/genebert-tiny", metadata={"help": "run folder; the model goes to OUTPUT_DIR/final"})
    max_steps: int = field(default=600, metadata={"help": "optimizer steps (600: NGSP leaves chance on the default data)"})
    per_device_train_batch_size: int = field(default=16, metadata={"help": "pairs per step and device"})
    per_device_eval_batch_size: int = field(default=32, metadata={"help": "validation pairs per batch (SRM chance = 1 / this)"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate"})
    warmup_steps: float = field(default=20, metadata={"help": "warm-up steps (below 1: a fraction of all steps)"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm"})
    logging_steps: float = field(default=20, metadata={"help": "log the losses every N steps"})
    save_steps: float = field(default=80, metadata={"help": "checkpoint every N steps (for --resume_from_checkpoint auto)"})
    save_total_limit: int | None = field(default=2, metadata={"help": "checkpoints kept while the run is under way"})
    remove_unused_columns: bool = field(default=False, metadata={"help": "leave False: the collator needs every column"})
    prediction_loss_only: bool = field(default=True, metadata={"help": "evaluation returns losses only"})
    seed: int = field(default=42, metadata={"help": "seed of initialisation, masking and data order"})
    keep_checkpoints: bool = field(
        default=False,
        metadata={"help": "keep the intermediate checkpoint-N folders (optimizer state) after the final model is "
                  "written; by default they are removed then (they serve --resume_from_checkpoint auto while a run "
                  "is under way)"},
    )
    precision: str = field(default="auto", metadata={"help": PRECISION_HELP})
    stop_at_step: int | None = field(
        default=None,
        metadata={"help": "end this session of the run at step N with a checkpoint (no final/ yet), the learning-rate "
                  "schedule still that of --max_steps; continue with --resume_from_checkpoint auto: a long run in slices"},
    )
    pretraining_dropout: float | None = field(
        default=0.0,
        metadata={"help": "dropout (hidden and attention) while pre-training; 0 lets attention run the fused SDPA "
                  "kernel. The saved config keeps the preset's dropout for fine-tuning. None: the config's own"},
    )

    def __post_init__(self):
        check_bounds(self, {**TRAINING_BOUNDS, "stop_at_step": (">=", 1)})  # before any data is read or any folder made
        apply_training_precision(self)
        super().__post_init__()
    overwrite: bool = field(
        default=False,
        metadata={"help": "write into a non-empty --output_dir (e.g. replace a finished final/); without it such a "
                  "folder is refused, unless it is an interrupted run's (or --resume_from_checkpoint resumes it)"},
    )


def apply_training_preset(args: PretrainingArguments, name: str | None) -> None:
    """Set preset values on the options the user left at their defaults."""
    if not name:
        return
    if name not in TRAINING_PRESETS:
        raise ValueError(f"unknown training preset {name!r}; choose one of {sorted(TRAINING_PRESETS)}")
    defaults = {f.name: f.default for f in fields(PretrainingArguments)}
    for key, value in TRAINING_PRESETS[name].items():
        if getattr(args, key) == defaults.get(key):
            setattr(args, key, value)


def build_config(model_args: ModelArguments, num_tfs: int, regions_per_sample: int) -> GeneBertConfig:
    if model_args.config_file:
        config = GeneBertConfig.from_json_file(model_args.config_file)
    else:
        config = GeneBertConfig.from_preset(model_args.preset)
    if model_args.kmer is not None:
        seq = config.sequence_config
        seq.kmer, seq.vocab_size = model_args.kmer, kmer_vocab_size(model_args.kmer)
        seq.validate_architecture()
    for name in ("mgm_weight", "ngsp_weight", "srm_weight"):
        value = getattr(model_args, name)
        if value is not None:
            setattr(config, name, value)
    region = config.region_config
    if model_args.config_file and (region.num_tfs, region.regions_per_sample) != (num_tfs, regions_per_sample):
        raise ValueError(
            f"{model_args.config_file}: region_config expects {region.regions_per_sample} regions x "
            f"{region.num_tfs} TFs but the dataset holds {regions_per_sample} x {num_tfs}"
        )
    region.num_tfs, region.regions_per_sample = num_tfs, regions_per_sample
    return config


def build_pretraining_model(config: GeneBertConfig, dropout: float | None) -> GeneBertForPreTraining:
    """The model, its dropout modules built with ``dropout``; ``config`` keeps its own values for fine-tuning.

    BERT's dropout modules fix their rate when built, so the saved config's rate is what a model
    fine-tuned from this folder gets, not what pre-training used.
    """
    if dropout is None:
        return GeneBertForPreTraining(config)
    if not 0 <= dropout < 1:
        raise ValueError(f"--pretraining_dropout must be in [0, 1), got {dropout}")
    seq = config.sequence_config
    kept = seq.hidden_dropout_prob, seq.attention_probs_dropout_prob
    seq.hidden_dropout_prob = seq.attention_probs_dropout_prob = dropout
    try:
        return GeneBertForPreTraining(config)
    finally:
        seq.hidden_dropout_prob, seq.attention_probs_dropout_prob = kept


def default_dataset_path(bases_per_region: int, pairing: str = "next_regions", negatives: str = "other_sample") -> str:
    """The cache folder of the embedded mini-atlas built with these options (one folder per choice)."""
    if pairing not in NGSP_PAIRINGS:
        raise ValueError(f"--default_ngsp_pairing must be one of {sorted(NGSP_PAIRINGS)}, got {pairing!r}")
    if negatives not in NGSP_NEGATIVES:
        raise ValueError(f"--default_ngsp_negatives must be one of {list(NGSP_NEGATIVES)}, got {negatives!r}")
    version = "" if pairing == "next_regions" else f"-v{NGSP_PAIRINGS[pairing]}"  # the schema-1 cache name is unchanged
    suffix = "" if negatives == "other_sample" else f"-{negatives}"
    return str(cache_dir() / f"default-mini-atlas{version}{suffix}-b{bases_per_region}")


def default_dataset(bases_per_region: int, pairing: str = "next_regions", negatives: str = "other_sample") -> str:
    """The embedded mini-atlas with these options: built into its cache folder once, then reused."""
    path = default_dataset_path(bases_per_region, pairing, negatives)
    if not Path(path).exists():
        build_default_pretraining_dataset(path, bases_per_region=bases_per_region,
                                          ngsp_pairing=pairing, ngsp_negatives=negatives)
    return path


def load_data(data_args: DataArguments, training_args: PretrainingArguments):
    """The pre-training DatasetDict (train + validation); builds the embedded default once."""
    path = data_args.dataset_path
    if path is None:
        with training_args.main_process_first(desc="building the embedded mini-atlas"):
            path = default_dataset(data_args.default_bases_per_region, data_args.default_ngsp_pairing,
                                   data_args.default_ngsp_negatives)
    return path, load_pretraining_dataset(path, streaming=data_args.streaming)


def matrix_shape(dataset) -> tuple[int, int]:
    feature = dataset.features["region_matrix"]
    regions, num_tfs = feature.shape
    return int(regions), int(num_tfs)


def last_complete_checkpoint(output_dir: str) -> str | None:
    """The newest ``checkpoint-N`` that was written to the end.

    ``Trainer`` writes a checkpoint in place and ``trainer_state.json`` last, so a run
    killed mid-save leaves a folder without it; such a folder is skipped, not resumed from.
    """
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    steps = sorted(
        (int(p.name.split("-")[-1]), p)
        for p in folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*")
        if p.is_dir() and p.name.split("-")[-1].isdigit()
    )
    for step, path in reversed(steps):
        if (path / "trainer_state.json").is_file():
            return str(path)
        logger.warning("skipping incomplete checkpoint %s (no trainer_state.json)", path)
    return None


@torch.no_grad()
def evaluate_components(trainer: GeneBertTrainer, dataset, collator, seed: int, mask_ratio: float) -> dict[str, float]:
    """Validation losses, with the same masks and pairings every time so that start and end compare.

    A plain loop over the Trainer's eval dataloader rather than ``Trainer.evaluate``: the
    latter, called before ``train()``, marks the model as prepared and DDP wrapping is
    then skipped (measured with transformers 5.23 + accelerate 1.15).
    """
    model = trainer.model
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    batches = 0
    with collator.frozen(seed, mask_ratio):
        for batch in trainer.get_eval_dataloader(dataset):
            outputs = model(**batch)
            for name in ("loss", *COMPONENTS):
                value = getattr(outputs, name, None)
                if value is not None:
                    sums[name] = sums.get(name, 0.0) + value.detach().float()
            batches += 1
    model.train(was_training)
    return {
        name: trainer.accelerator.reduce(total / batches, reduction="mean").item() for name, total in sums.items()
    }


def summarize(before: dict[str, float], after: dict[str, float], chance: float) -> str:
    lines = ["", "GeneBERT pre-training summary (validation split)", f"{'metric':<14}{'start':>10}{'end':>10}"]
    for name in ("loss", "mgm_loss", "ngsp_loss", "ngsp_accuracy", "srm_loss", "srm_accuracy"):
        if name in after:
            lines.append(f"{name:<14}{before.get(name, float('nan')):>10.4f}{after[name]:>10.4f}")
    if "ngsp_accuracy" in after:
        lines.append("NGSP accuracy chance level: 0.5000 (\"next\" and \"not next\" drawn 50/50)")
    if "srm_accuracy" in after:
        lines.append(f"SRM accuracy chance level: {chance:.4f} (1 / eval batch size)")
    return "\n".join(lines)


def checkpoint_to_resume(training_args: PretrainingArguments) -> str | None:
    """``--resume_from_checkpoint``: a folder as given, or for ``auto`` the newest complete checkpoint (None: start)."""
    resume = training_args.resume_from_checkpoint
    if resume in ("auto", "last", "true", "True"):
        resume = last_complete_checkpoint(training_args.output_dir)
        if resume is None:
            logger.info("no complete checkpoint in %s: starting from scratch", training_args.output_dir)
    return resume


def prepare_training_arguments(training_args: PretrainingArguments, data_args: DataArguments) -> None:
    """Complete ``training_args`` in place: the training preset, and what this machine and the data reading need."""
    apply_training_preset(training_args, data_args.training_preset)
    if not torch.cuda.is_available():
        training_args.dataloader_pin_memory = False  # nothing to pin for on a CPU-only machine
    if data_args.streaming:
        # each process reads its own Parquet shards instead of rank 0 dispatching batches
        training_args.accelerator_config.dispatch_batches = False


def build_model(model_args: ModelArguments, data_args: DataArguments, training_args: PretrainingArguments, train):
    """``(model, config, collator)``: the architecture sized to the dataset's region matrices, optional starting
    weights, and the masking collator with its tokenizer."""
    regions, num_tfs = matrix_shape(train)
    config = build_config(model_args, num_tfs=num_tfs, regions_per_sample=regions)
    model = build_pretraining_model(config, training_args.pretraining_dropout)
    if model_args.init_sequence_encoder_from:  # Algorithm 1, line 4
        load_sequence_encoder_weights(model, model_args.init_sequence_encoder_from)
    if model_args.region_encoder_weights:
        model.load_region_encoder_weights(model_args.region_encoder_weights)
    tokenizer = GeneBertTokenizer(k=config.sequence_config.kmer, model_max_length=data_args.max_length)
    collator = GeneBertPretrainingCollator(
        tokenizer,
        max_length=data_args.max_length,
        mask_ratio=data_args.mask_ratio,
        mask_span=data_args.mask_span,
        seed=training_args.seed + training_args.process_index,
    )
    return model, config, collator


def hyperparameters_of(model_args, data_args, training_args, config, collator, global_step: int) -> dict:
    """The run's settings as the model card records them."""
    return {
        "preset": model_args.config_file or model_args.preset,
        "training_preset": data_args.training_preset,
        "max_steps": training_args.max_steps,
        "global_steps": global_step,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
        "world_size": training_args.world_size,
        "learning_rate": training_args.learning_rate,
        "warmup_steps": training_args.warmup_steps,
        "weight_decay": training_args.weight_decay,
        "max_length": data_args.max_length,
        "mask_ratio": f"{data_args.mask_ratio} -> {data_args.final_mask_ratio} for the last "
        f"{data_args.final_mask_fraction:.3f} of steps",
        "mask_span": collator.mask_span,
        "seed": training_args.seed,
        "pretraining_dropout": training_args.pretraining_dropout,
        "precision": training_precision(training_args),
        "loss_weights": {"mgm": config.mgm_weight, "ngsp": config.ngsp_weight, "srm": config.srm_weight},
    }


@dataclass
class PretrainResult:
    """What a pre-training run wrote and measured; :meth:`to_dict` is ``OUTPUT_DIR/final/pretraining_summary.json``."""

    output_dir: Path  # the Hub-ready model folder, OUTPUT_DIR/final
    dataset: Path  # the pre-training dataset folder read
    train_samples: int | None  # None for a streamed dataset
    global_step: int
    train_runtime_s: float | None
    before: dict[str, float]  # validation losses / accuracies before training ({} when resumed or without validation)
    after: dict[str, float]  # ... and after
    srm_chance: float  # SRM accuracy of guessing: 1 / eval batch size
    precision: str = "fp32"  # what the training steps ran in: "bf16" or "fp32"

    def to_dict(self) -> dict[str, Any]:
        return {"output_dir": str(self.output_dir), "dataset": str(self.dataset), "train_samples": self.train_samples,
                "global_step": self.global_step, "train_runtime_s": self.train_runtime_s, "before": self.before,
                "after": self.after, "srm_chance": self.srm_chance, "precision": self.precision}


def pretrain(model_args: ModelArguments, data_args: DataArguments, training_args: PretrainingArguments, *,
             callbacks: Sequence[TrainerCallback] = ()) -> PretrainResult:
    """Pre-train GeneBERT and write the Hub-ready folder ``OUTPUT_DIR/final`` (safetensors, config with ``auto_map``,
    tokenizer, remote code, model card, ``pretraining_summary.json``).

    ``training_args`` is completed in place (``--training_preset``, CPU settings). Under ``accelerate launch`` /
    ``torchrun`` every process calls this; each gets the result, the main process writes the card and summary.
    ``callbacks`` are added to the Trainer's.
    """
    prepare_training_arguments(training_args, data_args)
    resume = checkpoint_to_resume(training_args)
    output_folder = OutputFolder(training_args.output_dir, "genebert-pretrain", overwrite=training_args.overwrite,
                                 resume=bool(resume), leftovers=TRAINER_LEFTOVERS,
                                 resume_flag="--resume_from_checkpoint auto", main_process=training_args.process_index == 0)
    set_seed(training_args.seed)

    dataset_path, data = load_data(data_args, training_args)
    train = data["train"]
    evaluation = data["validation"] if "validation" in data else None
    if evaluation is not None and data_args.max_eval_samples and not data_args.streaming:
        evaluation = evaluation.select(range(min(len(evaluation), data_args.max_eval_samples)))
    model, config, collator = build_model(model_args, data_args, training_args, train)
    schedule = MaskRatioScheduleCallback(
        collator, data_args.mask_ratio, data_args.final_mask_ratio, data_args.final_mask_fraction
    )
    trainer = GeneBertTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=collator,
        processing_class=collator.tokenizer,
        callbacks=[schedule, *callbacks],
    )
    stop_at = _stop_at_step(training_args, resume)
    if stop_at is not None:
        trainer.add_callback(StopAtStepCallback(stop_at))

    def validate():
        if evaluation is None:
            return {}
        return evaluate_components(trainer, evaluation, collator, training_args.seed, data_args.mask_ratio)

    output_folder.start()
    before = {} if resume else validate()
    train_result = trainer.train(resume_from_checkpoint=resume)

    def result_in(output_dir: Path, after: dict) -> PretrainResult:
        return PretrainResult(
            output_dir=output_dir, dataset=Path(dataset_path),
            train_samples=len(train) if hasattr(train, "__len__") else None,
            global_step=trainer.state.global_step, train_runtime_s=train_result.metrics.get("train_runtime"),
            before=before, after=after, srm_chance=1.0 / training_args.per_device_eval_batch_size,
            precision=training_precision(training_args),
        )

    if stop_at is not None:  # --stop_at_step: the session ends with its checkpoint, no final folder yet
        checkpoint = Path(training_args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{trainer.state.global_step}"
        logger.info("stopped at step %d of %d (--stop_at_step): %s; continue with --resume_from_checkpoint auto",
                    trainer.state.global_step, training_args.max_steps, checkpoint)
        return result_in(checkpoint, {})
    after = validate()

    final_dir = Path(training_args.output_dir) / "final"
    trainer.save_model(str(final_dir))  # weights (safetensors), config + auto_map, remote code, tokenizer
    result = result_in(final_dir, after)
    if trainer.is_world_process_zero():
        card = pretraining_model_card(
            config=config,
            dataset_description=_describe_dataset(dataset_path, data),
            dataset_name=None,
            hyperparameters=hyperparameters_of(model_args, data_args, training_args, config, collator,
                                               trainer.state.global_step),
            final_metrics=after,
            initial_metrics=before,
        )
        save_model_card(card, final_dir)
        (final_dir / "pretraining_summary.json").write_text(json.dumps(result.to_dict(), indent=2))
        finish_output_folder(final_dir, trainer)
        if not training_args.keep_checkpoints:
            removed = remove_checkpoints(training_args.output_dir)
            if removed:
                logger.info("removed the intermediate checkpoints %s (keep them with --keep_checkpoints true)", removed)
        output_folder.finish()
    return result


def _stop_at_step(training_args: PretrainingArguments, resume: str | None) -> int | None:
    """The step this session ends at (None: it runs to --max_steps); an impossible one is an error."""
    stop = training_args.stop_at_step
    if stop is None or stop >= training_args.max_steps:
        return None
    resumed = 0
    if resume and Path(resume, TRAINER_STATE_NAME).is_file():  # the step the checkpoint's own state records
        resumed = TrainerState.load_from_json(str(Path(resume, TRAINER_STATE_NAME))).global_step
    if stop <= resumed:
        raise UsageError(f"--stop_at_step {stop}: the run resumes at step {resumed}, already there")
    return stop


def _describe_dataset(path: str, data) -> str:
    card = Path(path) / "README.md"
    sizes = ", ".join(f"{split}: {len(ds) if hasattr(ds, '__len__') else 'streamed'} samples" for split, ds in data.items())
    source = f"the dataset `{Path(path).name}`" if not Path(path).name.startswith("default-mini-atlas") else (
        "the mini-atlas embedded in the `genebert` package: ENCODE DNase-seq hypersensitive sites of "
        "K562 and HepG2 (hg38, DHS index of Meuleman et al. 2020 as published by DNA-Diffusion), "
        "scanned with JASPAR 2018 CORE vertebrate motifs"
    )
    built = " Built by `dataset_scripts` with its own dataset card (`README.md` in the dataset folder)." if card.exists() else ""
    return f"Pre-trained on {source} ({sizes}).{built}"


# ----------------------------------------------------------------------------- command line
def build_parser() -> HfArgumentParser:
    parser = HfArgumentParser((ModelArguments, DataArguments, PretrainingArguments))
    parser.prog = "genebert-pretrain"
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, PretrainingArguments]:
    """The command line as the three option dataclasses; a single ``.json`` argument is read as a file of options."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".json"):
        return parser.parse_json_file(os.path.abspath(argv[0]))
    return parser.parse_args_into_dataclasses(args=argv)


def run_command(argv: list[str] | None = None) -> PretrainResult:
    """Parse, pre-train, print the summary (on the main process only)."""
    model_args, data_args, training_args = parse_args(argv)
    result = pretrain(model_args, data_args, training_args)
    if training_args.process_index == 0 and not result.after:
        print(f"stopped at step {result.global_step} of {training_args.max_steps}: {result.output_dir}; "
              "continue with --resume_from_checkpoint auto")
    elif training_args.process_index == 0:
        print(summarize(result.before, result.after, result.srm_chance))
        print(f"Hub-ready model folder: {result.output_dir}")
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()  # else gloo's threads can abort the process at exit (exit -6)
    return result


main = console_script(run_command, "genebert-pretrain")

if __name__ == "__main__":
    sys.exit(main())
