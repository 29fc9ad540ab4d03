"""Turn a finished pre-training folder into a release: a Hub-ready folder in half precision, with its GUE results.

    python examples/release/make_release.py --model RUNS/pt_v2_k6/final \
        --results "fine-tuned=RUNS/gue/results.json" "fine-tuned, --region_input=RUNS/gue_region/results.json" \
        --output checkpoints/genebert-tiny --name genebert-tiny --reproduce examples/release/genebert-tiny.md

What it writes (into a temporary folder beside ``--output``, renamed into place at the end, so a failed
release leaves nothing half-written):

* the weights in ``--dtype`` (bf16 by default: half the download; GeneBERT loads them as float32),
  the config, the tokenizer and the remote code, as ``save_pretrained`` writes them;
* ``README.md``: the pre-training card of ``--model`` (data, hyper-parameters, validation losses) under
  the release's title, plus the GUE results of every ``--results`` file (mean and sd over seeds, with the
  k-mer baseline and the published DNABERT-2 figure), the compute (steps, CPU time, machine), the
  commands that reproduce it and its limitations;
* ``release.json``: the same facts as data.

Then it checks the release as a user would meet it: the folder is at most ``--max_mb``; it loads with
``AutoModel`` through the package and, in a fresh interpreter that cannot import the package, with
``trust_remote_code=True``, and both give the embeddings of the source model with its weights rounded
to ``--dtype``.

``make_release.py --refresh_code FOLDER`` copies the package's current model and tokenizer modules over a release's
remote code, so that it stays the package's own code (tests/test_release.py asks for it when they differ).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import torch
from huggingface_hub import EvalResult, ModelCard

import modeling_genebert
import tokenization
from dataset_scripts.cli import HelpFormatter, UsageError, console_script
from modeling_genebert import GeneBertForPreTraining
from modeling_genebert.cards.model_card import CITATION
from modeling_genebert.evaluation.benchmark.references import load_references
from modeling_genebert.folder_tokenizer import load_tokenizer

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
PROBE = "ACGTAGGCTTACGATCGATCGGCTAGCTAGCATCGACTAGCTTGACCGATCGATTACGGATCCAGT"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make_release.py", description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--model", help="the genebert-pretrain output folder to release (its final/ folder); required")
    p.add_argument("--results", nargs="*", default=[], metavar="LABEL=RESULTS_JSON",
                   help="genebert-benchmark results.json files, each with the label its rows get in the card")
    p.add_argument("--output", help="the release folder (refused when it exists, unless --overwrite); required")
    p.add_argument("--name", help="the release's name (card title and model-index name), e.g. genebert-tiny; required")
    p.add_argument("--dtype", default="bfloat16", choices=sorted(DTYPES), help="dtype of the stored weights")
    p.add_argument("--reproduce", help="a Markdown file with the commands that reproduce the release")
    p.add_argument("--machine", default=None, help="the machine that trained it (default: this machine's CPU)")
    p.add_argument("--limitations", help="a Markdown file replacing the default limitations text")
    p.add_argument("--max_mb", type=float, default=25.0, help="largest allowed release folder, in MB")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    p.add_argument("--refresh_code", metavar="FOLDER",
                   help="instead of a release: copy the package's current model and tokenizer modules over FOLDER's remote code")
    return p


def cpu_name() -> str:
    """The CPU's model name and core count, as lscpu reports them."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        name = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or platform.machine()
    return f"{name}, {os.cpu_count()} cores"


def _results_files(items: list[str]) -> list[tuple[str, dict]]:
    out = []
    for item in items:
        label, sep, path = item.rpartition("=")
        if not sep or not label:
            raise UsageError(f"--results {item!r}: expected LABEL=RESULTS_JSON")
        try:
            out.append((label, json.loads(Path(path).read_text())))
        except (OSError, json.JSONDecodeError) as error:
            raise UsageError(f"--results {path}: not a readable results.json ({error})") from None
    return out


