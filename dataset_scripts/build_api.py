"""``build_pretraining(options)`` / ``build_finetuning(options)``: the two dataset-build commands from Python.

:class:`BuildPretrainingOptions` and :class:`BuildFinetuningOptions` are also what
``genebert-build-pretraining`` / ``genebert-build-finetuning`` parse (:mod:`.build`), so a command and its
call share every option's name, default and help. Options name files and settings as the command line
does (paths, a JASPAR query, comma-separated lists); for region sources or motif sets built in Python use
:class:`~.pretraining_build.PretrainingBuilder` / :func:`~.pretraining_build.build_pretraining_dataset`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cli import UsageError, fspath_options, split_commas
from .finetuning_data import save_downstream_dataset
from .output_folders import OutputFolder, check_output_folder
from .pretraining_build import DEFAULT_ATTRIBUTION, BuildResult, PretrainingBuilder, default_atlas_path
from .region_sources import AnnDataPseudobulk, DhsTable, PeakFiles, RegionSource, RegionTable, SequenceTable, region_source
from .tasks import ReadOptions, get_task

PRETRAINING_COMMAND = "genebert-build-pretraining"
FINETUNING_COMMAND = "genebert-build-finetuning"
SOURCE = "region source (at most one; none = the embedded mini-atlas)"
MOTIFS = "motifs"
SAMPLES = "samples and output"
SOURCE_OPTIONS = ("dhs_table", "sequence_table", "peaks", "region_table", "h5ad")


# ----------------------------------------------------------------------------- pre-training
@dataclass(kw_only=True)
class BuildPretrainingOptions:
    """Where the regions come from, which motifs score them, how samples are cut, where the dataset goes.

    Path options take a ``str`` or a ``pathlib.Path``; list options a list, or one comma-separated string."""

    output: str = field(metadata={"aliases": ["-o"], "help": "output directory (appears atomically when the build ends)"})
    dhs_table: list[str] | None = field(default=None, metadata={"group": SOURCE, "metavar": "TABLE", "help": (
        "DNA-Diffusion / ENCODE DHS table(s) (.txt.gz) with sequences and 0/1 cell-type columns; "
        "several (e.g. the K562 and the HepG2 table) are merged per cell type")})
    sequence_table: str | None = field(default=None, metadata={"group": SOURCE, "help": "a TSV/CSV with chrom, start, end, [summit], sequence and per-cell-type columns"})
    cell_type_columns: list[str] | None = field(default=None, metadata={"group": SOURCE, "help": "comma-separated cell-type columns of --sequence_table (default: the 0/1 columns)"})
    split_column: str | None = field(default=None, metadata={"group": SOURCE, "help": "column of --sequence_table naming each row's split (train/validation/test)"})
    peaks: list[str] | None = field(default=None, metadata={"group": SOURCE, "metavar": "[CELLTYPE=]FILE", "help": "BED / narrowPeak files, one per cell type (cell type = file name up to the first dot unless CELLTYPE= is given); needs --genome"})
    region_table: str | None = field(default=None, metadata={"group": SOURCE, "help": "a regions x cell-types table (chrom/start/end or region column + one numeric column per cell type); needs --genome"})
    h5ad: str | None = field(default=None, metadata={"group": SOURCE, "help": "an AnnData .h5ad of cells x peaks with a cell-type column in obs (pseudo-bulked per cell type); needs --genome"})
    cell_type_key: str = field(default="cell_type", metadata={"group": SOURCE, "help": "obs column of --h5ad holding the cell type"})
    threshold: float = field(default=0.0, metadata={"group": SOURCE, "help": "accessible when value (or pseudo-bulk sum) > threshold (--region_table, --h5ad, --sequence_table)"})
    genome: str | None = field(default=None, metadata={"group": SOURCE, "help": "genome FASTA (plain or bgzip) for sources without sequences"})
    genome_windows: list[str] | None = field(default=None, metadata={"group": SOURCE, "metavar": "FASTA", "help": (
        "also tile these FASTA files (plain or .gz; distinct record names) into consecutive bases_per_region "
        "windows, added as the pseudo cell type 'genome' beside the region source (or the mini-atlas); they go to train")})
    cell_types: list[str] | None = field(default=None, metadata={"group": SOURCE, "help": "comma-separated cell types to keep (each must exist and have regions)"})
    exclude_overlap_with: list[str] | None = field(default=None, metadata={"group": SOURCE, "metavar": "PATH", "help": (
        "benchmark sequence files (CSV/TSV with a 'sequence' column, FASTA, or one sequence per line; plain or "
        ".gz): drop every region window sharing an exact --overlap_k-mer with one of their sequences on either "
        "strand; the counts go to build_info.json and the dataset card")})
    overlap_k: int = field(default=32, metadata={"group": SOURCE, "help": "k-mer length of the --exclude_overlap_with filter (1-32)"})
    motifs: str | None = field(default=None, metadata={"group": MOTIFS, "help": "a JASPAR release (JASPAR2014..JASPAR2026, shipped by pyjaspar) or a motif file (JASPAR / MEME / TRANSFAC / PFM); default JASPAR2018"})
    motif_format: str | None = field(default=None, metadata={"group": MOTIFS, "help": "Bio.motifs format of a --motifs file (jaspar, minimal, meme, transfac, pfm); default: from the extension"})
    collection: str = field(default="CORE", metadata={"group": MOTIFS, "help": "JASPAR collection"})
    tax_group: list[str] = field(default_factory=lambda: ["vertebrates"], metadata={"group": MOTIFS, "help": "JASPAR taxonomic group(s), comma-separated (default: vertebrates)"})
    all_versions: bool = field(default=False, metadata={"group": MOTIFS, "help": "keep every version of each JASPAR matrix (default: latest only)"})
    pseudocounts: str = field(default="jaspar", metadata={"group": MOTIFS, "help": "'jaspar' (sqrt(sites) x background per letter) or a number added to each count"})
    background_gc: float | None = field(default=None, metadata={"group": MOTIFS, "help": "background GC fraction (default: uniform 0.25 per base)"})
    aggregation: str = field(default="max", metadata={"group": MOTIFS, "choices": ["max", "mean", "logsumexp", "count"], "help": "per region and TF: max log-odds (paper), mean, log2-sum-of-odds, or count of windows above 80%% of the score range"})
    forward_strand_only: bool = field(default=False, metadata={"group": MOTIFS, "help": "scan the forward strand only (default: both strands)"})
    device: str = field(default="cpu", metadata={"group": MOTIFS, "help": "torch device for motif scanning (cpu, cuda, ...)"})
    num_proc: int = field(default_factory=lambda: os.cpu_count() or 1, metadata={"group": MOTIFS, "help": "processes scanning motifs on the CPU (default: every core); the output is byte-identical to 1"})
    regions_per_sample: int = field(default=10, metadata={"group": SAMPLES, "help": "R: consecutive regions per sample (paper: 10)"})
    bases_per_region: int = field(default=50, metadata={"group": SAMPLES, "help": "bases stored per region, centred on the summit (else centre)"})
    validation_chroms: list[str] | None = field(default=None, metadata={"group": SAMPLES, "help": "comma-separated validation chromosomes (default: the source's split labels, else chr2)"})
    test_chroms: list[str] | None = field(default=None, metadata={"group": SAMPLES, "help": "comma-separated test chromosomes (default: none, or the source's labels)"})
    matrix_dtype: str = field(default="float32", metadata={"group": SAMPLES, "choices": ["float32", "float16"], "help": "storage dtype of the region matrices"})
    seed: int = field(default=0, metadata={"group": SAMPLES, "help": "seed for choosing next-segment negatives"})
    negative_pool_size: int = field(default=256, metadata={"group": SAMPLES, "help": "samples scanned and paired per block (memory bound)"})
    ngsp_pairing: str = field(default="next_regions", metadata={"group": SAMPLES, "choices": ["next_regions", "contiguous"], "help": (
        "NGSP pairs: next_regions (default) = B is the next accessible regions; contiguous = left / right "
        "halves of each window, B follows A in the genome (dataset schema 2)")})
    ngsp_negatives: str = field(default="other_sample", metadata={"group": SAMPLES, "choices": ["other_sample", "shuffled"], "help": (
        "contiguous pairing's \"not next\" B: other_sample (default) = another sample's right halves; "
        "shuffled = a dinucleotide shuffle of the sample's own right halves (composition-matched; learnable)")})
    samples_per_shard: int = field(default=2000, metadata={"group": SAMPLES, "help": "rows per Parquet shard"})
    overwrite: bool = field(default=False, metadata={"group": SAMPLES, "help": "replace an existing output directory (atomically)"})
    no_progress: bool = field(default=False, metadata={"group": SAMPLES, "help": "no progress bar"})

    def __post_init__(self) -> None:
        fspath_options(self)  # path options may be given as pathlib.Path
        for name in ("cell_type_columns", "cell_types", "tax_group", "validation_chroms", "test_chroms"):
            setattr(self, name, split_commas(getattr(self, name)))


def _peak_files(items: list[str]) -> dict[str, str]:
    """``[CELLTYPE=]FILE`` items -> ``{cell_type: path}`` (cell type = file name up to the first dot)."""
    peaks = {}
    for item in map(os.fspath, items):
        if "=" in item:
            cell_type, path = item.split("=", 1)
        else:
            path, cell_type = item, os.path.basename(item).split(".")[0]
        peaks[cell_type] = path
    return peaks


def _region_source(options: BuildPretrainingOptions) -> RegionSource | None:
    """The region source the options name; None for the embedded mini-atlas."""
    if len([name for name in SOURCE_OPTIONS if getattr(options, name) is not None]) > 1:
        raise UsageError(f"give at most one of {', '.join('--' + name for name in SOURCE_OPTIONS)}")
    if options.dhs_table is not None:
        return DhsTable(options.dhs_table)
    if options.sequence_table is not None:
        read = {"cell_type_columns": options.cell_type_columns, "split_column": options.split_column, "threshold": options.threshold}
        return SequenceTable(options.sequence_table, read)
    if options.peaks is not None:
        return PeakFiles(_peak_files(options.peaks))
    if options.region_table is not None:
        return RegionTable(options.region_table, threshold=options.threshold)
    if options.h5ad is not None:
        return AnnDataPseudobulk(options.h5ad, cell_type_key=options.cell_type_key, threshold=options.threshold)
    return None


def _motif_options(options: BuildPretrainingOptions) -> dict[str, Any]:
    """Options for :func:`~.motifs.load_motifs`: file format for a motif file, JASPAR query otherwise."""
    try:
        pseudocounts = float(options.pseudocounts)
    except ValueError:
        pseudocounts = options.pseudocounts
    motif_options = {"pseudocounts": pseudocounts, "background": options.background_gc}
    if options.motifs is not None and not str(options.motifs).upper().startswith("JASPAR"):
        motif_options["fmt"] = options.motif_format
    else:
        motif_options.update(collection=options.collection, tax_group=options.tax_group, all_versions=options.all_versions)
    return motif_options


def build_pretraining(options: BuildPretrainingOptions) -> BuildResult:
    """``genebert-build-pretraining``: the dataset at ``options.output`` (with no region source, the embedded
    mini-atlas); ``result.to_dict()`` is its ``build_info.json``."""
    output = check_output_folder(options.output, PRETRAINING_COMMAND, overwrite=options.overwrite)
    source = _region_source(options)
    builder = PretrainingBuilder(
        genome=options.genome, cell_types=options.cell_types, exclude_overlap_with=options.exclude_overlap_with,
        overlap_k=options.overlap_k, motifs=options.motifs, motif_options=_motif_options(options),
        regions_per_sample=options.regions_per_sample, bases_per_region=options.bases_per_region,
        validation_chroms=options.validation_chroms, test_chroms=options.test_chroms, aggregation=options.aggregation,
        both_strands=not options.forward_strand_only, matrix_dtype=options.matrix_dtype, seed=options.seed,
        negative_pool_size=options.negative_pool_size, ngsp_pairing=options.ngsp_pairing,
        ngsp_negatives=options.ngsp_negatives, samples_per_shard=options.samples_per_shard, device=options.device,
        num_proc=options.num_proc, progress=not options.no_progress,
        overwrite=options.overwrite or output.is_dir(),  # an existing folder is empty here, or --overwrite was given
        attribution=DEFAULT_ATTRIBUTION if source is None else None,
    )
    source = region_source(source=source or DhsTable(default_atlas_path()), genome_windows=options.genome_windows)
    return builder.build(options.output, source)


# ----------------------------------------------------------------------------- fine-tuning
@dataclass(kw_only=True)
class BuildFinetuningOptions:
    """Which task, which files (or genome and sites), how labels are read, where the dataset goes.

    Path options take a ``str`` or a ``pathlib.Path``; list options a list, or one comma-separated string."""

    output: str = field(metadata={"aliases": ["-o"], "help": "output directory (datasets save_to_disk format)"})
    task: str = field(default="generic", metadata={"help": "a registered task: sets the reader, input columns and class names"})
    train: str | None = field(default=None, metadata={"help": "train split: CSV/TSV (sequence,label) or FASTA with labels in the headers (for tfbs: the positives)"})
    validation: str | None = field(default=None, metadata={"help": "validation split file (same formats)"})
    test: str | None = field(default=None, metadata={"help": "test split file (same formats)"})
    sequence_column: str = field(default="sequence", metadata={"help": "sequence column of CSV/TSV inputs"})
    label_column: str = field(default="label", metadata={"help": "label column of CSV/TSV inputs (tfbs: a file without it holds positives only)"})
    label_names: list[str] | None = field(default=None, metadata={"help": "comma-separated class names in class-id order (default: the task's names or the raw labels)"})
    seed: int = field(default=0, metadata={"help": "tfbs: seed of the dinucleotide shuffles"})
    negatives_per_positive: int = field(default=1, metadata={"help": "tfbs: shuffled negatives per positive"})
    genome: str | None = field(default=None, metadata={"help": "a task that is cut from a genome (splice): the genome FASTA"})
    sites: str | None = field(default=None, metadata={"help": "splice from genome: TSV of chrom, position (0-based), strand, label (neither/acceptor/donor)"})
    context: int = field(default=400, metadata={"help": "splice from genome: nucleotides of context around the site (80, 256, 400, 2000)"})
    validation_chroms: list[str] = field(default_factory=lambda: ["chr2"], metadata={"help": "splice from genome: comma-separated validation chromosomes (default: chr2)"})
    test_chroms: list[str] = field(default_factory=list, metadata={"help": "splice from genome: comma-separated test chromosomes"})
    overwrite: bool = field(default=False, metadata={"help": "write into a non-empty output directory (replace a dataset)"})

    def __post_init__(self) -> None:
        fspath_options(self)  # path options may be given as pathlib.Path
        for name in ("label_names", "validation_chroms", "test_chroms"):
            setattr(self, name, split_commas(getattr(self, name)))


@dataclass
class FinetuningBuildResult:
    """What ``genebert-build-finetuning`` saved; :meth:`to_dict` is the line it prints."""

    output: Path
    splits: dict[str, int]  # rows per split
    label_names: list[str]  # class names in class-id order
    dataset: Any = field(default=None, repr=False)  # the datasets.DatasetDict saved; not in the JSON

    def to_dict(self) -> dict[str, Any]:
        return {"output": str(self.output), "splits": self.splits, "label_names": self.label_names}


def build_finetuning(options: BuildFinetuningOptions) -> FinetuningBuildResult:
    """``genebert-build-finetuning``: the task's dataset read from its files (or cut from a genome), saved with
    ``save_to_disk`` and ``label_mapping.json`` at ``options.output``."""
    output = OutputFolder(options.output, FINETUNING_COMMAND, overwrite=options.overwrite)
    task = get_task(options.task)
    files = {split: getattr(options, split) for split in ("train", "validation", "test") if getattr(options, split)}
    if options.genome:
        if task.from_genome is None:
            raise UsageError(f"task {task.name!r} is not cut from a genome: drop --genome (--sites) and give --train")
        if not options.sites:
            raise UsageError("--genome needs --sites")
        dataset = task.from_genome(options.genome, options.sites, options.context, options.validation_chroms, options.test_chroms)
    elif not files:
        raise UsageError("give at least --train (or --genome and --sites for splice)")
    else:
        read = ReadOptions(
            label_names=options.label_names, sequence_column=options.sequence_column, label_column=options.label_column,
            seed=options.seed, negatives_per_positive=options.negatives_per_positive,
        )
        dataset = task.read(files, read)
    output.start()
    save_downstream_dataset(dataset, options.output)
    output.finish()
    return FinetuningBuildResult(output=Path(options.output), splits={split: len(rows) for split, rows in dataset.items()},
                                 label_names=dataset[next(iter(dataset))].features["label"].names, dataset=dataset)


__all__ = ["BuildFinetuningOptions", "BuildPretrainingOptions", "BuildResult", "FinetuningBuildResult", "build_finetuning",
           "build_pretraining"]
