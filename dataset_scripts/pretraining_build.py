"""Building the GeneBERT pre-training dataset (schema and output layout: :mod:`.pretraining_load`).

Memory stays flat in the number of regions apart from the region coordinates
themselves: sequences are fetched, scanned and written block by block
(``negative_pool_size`` samples at a time; the Parquet shards are written
incrementally, :mod:`.shard_writer`). The output appears atomically (:mod:`.publish`):
it is built in a temporary sibling directory and renamed at the end; an existing output
is only replaced (atomically) with ``overwrite=True``. Where the regions come from is
one :class:`~.region_sources.RegionSource`; the dataset card is filled from
``templates/pretraining_dataset_card.md``.

Negatives for next-genome-segment prediction: for each sample, another sample of the same
cell type and split is drawn uniformly (``numpy`` RNG seeded with ``seed``) from the
current block and the previous block of ``negative_pool_size`` samples; its right halves
(``next_regions``: its second half) are stored. A (cell type, split) with a single sample has no partner: that sample is
dropped with a warning (counted in ``build_info.json``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import os
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .finetuning_data import dinucleotide_shuffle
from .motif_scan import AGGREGATIONS, MotifScanner
from .motifs import MotifSet, load_motifs
from .overlap import OVERLAP_K, OverlapIndex
from .pretraining_card import pretraining_dataset_card
from .pretraining_load import DEFAULT_NGSP_PAIRING, NGSP_NEGATIVES, NGSP_PAIRINGS, SPLITS, pretraining_features
from .publish import AtomicOutput
from .readers import DataFormatError, Genome, Region, cache_dir, natural_key
from .region_sources import PathLike, RegionSource, region_source
from .shard_writer import ShardWriters

logger = logging.getLogger(__name__)

DEFAULT_VALIDATION_CHROMS = ("chr2",)
MATRIX_DTYPES = {"float32": np.float32, "float16": np.float16}


def default_atlas_path() -> str:
    """Path of the embedded mini-atlas (``data/dhs_mini_atlas.tsv.gz``, see ``data/README.md``)."""
    return str(resources.files(__package__).joinpath("data", "dhs_mini_atlas.tsv.gz"))


@dataclass
class _Sample:
    cell_type: str
    chrom: str
    index: int
    regions: list[Region]

    @property
    def sample_id(self) -> str:
        return f"{self.cell_type}:{self.chrom}:{self.index}"


# --------------------------------------------------------------------------- inputs
def _check_parameters(parameters: dict) -> None:
    """Reject sample / scan parameters no build can use (before any file is read)."""
    if parameters["regions_per_sample"] < 2:
        raise ValueError(f"regions_per_sample must be >= 2 (NGSP needs two segments), got {parameters['regions_per_sample']}")
    if parameters["bases_per_region"] < 1:
        raise ValueError(f"bases_per_region must be >= 1, got {parameters['bases_per_region']}")
    if parameters["negative_pool_size"] < 2:
        raise ValueError(f"negative_pool_size must be >= 2, got {parameters['negative_pool_size']}")
    if parameters["matrix_dtype"] not in MATRIX_DTYPES:
        raise ValueError(f"matrix_dtype must be float32 or float16, got {parameters['matrix_dtype']!r}")
    if parameters["ngsp_pairing"] not in NGSP_PAIRINGS:
        raise ValueError(f"ngsp_pairing must be one of {sorted(NGSP_PAIRINGS)}, got {parameters['ngsp_pairing']!r}")
    if parameters["ngsp_negatives"] not in NGSP_NEGATIVES:
        raise ValueError(f"ngsp_negatives must be one of {list(NGSP_NEGATIVES)}, got {parameters['ngsp_negatives']!r}")
    if parameters["ngsp_negatives"] != "other_sample" and parameters["ngsp_pairing"] != "contiguous":
        raise ValueError(f"ngsp_negatives={parameters['ngsp_negatives']!r} needs ngsp_pairing='contiguous' "
                         f"(got {parameters['ngsp_pairing']!r})")
    if parameters["ngsp_pairing"] == "contiguous" and parameters["bases_per_region"] < 2:
        raise ValueError("ngsp_pairing='contiguous' cuts every window in two: bases_per_region must be >= 2")
    if parameters["aggregation"] not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {parameters['aggregation']!r}")


def _select_and_sort(regions_by_cell_type: dict[str, list[Region]], cell_types, regions_per_sample: int) -> dict[str, list[Region]]:
    """Keep ``cell_types`` (all if None), check each has enough regions, sort them and drop duplicate intervals."""
    if cell_types is not None:
        unknown = [c for c in cell_types if c not in regions_by_cell_type]
        if unknown:
            raise DataFormatError(f"cell type(s) {unknown} not in the input (it has {sorted(regions_by_cell_type)})")
        regions_by_cell_type = {c: regions_by_cell_type[c] for c in cell_types}
    if not regions_by_cell_type:
        raise DataFormatError("the input holds no cell types")
    empty = sorted(c for c, regions in regions_by_cell_type.items() if not regions)
    if empty:
        raise DataFormatError(f"cell type(s) with no accessible region: {empty}")
    too_few = {c: len(regions) for c, regions in regions_by_cell_type.items() if len(regions) < regions_per_sample}
    if too_few:
        raise DataFormatError(
            f"cell type(s) with fewer regions than regions_per_sample={regions_per_sample}: "
            + ", ".join(f"{c} ({n})" for c, n in sorted(too_few.items()))
        )
    out = {}
    for cell_type in sorted(regions_by_cell_type):
        ordered = sorted(regions_by_cell_type[cell_type], key=lambda region: (natural_key(region.chrom), region.start, region.end))
        out[cell_type] = [
            region
            for i, region in enumerate(ordered)
            if i == 0 or (region.chrom, region.start, region.end) != (ordered[i - 1].chrom, ordered[i - 1].start, ordered[i - 1].end)
        ]
    return out


def _open_genome(regions_by_cell_type: dict[str, list[Region]], genome, source_description: str, bases_per_region: int):
    """The FASTA, opened and checked against the regions, when some region carries no sequence.

    A context manager either way (a null one when every region has its sequence).
    """
    if all(region.sequence is not None for regions in regions_by_cell_type.values() for region in regions):
        return contextlib.nullcontext()
    if genome is None:
        raise ValueError(f"the regions from {source_description} carry no sequence: pass genome= (a FASTA)")
    fasta = Genome(genome)
    try:
        for regions in regions_by_cell_type.values():
            fasta.check((region for region in regions if region.sequence is None), window=bases_per_region)
    except BaseException:
        fasta.close()
        raise
    return fasta


def _drop_overlapping(regions_by_cell_type: dict[str, list[Region]], index: OverlapIndex, genome, bases_per_region: int,
                      regions_per_sample: int) -> tuple[dict[str, list[Region]], dict]:
    """Drop every region whose stored window shares a k-mer (either strand) with the indexed files.

    Returns the kept regions and the report for ``build_info.json``: windows checked and dropped per
    cell type and per chromosome, and per benchmark file how many windows share a k-mer with it.
    """
    started = time.time()
    kept_by_cell_type, checked, dropped, per_chrom = {}, {}, {}, {}
    per_file = {path: 0 for path in index.files}
    for cell_type, regions in regions_by_cell_type.items():
        windows = [_region_window(region, bases_per_region, genome)[2] for region in regions]
        hit = index.overlapping(windows)
        kept_by_cell_type[cell_type] = [region for region, overlaps in zip(regions, hit) if not overlaps]
        checked[cell_type], dropped[cell_type] = len(regions), int(hit.sum())
        chroms: dict[str, int] = {}
        for region in (region for region, overlaps in zip(regions, hit) if overlaps):
            chroms[region.chrom] = chroms.get(region.chrom, 0) + 1
        per_chrom[cell_type] = dict(sorted(chroms.items(), key=lambda item: natural_key(item[0])))
        for path, n in index.overlapping_per_file([w for w, overlaps in zip(windows, hit) if overlaps]).items():
            per_file[path] += n
    too_few = {c: len(regions) for c, regions in kept_by_cell_type.items() if len(regions) < regions_per_sample}
    if too_few:
        raise DataFormatError(
            f"after dropping the windows that overlap {', '.join(index.files)}, cell type(s) with fewer regions than "
            f"regions_per_sample={regions_per_sample}: " + ", ".join(f"{c} ({n})" for c, n in sorted(too_few.items()))
        )
    report = index.describe()
    for path, n in per_file.items():
        report["files"][path]["windows_overlapping"] = n
    report.update(windows_checked=checked, windows_dropped=dropped, windows_dropped_per_chrom=per_chrom,
                  seconds=round(index.seconds + time.time() - started, 2))
    return kept_by_cell_type, report


@dataclass(frozen=True)
class _SplitRule:
    """Which split a region belongs to: by chromosome lists, or by the source's own labels."""

    use_labels: bool
    validation_chroms: frozenset = frozenset()
    test_chroms: frozenset = frozenset()

    @classmethod
    def choose(cls, regions_by_cell_type: dict[str, list[Region]], validation_chroms, test_chroms) -> "_SplitRule":
        """The source's labels when it has them and no chromosome list is given; else chromosome lists
        (default: validation = ``DEFAULT_VALIDATION_CHROMS``)."""
        if validation_chroms is None and test_chroms is None:
            if any(region.split is not None for regions in regions_by_cell_type.values() for region in regions):
                return cls(use_labels=True)
            validation_chroms = DEFAULT_VALIDATION_CHROMS
        validation, test = frozenset(validation_chroms or ()), frozenset(test_chroms or ())
        if validation & test:
            raise ValueError(f"chromosomes in both validation and test: {sorted(validation & test)}")
        return cls(use_labels=False, validation_chroms=validation, test_chroms=test)

    @property
    def description(self) -> str:
        if self.use_labels:
            return "the source's own split labels (e.g. DHS data_label: training -> train)"
        return (
            f"validation = {sorted(self.validation_chroms, key=natural_key)}, "
            f"test = {sorted(self.test_chroms, key=natural_key)}, train = the rest"
        )

    def __call__(self, region: Region) -> str:
        if self.use_labels:
            split = region.split or "train"
            if split not in SPLITS:
                raise DataFormatError(
                    f"{region.origin}: field 'split': unknown split label (value {region.split!r}); expected one of {SPLITS}"
                )
            return split
        if region.chrom in self.test_chroms:
            return "test"
        if region.chrom in self.validation_chroms:
            return "validation"
        return "train"


