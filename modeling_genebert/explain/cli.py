"""``genebert-explain``: attributions, attention, motifs and region-side TF attributions for a classifier.

    genebert-explain --model_name_or_path runs/tfbs --input peaks.fa --output_dir report/

Writes to ``--output_dir``: ``report.html`` / ``report.md`` (title: model, class, input; a legend of the
scores; true labels and the model's quality where the input has a label column), ``sequences.tsv`` (scores), ``ism_delta.npy`` ``(N, L, 4)``,
``ism_contributions.npy`` / ``ig_attributions.npy`` ``(N, L)`` (``.npz`` of per-sequence arrays when
lengths differ), ``motifs.csv`` / ``motifs.json``, ``tf_attributions.csv`` (region models),
``attention.npy`` (with ``--attention``), PNGs, and ``report.html`` with every picture embedded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dataset_scripts.cli import HelpFormatter, UsageError, console_script
from dataset_scripts.output_folders import OutputFolder
from dataset_scripts.sequence_input import read_sequences
from modeling_genebert.precision import PRECISION_HELP, PRECISIONS, inference_precision

from . import plots
from .attention import attention_maps
from .agreement import top_window_overlap
from .integrated_gradients import integrated_gradients
from .ism import ism_contributions, saturation_mutagenesis
from .loading import check_sequences, load_classifier, one_hot
from .motifs import discover_motifs, jaspar_ppms, motif_table
from .quality import quality, read_labels
from .region import tf_attributions
from .report import legend_section, report_title, write_report
from .tokens import class_score

METHODS = ("ism", "ig")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="genebert-explain", description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument("--model_name_or_path", required=True, help="a genebert-finetune output folder (sequence classifier)")
    p.add_argument("--input", required=True, help="sequences: FASTA (.fa/.fasta, gz ok), CSV/TSV with a 'sequence' column, or one per line")
    p.add_argument("--output_dir", required=True, help="folder for the arrays, tables, PNGs and report.html")
    p.add_argument("--class_name", default=None, help="class to explain, by name or id (default: the last class, e.g. 'bound')")
    p.add_argument("--methods", default="ism,ig", help="comma-separated attribution methods: ism (saturation mutagenesis), ig (Integrated Gradients)")
    p.add_argument("--strands", default="both", choices=("both", "forward"), help="ISM and IG: mean of both strands, or the forward strand only")
    p.add_argument("--ig_steps", type=int, default=50, help="Integrated Gradients interpolation steps")
    p.add_argument("--ig_path", default="bases", choices=("bases", "tokens"), help="IG per base on a one-hot path (signed, local), or over k-mer token embeddings summed to bases (the older, smeared form)")
    p.add_argument("--label_column", default="label", help="column of a CSV/TSV input with each sequence's true class (name or id); when present the report shows the model's quality on these sequences")
    p.add_argument("--attribute_label", default=None, help="attribute only the sequences whose true label is this class (e.g. bound); quality is still measured on all")
    p.add_argument("--batch_size", type=int, default=256, help="mutants per forward pass (ISM); IG uses batch_size/8 sequences")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help=PRECISION_HELP + " (predictions and ISM; Integrated Gradients always run in fp32)")
    p.add_argument("--max_sequences", type=int, default=0, help="explain only the first N sequences (0: all)")
    p.add_argument("--sequence_column", default="sequence", help="sequence column of a CSV/TSV input")
    p.add_argument("--logos", type=int, default=5, help="per-sequence attribution logos to draw")
    p.add_argument("--motifs", default="ism", choices=("ism", "ig", "none"), help="attributions TF-MoDISco clusters into motifs (both give hypothetical contributions), or none")
    p.add_argument("--motif_input", default="hypothetical", choices=("hypothetical", "contributions"), help="what TF-MoDISco's hypothetical track gets: the centred per-base deltas (hypothetical), or only the observed bases' contributions")
    p.add_argument("--seqlet_fdr", type=float, default=0.05, help="TF-MoDISco's target FDR for calling seqlets (0.2 is modisco-lite's own default; higher finds more in few sequences)")
    p.add_argument("--sliding_window_size", type=int, default=21, help="TF-MoDISco's seqlet-calling window in bases (modisco-lite's default 21)")
    p.add_argument("--flank_size", type=int, default=10, help="bases added on each side of a seqlet (modisco-lite's default 10)")
    p.add_argument("--trim_threshold", type=float, default=0.3, help="trim each motif's flanks where its contribution falls below this share of its peak before Tomtom (lower keeps flanks that tell family members apart)")
    p.add_argument("--top_matches", type=int, default=5, help="JASPAR matches listed per discovered motif, best Tomtom p-value first (default 5)")
    p.add_argument("--min_cluster_size", type=int, default=10, help="fewest seqlets a motif may have (TF-MoDISco's final_min_cluster_size; metaclusters need twice that)")
    p.add_argument("--jaspar", default=None, help="motif set Tomtom names motifs from (default JASPAR 2018 CORE vertebrates, shipped)")
    p.add_argument("--attention", action="store_true", help="also write attention maps (per layer and head, in bases) of the first sequence")
    p.add_argument("--region_baseline", default="shuffle", choices=("shuffle", "zeros"), help="IG baseline of the region matrix (region-input models)")
    p.add_argument("--seed", type=int, default=0, help="seed (dinucleotide shuffles of the region baseline)")
    p.add_argument("--no_progress", action="store_true", help="hide progress bars")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --output_dir (without it such a folder is refused)")
    return p.parse_args(argv)


def _save(path: Path, arrays) -> str:
    if isinstance(arrays, np.ndarray):
        np.save(path.with_suffix(".npy"), arrays)
        return path.with_suffix(".npy").name
    np.savez(path.with_suffix(".npz"), *arrays)
    return path.with_suffix(".npz").name


def _padded(arrays, length: int, channels: int | None = None) -> np.ndarray:
    shape = (len(arrays), length) + ((channels,) if channels else ())
    out = np.zeros(shape, dtype=np.float32)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def run(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise UsageError(f"--methods {args.methods!r}: choose from {', '.join(METHODS)}")
    if args.motifs != "none" and args.motifs not in methods:
        raise UsageError(f"--motifs {args.motifs} needs that method in --methods {args.methods!r}")
    for name in ("sliding_window_size", "flank_size", "min_cluster_size", "top_matches"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name} must be at least 1, got {getattr(args, name)}")
    output = OutputFolder(args.output_dir, "genebert-explain", overwrite=args.overwrite)
    explained = load_classifier(args.model_name_or_path)  # the model is checked before the input is read
    names, sequences, _ = read_sequences(args.input, args.sequence_column, alphabet="ACGTN")
    target = explained.class_index(args.class_name)
    class_name = explained.label_names[target]
    labels = read_labels(args.input, args.label_column, explained.label_names)
    if labels is not None and len(labels) != len(sequences):
        raise UsageError(f"{args.input}: {len(labels)} {args.label_column!r} values for {len(sequences)} sequences")
    if labels is None and args.attribute_label is not None:
        raise UsageError(f"--attribute_label needs a {args.label_column!r} column in --input (see --label_column)")
    keep = np.arange(len(sequences))
    if args.attribute_label is not None:
        wanted = explained.class_index(args.attribute_label)
        keep = keep[np.asarray(labels) == wanted]
        if not len(keep):
            raise UsageError(f"no sequence of {args.input} has {args.label_column} {args.attribute_label!r}")
    if args.max_sequences > 0:
        keep = keep[: args.max_sequences]
    scored = np.arange(len(sequences)) if labels is not None else keep  # quality needs every labelled sequence
    all_names = [names[i] for i in scored]
    all_sequences = check_sequences([sequences[i] for i in scored], explained.window, all_names)
    position = {j: i for i, j in enumerate(scored)}
    names = [all_names[position[j]] for j in keep]
    sequences = [all_sequences[position[j]] for j in keep]
    out = output.start()
    progress = not args.no_progress

    # scores
    scores, probabilities = [], []
    with torch.no_grad(), inference_precision(args.precision, explained.model.device):
        for a in range(0, len(all_sequences), 64):
            chunk = all_sequences[a:a + 64]
            enc = explained.tokenizer(chunk, padding=True, return_tensors="pt")
            region = explained.region_matrix(chunk)
            logits = explained.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], region_matrix=region).logits
            scores.append(np.stack([class_score(logits, target).numpy(), logits.float().softmax(-1)[:, target].numpy()], 1))
            probabilities.append(logits.float().softmax(-1).numpy())
    all_scores, probabilities = np.concatenate(scores), np.concatenate(probabilities)
    rows = [position[j] for j in keep]
    scores = all_scores[rows]
    table = pd.DataFrame({"name": names, "length": [len(s) for s in sequences], f"log_odds_{class_name}": scores[:, 0],
                          f"p_{class_name}": scores[:, 1],
                          "predicted": [explained.label_names[c] for c in probabilities[rows].argmax(-1)]})
    if labels is not None:
        table.insert(2, "true_label", [explained.label_names[labels[j]] for j in keep])
    table.to_csv(out / "sequences.tsv", sep="\t", index=False)
    title = report_title(args.model_name_or_path, class_name, args.input)
    summary = {"title": title, "model": str(args.model_name_or_path), "class": class_name, "input": str(args.input),
               "sequences": len(sequences), "files": {}}
    legend_keys = [m for m in methods] + ["logos"] + (["motifs"] if args.motifs != "none" else [])
    if labels is not None:
        legend_keys.append("quality")
    sections = [legend_section(legend_keys),
                ("Model and input", f"Model {args.model_name_or_path}; class '{class_name}' (of {', '.join(explained.label_names)}); "
                                    f"input {args.input}: {len(all_sequences)} sequences, {len(sequences)} explained "
                                    f"(mean p({class_name}) = {scores[:, 1].mean():.3f}).")]
    if labels is not None:
        metrics, counts = quality([labels[j] for j in scored], probabilities, explained.label_names)
        summary["quality"] = metrics
        sections.append((f"Model quality on these {metrics['sequences']} sequences (true labels from column '{args.label_column}')",
                         pd.DataFrame([{k: v for k, v in metrics.items()}])))
        sections.append(("True and predicted labels per class", counts))
    else:
        sections.append(("Model quality", f"No true labels in the input (no '{args.label_column}' column): add one to a "
                                          "CSV/TSV input to see the model's accuracy, ROC-AUC and MCC on these sequences."))
    contributions, hypothetical = {}, None
    logo_count = min(args.logos, len(sequences))
    order = np.argsort(-scores[:, 0])[:logo_count]  # logos of the most confident sequences

    if "ism" in methods:
        with inference_precision(args.precision, explained.model.device):
            delta = saturation_mutagenesis(explained, sequences, target, args.strands, args.batch_size, progress)
        pairs = [ism_contributions(d, s) for d, s in zip(delta, sequences)]
        contributions["ism"] = [c for c, _ in pairs]
        hypothetical = [h for _, h in pairs]
        summary["files"]["ism_delta"] = _save(out / "ism_delta", delta)
        summary["files"]["ism_contributions"] = _save(
            out / "ism_contributions", np.stack(contributions["ism"]) if isinstance(delta, np.ndarray) else contributions["ism"])
    ig_hypothetical = None
    if "ig" in methods:
        ig = integrated_gradients(explained, sequences, target, args.ig_steps, max(1, args.batch_size // 8), progress=progress,
                                  path=args.ig_path, strands=args.strands if args.ig_path == "bases" else "forward")
        contributions["ig"] = list(ig.bases)
        ig_hypothetical = ig.hypothetical
        summary["files"]["ig_attributions"] = _save(out / "ig_attributions", ig.bases)
        if ig.hypothetical is not None:
            summary["files"]["ig_hypothetical"] = _save(out / "ig_hypothetical", ig.hypothetical)
        summary["ig_path"] = args.ig_path
        summary["ig_max_abs_convergence_delta"] = float(np.abs(ig.delta).max())
    if "ism" in contributions and "ig" in contributions:
        agreement = top_window_overlap(contributions["ig"], contributions["ism"], width=10)
        summary["ig_ism_agreement"] = agreement
        sections.append(("Do IG and ISM point at the same bases?",
                         f"In {agreement['overlap_share']:.0%} of the {agreement['sequences']} sequences the 10-base window with the "
                         f"highest IG overlaps the one with the highest ISM (chance: {agreement['chance_overlap']:.0%}); "
                         f"median per-sequence Pearson r between the two = {agreement['median_pearson_r']:.2f}."))
    for method, values in contributions.items():
        paths = [plots.attribution_logo(values[i], sequences[i], out / f"logo_{method}_{j}.png",
                                        f"{names[i]} (p = {scores[i, 1]:.2f}) - {method.upper()} attribution to '{class_name}'",
                                        ylabel="log-odds")
                 for j, i in enumerate(order)]
        sections.append((f"{method.upper()} attribution logos (most confident sequences)", paths))

    if args.attention:
        maps = attention_maps(explained, sequences[0])
        np.save(out / "attention.npy", maps.bases)
        summary["files"]["attention"] = "attention.npy"
        sections.append((f"Attention of {names[0]} (per layer and head, bases)",
                         plots.attention_heatmaps(maps.bases, out / "attention.png", f"{names[0]}: attention between bases")))

    if args.motifs != "none":
        length = max(len(s) for s in sequences)
        oh = _padded([one_hot(s) for s in sequences], length, 4)
        if args.motifs == "ism":
            hyp = _padded(hypothetical, length, 4)
        elif ig_hypothetical is not None:
            hyp = _padded(list(ig_hypothetical), length, 4)
        else:
            hyp = oh * _padded(contributions["ig"], length)[..., None]
        if args.motif_input == "contributions":
            hyp = oh * (oh * hyp).sum(-1, keepdims=True)  # the observed base's contribution only
        found, seqlets = discover_motifs(oh, hyp, args.jaspar, target_seqlet_fdr=args.seqlet_fdr,
                                         sliding_window_size=args.sliding_window_size, flank_size=args.flank_size,
                                         top_matches=args.top_matches, trim_threshold=args.trim_threshold,
                                         min_metacluster_size=2 * args.min_cluster_size,
                                         final_min_cluster_size=args.min_cluster_size, verbose=False, return_yield=True)
        summary["seqlet_yield"] = seqlets
        sections.append(("Seqlet yield (TF-MoDISco)",
                         f"{seqlets['positive']} seqlets raise '{class_name}' and {seqlets['negative']} lower it in {seqlets['sequences']} "
                         f"sequences ({args.motifs.upper()} {args.motif_input}, seqlet FDR {args.seqlet_fdr}, window "
                         f"{args.sliding_window_size}); {seqlets['kept']} of them are in the {seqlets['motifs']} motif(s) below "
                         f"(a motif needs at least {args.min_cluster_size} seqlets)."))
        mtable = motif_table(found)
        mtable.to_csv(out / "motifs.csv", index=False)
        (out / "motifs.json").write_text(json.dumps(
            [{**row, "matches": m.matches.to_dict(orient="records")} for row, m in zip(mtable.to_dict(orient="records"), found)],
            indent=1, default=float))
        summary["motifs"] = mtable.to_dict(orient="records")
        ids, jnames, ppms = jaspar_ppms(args.jaspar)
        paths = []
        for m in found:
            best = m.best
            j = ids.index(best["match_id"]) if best else None
            jaspar_title = f"JASPAR {best['match_name']} {best['match_id']} (q={best['q_value']:.2g})" if best else ""
            paths.append(plots.motif_logo_pair(m, ppms[j].T if j is not None else None, out / f"{m.name}.png", jaspar_title))
        sections.append(("Discovered motifs (TF-MoDISco) and their Tomtom matches in JASPAR 2018",
                         mtable if len(mtable) else "TF-MoDISco found no motif in these attributions (too few sequences or no consistent signal)."))
        if paths:
            sections.append(("Motif logos: discovered (CWM, PPM) beside the matched JASPAR motif", paths))

    if explained.model.config.classifier_region_fusion:
        tf_table, _ = tf_attributions(explained, sequences, target, args.region_baseline, seed=args.seed, progress=progress)
        tf_table.to_csv(out / "tf_attributions.csv", index=False)
        summary["files"]["tf_attributions"] = "tf_attributions.csv"
        summary["top_tfs"] = tf_table.head(10)[["tf", "motif_id", "attribution"]].to_dict(orient="records")
        sections.append(("Region side: TF attributions (IG over the region matrix)", plots.tf_bar_chart(tf_table, out / "tf_attributions.png")))
        sections.append(("Top TFs", tf_table.head(20)))

    sections.append(("Sequences", table.head(200)))
    summary["report"] = write_report(out / "report.html", title, sections)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    output.finish()
    print(f"wrote {out / 'report.html'}")
    return summary


main = console_script(run, "genebert-explain")

if __name__ == "__main__":
    raise SystemExit(main())
