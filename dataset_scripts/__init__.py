"""Builders that turn genomics files (FASTA, peaks, motifs) into HF datasets.

Installed as ``dataset_scripts``. Imports the tokenizer at most, never models; importing it
(or any of its modules) loads neither torch nor transformers (torch comes in when a
:class:`MotifScanner` is built).

* :mod:`.motifs` -- JASPAR (pyjaspar, offline) / user motif files -> log-odds matrices.
* :mod:`.motif_scan` -- the vectorized (torch) scanner, both strands, N handling.
* :mod:`.readers` -- FASTA, BED / narrowPeak, region tables, AnnData pseudo-bulk, sequence tables.
* :mod:`.region_sources` -- one object per region source (DHS table, peaks, AnnData, ...).
* :mod:`.pretraining_build` / :mod:`.pretraining_card` / :mod:`.pretraining_load` -- the pre-training
  dataset: its builder (sharded Parquet), its dataset card, its schema and loader.
* :mod:`.shard_writer` / :mod:`.publish` -- Parquet shards per split; atomic output folders.
* :mod:`.finetuning_data` -- fine-tuning datasets (promoter, TFBS, splice, generic): readers, builders, saving.
* :mod:`.build_api` -- ``build_pretraining(options)`` / ``build_finetuning(options)``: the build commands from Python.
* :mod:`.build` -- the command line (``python -m dataset_scripts.build``).
"""

from .build_api import (
    BuildFinetuningOptions,
    BuildPretrainingOptions,
    FinetuningBuildResult,
    build_finetuning,
    build_pretraining,
)
from .finetuning_data import (
    build_sequence_classification_dataset,
    build_splice_dataset,
    build_tfbs_dataset,
    dinucleotide_shuffle,
    label_mapping,
    save_downstream_dataset,
)
from .motif_scan import MotifScanner, scan_sequences
from .motifs import MotifSet, load_jaspar_motifs, load_motifs, read_motif_file
from .pretraining_build import (
    BuildResult,
    PretrainingBuilder,
    build_default_pretraining_dataset,
    build_pretraining_dataset,
    default_atlas_path,
)
from .pretraining_load import load_pretraining_dataset, pretraining_features, read_dataset_motifs
from .readers import (
    DataFormatError,
    Genome,
    Region,
    read_bed,
    read_dhs_table,
    read_h5ad_pseudobulk,
    read_peak_files,
    read_region_table,
    read_sequence_table,
)
from .region_sources import (
    AnnDataPseudobulk,
    DhsTable,
    PeakFiles,
    RegionSource,
    RegionsInPython,
    RegionTable,
    SequenceTable,
    region_source,
)

__all__ = [
    "AnnDataPseudobulk",
    "BuildFinetuningOptions",
    "BuildPretrainingOptions",
    "BuildResult",
    "DataFormatError",
    "DhsTable",
    "FinetuningBuildResult",
    "Genome",
    "MotifScanner",
    "MotifSet",
    "PeakFiles",
    "PretrainingBuilder",
    "Region",
    "RegionSource",
    "RegionTable",
    "RegionsInPython",
    "SequenceTable",
    "build_default_pretraining_dataset",
    "build_finetuning",
    "build_pretraining",
    "build_pretraining_dataset",
    "build_sequence_classification_dataset",
    "build_splice_dataset",
    "build_tfbs_dataset",
    "default_atlas_path",
    "dinucleotide_shuffle",
    "label_mapping",
    "load_jaspar_motifs",
    "load_motifs",
    "load_pretraining_dataset",
    "pretraining_features",
    "read_bed",
    "read_dataset_motifs",
    "read_dhs_table",
    "read_h5ad_pseudobulk",
    "read_motif_file",
    "read_peak_files",
    "read_region_table",
    "read_sequence_table",
    "region_source",
    "save_downstream_dataset",
    "scan_sequences",
]
