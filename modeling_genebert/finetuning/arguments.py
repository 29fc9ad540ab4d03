"""The options of ``genebert-finetune``: model, data and ``TrainingArguments`` with fine-tuning defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from dataset_scripts.cli import TRAINING_BOUNDS, check_bounds
from dataset_scripts.tasks import list_tasks
from modeling_genebert.configuration_genebert import POOLINGS
from modeling_genebert.precision import PRECISION_HELP, apply_training_precision


@dataclass
class FinetuneModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "a GeneBERT folder (e.g. genebert-pretrain's output/final) or a DNABERT/BERT checkpoint folder "
            "(config.json + vocab.txt + BertForMaskedLM weights); omit to train --preset from scratch"
        },
    )
    preset: str = field(default="tiny", metadata={"help": 'model preset when no folder is given: "tiny", "small" or "paper"'})
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
    region_wide: bool = field(
        default=False,
        metadata={
            "help": "also add a linear read-out of the standardised region matrix (each motif's best score) to the "
            "logits, trained with the network (wide and deep); needs --region_input"
        },
    )
    region_strands: str = field(
        default="both",
        metadata={
            "help": "both: one row per tile, the best site on either strand (as pre-training); separate: two rows "
            "per tile, forward strand then reverse",
            "choices": ["both", "separate"],
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
    peft: str | None = field(
        default=None,
        metadata={"help": "parameter-efficient fine-tuning through the peft library: 'lora' (default: full fine-tuning)"},
    )
    lora_rank: int = field(default=8, metadata={"help": "--peft lora: rank r of the low-rank update"})
    lora_alpha: float = field(default=16.0, metadata={"help": "--peft lora: scale alpha (update scaled by alpha / r)"})
    lora_dropout: float = field(default=0.1, metadata={"help": "--peft lora: dropout on the LoRA input"})
    lora_target_modules: str = field(
        default="query,value",
        metadata={"help": "--peft lora: comma-separated linear layers of the sequence encoder to adapt; query,value "
                  "(LoRA paper's choice for attention) or query,key,value,dense (every linear layer of a BERT block)"},
    )
    merge_lora: bool = field(
        default=False,
        metadata={"help": "--peft lora: save a merged GeneBERT folder instead of an adapter folder"},
    )
    tapt_steps: int = field(
        default=0,
        metadata={"help": "task-adaptive pre-training: continue masked genome modelling for this many optimizer steps "
                  "on the training split's sequences (no labels; never validation / test) before fine-tuning; the "
                  "adapted model goes to OUTPUT_DIR/task_adaptive_pretraining. Needs a GeneBERT pre-training folder "
                  "as --model_name_or_path (0 = off)"},
    )
    tapt_learning_rate: float = field(default=5e-4, metadata={"help": "--tapt_steps: peak learning rate"})
    tapt_batch_size: int = field(default=32, metadata={"help": "--tapt_steps: sequences per step"})


@dataclass
class FinetuneDataArguments:
    task: str = field(
        default="generic",
        metadata={"help": "a registered task (see --list_tasks): " + " | ".join(list_tasks())},
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
    rc_augment: bool = field(
        default=False,
        metadata={"help": "reverse-complement augmentation: every training example is read on a random strand (a "
                  "coin flip seeded by --seed) each time it is drawn; validation / test are not augmented"},
    )
    rc_average: bool = field(
        default=False,
        metadata={"help": "reverse-complement test-time averaging: also score validation / test on the other strand "
                  "and average the two strands' logits (window by window with sliding windows) before the metrics; "
                  "reported separately (results_rc_average); genebert-predict --rc_average applies the same rule"},
    )
    results_file: str | None = field(default=None, metadata={"help": "default: OUTPUT_DIR/results.json"})


@dataclass
class FinetuneTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with fine-tuning defaults (CPU friendly, evaluation each epoch, no checkpoints)."""

    output_dir: str = field(
        default="outputs/genebert-finetune",
        metadata={"help": "where the fine-tuned model, results.json and the model card go"},
    )
    num_train_epochs: float = field(default=3.0, metadata={"help": "passes over the training set (ignored with --max_steps)"})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "training sequences per step and device"})
    per_device_eval_batch_size: int = field(default=64, metadata={"help": "evaluation sequences per step and device"})
    learning_rate: float = field(default=1e-4, metadata={"help": "peak learning rate (linear decay after warm-up)"})
    warmup_steps: float = field(
        default=0.1, metadata={"help": "warm-up: a number of steps, or below 1 a fraction of all steps (0.1 = 10%%)"}
    )
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    eval_strategy: str = field(default="epoch", metadata={"help": "evaluate the validation split every 'epoch', 'steps' or 'no'"})
    save_strategy: str = field(default="no", metadata={"help": "intermediate checkpoints: 'no' (default), 'epoch' or 'steps'"})
    logging_steps: float = field(default=50, metadata={"help": "log the training loss every N steps"})
    remove_unused_columns: bool = field(default=False, metadata={"help": "leave False: the collator needs every feature"})
    seed: int = field(default=42, metadata={"help": "seed of initialisation, shuffling and dropout"})
    keep_checkpoints: bool = field(
        default=False,
        metadata={"help": "keep intermediate checkpoint-N folders (with --save_strategy) after the final model is written"},
    )
    precision: str = field(default="auto", metadata={"help": PRECISION_HELP})

    def __post_init__(self):
        check_bounds(self, TRAINING_BOUNDS)  # before any data is read or any folder made
        apply_training_precision(self)
        super().__post_init__()
    overwrite: bool = field(
        default=False,
        metadata={"help": "write into a non-empty --output_dir (e.g. replace a finished model); without it such a "
                  "folder is refused, unless it is what an interrupted genebert-finetune run left"},
    )

