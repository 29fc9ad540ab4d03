"""``genebert-finetune``: fine-tune GeneBERT (or a DNABERT / BERT baseline) on a sequence-classification task.

Tasks (paper section 4.2): ``promoter``, ``tfbs``, ``disease`` (binary), ``splice``
(3 classes, centre nucleotide of a window; adds SpliceAI's top-k accuracy and PR-AUC) and
``generic`` (any CSV/TSV/FASTA ``sequence,label`` set). The model is

* a GeneBERT folder (``genebert-pretrain`` output or a fine-tuned one): the sequence encoder,
  the [CLS] pooler and, with ``--region_input``, the region encoder load from it;
* a DNABERT / BERT checkpoint folder (``config.json`` of ``model_type: bert`` + ``vocab.txt``
  + ``BertForMaskedLM`` weights): the paper's baseline, imported key by key;
* nothing (``--preset tiny``) or ``--from_scratch``: the same architecture, randomly initialised.

``--region_input`` scans every sequence with JASPAR motifs (the data side's torch
``conv1d`` scanner) into a ``rows x TFs`` region matrix, which
``GeneBertForSequenceClassification`` encodes and concatenates to [CLS].

Outputs in ``--output_dir``: the fine-tuned model (safetensors, config, tokenizer, remote
code), ``results.json`` (metrics per split with their definitions, seed,
hyper-parameters, data sizes, CPU time) and a model card ``README.md`` whose YAML holds
``model-index`` results. Every ``TrainingArguments`` option passes through.

Example (GUE core promoters)::

    genebert-finetune --model_name_or_path outputs/genebert-tiny/final --task promoter \\
        --train_file prom_core_all/train.csv.gz --validation_file prom_core_all/dev.csv.gz \\
        --output_dir outputs/finetune-promoter
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from transformers import EvalPrediction, HfArgumentParser, Trainer, TrainingArguments, set_seed

from dataset_scripts import MotifScanner, build_sequence_classification_dataset, load_motifs
from modeling_genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.cards.finetune_card import TASK_TITLES, finetuning_model_card, results_table
from modeling_genebert.cards.model_card import save_model_card
from modeling_genebert.configuration_genebert import POOLINGS
from modeling_genebert.evaluation.metrics import PAPER_METRICS, build_compute_metrics, describe
from modeling_genebert.finetuning.long_inputs import aggregate_windows, fit_to_window

logger = logging.getLogger("genebert.finetune")

TASKS = {
    # task: (number of classes or None = from the data, SpliceAI metrics?)
    "promoter": (2, False),
    "tfbs": (2, False),
    "disease": (2, False),
    "splice": (3, True),
    "generic": (None, False),
}
# class names for tasks the data side's builder does not name (promoter / tfbs names come from it)
DEFAULT_LABEL_NAMES = {"disease": ["no_risk", "risk"]}


@dataclass
class FinetuneModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "a GeneBERT folder (e.g. genebert-pretrain's output/final) or a DNABERT/BERT checkpoint folder "
            "(config.json + vocab.txt + BertForMaskedLM weights); omit to train --preset from scratch"
        },
    )
    preset: str = field(default="tiny", metadata={"help": 'model preset when no folder is given: "tiny" or "paper"'})
    from_scratch: bool = field(
        default=False,
        metadata={"help": "use the folder's architecture and tokenizer but random weights (the from-scratch control)"},
    )
    region_input: bool = field(
        default=False,
        metadata={"help": "compute each sequence's region matrix by motif scanning and fuse it with [CLS]"},
    )
    motifs: str | None = field(
        default=None,
        metadata={
            "help": "motifs for --region_input: a JASPAR release name (e.g. JASPAR2018) or a JASPAR/MEME/TRANSFAC "
            "file; default JASPAR 2018 CORE vertebrates (579 motifs, as pre-training)"
        },
    )
    region_rows: int = field(
        default=1,
        metadata={
            "help": "rows of the on-the-fly region matrix: the sequence is cut into this many equal tiles, each "
            "scanned separately (1 = the whole sequence is one region)"
        },
    )
    region_aggregation: str = field(
        default="max", metadata={"help": "per-TF aggregation of PWM scores: max (paper), mean, logsumexp, count"}
    )
    classifier_dropout: float | None = field(default=None, metadata={"help": "dropout before the classifier"})
    classifier_pooling: str | None = field(
        default=None,
        metadata={
            "help": "classifier features: cls (BERT's [CLS] pooler, the paper) or mean (masked mean of the last "
            "hidden states, what SRM pre-trains); default: the model's config (cls)",
            "choices": list(POOLINGS),
        },
    )


@dataclass
class FinetuneDataArguments:
    task: str = field(
        default="generic",
        metadata={"help": "promoter | tfbs | disease (binary) | splice (3 classes, SpliceAI metrics) | generic"},
    )
    train_file: str | None = field(default=None, metadata={"help": "CSV/TSV (sequence,label; .gz ok) or FASTA"})
    validation_file: str | None = field(default=None, metadata={"help": "evaluation split file (same format)"})
    test_file: str | None = field(default=None, metadata={"help": "optional test split, evaluated at the end"})
    dataset_path: str | None = field(
        default=None, metadata={"help": "a DatasetDict saved with save_to_disk (train / validation / test splits)"}
    )
    dataset_name: str | None = field(default=None, metadata={"help": "name of the data set in results and card"})
    sequence_column: str = field(default="sequence", metadata={"help": "column holding the DNA"})
    label_column: str = field(default="label", metadata={"help": "column holding the class"})
    max_length: int = field(default=512, metadata={"help": "max tokens per sequence ([CLS] and [SEP] included)"})
    long_inputs: str = field(
        default="truncate",
        metadata={
            "help": "sequences longer than max_length: 'truncate' (keep the first bases, with a warning) or "
            "'sliding_window' (train on every window with the sequence's label; evaluate by aggregating the "
            "windows' logits per sequence)"
        },
    )
    window_overlap: int | None = field(default=None, metadata={"help": "sliding-window overlap in bases (default half a window)"})
    window_aggregation: str = field(default="mean", metadata={"help": "sliding windows: per-sequence 'mean' or 'max' of logits"})
    validation_split_percentage: float = field(
        default=10.0, metadata={"help": "held out of train when no validation split is given"}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "cap (seeded random subset) on train"})
    max_eval_samples: int | None = field(default=None, metadata={"help": "cap (first rows) on validation / test"})
    splice_neither_label: int | None = field(
        default=None,
        metadata={
            "help": "splice task: the class id that is 'neither' (excluded from SpliceAI's top-k / PR-AUC); "
            "default: every class is treated as a site type"
        },
    )
    class_names: str | None = field(
        default=None,
        metadata={
            "help": "comma-separated class names for labels 0, 1, ... (e.g. for GUE splice, whose files do not say, "
            "'acceptor,donor,neither'); default: the data builder's names (promoter: non_promoter,promoter; "
            "tfbs: unbound,bound; disease: no_risk,risk), else the raw labels"
        },
    )
    results_file: str | None = field(default=None, metadata={"help": "default: OUTPUT_DIR/results.json"})


@dataclass
class FinetuneTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with fine-tuning defaults (CPU friendly, evaluation each epoch, no checkpoints)."""

    output_dir: str = field(default="outputs/genebert-finetune")
    num_train_epochs: float = field(default=3.0)
    per_device_train_batch_size: int = field(default=32)
    per_device_eval_batch_size: int = field(default=64)
    learning_rate: float = field(default=1e-4)
    warmup_steps: float = field(default=0.1)
    weight_decay: float = field(default=0.01)
    eval_strategy: str = field(default="epoch")
    save_strategy: str = field(default="no")
    logging_steps: float = field(default=50)
    remove_unused_columns: bool = field(default=False)
    seed: int = field(default=42)


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
def load_task_data(data_args: FinetuneDataArguments, seed: int):
    """A ``DatasetDict`` with ``sequence`` + ClassLabel ``label`` and train / validation (/ test) splits."""
    from datasets import ClassLabel, DatasetDict, load_from_disk

    if data_args.dataset_path:
        data = load_from_disk(data_args.dataset_path)
        if not isinstance(data, DatasetDict):
            data = DatasetDict({"train": data})
        renames = {data_args.sequence_column: "sequence", data_args.label_column: "label"}
        data = data.rename_columns({k: v for k, v in renames.items() if k != v})
        if "valid" in data and "validation" not in data:
            data["validation"] = data.pop("valid")
        if "dev" in data and "validation" not in data:
            data["validation"] = data.pop("dev")
    else:
        # the data side's builder: CSV / TSV (gz) / FASTA -> sequence + ClassLabel label, mapping recorded
        if not data_args.train_file:
            raise ValueError("give --train_file (and --validation_file) or --dataset_path")
        files = {"train": data_args.train_file}
        files.update({s: p for s, p in (("validation", data_args.validation_file), ("test", data_args.test_file)) if p})
        builder_task = data_args.task if data_args.task in ("promoter", "tfbs", "splice") else "generic"
        names = [n.strip() for n in data_args.class_names.split(",")] if data_args.class_names else None
        if names is None and data_args.task in DEFAULT_LABEL_NAMES:
            names = DEFAULT_LABEL_NAMES[data_args.task]
        data = build_sequence_classification_dataset(
            files,
            task=builder_task,
            label_names=names,
            sequence_column=data_args.sequence_column,
            label_column=data_args.label_column,
        )
    if "label" in data["train"].features and not isinstance(data["train"].features["label"], ClassLabel):
        data = data.class_encode_column("label")
    if "validation" not in data:
        split = data["train"].train_test_split(
            test_size=data_args.validation_split_percentage / 100, seed=seed, stratify_by_column="label"
        )
        data["train"], data["validation"] = split["train"], split["test"]
        logger.info("no validation split given: held out %.1f%% of train", data_args.validation_split_percentage)
    if data_args.max_train_samples is not None and len(data["train"]) > data_args.max_train_samples:
        data["train"] = data["train"].shuffle(seed=seed).select(range(data_args.max_train_samples))
    for split in ("validation", "test"):
        if split in data and data_args.max_eval_samples is not None and len(data[split]) > data_args.max_eval_samples:
            data[split] = data[split].select(range(data_args.max_eval_samples))
    return data