def _cell_type_samples(cell_type: str, regions: list[Region], split_of, regions_per_sample: int) -> dict[str, list[_Sample]]:
    """Group sorted regions into samples of ``regions_per_sample`` consecutive regions on one chromosome and split."""
    samples_by_split: dict[str, list[_Sample]] = {}
    run: list[Region] = []  # consecutive regions on one chromosome, in one split
    samples_per_chrom: dict[str, int] = {}

    def flush():
        for first in range(0, len(run) - regions_per_sample + 1, regions_per_sample):
            chrom = run[0].chrom
            index = samples_per_chrom.get(chrom, 0)
            samples_per_chrom[chrom] = index + 1
            sample = _Sample(cell_type, chrom, index, run[first : first + regions_per_sample])
            samples_by_split.setdefault(split_of(run[0]), []).append(sample)

    for region in regions:
        if run and (region.chrom != run[-1].chrom or split_of(region) != split_of(run[-1])):
            flush()
            run = []
        run.append(region)
    if run:
        flush()
    return samples_by_split


def _group_samples(regions_by_cell_type: dict[str, list[Region]], split_of, regions_per_sample: int) -> dict[str, dict[str, list[_Sample]]]:
    """``{cell_type: {split: [sample, ...]}}``; every cell type must give at least one sample."""
    samples = {
        cell_type: _cell_type_samples(cell_type, regions, split_of, regions_per_sample)
        for cell_type, regions in regions_by_cell_type.items()
    }
    if not any(split_samples for by_split in samples.values() for split_samples in by_split.values()):
        raise DataFormatError(
            f"no chromosome holds {regions_per_sample} regions of one cell type: no samples (regions_per_sample={regions_per_sample})"
        )
    for cell_type, by_split in samples.items():
        if not any(by_split.values()):
            raise DataFormatError(f"cell type {cell_type}: no chromosome holds regions_per_sample={regions_per_sample} of its regions")
    return samples


