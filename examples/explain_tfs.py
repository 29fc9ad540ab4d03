"""Explaining predictions on real ChIP-seq peaks (README "Explaining predictions").

For each TF in ``--data_dir`` (``<TF>_AC.seq.gz`` training peaks, ``<TF>_B.seq.gz`` test set of
500 peaks + 500 shuffles): subsample ``--train_peaks`` peaks, add one dinucleotide shuffle per
peak as negatives, fine-tune the tiny preset from scratch (``genebert-finetune --task tfbs``),
score the test set, fit a k-mer logistic regression baseline (scikit-learn), and run
``genebert-explain`` on the test peaks. Stages: ``prepare``, ``finetune``, ``baseline``,
``explain``, ``table`` (default all).

    python examples/explain_tfs.py --data_dir ../shared/data/tfs --work_dir runs/explain_tfs
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from dataset_scripts.downstream import dinucleotide_shuffle

TFS = {"REST_GM12878": "MA0138", "FOXA1_HepG2": "MA0148", "USF1_HepG2": "MA0093"}


def read_seq_table(path):
    rows = []
    with gzip.open(path, "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        i_seq, i_bound = header.index("seq"), header.index("Bound")
        for line in fh:
            f = line.rstrip("\n").split("\t")
            rows.append((f[i_seq].upper(), int(f[i_bound])))
    return rows


def prepare(data_dir: Path, work: Path, tf: str, train_peaks: int, seed: int):
    out = work / tf
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    peaks = [s for s, b in read_seq_table(data_dir / f"{tf}_AC.seq.gz") if b == 1 and "N" not in s]
    peaks = [peaks[i] for i in rng.permutation(len(peaks))[:train_peaks]]
    n_dev = max(100, len(peaks) // 10)
    rows = [(s, 1) for s in peaks] + [(dinucleotide_shuffle(s, rng), 0) for s in peaks]
    # dev = the shuffles and peaks of the last n_dev peaks, so no peak is in train and dev
    dev_idx = set(range(len(peaks) - n_dev, len(peaks))) | set(range(2 * len(peaks) - n_dev, 2 * len(peaks)))
    for name, keep in (("train", lambda i: i not in dev_idx), ("dev", lambda i: i in dev_idx)):
        with open(out / f"{name}.csv", "w") as fh:
            fh.write("sequence,label\n")
            for i, (s, y) in enumerate(rows):
                if keep(i):
                    fh.write(f"{s},{y}\n")
    test = read_seq_table(data_dir / f"{tf}_B.seq.gz")
    with open(out / "test.csv", "w") as fh:
        fh.write("sequence,label\n")
        fh.writelines(f"{s},{y}\n" for s, y in test)
    with open(out / "test_peaks.fa", "w") as fh:
        fh.writelines(f">peak{i}\n{s}\n" for i, (s, y) in enumerate(test) if y == 1)


def finetune(work: Path, tf: str, epochs: float, seed: int, max_steps: int = -1):
    out = work / tf
    cmd = ["genebert-finetune", "--preset", "tiny", "--task", "tfbs",
           "--train_file", str(out / "train.csv"), "--validation_file", str(out / "dev.csv"),
           "--test_file", str(out / "test.csv"), "--output_dir", str(out / "model"),
           "--num_train_epochs", str(epochs), "--learning_rate", "3e-4", "--per_device_train_batch_size", "64",
           "--per_device_eval_batch_size", "128", "--eval_strategy", "no", "--save_strategy", "no",
           "--warmup_steps", "20", "--seed", str(seed), "--logging_steps", "20", "--max_steps", str(max_steps)]
    subprocess.run(cmd, check=True)


def kmer_counts(seqs, k):
    from itertools import product

    index = {"".join(p): i for i, p in enumerate(product("ACGT", repeat=k))}
    x = np.zeros((len(seqs), len(index)), dtype=np.float32)
    for r, s in enumerate(seqs):
        for j in range(len(s) - k + 1):
            i = index.get(s[j:j + k])
            if i is not None:
                x[r, i] += 1
    return x


def baseline(work: Path, tf: str, k: int = 6):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    out = work / tf
    train, test = pd.read_csv(out / "train.csv"), pd.read_csv(out / "test.csv")
    xtr, xte = kmer_counts(train.sequence, k), kmer_counts(test.sequence, k)
    clf = LogisticRegression(C=0.1, max_iter=2000).fit(xtr, train.label)
    auc = roc_auc_score(test.label, clf.predict_proba(xte)[:, 1])
    (out / "baseline.json").write_text(json.dumps({"kmer_logreg_k": k, "test_roc_auc": round(float(auc), 4)}))
    return auc


def explain(work: Path, tf: str, max_sequences: int, methods: str = "ism"):
    out = work / tf
    subprocess.run(["genebert-explain", "--model_name_or_path", str(out / "model"),
                    "--input", str(out / "test_peaks.fa"), "--output_dir", str(out / "report"),
                    "--class_name", "bound", "--max_sequences", str(max_sequences), "--methods", methods,
                    "--strands", "forward", "--logos", "3", "--top_matches", "30"], check=True)


def table(work: Path, docs: Path | None = None):
    """The README table; with ``docs``, copy each TF's top motif logo there as ``<TF>_motif0.png``.

    "Expected" reads the top motif's Tomtom matches (best first): the rank of the TF's own JASPAR
    motif among them and its q-value (Tomtom cannot tell family members with one core apart,
    e.g. the forkheads' TGTTTAC, so the TF's motif may match well without being the best).
    """
    import shutil

    lines = ["| TF (cell) | train peaks / steps | GeneBERT test ROC-AUC | 6-mer LR test ROC-AUC | peaks explained | top motif (seqlets) | best JASPAR match (q) | expected motif among the top motif's matches | logo |",
             "|---|---|---|---|---|---|---|---|---|"]
    for tf, expected in TFS.items():
        out = work / tf
        if not (out / "report" / "motifs.json").is_file():
            continue
        res = json.loads((out / "model" / "results.json").read_text())
        base = json.loads((out / "baseline.json").read_text())
        motifs = json.loads((out / "report" / "motifs.json").read_text())
        summary = json.loads((out / "report" / "summary.json").read_text())
        top = motifs[0] if motifs else {}
        matches = top.get("matches", [])
        rank = next((i + 1 for i, m in enumerate(matches) if str(m.get("match_id", "")).startswith(expected)), None)
        if rank:
            hit = matches[rank - 1]
            verdict = f"{hit['match_name']} {hit['match_id']}: match {rank}, q = {hit['q_value']:.2g}" + (" ✓" if hit["q_value"] < 0.05 else "")
        else:
            verdict = f"{expected}: not among the top {len(matches)} matches" if top else "no motif found"
        if docs is not None and top:
            docs.mkdir(parents=True, exist_ok=True)
            shutil.copy(out / "report" / "motif_0.png", docs / f"{tf}_motif0.png")
        q = top.get("q_value")
        lines.append(
            f"| {tf.split('_')[0]} ({tf.split('_')[1]}) | {res['data_sizes']['train'] // 2} / {res['hyperparameters']['global_steps']} | "
            f"{res['results']['test']['roc_auc']:.3f} | {base['test_roc_auc']:.3f} | {summary['sequences']} | "
            f"{top.get('consensus', '-')} ({top.get('n_seqlets', 0)}) | {top.get('match_name')} {top.get('match_id')} "
            f"({'%.2g' % q if q is not None else '-'}) | {verdict} | ![{tf}](docs/explain/{tf}_motif0.png) |")
    text = "\n".join(lines)
    print(text)
    return text


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, help="folder with <TF>_AC.seq.gz and <TF>_B.seq.gz (DeepBind's ENCODE sets)")
    p.add_argument("--work_dir", default="runs/explain_tfs", help="where data, models and reports go")
    p.add_argument("--tfs", nargs="*", default=list(TFS), help="which TFs")
    p.add_argument("--train_peaks", type=int, default=4000, help="training peaks subsampled per TF")
    p.add_argument("--epochs", type=float, default=3, help="fine-tuning epochs")
    p.add_argument("--max_steps", type=int, default=-1, help="cap on fine-tuning steps (-1: the epochs decide)")
    p.add_argument("--max_sequences", type=int, default=100, help="test peaks explained per TF (the first N)")
    p.add_argument("--methods", default="ism", help="genebert-explain --methods")
    p.add_argument("--stages", nargs="*", default=["prepare", "finetune", "baseline", "explain", "table"], help="stages to run")
    p.add_argument("--seed", type=int, default=42, help="seed")
    a = p.parse_args(argv)
    work, data = Path(a.work_dir), Path(a.data_dir)
    for tf in a.tfs:
        if "prepare" in a.stages:
            prepare(data, work, tf, a.train_peaks, a.seed)
        if "finetune" in a.stages:
            finetune(work, tf, a.epochs, a.seed, a.max_steps)
        if "baseline" in a.stages:
            print(tf, "k-mer LR test ROC-AUC", round(baseline(work, tf), 4))
        if "explain" in a.stages:
            explain(work, tf, a.max_sequences, a.methods)
    if "table" in a.stages:
        table(work, Path(__file__).resolve().parents[1] / "docs" / "explain")


if __name__ == "__main__":
    sys.exit(main())
