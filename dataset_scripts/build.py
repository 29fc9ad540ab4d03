"""Command line: build GeneBERT pre-training and fine-tuning datasets.

    python -m dataset_scripts.build pretraining --output DIR [options]
    python -m dataset_scripts.build finetuning --output DIR --task T --train F [options]

``main_pretraining`` / ``main_finetuning`` are the entry points meant for the console
scripts ``genebert-build-pretraining`` / ``genebert-build-finetuning``. Every option is
documented in ``--help``.
"""

from __future__ import annotations

import argparse
import json
import sys


def _csv_list(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def pretraining_parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Build the GeneBERT pre-training dataset (samples of consecutive accessible regions of one "
            "cell type: per-region sequences + a regions x TFs motif-score matrix) as sharded Parquet with "
            "a dataset card. With no region source, builds the default from the embedded ENCODE DHS "
            "mini-atlas (K562, HepG2; no downloads)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--output", "-o", required=True, help="output directory (appears atomically when the build ends)")
    src = p.add_argument_group("region source (at most one; none = the embedded mini-atlas)")
    src.add_argument("--dhs-table", help="a DNA-Diffusion / ENCODE DHS table (.txt.gz) with sequences and 0/1 cell-type columns")
    src.add_argument("--sequence-table", help="a TSV/CSV with chrom, start, end, [summit], sequence and per-cell-type columns")
    src.add_argument("--cell-type-columns", type=_csv_list, help="comma-separated cell-type columns of --sequence-table (default: the 0/1 columns)")
    src.add_argument("--split-column", help="column of --sequence-table naming each row's split (train/validation/test)")
    src.add_argument("--peaks", nargs="+", metavar="[CELLTYPE=]FILE", help="BED / narrowPeak files, one per cell type (cell type = file name up to the first dot unless CELLTYPE= is given); needs --genome")
    src.add_argument("--region-table", help="a regions x cell-types table (chrom/start/end or region column + one numeric column per cell type); needs --genome")
    src.add_argument("--h5ad", help="an AnnData .h5ad of cells x peaks with a cell-type column in obs (pseudo-bulked per cell type); needs --genome")
    src.add_argument("--cell-type-key", default="cell_type", help="obs column of --h5ad holding the cell type")
    src.add_argument("--threshold", type=float, default=0.0, help="accessible when value (or pseudo-bulk sum) > threshold (--region-table, --h5ad, --sequence-table)")
    src.add_argument("--genome", help="genome FASTA (plain or bgzip) for sources without sequences")
    src.add_argument("--cell-types", type=_csv_list, help="comma-separated cell types to keep (each must exist and have regions)")
    mot = p.add_argument_group("motifs")
    mot.add_argument("--motifs", default=None, help="a JASPAR release (JASPAR2014..JASPAR2026, shipped by pyjaspar) or a motif file (JASPAR / MEME / TRANSFAC / PFM); default JASPAR2018")
    mot.add_argument("--motif-format", default=None, help="Bio.motifs format of a --motifs file (jaspar, minimal, meme, transfac, pfm); default: from the extension")
    mot.add_argument("--collection", default="CORE", help="JASPAR collection")
    mot.add_argument("--tax-group", default="vertebrates", help="JASPAR taxonomic group(s), comma-separated")
    mot.add_argument("--all-versions", action="store_true", help="keep every version of each JASPAR matrix (default: latest only)")
    mot.add_argument("--pseudocounts", default="jaspar", help="'jaspar' (sqrt(sites) x background per letter) or a number added to each count")
    mot.add_argument("--background-gc", type=float, default=None, help="background GC fraction (default: uniform 0.25 per base)")
    mot.add_argument("--aggregation", default="max", choices=["max", "mean", "logsumexp", "count"], help="per region and TF: max log-odds (paper), mean, log2-sum-of-odds, or count of windows above 80%% of the score range")
    mot.add_argument("--forward-strand-only", action="store_true", help="scan the forward strand only (default: both strands)")
    mot.add_argument("--device", default="cpu", help="torch device for motif scanning (cpu, cuda, ...)")
    s = p.add_argument_group("samples and output")
    s.add_argument("--regions-per-sample", type=int, default=10, help="R: consecutive regions per sample (paper: 10)")
    s.add_argument("--bases-per-region", type=int, default=50, help="bases stored per region, centred on the summit (else centre)")
    s.add_argument("--validation-chroms", type=_csv_list, default=None, help="comma-separated validation chromosomes (default: the source's split labels, else chr2)")
    s.add_argument("--test-chroms", type=_csv_list, default=None, help="comma-separated test chromosomes (default: none, or the source's labels)")
    s.add_argument("--matrix-dtype", default="float32", choices=["float32", "float16"], help="storage dtype of the region matrices")
    s.add_argument("--seed", type=int, default=0, help="seed for choosing next-segment negatives")
    s.add_argument("--negative-pool-size", type=int, default=256, help="samples scanned and paired per block (memory bound)")
    s.add_argument("--samples-per-shard", type=int, default=2000, help="rows per Parquet shard")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output directory (atomically)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main_pretraining(argv=None) -> int:
    """Console entry point of ``genebert-build-pretraining``."""
    args = pretraining_parser("genebert-build-pretraining").parse_args(argv)
    from .pretraining import build_default_pretraining_dataset, build_pretraining_dataset

    opts = dict(
        cell_types=args.cell_types,
        regions_per_sample=args.regions_per_sample,
        bases_per_region=args.bases_per_region,
        validation_chroms=args.validation_chroms,
        test_chroms=args.test_chroms,
        aggregation=args.aggregation,
        both_strands=not args.forward_strand_only,
        matrix_dtype=args.matrix_dtype,
        seed=args.seed,
        negative_pool_size=args.negative_pool_size,
        samples_per_shard=args.samples_per_shard,
        device=args.device,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        motifs=args.motifs,
    )
    try:
        pc = float(args.pseudocounts)
    except ValueError:
        pc = args.pseudocounts
    mo = {"pseudocounts": pc, "background": args.background_gc}
    if args.motifs is not None and not str(args.motifs).upper().startswith("JASPAR"):
        mo["fmt"] = args.motif_format
    else:
        mo.update(collection=args.collection, tax_group=_csv_list(args.tax_group), all_versions=args.all_versions)
    opts["motif_options"] = mo
    sources = [args.dhs_table, args.sequence_table, args.peaks, args.region_table, args.h5ad]
    if sum(x is not None for x in sources) > 1:
        print("error: give at most one of --dhs-table, --sequence-table, --peaks, --region-table, --h5ad", file=sys.stderr)
        return 2
    if args.dhs_table:
        info = build_pretraining_dataset(args.output, dhs_table=args.dhs_table, **opts)
    elif args.sequence_table:
        st = {"cell_type_columns": args.cell_type_columns, "split_column": args.split_column, "threshold": args.threshold}
        info = build_pretraining_dataset(args.output, sequence_table=args.sequence_table, sequence_table_options=st, **opts)
    elif args.peaks:
        peaks = {}
        for item in args.peaks:
            if "=" in item:
                ct, path = item.split("=", 1)
            else:
                import os

                path, ct = item, os.path.basename(item).split(".")[0]
            peaks[ct] = path
        info = build_pretraining_dataset(args.output, peaks=peaks, genome=args.genome, **opts)
    elif args.region_table:
        info = build_pretraining_dataset(args.output, region_table=args.region_table, threshold=args.threshold, genome=args.genome, **opts)
    elif args.h5ad:
        info = build_pretraining_dataset(
            args.output, h5ad=args.h5ad, cell_type_key=args.cell_type_key, threshold=args.threshold, genome=args.genome, **opts
        )
    else:
        info = build_default_pretraining_dataset(args.output, **opts)
    print(json.dumps({k: info[k] for k in ("output_dir", "num_tfs", "num_samples", "num_samples_per_cell_type", "seconds")}, indent=1))
    return 0


def finetuning_parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Build a GeneBERT fine-tuning dataset (columns: sequence, label as ClassLabel) and save it with "
            "datasets' save_to_disk plus label_mapping.json. Tasks: promoter / generic / splice from "
            "CSV/TSV/FASTA files; tfbs from positives with dinucleotide-shuffled negatives; splice from a "
            "genome FASTA + annotated sites (--genome, --sites)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--output", "-o", required=True, help="output directory (datasets save_to_disk format)")
    p.add_argument("--task", default="generic", choices=["promoter", "tfbs", "splice", "generic"], help="task; sets default class names")
    p.add_argument("--train", help="train split: CSV/TSV (sequence,label) or FASTA with labels in the headers (for tfbs: the positives)")
    p.add_argument("--validation", help="validation split file (same formats)")
    p.add_argument("--test", help="test split file (same formats)")
    p.add_argument("--sequence-column", default="sequence", help="sequence column of CSV/TSV inputs")
    p.add_argument("--label-column", default="label", help="label column of CSV/TSV inputs (tfbs: rows labelled 1 are the positives when the column exists)")
    p.add_argument("--label-names", type=_csv_list, default=None, help="comma-separated class names in class-id order (default: the task's names or the raw labels)")
    p.add_argument("--seed", type=int, default=0, help="tfbs: seed of the dinucleotide shuffles")
    p.add_argument("--negatives-per-positive", type=int, default=1, help="tfbs: shuffled negatives per positive")
    p.add_argument("--genome", help="splice from genome: the genome FASTA")
    p.add_argument("--sites", help="splice from genome: TSV of chrom, position (0-based), strand, label (neither/acceptor/donor)")
    p.add_argument("--context", type=int, default=400, help="splice from genome: nucleotides of context around the site (80, 256, 400, 2000)")
    p.add_argument("--validation-chroms", type=_csv_list, default=["chr2"], help="splice from genome: validation chromosomes")
    p.add_argument("--test-chroms", type=_csv_list, default=[], help="splice from genome: test chromosomes")
    return p