# --------------------------------------------------------------------------------------
# region matrices on the fly
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# model + tokenizer
# --------------------------------------------------------------------------------------
def _folder_kind(path: str) -> str:
    config_file = Path(path) / "config.json"
    if not config_file.exists():
        raise FileNotFoundError(f"{path}: no config.json (expected a GeneBERT or DNABERT/BERT folder)")
    model_type = json.loads(config_file.read_text()).get("model_type")
    if model_type == "genebert":
        return "genebert"
    if model_type == "bert":
        return "bert"
    raise ValueError(f"{path}: model_type {model_type!r} is neither 'genebert' nor 'bert'")


def genebert_config_from_bert(path: str, **overrides) -> tuple[GeneBertConfig, GeneBertTokenizer]:
    """A GeneBERT config whose sequence encoder has a DNABERT/BERT folder's shape, and the folder's vocabulary."""
    bert = json.loads((Path(path) / "config.json").read_text())
    vocab = Path(path) / "vocab.txt"
    if not vocab.exists():
        raise FileNotFoundError(f"{path}: a DNABERT/BERT folder needs its vocab.txt (the k-mer vocabulary)")
    tokenizer = GeneBertTokenizer(vocab_file=str(vocab))
    keys = (
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
        "layer_norm_eps", "initializer_range",
    )
    sequence_config = {k: bert[k] for k in keys if k in bert}
    sequence_config.update(kmer=tokenizer.kmer, vocab_size=max(int(bert.get("vocab_size", 0)), len(tokenizer)))
    config = GeneBertConfig.from_preset("tiny", sequence_config=sequence_config, **overrides)
    return config, tokenizer