def _same_folder(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def gue_rows(model: str, results: list[tuple[str, dict]]) -> list[dict]:
    """One row per task and arm: this model's fine-tuned runs per results file, then the k-mer baseline, as
    mean / sd / n over the seeds that ran."""
    rows = []
    for label, data in results:
        runs = [r for r in data.get("runs", []) if r.get("arm") == "finetune" and _same_folder(r.get("model_path", ""), model)]
        baseline = [r for r in data.get("runs", []) if r.get("arm") == "kmer_lr"]
        for arm_label, arm_runs in ((f"GeneBERT, {label}", runs), ("6-mer logistic regression", baseline)):
            for task in sorted({r["task"] for r in arm_runs}):
                mccs = [r["metrics"]["mcc"] for r in arm_runs if r["task"] == task]
                seeds = sorted(r["seed"] for r in arm_runs if r["task"] == task)
                split = next(r["eval_split"] for r in arm_runs if r["task"] == task)
                rows.append({"task": task, "arm": arm_label, "split": split, "seeds": seeds,
                             "mcc_mean": statistics.fmean(mccs), "mcc_sd": statistics.stdev(mccs) if len(mccs) > 1 else 0.0})
        names = {r.get("model") for r in runs} - {None}
        for row in data.get("rows", []):  # the fine-tuned models of all seeds scored as one (--seed_ensemble)
            if row.get("seed_ensemble") and row.get("arm") == "finetune" and row.get("model") in names:
                rows.append({"task": row["task"], "arm": f"GeneBERT, {label}, ensemble of the seeds' models",
                             "split": row["eval_split"], "seeds": sorted(row["seeds"]), "mcc_mean": row["mcc"]["mean"],
                             "mcc_sd": 0.0})
    unique = {(r["task"], r["arm"]): r for r in rows}  # the baseline appears in every file that ran it
    return sorted(unique.values(), key=lambda r: (r["task"], r["arm"]))


def gue_table(rows: list[dict]) -> str:
    tasks = sorted({r["task"] for r in rows})
    published = {ref.task: ref for ref in load_references() if ref.method.startswith("DNABERT-2") and ref.task in tasks}
    lines = ["| task | model | split | seeds | MCC (mean ± sd) |", "|---|---|---|---|---|"]
    for task in tasks:
        for r in (r for r in rows if r["task"] == task):
            mcc = f"{r['mcc_mean']:.3f}" if "ensemble" in r["arm"] else f"{r['mcc_mean']:.3f} ± {r['mcc_sd']:.3f}"
            lines.append(f"| {task} | {r['arm']} | {r['split']} | {len(r['seeds'])} | {mcc} |")
        if task in published and "mcc" in published[task].metrics:
            ref = published[task]
            lines.append(f"| {task} | {ref.method}, published (GPU-days of pre-training) | {ref.split} | – | {ref.metrics['mcc']:.3f} |")
    return "\n".join(lines)


def compute_section(model: str, machine: str) -> tuple[str, dict]:
    summary = json.loads((Path(model) / "pretraining_summary.json").read_text())
    args = json.loads((Path(model) / "training_args.json").read_text()) if (Path(model) / "training_args.json").exists() else {}
    facts = {"steps": summary.get("global_step"), "train_runtime_s": summary.get("train_runtime_s"),
             "train_samples": summary.get("train_samples"), "machine": machine,
             "batch_size": args.get("per_device_train_batch_size"), "final_validation": summary.get("after")}
    hours = (facts["train_runtime_s"] or 0) / 3600
    text = (f"{facts['steps']:,} steps of {facts['batch_size']} samples ({facts['train_samples']:,} training samples) "
            f"in {hours:.2f} hours of wall time on one core of {machine}; no GPU.")
    return text, facts


DEFAULT_LIMITATIONS = """\
* Small: trained on about 17 Mbp of human sequence (two ENCODE DHS cell types and four genome pieces), on one
  CPU core. It is a starting point for fine-tuning and for trying the package, not a validated predictor.
* The GUE figures above are on GUE's dev splits (this copy of GUE has no test split), each task fine-tuned
  with the package's default recipe; they are below DNABERT-2's published test figures.
* On transcription-factor tasks it scores close to a 6-mer logistic regression; fine-tuning with
  `--region_input` (the motif matrix fused with [CLS]) helps there.
* Sequences that share a 32-mer with GUE's train and dev sequences were removed from the pre-training
  corpus (see the dataset card), so the GUE figures are not inflated by overlap."""


def _sections(markdown: str) -> tuple[str, list[tuple[str, str]]]:
    """``(text before the first '## ' heading, [(heading, content), ...])`` of a card's body."""
    head, *parts = markdown.split("\n## ")
    return head, [tuple(part.split("\n", 1)) if "\n" in part else (part, "") for part in parts]


def write_card(model: str, folder: Path, name: str, sections: dict[str, str], rows: list[dict]) -> None:
    """The pre-training card of ``model`` under the release's title; the release's sections replace its
    limitations and go before the citation; the model-index lists the release's GUE figures."""
    source = Path(model) / "README.md"
    card = ModelCard(source.read_text() if source.exists() else f"---\nlicense: apache-2.0\n---\n\n# {name}\n")
    head, old = _sections(card.text)
    head = head.replace("# GeneBERT (pre-trained)", f"# {name}", 1)
    kept = [(h, c) for h, c in old if h.strip() not in ("Limitations", "Citation", *sections)]
    citation = [(h, c) for h, c in old if h.strip() == "Citation"] or [("Citation", f"\n```bibtex\n{CITATION}\n```\n")]
    parts = kept + [(h, f"\n{c.strip()}\n") for h, c in sections.items()] + citation
    card.text = head.rstrip() + "\n" + "".join(f"\n## {h}\n{c.rstrip()}\n" for h, c in parts)
    card.data.model_name = name
    card.data.eval_results = [
        EvalResult(task_type="text-classification", dataset_type="GUE", dataset_name=f"GUE {r['task']}",
                   dataset_config=r["task"], dataset_split=r["split"],
                   metric_type="mcc", metric_value=round(r["mcc_mean"], 4),
                   metric_name=f"MCC, mean of {len(r['seeds'])} seed(s); {r['arm']}")
        for r in rows if r["arm"].startswith("GeneBERT") and "ensemble" not in r["arm"]
    ] or None
    card.save(folder / "README.md")


REMOTE_CHECK = textwrap.dedent("""
    import sys
    repo = sys.argv[2]
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and (not p.startswith(repo) or "site-packages" in p)]
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "") + repr(f)]
    for name in ("modeling_genebert", "tokenization", "dataset_scripts"):
        sys.modules[name] = None  # an installed package must not be used either
    import json
    import torch
    from transformers import AutoModel, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
    model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
    assert "transformers_modules" in type(model).__module__, type(model).__module__
    with torch.no_grad():
        out = model(**tokenizer(sys.argv[3], return_tensors="pt")).last_hidden_state
    print(json.dumps({"values": out.flatten()[:8].tolist(), "dtype": str(next(model.parameters()).dtype)}))
""")


def check_release(folder: Path, expected: torch.Tensor, max_mb: float) -> dict:
    """Size, package load and remote-code load, each compared with the expected embeddings."""
    size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    if size_mb > max_mb:
        raise UsageError(f"{folder}: {size_mb:.1f} MB, more than --max_mb {max_mb}")
    model = GeneBertForPreTraining.from_pretrained(folder).genebert.eval()
    tokenizer = load_tokenizer(folder, model.config)
    with torch.no_grad():
        out = model(**tokenizer(PROBE, return_tensors="pt")).last_hidden_state
    package_diff = float((out - expected).abs().max())
    repo = str(Path(__file__).resolve().parents[2])
    result = subprocess.run([sys.executable, "-c", REMOTE_CHECK, str(folder), repo, PROBE], capture_output=True, text=True,
                            cwd=tempfile.gettempdir(), timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{folder} does not load with trust_remote_code=True:\n{result.stderr[-3000:]}")
    remote = json.loads(result.stdout.strip().splitlines()[-1])
    remote_diff = max(abs(a - b) for a, b in zip(remote["values"], expected.flatten()[:8].tolist()))
    if package_diff > 1e-5 or remote_diff > 1e-5:
        raise RuntimeError(f"{folder}: embeddings differ from the source model's (package {package_diff:.2e}, "
                           f"remote code {remote_diff:.2e})")
    return {"size_mb": round(size_mb, 2), "package_load_max_diff": package_diff, "remote_code_load_max_diff": remote_diff,
            "remote_code_dtype": remote["dtype"]}


def make_release(args: argparse.Namespace) -> dict:
    output = Path(args.output).resolve()
    if output.exists() and not args.overwrite:
        raise UsageError(f"--output {output} exists; give --overwrite to replace it")
    results = _results_files(args.results)
    model = GeneBertForPreTraining.from_pretrained(args.model).eval()
    tokenizer = load_tokenizer(args.model, model.config)
    model.to(DTYPES[args.dtype]).to(torch.float32)  # what the release stores, as GeneBERT will load it
    with torch.no_grad():
        expected = model.genebert(**tokenizer(PROBE, return_tensors="pt")).last_hidden_state
    machine = args.machine or cpu_name()
    compute_text, compute = compute_section(args.model, machine)
    rows = gue_rows(args.model, results)
    sections = {"Evaluation on GUE": gue_table(rows) + "\n\nMCC of the classifier fine-tuned from this model with "
                "`genebert-benchmark` (the package's default recipe), on each task's dev split.",
                "Compute": compute_text}
    if args.reproduce:
        sections["How it was made"] = Path(args.reproduce).read_text()
    sections["Limitations"] = Path(args.limitations).read_text() if args.limitations else DEFAULT_LIMITATIONS
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        model.to(DTYPES[args.dtype]).save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        write_card(args.model, staging, args.name, sections, rows)
        info = {"name": args.name, "source": os.path.realpath(args.model), "dtype": args.dtype, "compute": compute,
                "gue": rows, "probe": {"sequence": PROBE, "last_hidden_state_first_values": expected.flatten()[:8].tolist()}}
        (staging / "release.json").write_text(json.dumps(info, indent=1) + "\n")
        info["checks"] = check_release(staging, expected, args.max_mb)
        (staging / "release.json").write_text(json.dumps(info, indent=1) + "\n")
        for path in staging.rglob("*"):
            path.chmod(0o644 if path.is_file() else 0o755)
        staging.chmod(0o755)
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    print(gue_table(rows))
    print(json.dumps(info["checks"]))
    return info


def drifted_code(folder: str | os.PathLike) -> dict[Path, Path]:
    """The remote-code files of a release that differ from the package's current modules, each with the module."""
    sources = {p.name: p for package in (modeling_genebert, tokenization) for p in Path(package.__file__).parent.glob("*.py")}
    drifted = {}
    for path in sorted(Path(folder).glob("*.py")):
        if path.name not in sources:
            raise UsageError(f"{path}: no module of that name in the package to compare it with")
        if sources[path.name].read_bytes() != path.read_bytes():
            drifted[path] = sources[path.name]
    return drifted


def refresh_code(folder: str | os.PathLike) -> list[str]:
    """Copy the package's current model and tokenizer modules over a release's remote code (the files
    ``save_pretrained`` exported), so that the release carries the package's own code, not a copy that drifted;
    returns the names of the files that changed."""
    drifted = drifted_code(folder)
    for path, source in drifted.items():
        path.write_bytes(source.read_bytes())
    return [path.name for path in drifted]


def run(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    if args.refresh_code:
        changed = refresh_code(args.refresh_code)
        print(f"{args.refresh_code}: {', '.join(changed) if changed else 'no file'} refreshed from the package")
        return {"refreshed": changed}
    missing = [f"--{name}" for name in ("model", "output", "name") if getattr(args, name) is None]
    if missing:
        raise UsageError(f"a release needs {', '.join(missing)}")
    return make_release(args)


main = console_script(run, prog="make_release.py")

if __name__ == "__main__":
    sys.exit(main())
