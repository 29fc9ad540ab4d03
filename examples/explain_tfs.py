"""Explaining predictions on real ChIP-seq peaks (docs/results/2026-12-04-explain-tfs.md).

For each TF in ``--data_dir`` (``<TF>_AC.seq.gz`` training peaks, ``<TF>_B.seq.gz`` test set of
500 peaks + 500 shuffles): subsample ``--train_peaks`` peaks, add one dinucleotide shuffle per
peak as negatives, fine-tune the tiny preset from scratch (``genebert-finetune --task tfbs``),
score the test set, fit a k-mer logistic regression baseline (scikit-learn), and run
``genebert-explain`` on the test peaks. Stages: ``prepare``, ``finetune``, ``baseline``,
``explain``, ``table`` (default all), and ``measure`` (not in the default): does per-base IG sit on
the motif ISM finds (top 10-bp window overlap, per-sequence r; the older token IG beside it), and
what raises TF-MoDISco's seqlet yield (more sequences, both strands, the seqlet FDR, hypothetical
against observed-base contributions, ISM against IG) and whether the TF's own JASPAR motif is the
top match. Writes ``<work_dir>/measure.json`` and prints the results page's tables.

    python examples/explain_tfs.py --data_dir path/to/tfs --work_dir runs/explain_tfs
    python examples/explain_tfs.py --data_dir path/to/tfs --work_dir runs/explain_tfs --stages measure
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from dataset_scripts.finetuning_data import dinucleotide_shuffle
from dataset_scripts.sequences import one_hot, reverse_complement

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
    """genebert-explain on the test set: quality on all 1,000 labelled rows, attributions of the bound peaks."""
    out = work / tf
    subprocess.run(["genebert-explain", "--model_name_or_path", str(out / "model"),
                    "--input", str(out / "test.csv"), "--attribute_label", "bound", "--output_dir", str(out / "report"),
                    "--class_name", "bound", "--max_sequences", str(max_sequences), "--methods", methods,
                    "--strands", "forward", "--ig_steps", "16", "--logos", "3", "--top_matches", "30", "--overwrite"], check=True)


def discover(data_dir: Path, work: Path, tf: str, train_peaks: int, seed: int, n_peaks: int) -> dict:
    """genebert-explain on ``n_peaks`` bound peaks (the test set's, then held-out training-set peaks), IG only:
    seqlets, discovered motifs and the Tomtom rank and q of the TF's own JASPAR motif, with the time it took."""
    import resource
    import time

    import pandas as pd

    out = work / tf / f"discover_{n_peaks}"
    out.mkdir(parents=True, exist_ok=True)
    test = pd.read_csv(work / tf / "test.csv")
    peaks = list(test.sequence[test.label == 1])[:n_peaks]
    peaks += held_out_peaks(data_dir, tf, train_peaks, seed, n_peaks - len(peaks))
    (out / "peaks.csv").write_text("sequence\n" + "".join(f"{p}\n" for p in peaks))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu_before = time.time(), children.ru_utime + children.ru_stime
    subprocess.run(["genebert-explain", "--model_name_or_path", str(work / tf / "model"), "--input", str(out / "peaks.csv"),
                    "--class_name", "bound", "--output_dir", str(out / "report"), "--methods", "ig", "--motifs", "ig",
                    "--precision", "fp32", "--overwrite"], check=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the explain process alone (not an earlier fine-tuning)
    result = {"tf": tf, "peaks": len(peaks), "wall_s": round(time.time() - started, 1),
              "cpu_s": round(children.ru_utime + children.ru_stime - cpu_before, 1)}
    (out / "discover.json").write_text(json.dumps(result, indent=1))
    return result


def held_out_peaks(data_dir: Path, tf: str, train_peaks: int, seed: int, n: int) -> list[str]:
    """AC peaks that ``prepare`` did not sample for training (same permutation, the ones after it)."""
    rng = np.random.default_rng(seed)
    peaks = [s for s, b in read_seq_table(data_dir / f"{tf}_AC.seq.gz") if b == 1 and "N" not in s]
    order = rng.permutation(len(peaks))
    return [peaks[i] for i in order[train_peaks:train_peaks + n]]


def _own_rank(matches, expected: str):
    return next((i + 1 for i, m in enumerate(matches.to_dict(orient="records"))
                 if str(m["match_id"]).startswith(expected)), None)


def measure(data_dir: Path, work: Path, tf: str, train_peaks: int, seed: int, n_ism: int, n_ig: int, n_extra: int,
            ig_steps: int, log=print) -> dict:
    """IG-ISM agreement and TF-MoDISco seqlet yield under each lever; arrays cached in ``<tf>/measure``."""
    import time

    import pandas as pd

    from modeling_genebert.explain import integrated_gradients, ism_contributions, load_classifier, saturation_mutagenesis
    from modeling_genebert.explain.agreement import top_window_overlap
    from modeling_genebert.explain.motifs import discover_motifs

    out = work / tf / "measure"
    out.mkdir(parents=True, exist_ok=True)
    explained = load_classifier(work / tf / "model")
    test = pd.read_csv(work / tf / "test.csv")
    peaks = list(test.sequence[test.label == 1])[:n_ig]
    extra = held_out_peaks(data_dir, tf, train_peaks, seed, n_extra)
    timings = {}

    def cached(name, fn):
        path = out / f"{name}.npy"
        if path.is_file():
            return np.load(path)
        t = time.time()
        value = fn()
        timings[name] = round(time.time() - t, 1)
        log(f"{tf} {name}: {timings[name]} s")
        np.save(path, value)
        return value

    ism_delta = cached("ism_delta_fwd", lambda: saturation_mutagenesis(explained, peaks[:n_ism], "bound", "forward"))
    ism_hyp = np.stack([ism_contributions(d, s)[1] for d, s in zip(ism_delta, peaks[:n_ism])])
    ig_fwd = cached("ig_hyp_fwd", lambda: integrated_gradients(explained, peaks, "bound", ig_steps).hypothetical)
    ig_rc = cached("ig_hyp_rc", lambda: integrated_gradients(
        explained, [reverse_complement(p) for p in peaks], "bound", ig_steps).hypothetical)
    ig_extra = cached("ig_hyp_extra", lambda: integrated_gradients(explained, extra, "bound", ig_steps).hypothetical)
    tok_ig = cached("ig_tokens_fwd", lambda: integrated_gradients(explained, peaks[:n_ism], "bound", ig_steps, path="tokens").bases)
    oh = np.stack([one_hot(p) for p in peaks])
    oh_extra = np.stack([one_hot(p) for p in extra])
    ig_both = (ig_fwd + ig_rc[:, ::-1, ::-1]) / 2

    def contrib(o, h):
        return (o * h).sum(-1)

    ism_c = contrib(oh[:n_ism], ism_hyp)
    result = {"tf": tf, "n_ism": n_ism, "n_ig": len(peaks), "n_extra": len(extra), "ig_steps": ig_steps, "timings_s": timings,
              "agreement": {"ig_bases_vs_ism": top_window_overlap(contrib(oh[:n_ism], ig_fwd[:n_ism]), ism_c),
                            "ig_tokens_vs_ism": top_window_overlap(tok_ig, ism_c),
                            "ig_bases_both_vs_ism": top_window_overlap(contrib(oh[:n_ism], ig_both[:n_ism]), ism_c)},
              "ig_bases_negative_share": float((contrib(oh[:n_ism], ig_fwd[:n_ism]) < 0).mean()),
              "ig_tokens_negative_share": float((tok_ig < 0).mean()),
              "modisco": []}
    only_observed = lambda o, h: o * (o * h).sum(-1, keepdims=True)  # noqa: E731
    variants = [
        (f"ISM hypothetical, {n_ism} peaks", oh[:n_ism], ism_hyp, 0.05),
        (f"ISM observed-base contributions, {n_ism} peaks", oh[:n_ism], only_observed(oh[:n_ism], ism_hyp), 0.05),
        (f"IG hypothetical, {n_ism} peaks", oh[:n_ism], ig_fwd[:n_ism], 0.05),
        (f"IG hypothetical, {len(peaks)} peaks", oh, ig_fwd, 0.05),
        (f"IG observed-base contributions, {len(peaks)} peaks", oh, only_observed(oh, ig_fwd), 0.05),
        (f"IG hypothetical, {len(peaks)} peaks, seqlet FDR 0.2", oh, ig_fwd, 0.2),
        (f"IG hypothetical, {len(peaks)} peaks, both strands", oh, ig_both, 0.05),
        (f"IG hypothetical, {len(peaks) + len(extra)} peaks", np.concatenate([oh, oh_extra]), np.concatenate([ig_fwd, ig_extra]), 0.05),
        (f"IG hypothetical, {len(peaks) + len(extra)} peaks, seqlet FDR 0.2", np.concatenate([oh, oh_extra]),
         np.concatenate([ig_fwd, ig_extra]), 0.2),
    ]
    expected = TFS[tf]
    for name, o, h, fdr in variants:
        t = time.time()
        found, counts = discover_motifs(o, h, target_seqlet_fdr=fdr, top_matches=30, return_yield=True)
        top = found[0] if found else None
        own = [(i, _own_rank(m.matches, expected)) for i, m in enumerate(found)]
        own = [(i, r) for i, r in own if r is not None]
        row = {"variant": name, **counts, "seconds": round(time.time() - t, 1),
               "top_motif": top.matches.iloc[0]["match_name"] if top is not None and len(top.matches) else None,
               "top_consensus": "".join("ACGT"[j] for j in top.ppm.argmax(1)) if top is not None else None,
               "top_seqlets": top.n_seqlets if top is not None else 0,
               "own_rank_in_top_motif": _own_rank(top.matches, expected) if top is not None else None,
               "own_best_rank_any_motif": min((r for _, r in own), default=None)}
        result["modisco"].append(row)
        log(f"{tf} | {name} | {row}")
    (out / "measure.json").write_text(json.dumps(result, indent=1, default=float))
    return result


def table(work: Path, docs: Path | None = None):
    """The results page's table; with ``docs``, copy each TF's top motif logo there as ``<TF>_motif0.png``.

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
        for method in ("ism", "ig"):
            if docs is not None and (out / "report" / f"logo_{method}_0.png").is_file():
                shutil.copy(out / "report" / f"logo_{method}_0.png", docs / f"{tf}_{method}_logo.png")
        q = top.get("q_value")
        lines.append(
            f"| {tf.split('_')[0]} ({tf.split('_')[1]}) | {res['data_sizes']['train'] // 2} / {res['hyperparameters']['global_steps']} | "
            f"{res['results']['test']['roc_auc']:.3f} | {base['test_roc_auc']:.3f} | {summary['sequences']} | "
            f"{top.get('consensus', '-')} ({top.get('n_seqlets', 0)}) | {top.get('match_name')} {top.get('match_id')} "
            f"({'%.2g' % q if q is not None else '-'}) | {verdict} | ![{tf}](docs/explain/{tf}_motif0.png) |")
    text = "\n".join(lines)
    print(text)
    return text


def figures(work: Path, tf: str, docs: Path, n_ism: int = 100):
    """The results page's pictures from ``measure``'s cached arrays: ISM and IG logos of the test peak (among the
    first ``n_ism``) with the strongest ISM base, and the top TF-MoDISco motif of IG over all test peaks."""
    import pandas as pd

    from modeling_genebert.explain import ism_contributions, plots
    from modeling_genebert.explain.motifs import discover_motifs, jaspar_ppms

    out = work / tf / "measure"
    test = pd.read_csv(work / tf / "test.csv")
    ig = np.load(out / "ig_hyp_fwd.npy")
    peaks = list(test.sequence[test.label == 1])[:len(ig)]
    delta = np.load(out / "ism_delta_fwd.npy")
    ism = np.stack([ism_contributions(d, s)[0] for d, s in zip(delta, peaks[:n_ism])])
    i = int(np.argmax(ism.max(1)))
    oh = np.stack([one_hot(p) for p in peaks])
    docs.mkdir(parents=True, exist_ok=True)
    name = tf.split("_")[0]
    plots.attribution_logo(ism[i], peaks[i], docs / f"{tf}_ism_logo.png", f"{name} test peak {i}: ISM", ylabel="log-odds")
    plots.attribution_logo((oh[i] * ig[i]).sum(-1), peaks[i], docs / f"{tf}_ig_logo.png", f"{name} test peak {i}: IG per base", ylabel="log-odds")
    found = discover_motifs(oh, ig, top_matches=30)
    if found:
        ids, names, ppms = jaspar_ppms()
        best = found[0].best
        plots.motif_logo_pair(found[0], ppms[ids.index(best["match_id"])].T, docs / f"{tf}_motif0.png",
                              f"JASPAR {best['match_name']} {best['match_id']} (q={best['q_value']:.2g})")


def _locality(work: Path, tf: str, n_ism: int, around: int = 20) -> dict:
    """Mean share of a sequence's total |attribution| that lies in the ``around`` bases centred on ISM's
    top 10-bp window (from ``measure``'s cached arrays): how concentrated each method is on the motif."""
    import pandas as pd

    from modeling_genebert.explain import ism_contributions
    from modeling_genebert.explain.plots import top_window

    out = work / tf / "measure"
    test = pd.read_csv(work / tf / "test.csv")
    peaks = list(test.sequence[test.label == 1])[:n_ism]
    oh = np.stack([one_hot(p) for p in peaks])
    ism = np.stack([ism_contributions(d, s)[0] for d, s in zip(np.load(out / "ism_delta_fwd.npy"), peaks)])
    tracks = {"ism": ism, "ig_bases": (oh * np.load(out / "ig_hyp_fwd.npy")[:n_ism]).sum(-1),
              "ig_tokens": np.load(out / "ig_tokens_fwd.npy")}
    shares = {k: [] for k in tracks}
    for i in range(len(peaks)):
        lo = max(0, top_window(ism[i], 10) + 5 - around // 2)
        for k, v in tracks.items():
            a = np.abs(v[i])
            shares[k].append(a[lo:lo + around].sum() / max(a.sum(), 1e-12))
    return {k: float(np.mean(v)) for k, v in shares.items()}


def measure_tables(work: Path) -> str:
    """The results page's tables from each TF's ``measure/measure.json``: IG-ISM agreement, then the seqlet yield per lever
    (one row per lever; per TF: seqlets raising the class / seqlets in motifs / motifs / rank of the TF's own
    JASPAR motif among the top motif's Tomtom matches)."""
    results = {tf: json.loads((work / tf / "measure" / "measure.json").read_text())
               for tf in TFS if (work / tf / "measure" / "measure.json").is_file()}
    rows = ["| TF (peaks with ISM) | top 10-bp window: per-base IG overlaps ISM | token IG (old) overlaps ISM | chance | median r with ISM: per-base IG / token IG | bases with IG < 0: per-base / token |",
            "|---|---|---|---|---|---|"]
    for tf, m in results.items():
        a, t = m["agreement"]["ig_bases_vs_ism"], m["agreement"]["ig_tokens_vs_ism"]
        rows.append(f"| {tf.split('_')[0]} ({m['n_ism']}) | **{a['overlap_share']:.2f}** | {t['overlap_share']:.2f} | {a['chance_overlap']:.2f} | "
                    f"{a['median_pearson_r']:.2f} / {t['median_pearson_r']:.2f} | {m['ig_bases_negative_share']:.2f} / {m['ig_tokens_negative_share']:.2f} |")
    rows += ["", "| TF | share of \\|attribution\\| within the 20 bases around ISM's top window: ISM / per-base IG / token IG (chance 0.20) |", "|---|---|"]
    for tf, m in results.items():
        shares = _locality(work, tf, m["n_ism"])
        rows.append(f"| {tf.split('_')[0]} | {shares['ism']:.2f} / **{shares['ig_bases']:.2f}** / {shares['ig_tokens']:.2f} |")
    names = [tf.split("_")[0] for tf in results]
    yields = ["| attributions, sequences, threshold | " + " | ".join(f"{n}: seqlets / in motifs / motifs / own rank" for n in names) + " |",
              "|---|" + "---|" * len(names)]
    for i, row in enumerate(next(iter(results.values()))["modisco"] if results else []):
        cells = []
        for tf, m in results.items():
            r = m["modisco"][i]
            cells.append(f"{r['positive']} / {r['kept']} / {r['motifs']} / {r['own_rank_in_top_motif'] or '-'}")
        label = row["variant"].replace(f", {row['sequences']} peaks", ", N peaks") if len(results) > 1 else row["variant"]
        sizes = "/".join(str(m["modisco"][i]["sequences"]) for m in results.values())
        yields.append(f"| {label.replace('N peaks', sizes + ' peaks')} | " + " | ".join(cells) + " |")
    tops = ["| TF | lever | top motif (seqlets) | best JASPAR match | TF's own motif: rank in the top motif / best rank in any motif |", "|---|---|---|---|---|"]
    for tf, m in results.items():
        for r in m["modisco"]:
            tops.append(f"| {tf.split('_')[0]} | {r['variant']} | {r['top_consensus'] or '-'} ({r['top_seqlets']}) | {r['top_motif'] or '-'} | "
                        f"{r['own_rank_in_top_motif'] or '-'} / {r['own_best_rank_any_motif'] or '-'} |")
    text = "\n".join(rows) + "\n\n" + "\n".join(yields) + "\n\n" + "\n".join(tops)
    print(text)
    return text


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, metavar="path/to/tfs", help="folder with <TF>_AC.seq.gz and <TF>_B.seq.gz (DeepBind's ENCODE sets)")
    p.add_argument("--work_dir", default="runs/explain_tfs", help="where data, models and reports go")
    p.add_argument("--tfs", nargs="*", default=list(TFS), help="which TFs")
    p.add_argument("--train_peaks", type=int, default=4000, help="training peaks subsampled per TF")
    p.add_argument("--epochs", type=float, default=3, help="fine-tuning epochs")
    p.add_argument("--max_steps", type=int, default=-1, help="cap on fine-tuning steps (-1: the epochs decide)")
    p.add_argument("--max_sequences", type=int, default=100, help="test peaks explained per TF (the first N)")
    p.add_argument("--methods", default="ism", help="genebert-explain --methods")
    p.add_argument("--stages", nargs="*", default=["prepare", "finetune", "baseline", "explain", "table"],
                   help="stages to run (also: measure; discover: IG motif discovery on --n_peaks peaks; figures: the "
                        "results page's logos from measure's arrays)")
    p.add_argument("--seed", type=int, default=42, help="seed")
    p.add_argument("--n_peaks", type=int, default=2000, help="discover: bound peaks explained (test peaks, then held-out ones)")
    p.add_argument("--n_ism", type=int, default=100, help="measure: test peaks given ISM (forward strand), IG-ISM agreement on these")
    p.add_argument("--n_ig", type=int, default=500, help="measure: test peaks given per-base IG (forward and reverse strand)")
    p.add_argument("--n_extra", type=int, default=500, help="measure: held-out training-set peaks given IG (more sequences)")
    p.add_argument("--ig_steps", type=int, default=16, help="measure: IG Gauss-Legendre steps")
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
        if "discover" in a.stages:
            print(json.dumps(discover(data, work, tf, a.train_peaks, a.seed, a.n_peaks)), flush=True)
        if "measure" in a.stages:
            measure(data, work, tf, a.train_peaks, a.seed, a.n_ism, a.n_ig, a.n_extra, a.ig_steps,
                    log=lambda *x: print(*x, flush=True))
        if "figures" in a.stages:
            figures(work, tf, Path(__file__).resolve().parents[1] / "docs" / "explain", a.n_ism)
    if "table" in a.stages:
        table(work, Path(__file__).resolve().parents[1] / "docs" / "explain")
    if "measure" in a.stages:
        measure_tables(work)


if __name__ == "__main__":
    sys.exit(main())