def load_model_and_tokenizer(model_args: FinetuneModelArguments, num_labels: int, id2label: dict[int, str], region_shape):
    """Returns ``(model, tokenizer, init_description)``."""
    label2id = {v: k for k, v in id2label.items()}
    overrides: dict[str, Any] = dict(num_labels=num_labels, id2label=id2label, label2id=label2id)
    overrides["classifier_region_fusion"] = region_shape is not None
    if model_args.classifier_pooling is not None:
        overrides["classifier_pooling"] = model_args.classifier_pooling
    path = model_args.model_name_or_path

    def fit_region(config: GeneBertConfig, pretrained: bool) -> None:
        if region_shape is None:
            return
        rows, num_tfs = region_shape
        region = config.region_config
        if pretrained and region.num_tfs != num_tfs:
            raise ValueError(
                f"{path} was pre-trained on {region.num_tfs} TFs but --region_input scans {num_tfs} motifs; "
                "use the same motif set as pre-training (--motifs)"
            )
        region.num_tfs = num_tfs
        if rows > region.max_regions:
            raise ValueError(f"--region_rows {rows} exceeds the region encoder's max_regions {region.max_regions}")
        if not pretrained:
            region.regions_per_sample = rows

    if path is None:
        config = GeneBertConfig.from_preset(model_args.preset, **overrides)
        fit_region(config, pretrained=False)
        _set_dropout(config, model_args.classifier_dropout)
        tokenizer = GeneBertTokenizer(k=config.sequence_config.kmer)
        return GeneBertForSequenceClassification(config), tokenizer, f"random (from scratch, preset {model_args.preset})"

    kind = _folder_kind(path)
    if kind == "bert":
        config, tokenizer = genebert_config_from_bert(path, **overrides)
        fit_region(config, pretrained=False)
        _set_dropout(config, model_args.classifier_dropout)
        model = GeneBertForSequenceClassification(config)
        if model_args.from_scratch:
            return model, tokenizer, "random (from scratch, DNABERT/BERT architecture)"
        report = model.load_sequence_encoder_weights(path)
        logger.info("sequence encoder from %s: missing %s, unexpected %s", path, report["missing_keys"], report["unexpected_keys"])
        return model, tokenizer, "DNABERT/BERT checkpoint"

    try:
        tokenizer = GeneBertTokenizer.from_pretrained(path)
    except (OSError, ValueError, TypeError):
        tokenizer = None
    config = GeneBertConfig.from_pretrained(path)
    for key, value in overrides.items():
        setattr(config, key, value)
    config.architectures = None
    fit_region(config, pretrained=not model_args.from_scratch)
    _set_dropout(config, model_args.classifier_dropout)
    if tokenizer is None:
        tokenizer = GeneBertTokenizer(k=config.sequence_config.kmer)
    if model_args.from_scratch:
        return GeneBertForSequenceClassification(config), tokenizer, "random (from scratch, GeneBERT architecture)"
    model, loading = GeneBertForSequenceClassification.from_pretrained(path, config=config, output_loading_info=True)
    encoder_missing = [k for k in loading["missing_keys"] if k.startswith("genebert.bert.")]
    if encoder_missing:
        logger.warning("sequence-encoder weights missing from %s: %s", path, encoder_missing)
    logger.info("loaded %s: new (randomly initialised) %s", path, loading["missing_keys"])
    return model, tokenizer, "pre-trained GeneBERT"


