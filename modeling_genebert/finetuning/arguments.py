"""The options of ``genebert-finetune``: model, data and ``TrainingArguments`` with fine-tuning defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from dataset_scripts.tasks import list_tasks
from modeling_genebert.configuration_genebert import POOLINGS


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
        metadata={"help": "a registered task (see --list_tasks): " + " | ".join(list_tasks())},
    )
    list_tasks: bool = field(default=False, metadata={"help": "print the registered task names, one per line, and exit"})
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

