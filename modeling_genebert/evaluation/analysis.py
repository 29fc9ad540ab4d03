"""The paper's analyses (section 5) as commands that run at small scale on a CPU.

``python -m modeling_genebert.evaluation.analysis <command> [options]``; every command
takes step / sample / seed budgets, writes ``results.json`` and ``table.md`` to its
``--output_dir`` and prints the table. Each pre-training is a call of
``genebert-pretrain``'s ``main(argv)``, each fine-tuning one of ``genebert-finetune``'s.

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
import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dataset_scripts import build_default_pretraining_dataset, load_pretraining_dataset
from dataset_scripts.cli import HelpFormatter, check_model_folder, console_script
from dataset_scripts.output_folders import OutputFolder
from dataset_scripts.pretraining_build import cache_dir
from dataset_scripts.tasks import list_tasks
from modeling_genebert import GeneBertConfig, GeneBertTokenizer
from modeling_genebert.downstream.metrics import METRIC_DESCRIPTIONS
from modeling_genebert.evaluation.embed import embed_sequences, load_encoder, read_records
from modeling_genebert.finetuning.finetune import run as finetune_run
from modeling_genebert.pretraining.pretrain import run as pretrain_run
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


def pretrain(output_dir: Path, dataset: str, seed: int, steps: int, batch_size: int, config_file: Path | None = None,
             weights: dict[str, float] | None = None, preset: str = "tiny", extra: str = "") -> dict:
    """One ``genebert-pretrain`` run; returns its summary (``output_dir`` = the final folder)."""
    argv = [
        "--dataset_path", dataset, "--output_dir", str(output_dir), "--seed", str(seed),
        "--max_steps", str(steps), "--per_device_train_batch_size", str(batch_size),
        "--per_device_eval_batch_size", str(max(batch_size, 16)), "--warmup_steps", str(max(1, steps // 10)),
        "--logging_steps", str(max(1, steps // 4)), "--save_strategy", "no", "--max_eval_samples", "64",
        "--disable_tqdm", "true", "--overwrite", "true",  # a sub-folder of the analysis's own (checked) folder
    ]
    argv += ["--config_file", str(config_file)] if config_file else ["--preset", preset]
    for name, value in (weights or {}).items():
        argv += [f"--{name}", str(value)]
    argv += shlex.split(extra)
    return pretrain_run(argv)


def finetune(model: str | None, output_dir: Path, args: argparse.Namespace, seed: int, from_scratch: bool = False,
             preset: str = "tiny") -> dict:
    """One ``genebert-finetune`` run on the promoter set; returns its summary."""
    argv = [
        "--task", args.task, "--train_file", args.train_file, "--output_dir", str(output_dir), "--seed", str(seed),
        "--max_steps", str(args.finetune_steps), "--per_device_train_batch_size", str(args.finetune_batch_size),
        "--learning_rate", str(args.finetune_lr), "--eval_strategy", "no", "--save_strategy", "no",
        "--logging_steps", str(max(1, args.finetune_steps // 4)), "--disable_tqdm", "true",
        "--per_device_eval_batch_size", "256", "--overwrite", "true",  # a sub-folder of the analysis's own folder
    ]
    if args.validation_file:
        argv += ["--validation_file", args.validation_file]
    if args.finetune_train_samples:
        argv += ["--max_train_samples", str(args.finetune_train_samples)]
    if args.finetune_eval_samples:
        argv += ["--max_eval_samples", str(args.finetune_eval_samples)]
    argv += ["--model_name_or_path", model] if model else ["--preset", preset]
    if from_scratch:
        argv += ["--from_scratch"]
    argv += shlex.split(args.finetune_args)
    return finetune_run(argv)


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


def run_variants(variants: dict[str, dict[str, Any] | None], args: argparse.Namespace, title: str,
                 first_column: str) -> dict:
    """Pre-train + fine-tune every variant for every seed; write results.json and table.md.

    A variant is ``None`` (no pre-training: fine-tune the random initialisation) or a dict with
    optional ``weights`` (loss-weight overrides), ``region`` (region_config overrides) and
    ``batch_size`` (pre-training batch size).
    """
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = args.dataset or default_dataset()
    per_variant: dict[str, list[dict]] = {}
    records = []
    start = time.process_time()
    for name, variant in variants.items():
        slug = "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()
        for seed in args.seeds:
            run_dir = out_dir / slug / f"seed{seed}"
            pre = None
            if variant is None:
                # no pre-training objective: a folder holding only the config + tokenizer, fine-tuned --from_scratch
                config = GeneBertConfig.from_json_file(str(write_config(run_dir / "config.json", args.preset, dataset)))
                folder = run_dir / "init"
                config.save_pretrained(folder)
                GeneBertTokenizer(k=config.sequence_config.kmer).save_pretrained(folder)
                model, scratch = str(folder), True
            else:
                config_file = write_config(run_dir / "config.json", args.preset, dataset, region=variant.get("region"))
                pre = pretrain(
                    run_dir / "pretrain", dataset, seed, args.pretrain_steps,
                    variant.get("batch_size", args.pretrain_batch_size), config_file=config_file,
                    weights=variant.get("weights"), extra=args.pretrain_args,
                )
                model, scratch = pre["output_dir"], False
            fine = finetune(model, run_dir / "finetune", args, seed, from_scratch=scratch)
            metrics = fine["results"]["validation"]
            per_variant.setdefault(name, []).append(metrics)
            records.append({
                "variant": name, "seed": seed, "pretraining": None if pre is None else {
                    "steps": pre["global_step"], "before": pre["before"], "after": pre["after"]},
                "finetune": metrics, "finetune_dir": fine["output_dir"],
            })
    rows = {name: aggregate(runs) for name, runs in per_variant.items()}
    table = markdown_table(rows, first_column)
    summary = {
        "title": title, "dataset": dataset, "finetune_task": args.task, "train_file": args.train_file,
        "validation_file": args.validation_file, "seeds": args.seeds,
        "budgets": {k: getattr(args, k) for k in (
            "pretrain_steps", "pretrain_batch_size", "finetune_steps", "finetune_batch_size", "finetune_lr",
            "finetune_train_samples", "finetune_eval_samples")},
        "rows": rows, "runs": records, "metric_definitions": {m: METRIC_DESCRIPTIONS[m] for m in TABLE_METRICS},
        "cpu_minutes": round((time.process_time() - start) / 60, 2),
    }
    (out_dir / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    (out_dir / "table.md").write_text(f"# {title}\n\n{table}\n")
    print(f"\n{title}\n{table}\n(results: {out_dir / 'results.json'})")
    return summary


# --------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------
def table5(args) -> dict:
    variants = {k: (None if v is None else {"weights": v}) for k, v in TABLE5_VARIANTS.items()}
    if args.variants:
        variants = {k: v for k, v in variants.items() if k in args.variants}
    return run_variants(variants, args, "Table 5 (small scale): effect of each pre-training loss", "losses")


def table7(args) -> dict:
    variants = {spec: {"region": region_encoder_overrides(spec)} for spec in args.region_encoders}
    return run_variants(variants, args, "Table 7 (small scale): region encoder", "region encoder")


def table8(args) -> dict:
    variants: dict[str, dict] = {}
    for b in args.batch_sizes:
        variants[f"batch {b}"] = {"batch_size": b}
    for lam in args.lambdas:
        variants[f"lambda {lam}"] = {"weights": {"srm_weight": lam}}
    return run_variants(variants, args, "Table 8 (small scale): pre-training batch size and SRM lambda", "setting")


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


def fig2(args) -> dict:
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = args.dataset or default_dataset()
    folders = {"uni-modal (MGM+NGSP)": args.unimodal, "multi-modal (MGM+NGSP+SRM)": args.multimodal}
    pretraining = {}
    for (title, folder), weights in zip(list(folders.items()), (TABLE5_VARIANTS["MGM+NGSP"], TABLE5_VARIANTS["MGM+NGSP+SRM"])):
        if folder is None:
            slug = "unimodal" if title.startswith("uni") else "multimodal"
            config_file = write_config(out_dir / slug / "config.json", args.preset, dataset)
            pre = pretrain(out_dir / slug, dataset, args.seeds[0], args.pretrain_steps, args.pretrain_batch_size,
                           config_file=config_file, weights=weights, extra=args.pretrain_args)
            folders[title] = pre["output_dir"]
            pretraining[title] = {"before": pre["before"], "after": pre["after"], "steps": pre["global_step"]}
    records = read_records(dataset, split=args.split, max_samples=args.max_samples, seed=args.seeds[0])
    embeddings = {}
    for title, folder in folders.items():
        model, tokenizer = load_encoder(folder)
        embeddings[title] = embed_sequences(model, tokenizer, records["sequence"], pooling=args.pooling)
    png = out_dir / "fig2_tsne.png"
    scores = tsne_panels(embeddings, records["cell_type"], png, seed=args.seeds[0])
    summary = {
        "figure": str(png), "dataset": dataset, "split": args.split, "samples": len(records["sequence"]),
        "cell_types": sorted(set(records["cell_type"])), "pooling": args.pooling, "models": folders,
        "silhouette": scores, "pretraining": pretraining,
        "silhouette_definition": "silhouette score of the cell-type labels, in the embedding space (cosine "
        "distance) and in the 2-D t-SNE map (euclidean); -1..1, higher = cell types better separated",
    }
    (out_dir / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"\nFig. 2: t-SNE of {args.pooling} embeddings of {summary['samples']} {args.split} samples -> {png}")
    for title, s in scores.items():
        print(f"  {title:<30} silhouette (embedding, cosine) {s['silhouette_embedding_cosine']:.4f}   "
              f"(t-SNE 2-D) {s['silhouette_tsne']:.4f}")
    return summary


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def _common(parser: argparse.ArgumentParser, finetuning: bool = True) -> None:
    parser.add_argument("--output_dir", required=True, help="where runs, results.json and table.md go")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into a non-empty --output_dir (without it such a folder is refused, unless an "
                             "interrupted run of the same command left it)")
    parser.add_argument("--dataset", default=None, help="pre-training dataset folder (default: embedded mini-atlas)")
    parser.add_argument("--preset", default="tiny", help="model preset of every variant (default tiny)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (paper: 5)")
    parser.add_argument("--pretrain_steps", type=int, default=100, help="pre-training steps per run")
    parser.add_argument("--pretrain_batch_size", type=int, default=16, help="pre-training batch size")
    parser.add_argument("--pretrain_args", default="", help="extra genebert-pretrain options, one quoted string")
    if not finetuning:
        return
    parser.add_argument("--task", default="promoter", choices=list_tasks(), help="fine-tuning task (a registered task)")
    parser.add_argument("--train_file", required=True,
                        help="fine-tuning train file, e.g. GUE prom_core_all/train.csv.gz")
    parser.add_argument("--validation_file", default=None, help="fine-tuning evaluation file, e.g. .../dev.csv.gz")
    parser.add_argument("--finetune_steps", type=int, default=200, help="fine-tuning steps per run")
    parser.add_argument("--finetune_batch_size", type=int, default=32, help="fine-tuning batch size")
    parser.add_argument("--finetune_lr", type=float, default=5e-4, help="fine-tuning peak learning rate")
    parser.add_argument("--finetune_train_samples", type=int, default=None, help="cap on fine-tuning train rows")
    parser.add_argument("--finetune_eval_samples", type=int, default=None, help="cap on evaluation rows")
    parser.add_argument("--finetune_args", default="", help="extra genebert-finetune options, one quoted string")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genebert-analysis", formatter_class=HelpFormatter,
        description="GeneBERT's section-5 analyses at small scale (Fig. 2, Tables 5, 7, 8).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fig2", formatter_class=HelpFormatter, help="t-SNE + silhouette by cell type, uni-modal vs multi-modal")
    _common(p, finetuning=False)
    p.add_argument("--unimodal", default=None, help="a uni-modal (MGM+NGSP) folder; default: pre-train one")
    p.add_argument("--multimodal", default=None, help="a multi-modal (MGM+NGSP+SRM) folder; default: pre-train one")
    p.add_argument("--split", default="validation", help="which split's samples to embed")
    p.add_argument("--max_samples", type=int, default=600, help="samples to embed")
    p.add_argument("--pooling", default="cls", choices=("cls", "mean", "projected"),
                   help="which vector embeds a sample: [CLS] state, masked mean, or the SRM projection")
    p.set_defaults(func=fig2)
    p = sub.add_parser("table5", formatter_class=HelpFormatter, help="loss ablation: no loss / MGM / MGM+NGSP / MGM+NGSP+SRM")
    _common(p)
    p.add_argument("--variants", nargs="+", default=None, choices=list(TABLE5_VARIANTS), help="subset of variants")
    p.set_defaults(func=table5)
    p = sub.add_parser("table7", formatter_class=HelpFormatter, help="region encoders: native vs timm backbones")
    _common(p)
    p.add_argument("--region_encoders", nargs="+", default=["native", "vit_tiny_patch16_224@native"],
                   help="native | TIMM_NAME (resized, paper) | TIMM_NAME@native (matrix at its own size)")
    p.set_defaults(func=table7)
    p = sub.add_parser("table8", formatter_class=HelpFormatter, help="pre-training batch size and SRM lambda sweeps")
    _common(p)
    p.add_argument("--batch_sizes", type=int, nargs="*", default=[8, 32], help="pre-training batch sizes")
    p.add_argument("--lambdas", type=float, nargs="*", default=[0.1, 0.5, 1.0], help="SRM weights")
    p.set_defaults(func=table8)
    return parser


def run(argv: list[str] | None = None) -> dict:
    """Run one analysis (fig2 / table5 / table7 / table8); returns its results."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    args = build_parser().parse_args(argv)
    for option in ("unimodal", "multimodal"):  # given model folders are checked before any work
        if getattr(args, option, None):
            check_model_folder(getattr(args, option), f"--{option}")
    folder = OutputFolder(args.output_dir, "genebert-analysis", overwrite=args.overwrite)
    folder.start()
    summary = args.func(args)
    folder.finish()
    return summary


main = console_script(run, "genebert-analysis")

if __name__ == "__main__":
    sys.exit(main())