def main_finetuning(argv=None) -> int:
    """Console entry point of ``genebert-build-finetuning``."""
    args = finetuning_parser("genebert-build-finetuning").parse_args(argv)
    from .downstream import (
        build_sequence_classification_dataset,
        build_splice_dataset,
        build_tfbs_dataset,
        save_downstream_dataset,
    )

    files = {s: getattr(args, s) for s in ("train", "validation", "test") if getattr(args, s)}
    if args.task == "splice" and args.genome:
        if not args.sites:
            print("error: --genome needs --sites", file=sys.stderr)
            return 2
        ds = build_splice_dataset(args.genome, args.sites, args.context, args.validation_chroms, args.test_chroms)
    elif not files:
        print("error: give at least --train (or --genome and --sites for splice)", file=sys.stderr)
        return 2
    elif args.task == "tfbs":
        from .readers import open_text

        with open_text(next(iter(files.values()))) as fh:
            has_label = args.label_column in fh.readline()
        ds = build_tfbs_dataset(
            files, seed=args.seed, negatives_per_positive=args.negatives_per_positive,
            sequence_column=args.sequence_column, label_column=args.label_column if has_label else None,
        )
    else:
        ds = build_sequence_classification_dataset(
            files, task=args.task, label_names=args.label_names,
            sequence_column=args.sequence_column, label_column=args.label_column,
        )
    save_downstream_dataset(ds, args.output)
    print(json.dumps({"output": args.output, "splits": {k: len(v) for k, v in ds.items()}, "label_names": ds[next(iter(ds))].features["label"].names}))
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in ("pretraining", "finetuning"):
        print(
            "usage: python -m dataset_scripts.build {pretraining,finetuning} [options]\n"
            "  pretraining  build the pre-training dataset (see: ... pretraining --help)\n"
            "  finetuning   build a fine-tuning dataset (see: ... finetuning --help)"
        )
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return main_pretraining(argv[1:]) if argv[0] == "pretraining" else main_finetuning(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