def _set_dropout(config: GeneBertConfig, dropout: float | None) -> None:
    if dropout is not None:
        config.sequence_config.classifier_dropout = dropout


# --------------------------------------------------------------------------------------
# collator
# --------------------------------------------------------------------------------------
class ClassificationCollator:
    """Pads token features with the tokenizer; stacks ``region_matrix`` (float32) when present."""

    def __init__(self, tokenizer, pad_to_multiple_of: int | None = 8):
        self.tokenizer = tokenizer
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        regions = [f["region_matrix"] for f in features] if "region_matrix" in features[0] else None
        labels = [f["labels"] for f in features] if "labels" in features[0] else None
        tokens = [{k: f[k] for k in ("input_ids", "token_type_ids", "attention_mask") if k in f} for f in features]
        batch = dict(
            self.tokenizer.pad(tokens, padding=True, pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt")
        )
        if labels is not None:
            batch["labels"] = torch.tensor(labels, dtype=torch.long)
        if regions is not None:
            batch["region_matrix"] = torch.as_tensor(np.asarray(regions, dtype=np.float32))
        return batch


def prepare_features(
    data,
    tokenizer,
    max_length: int,
    region_builder: RegionMatrixBuilder | None = None,
    long_inputs: str = "truncate",
    window_overlap: int | None = None,
    window_aggregation: str = "mean",
):
    """Tokenize (and scan) every split; keeps ``input_ids``/``token_type_ids``/``attention_mask``/``labels``.

    Returns ``(features, owners)``: with ``long_inputs="sliding_window"`` each split holds one row per
    window and ``owners[split][i]`` is the sequence window ``i`` came from; otherwise ``owners`` is
    empty and over-long sequences are truncated with a warning.
    """
    from datasets import Dataset, DatasetDict, Features

    owners: dict[str, np.ndarray] = {}
    windowed = {}
    for split, ds in data.items():
        windows, owned_by = fit_to_window(
            ds["sequence"], tokenizer, max_length, long_inputs, window_overlap, window_aggregation, f"{split} split"
        )
        if owned_by is None:
            continue
        owners[split] = owned_by
        schema = Features({"sequence": ds.features["sequence"], "label": ds.features["label"]})
        labels = np.asarray(ds["label"])[owned_by]
        windowed[split] = Dataset.from_dict({"sequence": windows, "label": labels}, features=schema)
    if windowed:
        data = DatasetDict(windowed)

    def encode(batch):
        out = tokenizer(batch["sequence"], truncation=True, max_length=max_length)
        out = {k: out[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
        out["labels"] = batch["label"]
        if region_builder is not None:
            out["region_matrix"] = region_builder(batch["sequence"])
        return out

    columns = data["train"].column_names
    return data.map(encode, batched=True, batch_size=512, remove_columns=columns, desc="tokenizing"), owners


class SequenceLevelMetrics:
    """``compute_metrics`` over sequences, not windows: aggregates window logits per sequence first.

    Set ``split`` to the split about to be evaluated (its window -> sequence map is in ``owners``).
    """

    def __init__(self, compute_metrics, owners: dict[str, np.ndarray], aggregation: str, split: str = "validation"):
        self.compute_metrics, self.owners, self.aggregation, self.split = compute_metrics, owners, aggregation, split

    def __call__(self, eval_prediction: EvalPrediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, (tuple, list)) else logits
        owners = self.owners[self.split]
        labels = aggregate_windows(eval_prediction.label_ids, owners, "max")  # windows share their label
        logits = aggregate_windows(logits, owners, self.aggregation)
        return self.compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
def _round(metrics: dict[str, float]) -> dict[str, float]:
    return {k: (round(float(v), 6) if isinstance(v, (float, int, np.floating)) else v) for k, v in metrics.items()}


def format_results(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table for the terminal (same content as the card's table)."""
    return results_table(results).replace("|---", "|   ")


def parse_args(argv: list[str] | None):
    parser = HfArgumentParser((FinetuneModelArguments, FinetuneDataArguments, FinetuneTrainingArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".json"):
        return parser.parse_json_file(os.path.abspath(argv[0]))
    return parser.parse_args_into_dataclasses(args=argv)


def main(argv: list[str] | None = None) -> int:
    """Console entry point (``genebert-finetune``): runs :func:`run`, exit status 0.

    It must not return the results dict: the console-script wrapper passes the return value to
    ``sys.exit``, which would print it and exit with status 1.
    """
    run(argv)
    return 0


def run(argv: list[str] | None = None) -> dict:
    """Run a fine-tuning; returns the results dict that is also written to ``results.json``."""
    model_args, data_args, training_args = parse_args(argv)
    if not torch.cuda.is_available():
        training_args.dataloader_pin_memory = False  # nothing to pin for on a CPU-only machine
    if data_args.task not in TASKS:
        raise ValueError(f"unknown task {data_args.task!r}; choose one of {sorted(TASKS)}")
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    set_seed(training_args.seed)
    cpu_start, wall_start = time.process_time(), time.perf_counter()

    data = load_task_data(data_args, training_args.seed)
    label_names = list(data["train"].features["label"].names)
    expected, splice = TASKS[data_args.task]
    num_labels = len(label_names)
    if expected is not None and num_labels != expected:
        raise ValueError(
            f"task {data_args.task!r} has {expected} classes but the data hold {num_labels} ({label_names}); "
            "use --task generic for other label sets"
        )
    if splice and data_args.splice_neither_label is not None and not 0 <= data_args.splice_neither_label < num_labels:
        raise ValueError(f"--splice_neither_label {data_args.splice_neither_label} is not a class id")
    id2label = dict(enumerate(label_names))

    region_builder = None
    if model_args.region_input:
        region_builder = RegionMatrixBuilder(model_args.motifs, model_args.region_rows, model_args.region_aggregation)
    region_shape = (region_builder.rows, region_builder.num_tfs) if region_builder else None
    model, tokenizer, init = load_model_and_tokenizer(model_args, num_labels, id2label, region_shape)
    max_length = min(data_args.max_length, model.config.sequence_config.max_position_embeddings)
    features, owners = prepare_features(
        data, tokenizer, max_length, region_builder,
        data_args.long_inputs, data_args.window_overlap, data_args.window_aggregation,
    )
    compute_metrics = build_compute_metrics(splice=splice, neither_label=data_args.splice_neither_label, id2label=id2label)
    if owners:
        compute_metrics = SequenceLevelMetrics(compute_metrics, owners, data_args.window_aggregation)

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=features["train"],
        eval_dataset=features["validation"],
        data_collator=ClassificationCollator(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
    )
    train_cpu, train_wall = time.process_time(), time.perf_counter()
    train_result = trainer.train()
    train_cpu, train_wall = time.process_time() - train_cpu, time.perf_counter() - train_wall

    results: dict[str, dict[str, float]] = {}
    for split in ("validation", "test"):
        if split in features:
            if owners:
                compute_metrics.split = split
            metrics = trainer.evaluate(features[split], metric_key_prefix=split)
            results[split] = _round({k.removeprefix(f"{split}_"): v for k, v in metrics.items()
                                     if not k.endswith(("_runtime", "_per_second", "epoch"))})
    metric_names = sorted({m for r in results.values() for m in r})

    output_dir = Path(training_args.output_dir)
    trainer.save_model(str(output_dir))  # weights, config (+ auto_map), remote code, tokenizer
    dataset_name = data_args.dataset_name or Path(
        data_args.dataset_path or data_args.train_file or "dataset"
    ).name.split(".")[0]
    data_sizes = {split: len(ds) for split, ds in data.items()}
    hyperparameters = {
        "task": data_args.task,
        "num_train_epochs": training_args.num_train_epochs,
        "max_steps": training_args.max_steps,
        "global_steps": trainer.state.global_step,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
        "learning_rate": training_args.learning_rate,
        "lr_scheduler_type": getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type),
        "warmup_steps": training_args.warmup_steps,
        "weight_decay": training_args.weight_decay,
        "max_length": max_length,
        "long_inputs": data_args.long_inputs,
        **({"window_overlap": data_args.window_overlap, "window_aggregation": data_args.window_aggregation,
            "windows": {split: len(ds) for split, ds in features.items()}} if owners else {}),
        "classifier_dropout": model_args.classifier_dropout,
        "classifier_pooling": model.config.classifier_pooling,
        "seed": training_args.seed,
    }
    compute = {
        "train wall seconds": round(train_wall, 1),
        "train CPU minutes": round(train_cpu / 60, 2),
        "device": str(training_args.device),
        "torch threads": torch.get_num_threads(),
    }
    summary = {
        "task": data_args.task,
        "task_title": TASK_TITLES[data_args.task],
        "model_name_or_path": model_args.model_name_or_path or f"preset:{model_args.preset}",
        "init": init,
        "from_scratch": model_args.from_scratch or model_args.model_name_or_path is None,
        "region_input": region_builder.info() if region_builder else False,
        "dataset": dataset_name,
        "labels": id2label,
        "splice_neither_label": data_args.splice_neither_label if splice else None,
        "data_sizes": data_sizes,
        "seed": training_args.seed,
        "hyperparameters": hyperparameters,
        "results": results,
        "metric_definitions": describe(metric_names),
        "paper_metrics": list(PAPER_METRICS),
        "train_loss": train_result.metrics.get("train_loss"),
        "compute": {**compute, "total CPU minutes": round((time.process_time() - cpu_start) / 60, 2),
                    "total wall seconds": round(time.perf_counter() - wall_start, 1)},
        "output_dir": str(output_dir),
    }
    if trainer.is_world_process_zero():
        card = finetuning_model_card(
            task=data_args.task,
            base_model=summary["model_name_or_path"],
            init=init,
            results=results,
            dataset_name=dataset_name,
            data_sizes=data_sizes,
            label_names=label_names,
            region_input=summary["region_input"] or None,
            hyperparameters=hyperparameters,
            seed=training_args.seed,
            compute=compute,
        )
        save_model_card(card, output_dir)
        results_file = Path(data_args.results_file or output_dir / "results.json")
        results_file.parent.mkdir(parents=True, exist_ok=True)
        results_file.write_text(json.dumps(summary, indent=2, default=str))
        print(f"\nGeneBERT fine-tuning: {TASK_TITLES[data_args.task]} on {dataset_name} "
              f"(init: {init}; region input: {'yes' if region_builder else 'no'}; seed {training_args.seed})")
        print(format_results(results))
        print(f"train: {trainer.state.global_step} steps, {train_wall:.0f} s wall, {train_cpu / 60:.1f} CPU-min")
        print(f"results: {results_file}\nmodel + card: {output_dir}")
    return summary


__all__ = [
    "ClassificationCollator",
    "FinetuneDataArguments",
    "FinetuneModelArguments",
    "FinetuneTrainingArguments",
    "RegionMatrixBuilder",
    "SequenceLevelMetrics",
    "TASKS",
    "genebert_config_from_bert",
    "load_model_and_tokenizer",
    "load_task_data",
    "main",
    "prepare_features",
    "run",
]

if __name__ == "__main__":
    sys.exit(main())
