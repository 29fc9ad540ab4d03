"""The paper's analyses (section 5) as commands that run at small scale on a CPU.

``python -m modeling_genebert.evaluation.analysis <command> [options]``; every command
takes step / sample / seed budgets, writes ``results.json`` and ``table.md`` to its
``--output_dir`` and prints the table. Each pre-training is a call of
:func:`~modeling_genebert.pretraining.pretrain.pretrain`, each fine-tuning one of
:func:`~modeling_genebert.finetuning.finetune.finetune`. From Python: :func:`run_analysis` with
:class:`Fig2Options`, :class:`Table5Options`, :class:`Table7Options` or :class:`Table8Options`.

* ``fig2`` -- paper Fig. 2: t-SNE (scikit-learn) of [CLS] embeddings of pre-training
  samples coloured by cell type, uni-modal (MGM+NGSP) next to multi-modal
  (MGM+NGSP+SRM), saved as PNG, with silhouette scores by cell type (in the embedding
  space, cosine, and in the 2-D t-SNE map). Give two folders (``--unimodal``,
  ``--multimodal``) or let it pre-train both with ``--pretrain_steps``.
* ``table5`` -- loss ablation: no loss / MGM / MGM+NGSP / MGM+NGSP+SRM. "No loss" means
  no pre-training objective, i.e. the randomly initialised model is fine-tuned directly.
  Every variant is pre-trained (same steps, data, seed) and fine-tuned on a promoter set
  (``--train_file`` / ``--validation_file``, e.g. GUE prom_core_all); the table gives
  mean +- standard deviation over ``--seeds``.
* ``table7`` -- region-encoder choices (``--region_encoders native swin_tiny_patch4_window7_224
  vit_tiny_patch16_224@native ...``: ``native``, a timm model name resized to its default
  input (paper), or ``NAME@native`` for the matrix at its own size, padded to tile).
* ``table8`` -- SRM batch size (``--batch_sizes``) and lambda (``--lambdas``) sweeps.

Budgets are the user's: ``--pretrain_steps``, ``--pretrain_batch_size``,
``--finetune_steps``, ``--finetune_train_samples``, ``--finetune_eval_samples``,
``--seeds``. The pre-training data default to the embedded mini-atlas (K562 / HepG2 DHS).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from transformers import HfArgumentParser

from dataset_scripts import build_default_pretraining_dataset, load_pretraining_dataset
from dataset_scripts.cli import HelpFormatter, console_script, options_given
from modeling_genebert.model_folders import check_model_folder
from dataset_scripts.output_folders import OutputFolder
from dataset_scripts.readers import cache_dir
from dataset_scripts.tasks import get_task, list_tasks
from modeling_genebert import GeneBertConfig, GeneBertTokenizer
from modeling_genebert.downstream.metrics import METRIC_DESCRIPTIONS
from modeling_genebert.evaluation.embed import embed_sequences, load_encoder, read_records
from modeling_genebert.finetuning.finetune import FinetuneResult, finetune
from modeling_genebert.finetuning.finetune import build_parser as build_finetune_parser
from modeling_genebert.pretraining.pretrain import PretrainResult, pretrain
from modeling_genebert.pretraining.pretrain import build_parser as build_pretrain_parser
from modeling_genebert.region_encoders import list_region_encoders

logger = logging.getLogger("genebert.analysis")

TABLE5_VARIANTS = {
    "no loss": None,  # no pre-training objective: fine-tune the random initialisation
    "MGM": dict(mgm_weight=1.0, ngsp_weight=0.0, srm_weight=0.0),
    "MGM+NGSP": dict(mgm_weight=1.0, ngsp_weight=1.0, srm_weight=0.0),
    "MGM+NGSP+SRM": dict(mgm_weight=1.0, ngsp_weight=1.0, srm_weight=0.5),
}
TABLE_METRICS = ("precision", "recall", "roc_auc", "f1", "mcc")


# --------------------------------------------------------------------------------------
# options and results
# --------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class AnalysisOptions:
    """What every analysis takes: where it writes, the pre-training data, preset, seeds and pre-training budget."""

    output_dir: str = field(metadata={"help": "where runs, results.json and table.md go"})
    overwrite: bool = field(default=False, metadata={
        "help": "write into a non-empty --output_dir (without it such a folder is refused, unless an interrupted run "
                "of the same command left it)"})
    dataset: str | None = field(default=None, metadata={"help": "pre-training dataset folder (default: embedded mini-atlas)"})
    preset: str = field(default="tiny", metadata={"help": "model preset of every variant (default tiny)"})
    seeds: list[int] = field(default_factory=lambda: [0], metadata={"help": "seeds (paper: 5)"})
    pretrain_steps: int = field(default=100, metadata={"help": "pre-training steps per run"})
    pretrain_batch_size: int = field(default=16, metadata={"help": "pre-training batch size"})
    pretrain_args: str = field(default="", metadata={
        "help": "extra genebert-pretrain options, one quoted string (they win over the analysis's own)"})


@dataclass(kw_only=True)
class FinetuningAnalysisOptions(AnalysisOptions):
    """An analysis that fine-tunes every variant on a promoter set (Tables 5, 7, 8)."""

    task: str = field(default="promoter", metadata={"choices": list_tasks(), "help": "fine-tuning task (a registered task)"})
    train_file: str = field(metadata={"help": "fine-tuning train file, e.g. GUE prom_core_all/train.csv.gz"})
    validation_file: str | None = field(default=None, metadata={"help": "fine-tuning evaluation file, e.g. .../dev.csv.gz"})
    finetune_steps: int = field(default=200, metadata={"help": "fine-tuning steps per run"})
    finetune_batch_size: int = field(default=32, metadata={"help": "fine-tuning batch size"})
    finetune_lr: float = field(default=5e-4, metadata={"help": "fine-tuning peak learning rate"})
    finetune_train_samples: int | None = field(default=None, metadata={"help": "cap on fine-tuning train rows"})
    finetune_eval_samples: int | None = field(default=None, metadata={"help": "cap on evaluation rows"})
    finetune_args: str = field(default="", metadata={
        "help": "extra genebert-finetune options, one quoted string (they win over the analysis's own)"})


@dataclass(kw_only=True)
class Fig2Options(AnalysisOptions):
    """Fig. 2: t-SNE + silhouette by cell type, uni-modal vs multi-modal."""

    unimodal: str | None = field(default=None, metadata={"help": "a uni-modal (MGM+NGSP) folder; default: pre-train one"})
    multimodal: str | None = field(default=None, metadata={
        "help": "a multi-modal (MGM+NGSP+SRM) folder; default: pre-train one"})
    split: str = field(default="validation", metadata={"help": "which split's samples to embed"})
    max_samples: int = field(default=600, metadata={"help": "samples to embed"})
    pooling: str = field(default="cls", metadata={
        "choices": ("cls", "mean", "projected"),
        "help": "which vector embeds a sample: [CLS] state, masked mean, or the SRM projection"})


@dataclass(kw_only=True)
class Table5Options(FinetuningAnalysisOptions):
    """Table 5: loss ablation, no loss / MGM / MGM+NGSP / MGM+NGSP+SRM."""

    variants: list[str] | None = field(default=None, metadata={"choices": list(TABLE5_VARIANTS), "help": "subset of variants"})


@dataclass(kw_only=True)
class Table7Options(FinetuningAnalysisOptions):
    """Table 7: region encoders, native vs timm backbones."""

    region_encoders: list[str] = field(default_factory=lambda: ["native", "vit_tiny_patch16_224@native"], metadata={
        "help": "native | TIMM_NAME (resized, paper) | TIMM_NAME@native (matrix at its own size)"})


@dataclass(kw_only=True)
class Table8Options(FinetuningAnalysisOptions):
    """Table 8: pre-training batch size and SRM lambda sweeps."""

    batch_sizes: list[int] = field(default_factory=lambda: [8, 32], metadata={"nargs": "*", "help": "pre-training batch sizes"})
    lambdas: list[float] = field(default_factory=lambda: [0.1, 0.5, 1.0], metadata={"nargs": "*", "help": "SRM weights"})


@dataclass
class TableResult:
    """A table analysis (Tables 5, 7, 8); :meth:`to_dict` is ``OUTPUT_DIR/results.json``."""

    title: str
    dataset: Path  # the pre-training dataset
    finetune_task: str
    train_file: str
    validation_file: str | None
    seeds: list[int]
    budgets: dict[str, Any]  # pre-training and fine-tuning steps, batch sizes, learning rate, row caps
    rows: dict[str, dict[str, dict[str, float]]]  # variant -> metric -> mean, std (over seeds), n
    runs: list[dict[str, Any]]  # one per (variant, seed): pre-training losses, fine-tuning metrics and folder
    metric_definitions: dict[str, str]
    cpu_minutes: float
    table: str  # the markdown table of table.md (not in the JSON)
    results_file: Path  # OUTPUT_DIR/results.json (not in the JSON)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "dataset": str(self.dataset), "finetune_task": self.finetune_task,
                "train_file": self.train_file, "validation_file": self.validation_file, "seeds": self.seeds,
                "budgets": self.budgets, "rows": self.rows, "runs": self.runs,
                "metric_definitions": self.metric_definitions, "cpu_minutes": self.cpu_minutes}


@dataclass
class Fig2Result:
    """Fig. 2; :meth:`to_dict` is ``OUTPUT_DIR/results.json``."""

    figure: Path  # the t-SNE PNG
    dataset: Path
    split: str
    samples: int
    cell_types: list[str]
    pooling: str
    models: dict[str, str]  # panel title -> model folder
    silhouette: dict[str, dict[str, float]]  # panel title -> silhouette in the embedding space and in the t-SNE map
    pretraining: dict[str, dict[str, Any]]  # panel title -> losses before / after and steps (models pre-trained here)
    silhouette_definition: str
    results_file: Path  # OUTPUT_DIR/results.json (not in the JSON)

    def to_dict(self) -> dict[str, Any]:
        return {"figure": str(self.figure), "dataset": str(self.dataset), "split": self.split, "samples": self.samples,
                "cell_types": self.cell_types, "pooling": self.pooling, "models": self.models,
                "silhouette": self.silhouette, "pretraining": self.pretraining,
                "silhouette_definition": self.silhouette_definition}


AnalysisResult = TableResult | Fig2Result


# --------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------
def default_dataset() -> str:
    """The embedded mini-atlas, built once into the cache (as ``genebert-pretrain`` does)."""
    path = cache_dir() / "default-mini-atlas"
    if not path.exists():
        build_default_pretraining_dataset(str(path))
    return str(path)


def dataset_shape(path: str) -> tuple[int, int]:
    """``(regions_per_sample, num_tfs)`` of a pre-training dataset."""
    feature = load_pretraining_dataset(path, split="train").features["region_matrix"]
    return int(feature.shape[0]), int(feature.shape[1])


def region_encoder_overrides(spec: str) -> dict[str, Any]:
    """Region-config fields for a spec: a registered encoder's name (e.g. ``native``, with no options) |
    ``TIMM_NAME`` (the timm encoder, resized to the model's default input, the paper's mode) |
    ``TIMM_NAME@native`` (the matrix at its own size, padded to tile)."""
    if spec in list_region_encoders():
        return dict(encoder=spec, encoder_kwargs={})
    name, _, mode = spec.partition("@")
    return dict(encoder="timm", encoder_kwargs=dict(model_name=name, input_mode=mode or "resize"))


def write_config(path: Path, preset: str, dataset: str, region: dict[str, Any] | None = None, **overrides) -> Path:
    """A GeneBertConfig JSON for ``genebert-pretrain --config_file`` (region shape = the dataset's)."""
    regions, num_tfs = dataset_shape(dataset)
    config = GeneBertConfig.from_preset(
        preset, region_config=dict(num_tfs=num_tfs, regions_per_sample=regions, **(region or {})), **overrides
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    config.to_json_file(str(path))
    return path


def pretrain_one(output_dir: Path, dataset: str, seed: int, steps: int, batch_size: int, config_file: Path | None = None,
                 weights: dict[str, float] | None = None, preset: str = "tiny", extra: str = "") -> PretrainResult:
    """One pre-training of an analysis (``extra``: the user's ``--pretrain_args``, laid over these choices)."""
    values = {
        "dataset_path": dataset, "output_dir": str(output_dir), "seed": seed,
        "max_steps": steps, "per_device_train_batch_size": batch_size,
        "per_device_eval_batch_size": max(batch_size, 16), "warmup_steps": max(1, steps // 10),
        "logging_steps": max(1, steps // 4), "save_strategy": "no", "max_eval_samples": 64,
        "disable_tqdm": True, "overwrite": True,  # a sub-folder of the analysis's own (checked) folder
        **({"config_file": str(config_file)} if config_file else {"preset": preset}),
        **(weights or {}),
    }
    values.update(options_given(build_pretrain_parser(), shlex.split(extra), "--pretrain_args"))
    return pretrain(*build_pretrain_parser().parse_dict(values))


def finetune_one(model: str | None, output_dir: Path, options: FinetuningAnalysisOptions, seed: int,
                 from_scratch: bool = False, preset: str = "tiny") -> FinetuneResult:
    """One fine-tuning of an analysis on its promoter set (the user's ``--finetune_args`` laid over these choices)."""
    values = {
        "task": options.task, "train_file": options.train_file, "validation_file": options.validation_file,
        "output_dir": str(output_dir), "seed": seed, "max_steps": options.finetune_steps,
        "per_device_train_batch_size": options.finetune_batch_size, "learning_rate": options.finetune_lr,
        "eval_strategy": "no", "save_strategy": "no", "logging_steps": max(1, options.finetune_steps // 4),
        "disable_tqdm": True, "per_device_eval_batch_size": 256,
        "overwrite": True,  # a sub-folder of the analysis's own folder
        "max_train_samples": options.finetune_train_samples, "max_eval_samples": options.finetune_eval_samples,
        "model_name_or_path": model, "preset": preset, "from_scratch": from_scratch,
    }
    values.update(options_given(build_finetune_parser(), shlex.split(options.finetune_args), "--finetune_args"))
    return finetune(*build_finetune_parser().parse_dict(values))


def aggregate(runs: list[dict[str, float]], metrics=TABLE_METRICS) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (ddof=1; 0 for one seed) of each metric over seeds."""
    out = {}
    for name in metrics:
        values = np.array([r[name] for r in runs if name in r], dtype=float)
        if len(values):
            out[name] = {
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                "n": int(len(values)),
            }
    return out


def markdown_table(rows: dict[str, dict[str, dict[str, float]]], first_column: str, metrics=TABLE_METRICS) -> str:
    header = f"| {first_column} | " + " | ".join(metrics) + " |"
    lines = [header, "|---|" + "---|" * len(metrics)]
    for name, stats in rows.items():
        cells = [f"{stats[m]['mean']:.3f} ± {stats[m]['std']:.3f}" if m in stats else "n/a" for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    n = max((s[m]["n"] for s in rows.values() for m in s), default=0)
    lines.append("")
    lines.append(f"mean ± standard deviation over {n} seed(s); " + "; ".join(
        f"{m} = {METRIC_DESCRIPTIONS[m].split(' (')[0]}" for m in metrics))
    return "\n".join(lines)


def run_variants(variants: dict[str, dict[str, Any] | None], options: FinetuningAnalysisOptions, title: str,
                 first_column: str) -> TableResult:
    """Pre-train + fine-tune every variant for every seed; write results.json and table.md.

    A variant is ``None`` (no pre-training: fine-tune the random initialisation) or a dict with
    optional ``weights`` (loss-weight overrides), ``region`` (region_config overrides) and
    ``batch_size`` (pre-training batch size).
    """
    out_dir = Path(options.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = options.dataset or default_dataset()
    per_variant: dict[str, list[dict]] = {}
    records = []
    start = time.process_time()
    for name, variant in variants.items():
        slug = "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()
        for seed in options.seeds:
            run_dir = out_dir / slug / f"seed{seed}"
            pre = None
            if variant is None:
                # no pre-training objective: a folder holding only the config + tokenizer, fine-tuned --from_scratch
                config = GeneBertConfig.from_json_file(str(write_config(run_dir / "config.json", options.preset, dataset)))
                folder = run_dir / "init"
                config.save_pretrained(folder)
                GeneBertTokenizer(k=config.sequence_config.kmer).save_pretrained(folder)
                model, scratch = str(folder), True
            else:
                config_file = write_config(run_dir / "config.json", options.preset, dataset, region=variant.get("region"))
                pre = pretrain_one(
                    run_dir / "pretrain", dataset, seed, options.pretrain_steps,
                    variant.get("batch_size", options.pretrain_batch_size), config_file=config_file,
                    weights=variant.get("weights"), extra=options.pretrain_args,
                )
                model, scratch = str(pre.output_dir), False
            fine = finetune_one(model, run_dir / "finetune", options, seed, from_scratch=scratch)
            metrics = fine.results["validation"]
            per_variant.setdefault(name, []).append(metrics)
            records.append({
                "variant": name, "seed": seed, "pretraining": None if pre is None else {
                    "steps": pre.global_step, "before": pre.before, "after": pre.after},
                "finetune": metrics, "finetune_dir": str(fine.output_dir),
            })
    rows = {name: aggregate(runs) for name, runs in per_variant.items()}
    result = TableResult(
        title=title, dataset=Path(dataset), finetune_task=options.task, train_file=options.train_file,
        validation_file=options.validation_file, seeds=options.seeds,
        budgets={k: getattr(options, k) for k in (
            "pretrain_steps", "pretrain_batch_size", "finetune_steps", "finetune_batch_size", "finetune_lr",
            "finetune_train_samples", "finetune_eval_samples")},
        rows=rows, runs=records, metric_definitions={m: METRIC_DESCRIPTIONS[m] for m in TABLE_METRICS},
        cpu_minutes=round((time.process_time() - start) / 60, 2),
        table=markdown_table(rows, first_column), results_file=out_dir / "results.json",
    )
    result.results_file.write_text(json.dumps(result.to_dict(), indent=2, default=str))
    (out_dir / "table.md").write_text(f"# {title}\n\n{result.table}\n")
    return result


# --------------------------------------------------------------------------------------
# the analyses
# --------------------------------------------------------------------------------------
def table5(options: Table5Options) -> TableResult:
    variants = {k: (None if v is None else {"weights": v}) for k, v in TABLE5_VARIANTS.items()}
    if options.variants:
        variants = {k: v for k, v in variants.items() if k in options.variants}
    return run_variants(variants, options, "Table 5 (small scale): effect of each pre-training loss", "losses")


def table7(options: Table7Options) -> TableResult:
    variants = {spec: {"region": region_encoder_overrides(spec)} for spec in options.region_encoders}
    return run_variants(variants, options, "Table 7 (small scale): region encoder", "region encoder")


def table8(options: Table8Options) -> TableResult:
    variants: dict[str, dict] = {}
    for b in options.batch_sizes:
        variants[f"batch {b}"] = {"batch_size": b}
    for lam in options.lambdas:
        variants[f"lambda {lam}"] = {"weights": {"srm_weight": lam}}
    return run_variants(variants, options, "Table 8 (small scale): pre-training batch size and SRM lambda", "setting")


def tsne_panels(embeddings: dict[str, np.ndarray], cell_types: list[str], png: Path, seed: int = 0) -> dict[str, dict]:
    """t-SNE of each embedding set, one panel each, coloured by cell type; silhouette scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    labels = np.asarray(cell_types)
    names = sorted(set(cell_types))
    fig, axes = plt.subplots(1, len(embeddings), figsize=(5.5 * len(embeddings), 5), squeeze=False)
    scores = {}
    for ax, (title, x) in zip(axes[0], embeddings.items()):
        perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
        # one OpenMP thread: on a shared CPU sklearn's threaded gradient can spin 50x slower
        with threadpool_limits(limits=1):
            coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
        both = len(names) > 1
        scores[title] = {
            "silhouette_embedding_cosine": float(silhouette_score(x, labels, metric="cosine")) if both else float("nan"),
            "silhouette_tsne": float(silhouette_score(coords, labels)) if both else float("nan"),
        }
        for i, name in enumerate(names):
            keep = labels == name
            ax.scatter(coords[keep, 0], coords[keep, 1], s=6, alpha=0.7, label=name, color=plt.cm.tab10(i % 10))
        ax.set_title(f"{title}\nsilhouette {scores[title]['silhouette_embedding_cosine']:.3f} (emb.), "
                     f"{scores[title]['silhouette_tsne']:.3f} (t-SNE)", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(markerscale=3, fontsize=8, title="cell type")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return scores


def fig2(options: Fig2Options) -> Fig2Result:
    out_dir = Path(options.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = options.dataset or default_dataset()
    folders = {"uni-modal (MGM+NGSP)": options.unimodal, "multi-modal (MGM+NGSP+SRM)": options.multimodal}
    pretraining = {}
    for (title, folder), weights in zip(list(folders.items()), (TABLE5_VARIANTS["MGM+NGSP"], TABLE5_VARIANTS["MGM+NGSP+SRM"])):
        if folder is None:
            slug = "unimodal" if title.startswith("uni") else "multimodal"
            config_file = write_config(out_dir / slug / "config.json", options.preset, dataset)
            pre = pretrain_one(out_dir / slug, dataset, options.seeds[0], options.pretrain_steps,
                               options.pretrain_batch_size, config_file=config_file, weights=weights,
                               extra=options.pretrain_args)
            folders[title] = str(pre.output_dir)
            pretraining[title] = {"before": pre.before, "after": pre.after, "steps": pre.global_step}
    records = read_records(dataset, split=options.split, max_samples=options.max_samples, seed=options.seeds[0])
    embeddings = {}
    for title, folder in folders.items():
        model, tokenizer = load_encoder(folder)
        embeddings[title] = embed_sequences(model, tokenizer, records["sequence"], pooling=options.pooling)
    png = out_dir / "fig2_tsne.png"
    result = Fig2Result(
        figure=png, dataset=Path(dataset), split=options.split, samples=len(records["sequence"]),
        cell_types=sorted(set(records["cell_type"])), pooling=options.pooling, models=folders,
        silhouette=tsne_panels(embeddings, records["cell_type"], png, seed=options.seeds[0]), pretraining=pretraining,
        silhouette_definition="silhouette score of the cell-type labels, in the embedding space (cosine "
        "distance) and in the 2-D t-SNE map (euclidean); -1..1, higher = cell types better separated",
        results_file=out_dir / "results.json",
    )
    result.results_file.write_text(json.dumps(result.to_dict(), indent=2, default=str))
    return result


ANALYSES = {Fig2Options: fig2, Table5Options: table5, Table7Options: table7, Table8Options: table8}


def run_analysis(options: AnalysisOptions) -> AnalysisResult:
    """Run one analysis, the one the options' class names (:class:`Fig2Options`, :class:`Table5Options`,
    :class:`Table7Options`, :class:`Table8Options`); writes ``results.json`` (the result's ``to_dict()``), and
    ``table.md`` or the figure, to ``options.output_dir``."""
    analysis = ANALYSES.get(type(options))
    if analysis is None:
        raise TypeError(f"run_analysis takes one of {[c.__name__ for c in ANALYSES]}, not {type(options).__name__}")
    for option in ("unimodal", "multimodal"):  # given model folders are checked before any work
        if getattr(options, option, None):
            check_model_folder(getattr(options, option), f"--{option}")
    options_given(build_pretrain_parser(), shlex.split(options.pretrain_args), "--pretrain_args")
    if isinstance(options, FinetuningAnalysisOptions):
        get_task(options.task)
        options_given(build_finetune_parser(), shlex.split(options.finetune_args), "--finetune_args")
    folder = OutputFolder(options.output_dir, "genebert-analysis", overwrite=options.overwrite)
    folder.start()
    result = analysis(options)
    folder.finish()
    return result


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------
COMMANDS = {  # name: (options, --help line)
    "fig2": (Fig2Options, "t-SNE + silhouette by cell type, uni-modal vs multi-modal"),
    "table5": (Table5Options, "loss ablation: no loss / MGM / MGM+NGSP / MGM+NGSP+SRM"),
    "table7": (Table7Options, "region encoders: native vs timm backbones"),
    "table8": (Table8Options, "pre-training batch size and SRM lambda sweeps"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genebert-analysis", formatter_class=HelpFormatter,
        description="GeneBERT's section-5 analyses at small scale (Fig. 2, Tables 5, 7, 8).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=HfArgumentParser)
    for name, (options_class, help_line) in COMMANDS.items():
        command = sub.add_parser(name, dataclass_types=options_class, formatter_class=HelpFormatter, help=help_line)
        for spec in dataclasses.fields(options_class):  # HfArgumentParser reads every list as nargs="+"
            if "nargs" in spec.metadata:
                next(a for a in command._actions if a.dest == spec.name).nargs = spec.metadata["nargs"]
    return parser


def parse_args(argv: list[str] | None = None) -> AnalysisOptions:
    """The command line as the options of the analysis it names."""
    parsed = vars(build_parser().parse_args(argv))
    options_class, _ = COMMANDS[parsed.pop("command")]
    return options_class(**parsed)


def print_summary(result: AnalysisResult) -> None:
    if isinstance(result, TableResult):
        print(f"\n{result.title}\n{result.table}\n(results: {result.results_file})")
        return
    print(f"\nFig. 2: t-SNE of {result.pooling} embeddings of {result.samples} {result.split} samples -> {result.figure}")
    for title, s in result.silhouette.items():
        print(f"  {title:<30} silhouette (embedding, cosine) {s['silhouette_embedding_cosine']:.4f}   "
              f"(t-SNE 2-D) {s['silhouette_tsne']:.4f}")


def run_command(argv: list[str] | None = None) -> AnalysisResult:
    """Parse, run the analysis, print its table or silhouette scores."""
    result = run_analysis(parse_args(argv))
    print_summary(result)
    return result


main = console_script(run_command, "genebert-analysis")

if __name__ == "__main__":
    sys.exit(main())
