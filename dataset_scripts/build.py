"""Command line: build GeneBERT pre-training and fine-tuning datasets.

    python -m dataset_scripts.build pretraining --output DIR [options]
    python -m dataset_scripts.build finetuning --output DIR --task T --train F [options]

``main_pretraining`` / ``main_finetuning`` are the entry points of the console scripts
``genebert-build-pretraining`` / ``genebert-build-finetuning``. Every option is
documented in ``--help`` and spelled ``--snake_case``; the older ``--dashed-spelling`` of
each is accepted as an alias. Bad input ends with ``error: <message>`` on stderr and exit
status 2 (``GENEBERT_DEBUG=1`` shows the traceback), see :mod:`.cli`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .cli import UsageError, console_script
from .output_folders import OutputFolder, check_output_folder
from .finetuning_data import save_downstream_dataset
from .pretraining_build import build_default_pretraining_dataset, build_pretraining_dataset
from .region_sources import AnnDataPseudobulk, DhsTable, PeakFiles, RegionSource, RegionTable, SequenceTable
from .tasks import ReadOptions, get_task, list_tasks


def _csv_list(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def _option(parser, name: str, *short: str, **kwargs) -> None:
    """Add ``--name`` (snake_case, shown first in --help) and its dashed alias ``--na-me``."""
    flags = [f"--{name}", *([f"--{name.replace('_', '-')}"] if "_" in name else []), *short]
    parser.add_argument(*flags, **kwargs)


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
    _option(p, "output", "-o", required=True, help="output directory (appears atomically when the build ends)")
    src = p.add_argument_group("region source (at most one; none = the embedded mini-atlas)")
    _option(src, "dhs_table", nargs="+", metavar="TABLE",
            help="DNA-Diffusion / ENCODE DHS table(s) (.txt.gz) with sequences and 0/1 cell-type columns; "
                 "several (e.g. the K562 and the HepG2 table) are merged per cell type")
    _option(src, "sequence_table", help="a TSV/CSV with chrom, start, end, [summit], sequence and per-cell-type columns")
    _option(src, "cell_type_columns", type=_csv_list, help="comma-separated cell-type columns of --sequence_table (default: the 0/1 columns)")
    _option(src, "split_column", help="column of --sequence_table naming each row's split (train/validation/test)")
    _option(src, "peaks", nargs="+", metavar="[CELLTYPE=]FILE", help="BED / narrowPeak files, one per cell type (cell type = file name up to the first dot unless CELLTYPE= is given); needs --genome")
    _option(src, "region_table", help="a regions x cell-types table (chrom/start/end or region column + one numeric column per cell type); needs --genome")
    _option(src, "h5ad", help="an AnnData .h5ad of cells x peaks with a cell-type column in obs (pseudo-bulked per cell type); needs --genome")
    _option(src, "cell_type_key", default="cell_type", help="obs column of --h5ad holding the cell type")
    _option(src, "threshold", type=float, default=0.0, help="accessible when value (or pseudo-bulk sum) > threshold (--region_table, --h5ad, --sequence_table)")
    _option(src, "genome", help="genome FASTA (plain or bgzip) for sources without sequences")
    _option(src, "genome_windows", metavar="FASTA", nargs="+",
            help="also tile these FASTA files (plain or .gz; distinct record names) into consecutive bases_per_region "
                 "windows, added as the pseudo cell type 'genome' beside the region source (or the mini-atlas); they go to train")
    _option(src, "cell_types", type=_csv_list, help="comma-separated cell types to keep (each must exist and have regions)")
    _option(src, "exclude_overlap_with", nargs="+", metavar="PATH",
            help="benchmark sequence files (CSV/TSV with a 'sequence' column, FASTA, or one sequence per line; plain or "
                 ".gz): drop every region window sharing an exact --overlap_k-mer with one of their sequences on either "
                 "strand; the counts go to build_info.json and the dataset card")
    _option(src, "overlap_k", type=int, default=32, help="k-mer length of the --exclude_overlap_with filter (1-32)")
    mot = p.add_argument_group("motifs")
    _option(mot, "motifs", default=None, help="a JASPAR release (JASPAR2014..JASPAR2026, shipped by pyjaspar) or a motif file (JASPAR / MEME / TRANSFAC / PFM); default JASPAR2018")
    _option(mot, "motif_format", default=None, help="Bio.motifs format of a --motifs file (jaspar, minimal, meme, transfac, pfm); default: from the extension")
    _option(mot, "collection", default="CORE", help="JASPAR collection")
    _option(mot, "tax_group", default="vertebrates", help="JASPAR taxonomic group(s), comma-separated")
    _option(mot, "all_versions", action="store_true", help="keep every version of each JASPAR matrix (default: latest only)")
    _option(mot, "pseudocounts", default="jaspar", help="'jaspar' (sqrt(sites) x background per letter) or a number added to each count")
    _option(mot, "background_gc", type=float, default=None, help="background GC fraction (default: uniform 0.25 per base)")
    _option(mot, "aggregation", default="max", choices=["max", "mean", "logsumexp", "count"], help="per region and TF: max log-odds (paper), mean, log2-sum-of-odds, or count of windows above 80%% of the score range")
    _option(mot, "forward_strand_only", action="store_true", help="scan the forward strand only (default: both strands)")
    _option(mot, "device", default="cpu", help="torch device for motif scanning (cpu, cuda, ...)")
    _option(mot, "num_proc", type=int, default=os.cpu_count() or 1,
            help="processes scanning motifs on the CPU (default: every core); the output is byte-identical to 1")
    out = p.add_argument_group("samples and output")
    _option(out, "regions_per_sample", type=int, default=10, help="R: consecutive regions per sample (paper: 10)")
    _option(out, "bases_per_region", type=int, default=50, help="bases stored per region, centred on the summit (else centre)")
    _option(out, "validation_chroms", type=_csv_list, default=None, help="comma-separated validation chromosomes (default: the source's split labels, else chr2)")
    _option(out, "test_chroms", type=_csv_list, default=None, help="comma-separated test chromosomes (default: none, or the source's labels)")
    _option(out, "matrix_dtype", default="float32", choices=["float32", "float16"], help="storage dtype of the region matrices")
    _option(out, "seed", type=int, default=0, help="seed for choosing next-segment negatives")
    _option(out, "negative_pool_size", type=int, default=256, help="samples scanned and paired per block (memory bound)")
    _option(out, "ngsp_pairing", default="next_regions", choices=["next_regions", "contiguous"],
            help="NGSP pairs: next_regions (default) = B is the next accessible regions; contiguous = left / right "
                 "halves of each window, B follows A in the genome (dataset schema 2)")
    _option(out, "ngsp_negatives", default="other_sample", choices=["other_sample", "shuffled"],
            help="contiguous pairing's \"not next\" B: other_sample (default) = another sample's right halves; "
                 "shuffled = a dinucleotide shuffle of the sample's own right halves (composition-matched; learnable)")
    _option(out, "samples_per_shard", type=int, default=2000, help="rows per Parquet shard")
    _option(out, "overwrite", action="store_true", help="replace an existing output directory (atomically)")
    _option(out, "no_progress", action="store_true", help="no progress bar")
    return p


def _peak_files(items: list[str]) -> dict[str, str]:
    """``[CELLTYPE=]FILE`` items -> ``{cell_type: path}`` (cell type = file name up to the first dot)."""
    peaks = {}
    for item in items:
        if "=" in item:
            cell_type, path = item.split("=", 1)
        else:
            path, cell_type = item, os.path.basename(item).split(".")[0]
        peaks[cell_type] = path
    return peaks


def _region_source(args) -> RegionSource | None:
    """The region source the options name; None for the embedded mini-atlas."""
    given = [name for name in ("dhs_table", "sequence_table", "peaks", "region_table", "h5ad") if getattr(args, name) is not None]
    if len(given) > 1:
        raise UsageError("give at most one of --dhs_table, --sequence_table, --peaks, --region_table, --h5ad")
    if args.dhs_table is not None:
        return DhsTable(args.dhs_table)
    if args.sequence_table is not None:
        options = {"cell_type_columns": args.cell_type_columns, "split_column": args.split_column, "threshold": args.threshold}
        return SequenceTable(args.sequence_table, options)
    if args.peaks is not None:
        return PeakFiles(_peak_files(args.peaks))
    if args.region_table is not None:
        return RegionTable(args.region_table, threshold=args.threshold)
    if args.h5ad is not None:
        return AnnDataPseudobulk(args.h5ad, cell_type_key=args.cell_type_key, threshold=args.threshold)
    return None


def _motif_options(args) -> dict:
    """Options for :func:`~.motifs.load_motifs`: file format for a motif file, JASPAR query otherwise."""
    try:
        pseudocounts = float(args.pseudocounts)
    except ValueError:
        pseudocounts = args.pseudocounts
    options = {"pseudocounts": pseudocounts, "background": args.background_gc}
    if args.motifs is not None and not str(args.motifs).upper().startswith("JASPAR"):
        options["fmt"] = args.motif_format
    else:
        options.update(collection=args.collection, tax_group=_csv_list(args.tax_group), all_versions=args.all_versions)
    return options


def run_pretraining(argv=None) -> dict:
    """``genebert-build-pretraining`` without the error handling: parse, build, print the summary."""
    args = pretraining_parser("genebert-build-pretraining").parse_args(argv)
    output = check_output_folder(args.output, "genebert-build-pretraining", overwrite=args.overwrite)
    source = _region_source(args)
    options = dict(
        genome=args.genome,
        genome_windows=args.genome_windows,
        cell_types=args.cell_types,
        exclude_overlap_with=args.exclude_overlap_with,
        overlap_k=args.overlap_k,
        motifs=args.motifs,
        motif_options=_motif_options(args),
        regions_per_sample=args.regions_per_sample,
        bases_per_region=args.bases_per_region,
        validation_chroms=args.validation_chroms,
        test_chroms=args.test_chroms,
        aggregation=args.aggregation,
        both_strands=not args.forward_strand_only,
        matrix_dtype=args.matrix_dtype,
        seed=args.seed,
        negative_pool_size=args.negative_pool_size,
        ngsp_pairing=args.ngsp_pairing,
        ngsp_negatives=args.ngsp_negatives,
        samples_per_shard=args.samples_per_shard,
        device=args.device,
        num_proc=args.num_proc,
        overwrite=args.overwrite or output.is_dir(),  # an existing folder is empty here, or --overwrite was given
        progress=not args.no_progress,
    )
    if source is None:
        info = build_default_pretraining_dataset(args.output, **options)
    else:
        info = build_pretraining_dataset(args.output, source=source, **options)
    summary = {key: info[key] for key in ("output_dir", "num_tfs", "num_samples", "num_samples_per_cell_type", "seconds")}
    if info.get("overlap_filter"):
        summary["overlap_windows_dropped"] = info["overlap_filter"]["windows_dropped"]
    print(json.dumps(summary, indent=1))
    return info


def main_pretraining(argv=None) -> int:
    """Console entry point of ``genebert-build-pretraining``: 0 on success, 2 and ``error: ...`` on bad input."""
    return console_script(run_pretraining)(argv)


def finetuning_parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Build a GeneBERT fine-tuning dataset (the task's input columns + label as ClassLabel) and save it "
            "with datasets' save_to_disk plus label_mapping.json. Every registered task reads CSV/TSV/FASTA "
            "files; tfbs turns positives without labels into positives + dinucleotide-shuffled negatives; "
            "splice can also be cut from a genome FASTA + annotated sites (--genome, --sites)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _option(p, "output", "-o", required=True, help="output directory (datasets save_to_disk format)")
    _option(p, "task", default="generic", choices=list_tasks(), help="a registered task: sets the reader, input columns and class names")
    _option(p, "train", help="train split: CSV/TSV (sequence,label) or FASTA with labels in the headers (for tfbs: the positives)")
    _option(p, "validation", help="validation split file (same formats)")
    _option(p, "test", help="test split file (same formats)")
    _option(p, "sequence_column", default="sequence", help="sequence column of CSV/TSV inputs")
    _option(p, "label_column", default="label", help="label column of CSV/TSV inputs (tfbs: a file without it holds positives only)")
    _option(p, "label_names", type=_csv_list, default=None, help="comma-separated class names in class-id order (default: the task's names or the raw labels)")
    _option(p, "seed", type=int, default=0, help="tfbs: seed of the dinucleotide shuffles")
    _option(p, "negatives_per_positive", type=int, default=1, help="tfbs: shuffled negatives per positive")
    _option(p, "genome", help="a task that is cut from a genome (splice): the genome FASTA")
    _option(p, "sites", help="splice from genome: TSV of chrom, position (0-based), strand, label (neither/acceptor/donor)")
    _option(p, "context", type=int, default=400, help="splice from genome: nucleotides of context around the site (80, 256, 400, 2000)")
    _option(p, "validation_chroms", type=_csv_list, default=["chr2"], help="splice from genome: validation chromosomes")
    _option(p, "test_chroms", type=_csv_list, default=[], help="splice from genome: test chromosomes")
    _option(p, "overwrite", action="store_true", help="write into a non-empty output directory (replace a dataset)")
    return p


def run_finetuning(argv=None) -> None:
    """``genebert-build-finetuning`` without the error handling: parse, build, save, print the summary."""
    args = finetuning_parser("genebert-build-finetuning").parse_args(argv)
    output = OutputFolder(args.output, "genebert-build-finetuning", overwrite=args.overwrite)
    task = get_task(args.task)
    files = {s: getattr(args, s) for s in ("train", "validation", "test") if getattr(args, s)}
    if args.genome:
        if task.from_genome is None:
            raise UsageError(f"task {task.name!r} is not cut from a genome: drop --genome (--sites) and give --train")
        if not args.sites:
            raise UsageError("--genome needs --sites")
        ds = task.from_genome(args.genome, args.sites, args.context, args.validation_chroms, args.test_chroms)
    elif not files:
        raise UsageError("give at least --train (or --genome and --sites for splice)")
    else:
        options = ReadOptions(
            label_names=args.label_names, sequence_column=args.sequence_column, label_column=args.label_column,
            seed=args.seed, negatives_per_positive=args.negatives_per_positive,
        )
        ds = task.read(files, options)
    output.start()
    save_downstream_dataset(ds, args.output)
    output.finish()
    print(json.dumps({"output": args.output, "splits": {k: len(v) for k, v in ds.items()}, "label_names": ds[next(iter(ds))].features["label"].names}))


def main_finetuning(argv=None) -> int:
    """Console entry point of ``genebert-build-finetuning``: 0 on success, 2 and ``error: ...`` on bad input."""
    return console_script(run_finetuning)(argv)


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