def _region_window(region: Region, bases_per_region: int, genome: Genome | None) -> tuple[int, int, str]:
    """(start, end, bases) of the ``bases_per_region``-base window centred on the summit / centre."""
    width = bases_per_region
    if region.sequence is not None:
        sequence, sequence_start = region.sequence, region.seq_start
        if len(sequence) < width:
            raise DataFormatError(
                f"{region.origin}: field 'sequence': {len(sequence)} bases, shorter than bases_per_region={width}"
            )
        offset = min(max(region.centre - width // 2 - sequence_start, 0), len(sequence) - width)
        return sequence_start + offset, sequence_start + offset + width, sequence[offset : offset + width]
    if genome is None:
        raise ValueError(f"{region.origin}: region {region.chrom}:{region.start}-{region.end} has no sequence; pass genome= (a FASTA)")
    chrom_length = genome.lengths[region.chrom]
    start = min(max(region.centre - width // 2, 0), chrom_length - width)
    return start, start + width, genome.fetch(region.chrom, start, start + width)


# --------------------------------------------------------------------------- rows
@dataclass
class _RowMaker:
    """What turning a block of samples into rows needs: the scanner, the genome and the schema's sizes."""

    scanner: MotifScanner
    genome: Genome | None
    regions_per_sample: int
    bases_per_region: int
    aggregation: str
    matrix_dtype: str
    rng: np.random.Generator
    ngsp_pairing: str = DEFAULT_NGSP_PAIRING
    ngsp_negatives: str = "other_sample"


def _block_rows(block: list[_Sample], previous_negatives, maker: _RowMaker):
    """Rows of one block of samples, and the block's negative pool for the next block.

    Each sample's negative is drawn from this block's and ``previous_negatives`` (the previous
    block's) pool: under ``contiguous`` pairing the right halves of another sample's windows,
    under ``next_regions`` another sample's second half of regions.
    """
    windows = [[_region_window(region, maker.bases_per_region, maker.genome) for region in sample.regions] for sample in block]
    matrices = _scan(maker, [[bases for _, _, bases in sample_windows] for sample_windows in windows], block)
    if maker.ngsp_pairing == "contiguous":
        return _contiguous_block_rows(block, windows, matrices, previous_negatives, maker)
    half = maker.regions_per_sample // 2
    current_negatives = ([[bases for _, _, bases in sample_windows[half:]] for sample_windows in windows], matrices[:, half:])
    pool_sequences = current_negatives[0] + (previous_negatives[0] if previous_negatives else [])
    pool_matrices = np.concatenate([current_negatives[1], previous_negatives[1]]) if previous_negatives else current_negatives[1]
    partners = _draw_partners(maker, len(pool_sequences), len(block))
    rows = {
        **_sample_columns(block, windows, matrices),
        "negative_sequences": [pool_sequences[j] for j in partners],
        "negative_region_matrix": [pool_matrices[j] for j in partners],
    }
    return rows, current_negatives


def _draw_partners(maker: _RowMaker, pool_size: int, block_size: int) -> np.ndarray:
    """For sample i of the block (pool index i), a uniformly drawn other pool index."""
    partners = maker.rng.integers(0, pool_size - 1, size=block_size)
    return partners + (partners >= np.arange(block_size))  # skip the sample itself


def _sample_columns(block: list[_Sample], windows, matrices: np.ndarray) -> dict[str, list]:
    """The columns every pairing writes the same way: identity, coordinates, bases, region matrix."""
    return {
        "sample_id": [sample.sample_id for sample in block],
        "cell_type": [sample.cell_type for sample in block],
        "chrom": [sample.chrom for sample in block],
        "starts": [[start for start, _, _ in sample_windows] for sample_windows in windows],
        "ends": [[end for _, end, _ in sample_windows] for sample_windows in windows],
        "sequences": [[bases for _, _, bases in sample_windows] for sample_windows in windows],
        "region_matrix": list(matrices),
    }


def _scan(maker: _RowMaker, sequences: list[list[str]], block: list[_Sample]) -> np.ndarray:
    """``[samples, R, TFs]`` region matrices of R windows per sample; non-finite values name the sample."""
    matrices = maker.scanner.scan([bases for sample_sequences in sequences for bases in sample_sequences], aggregation=maker.aggregation)
    matrices = matrices.reshape(len(sequences), maker.regions_per_sample, -1).astype(MATRIX_DTYPES[maker.matrix_dtype])
    if not np.all(np.isfinite(matrices)):
        bad = block[int(np.argwhere(~np.isfinite(matrices))[0][0])]
        raise DataFormatError(f"non-finite value in the region matrix of sample {bad.sample_id} (check the motifs / matrix_dtype)")
    return matrices


def _contiguous_block_rows(block: list[_Sample], windows, matrices: np.ndarray, previous_negatives, maker: _RowMaker):
    """``contiguous`` NGSP rows: the negative right halves (another sample's, or the sample's own
    dinucleotide-shuffled), with the scan of the composite windows.

    The pool is ``(sample ids, right halves)`` of this block and the previous one.
    """
    cut = maker.bases_per_region // 2  # left half = [start, start + cut), right half = [start + cut, end)
    current_negatives = ([sample.sample_id for sample in block], [[bases[cut:] for _, _, bases in sample_windows] for sample_windows in windows])
    if maker.ngsp_negatives == "shuffled":
        negative_ids = [f"{sample_id}:shuffled" for sample_id in current_negatives[0]]
        negative_halves = [[dinucleotide_shuffle(right, maker.rng) for right in halves] for halves in current_negatives[1]]
    else:
        pool_ids = current_negatives[0] + (previous_negatives[0] if previous_negatives else [])
        pool_halves = current_negatives[1] + (previous_negatives[1] if previous_negatives else [])
        partners = _draw_partners(maker, len(pool_ids), len(block))
        negative_ids, negative_halves = [pool_ids[j] for j in partners], [pool_halves[j] for j in partners]
    composites = [
        [bases[:cut] + right for (_, _, bases), right in zip(sample_windows, halves)]
        for sample_windows, halves in zip(windows, negative_halves)
    ]
    negative_matrices = _scan(maker, composites, block)
    rows = {
        **_sample_columns(block, windows, matrices),
        "negative_sample_id": negative_ids,
        "negative_sequences": negative_halves,
        "negative_region_matrix": list(negative_matrices),
    }
    return rows, current_negatives


def _write_samples(samples, shards: ShardWriters, maker: _RowMaker, negative_pool_size: int, progress: bool):
    """Scan and write every sample, ``negative_pool_size`` at a time; return (counts, dropped) per split and cell type.

    A (cell type, split) with a single sample has no NGSP partner: it is dropped with a warning.
    """
    from tqdm.auto import tqdm

    counts: dict[str, dict[str, int]] = {split: {} for split in SPLITS}
    dropped: dict[str, dict[str, int]] = {}
    total = sum(len(split_samples) for by_split in samples.values() for split_samples in by_split.values())
    with tqdm(total=total, unit="sample", desc="GeneBERT pre-training samples", disable=not progress) as bar:
        for cell_type in sorted(samples):
            for split in SPLITS:
                split_samples = samples[cell_type].get(split, [])
                if not split_samples:
                    continue
                if len(split_samples) == 1:
                    logger.warning("cell type %s, split %s: a single sample has no NGSP partner; dropped", cell_type, split)
                    dropped.setdefault(split, {})[cell_type] = 1
                    bar.update(1)
                    continue
                previous_negatives = None
                for first in range(0, len(split_samples), negative_pool_size):
                    block = split_samples[first : first + negative_pool_size]
                    rows, previous_negatives = _block_rows(block, previous_negatives, maker)
                    shards.write(split, rows)
                    counts[split][cell_type] = counts[split].get(cell_type, 0) + len(block)
                    bar.update(len(block))
    return counts, dropped

def _write_metadata(build_dir: str, info: dict, motif_set: MotifSet, features) -> None:
    """motifs.json, build_info.json and the dataset card (README.md)."""
    with open(os.path.join(build_dir, "motifs.json"), "w") as fh:
        json.dump(motif_set.to_json(), fh, indent=1)
    with open(os.path.join(build_dir, "build_info.json"), "w") as fh:
        json.dump(info, fh, indent=1)
    with open(os.path.join(build_dir, "README.md"), "w") as fh:
        fh.write(pretraining_dataset_card(features, motif_set, info))


# --------------------------------------------------------------------------- the builder
@dataclass(kw_only=True)
class BuildResult:
    """What a pre-training build wrote and counted; :meth:`to_dict` is ``build_info.json``."""

    schema_version: int
    output_dir: Path
    source: str  # the region source's description
    split_rule: str
    num_tfs: int
    num_samples: dict[str, int] = field(default_factory=dict)  # per split
    num_samples_per_cell_type: dict[str, dict[str, int]] = field(default_factory=dict)  # per split, then cell type
    num_regions_per_cell_type: dict[str, int] = field(default_factory=dict)
    dropped_single_samples: dict[str, dict[str, int]] = field(default_factory=dict)  # no NGSP partner
    overlap_filter: dict[str, Any] | None = None  # with exclude_overlap_with: windows checked and dropped
    shards: dict[str, list[str]] = field(default_factory=dict)  # Parquet files under data/, per split
    parameters: dict[str, Any] = field(default_factory=dict)  # what shapes every sample
    attribution: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "output_dir": str(self.output_dir)}

    def summary(self) -> dict[str, Any]:
        """What ``genebert-build-pretraining`` prints: where, how many TFs and samples, how long; windows dropped."""
        summary = {key: getattr(self, key) for key in ("num_tfs", "num_samples", "num_samples_per_cell_type", "seconds")}
        summary = {"output_dir": str(self.output_dir), **summary}
        if self.overlap_filter:
            summary["overlap_windows_dropped"] = self.overlap_filter["windows_dropped"]
        return summary


@dataclass(kw_only=True)
class PretrainingBuilder:
    """Every setting of a pre-training build (schema: :mod:`.pretraining_load`) but where its regions come from
    and where it goes: :meth:`build` takes those two.

    Fields:
        genome: FASTA for sources without sequences (random access via pyfaidx).
        cell_types: restrict to (and require) these cell types.
        exclude_overlap_with: benchmark sequence files (CSV/TSV with a ``sequence`` column, FASTA,
            or one sequence per line; plain or gzip): every region whose stored window shares an
            exact ``overlap_k``-mer (default 32) with one of their sequences, on either strand, is
            dropped before the samples are formed (:mod:`.overlap`); the counts go to
            ``build_info.json`` (``overlap_filter``) and the dataset card.
        motifs: a :class:`~.motifs.MotifSet`, a JASPAR release name or a motif file;
            default JASPAR 2018 CORE vertebrates (579). ``motif_options`` go to
            :func:`~.motifs.load_motifs` (``pseudocounts``, ``background``,
            ``collection``, ``tax_group``, ``all_versions``, ``fmt``).
        regions_per_sample: R, regions per sample (paper: 10).
        bases_per_region: bases stored per region (default 50: 10 regions of 6-mers fit
            a 512-token BERT with two segments).
        validation_chroms / test_chroms: chromosome lists for the validation / test
            splits. Default: the source's own split labels when it has them (DHS
            ``data_label``), else validation = ``chr2``.
        aggregation: ``max`` (default), ``mean``, ``logsumexp`` or ``count`` (see
            :mod:`.motif_scan`); both_strands: scan the reverse strand too.
        matrix_dtype: ``float32`` (default) or ``float16``.
        seed: seeds the choice of negative partners.
        ngsp_pairing: ``"next_regions"`` (default, schema version 1): A = the first half of the
            regions, B = the next regions or another sample's; ``"contiguous"`` (schema version 2):
            A = the left halves of the windows, B = their right halves (the genome that follows)
            or another sample's right halves. What each learns:
            docs/results/2026-12-01-pretraining-design.md#ngsp.
        ngsp_negatives: where a ``contiguous`` "not next" B comes from: ``"other_sample"``
            (default; another sample's right halves) or ``"shuffled"`` (a dinucleotide shuffle of
            the sample's own right halves: composition-matched, the version that learns).
        negative_pool_size: samples scanned and paired per block (memory bound).
        samples_per_shard / rows_per_row_group: Parquet sharding.
        device: torch device for motif scanning.
        num_proc: processes that scan motifs (CPU); the output is byte-identical to one process.
        overwrite: replace an existing output folder (atomically); else it is an error.
        progress: show a tqdm progress bar.
        attribution: licence / attribution text for the dataset card.
    """

    genome: PathLike | None = None
    cell_types: Sequence[str] | None = None
    exclude_overlap_with: Sequence[PathLike] | None = None
    overlap_k: int = OVERLAP_K
    motifs: MotifSet | PathLike | None = None
    motif_options: Mapping | None = None
    regions_per_sample: int = 10
    bases_per_region: int = 50
    validation_chroms: Sequence[str] | None = None
    test_chroms: Sequence[str] | None = None
    aggregation: str = "max"
    both_strands: bool = True
    matrix_dtype: str = "float32"
    seed: int = 0
    negative_pool_size: int = 256
    ngsp_pairing: str = DEFAULT_NGSP_PAIRING
    ngsp_negatives: str = "other_sample"
    samples_per_shard: int = 2000
    rows_per_row_group: int = 256
    device: str = "cpu"
    num_proc: int = 1
    overwrite: bool = False
    progress: bool = True
    attribution: str | None = None

    def parameters(self) -> dict[str, Any]:
        """The settings that shape every sample (``parameters`` in ``build_info.json``)."""
        names = ("regions_per_sample", "bases_per_region", "aggregation", "both_strands", "matrix_dtype", "seed",
                 "negative_pool_size", "ngsp_pairing", "ngsp_negatives")
        return {name: getattr(self, name) for name in names}

    def build(self, output_dir: PathLike, source: RegionSource) -> BuildResult:
        """Read ``source``'s regions, cut and pair the samples, scan and write them to ``output_dir``, which
        appears atomically at the end (an existing one only with ``overwrite``)."""
        started = time.time()
        output = AtomicOutput(output_dir, overwrite=self.overwrite)
        _check_parameters(self.parameters())
        overlap_index = OverlapIndex.from_files(self.exclude_overlap_with, k=self.overlap_k) if self.exclude_overlap_with else None
        regions_by_cell_type = _select_and_sort(source.load(window=self.bases_per_region), self.cell_types, self.regions_per_sample)
        with _open_genome(regions_by_cell_type, self.genome, source.description, self.bases_per_region) as fasta:
            overlap_report = None
            if overlap_index is not None:
                regions_by_cell_type, overlap_report = _drop_overlapping(
                    regions_by_cell_type, overlap_index, fasta, self.bases_per_region, self.regions_per_sample)
            split_rule = _SplitRule.choose(regions_by_cell_type, self.validation_chroms, self.test_chroms)
            samples = _group_samples(regions_by_cell_type, split_rule, self.regions_per_sample)
            motif_set = load_motifs(self.motifs, **(self.motif_options or {}))
            result = BuildResult(
                schema_version=NGSP_PAIRINGS[self.ngsp_pairing], output_dir=Path(output.path), source=source.description,
                split_rule=split_rule.description, num_tfs=len(motif_set),
                num_regions_per_cell_type={cell_type: len(regions) for cell_type, regions in regions_by_cell_type.items()},
                overlap_filter=overlap_report, parameters=self.parameters(), attribution=self.attribution,
            )
            self._write(output, samples, motif_set, fasta, result, started)
        result.seconds = round(time.time() - started, 2)
        return result

    def _write(self, output: AtomicOutput, samples, motif_set: MotifSet, fasta, result: BuildResult, started: float) -> None:
        """Scan and write every sample, then motifs.json, build_info.json and the card; counts go into ``result``."""
        features = pretraining_features(self.regions_per_sample, len(motif_set), self.matrix_dtype, self.ngsp_pairing)
        maker = _RowMaker(
            scanner=MotifScanner(motif_set, device=self.device, both_strands=self.both_strands, num_proc=self.num_proc),
            genome=fasta,
            regions_per_sample=self.regions_per_sample,
            bases_per_region=self.bases_per_region,
            aggregation=self.aggregation,
            matrix_dtype=self.matrix_dtype,
            rng=np.random.default_rng(self.seed),
            ngsp_pairing=self.ngsp_pairing,
            ngsp_negatives=self.ngsp_negatives,
        )
        with output as build_dir, ShardWriters(os.path.join(build_dir, "data"), features, self.samples_per_shard,
                                               self.rows_per_row_group) as shards:
            try:
                counts, result.dropped_single_samples = _write_samples(samples, shards, maker, self.negative_pool_size, self.progress)
            finally:
                maker.scanner.close()
            result.num_samples = {split: sum(counts[split].values()) for split in SPLITS if counts[split]}
            result.num_samples_per_cell_type = {split: counts[split] for split in result.num_samples}
            result.shards = shards.finish()
            result.seconds = round(time.time() - started, 2)
            _write_metadata(build_dir, result.to_dict(), motif_set, features)


def build_pretraining_dataset(output_dir: PathLike, **options) -> dict:
    """Build the pre-training dataset (schema: :mod:`.pretraining_load`) at ``output_dir``: the keyword form of
    ``PretrainingBuilder(...).build(output_dir, region_source(...))``.

    The keyword arguments of :func:`~.region_sources.region_source` name the region source (give exactly one):
        source: a :class:`~.region_sources.RegionSource` (``DhsTable(path)``,
            ``PeakFiles({...})``, ...); the keyword arguments below are shorthands for them.
        regions: ``{cell_type: [Region, ...]}`` built in Python.
        dhs_table: a DNA-Diffusion / ENCODE DHS table (sequence included; its
            ``data_label`` gives the splits unless chromosome lists are passed).
        sequence_table: any table with coordinates, a sequence column and per-cell-type
            columns (options for :func:`~.readers.read_sequence_table` in
            ``sequence_table_options``).
        peaks: one BED / narrowPeak file per cell type (``{cell_type: path}`` or a list
            of paths named after the cell type); needs ``genome``.
        region_table: a regions x cell-types table binarised at ``threshold``; needs ``genome``.
        h5ad: an AnnData of cells x peaks with ``obs[cell_type_key]``, pseudo-bulked per
            cell type and binarised at ``threshold``; needs ``genome``.
        genome_windows: a FASTA (or several, with distinct record names) tiled into consecutive
            ``bases_per_region`` windows, added as the pseudo cell type ``genome`` (alone or beside
            another source; see :class:`~.region_sources.GenomeWindows`).

    Every other keyword argument is a field of :class:`PretrainingBuilder` (``genome``, ``cell_types``,
    ``motifs``, ``regions_per_sample``, ``bases_per_region``, ``overwrite``, ...), documented there.

    Returns:
        what ``build_info.json`` holds (:meth:`BuildResult.to_dict`): counts per split and cell
        type, number of TFs, seconds taken, output path.
    """
    source_keywords = inspect.signature(region_source).parameters
    source = region_source(**{name: options.pop(name) for name in list(options) if name in source_keywords})
    return PretrainingBuilder(**options).build(output_dir, source).to_dict()


# --------------------------------------------------------------------------- the default
DEFAULT_ATTRIBUTION = (
    "Embedded mini-atlas: ENCODE DNase I hypersensitive sites (hg38) specific to K562 or HepG2, "
    "chr2-chr8, from the DHS index of Meuleman et al. 2020 (Nature 584:244-251) as published in the "
    "DNA-Diffusion repository (pinellolab); licence: see LICENSE-DNA-Diffusion.md shipped in "
    "dataset_scripts/data/ (Apache-2.0 for academic and non-profit use). "
    "Motifs: JASPAR 2018 (Khan et al. 2018, CC BY 4.0) via pyjaspar."
)


def build_default_pretraining_dataset(output_dir: str | os.PathLike, **options) -> dict:
    """Build the pre-training dataset from the embedded mini-atlas (no downloads).

    The mini-atlas (``data/dhs_mini_atlas.tsv.gz``) holds 9,758 real ENCODE DHS sites
    of K562 and HepG2 on chr2-chr8 with their sequences; splits follow its
    ``data_label`` (validation = chr2). Motifs: JASPAR 2018 CORE vertebrates (579).
    ``options`` are those of :func:`build_pretraining_dataset` (e.g.
    ``regions_per_sample``, ``bases_per_region``, ``matrix_dtype``, ``overwrite``).
    """
    options.setdefault("attribution", DEFAULT_ATTRIBUTION)
    return build_pretraining_dataset(output_dir, dhs_table=default_atlas_path(), **options)


__all__ = [
    "DEFAULT_ATTRIBUTION",
    "BuildResult",
    "PretrainingBuilder",
    "build_default_pretraining_dataset",
    "build_pretraining_dataset",
    "cache_dir",
    "default_atlas_path",
]
