"""The GeneBERT pre-training dataset: samples of consecutive accessible regions + region matrices.

One row = one sample = ``R`` (``regions_per_sample``, default 10) consecutive accessible
regions (sorted by chromosome, start) of one cell type on one chromosome:

=========================  ==========================================  =====================================
column                     type                                        meaning
=========================  ==========================================  =====================================
``sample_id``              string                                      ``"<cell type>:<chrom>:<k>"``, k = sample
                                                                       index on that chromosome (0-based)
``cell_type``              string
``chrom``                  string
``starts`` / ``ends``      List(int64, length=R)                       0-based half-open genome coordinates of
                                                                       each region's *window* (the stored bases)
``sequences``              List(string, length=R)                      each exactly ``bases_per_region`` bases
                                                                       (default 50), centred on the summit if
                                                                       known else the region centre; case as in
                                                                       the source (soft-masking kept)
``region_matrix``          Array2D((R, num_tfs), float32 | float16)    row i = TF-binding vector of region i,
                                                                       scanned on the stored window (max
                                                                       log2-odds over both strands by default)
``negative_sequences``     List(string, length=R - R//2)               the second half of *another* sample of
                                                                       the same cell type and split (seeded)
``negative_region_matrix`` Array2D((R - R//2, num_tfs))                its region-matrix rows
=========================  ==========================================  =====================================

The TF order (JASPAR ids and names) is in ``motifs.json`` next to the data, in the
dataset card and, after :func:`load_pretraining_dataset`, in ``dataset.info.description``
(JSON). Splits are by chromosome: ``train``, ``validation`` and, if asked for, ``test``.

Output layout (loadable with ``datasets.load_dataset(out_dir)``, streaming included)::

    out_dir/README.md                       dataset card (YAML: configs -> shards, features)
    out_dir/motifs.json                     TF ids / names / widths / background, in matrix order
    out_dir/build_info.json                 parameters, sources, counts per split and cell type
    out_dir/data/train-00000-of-00002.parquet ...

Memory stays flat in the number of regions apart from the region coordinates
themselves: sequences are fetched, scanned and written block by block
(``negative_pool_size`` samples at a time; the Parquet shards are written
incrementally). The output appears atomically: it is built in a temporary sibling
directory and renamed at the end; an existing output is only replaced (atomically)
with ``overwrite=True``.

Negatives for next-genome-segment prediction: for each sample, another sample of the same
cell type and split is drawn uniformly (``numpy`` RNG seeded with ``seed``) from the
current block and the previous block of ``negative_pool_size`` samples; its second
half is stored. A (cell type, split) with a single sample has no partner: that sample is
dropped with a warning (counted in ``build_info.json``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Mapping, Sequence

import numpy as np

from .motif_scan import AGGREGATIONS, MotifScanner
from .motifs import MotifSet, load_motifs
from .readers import (
    DataFormatError,
    Genome,
    Region,
    natural_key,
    read_dhs_table,
    read_h5ad_pseudobulk,
    read_peak_files,
    read_region_table,
    read_sequence_table,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SPLITS = ("train", "validation", "test")
DEFAULT_VALIDATION_CHROMS = ("chr2",)


def default_atlas_path() -> str:
    """Path of the embedded mini-atlas (``data/dhs_mini_atlas.tsv.gz``, see ``data/README.md``)."""
    return str(resources.files(__package__).joinpath("data", "dhs_mini_atlas.tsv.gz"))


def pretraining_features(regions_per_sample: int, num_tfs: int, matrix_dtype: str = "float32"):
    """The :class:`datasets.Features` of the pre-training schema."""
    from datasets import Array2D, Features, List, Value

    r = regions_per_sample
    neg = r - r // 2
    return Features(
        {
            "sample_id": Value("string"),
            "cell_type": Value("string"),
            "chrom": Value("string"),
            "starts": List(Value("int64"), length=r),
            "ends": List(Value("int64"), length=r),
            "sequences": List(Value("string"), length=r),
            "region_matrix": Array2D(shape=(r, num_tfs), dtype=matrix_dtype),
            "negative_sequences": List(Value("string"), length=neg),
            "negative_region_matrix": Array2D(shape=(neg, num_tfs), dtype=matrix_dtype),
        }
    )


@dataclass
class _Sample:
    cell_type: str
    chrom: str
    index: int
    regions: list[Region]


# --------------------------------------------------------------------------- inputs
def _load_regions(
    regions, dhs_table, sequence_table, peaks, region_table, h5ad, bases_per_region, threshold, cell_type_key, sequence_table_options
) -> tuple[dict[str, list[Region]], str]:
    given = [x is not None for x in (regions, dhs_table, sequence_table, peaks, region_table, h5ad)]
    if sum(given) != 1:
        raise ValueError(
            "give exactly one region source: regions=, dhs_table=, sequence_table=, peaks=, region_table= or h5ad= "
            f"(got {sum(given)})"
        )
    if regions is not None:
        return {k: list(v) for k, v in regions.items()}, "regions given in Python"
    if dhs_table is not None:
        return read_dhs_table(dhs_table, window=bases_per_region), f"DHS table {os.path.basename(os.fspath(dhs_table))}"
    if sequence_table is not None:
        opts = dict(sequence_table_options or {})
        opts.setdefault("window", bases_per_region)
        return read_sequence_table(sequence_table, **opts), f"sequence table {os.path.basename(os.fspath(sequence_table))}"
    if peaks is not None:
        return read_peak_files(peaks), "peak files " + ", ".join(
            os.path.basename(os.fspath(p)) for p in (peaks.values() if isinstance(peaks, Mapping) else peaks)
        )
    if region_table is not None:
        return read_region_table(region_table, threshold=threshold), f"region table {os.path.basename(os.fspath(region_table))}"
    return (
        read_h5ad_pseudobulk(h5ad, cell_type_key=cell_type_key, threshold=threshold),
        f"AnnData pseudo-bulk {os.path.basename(os.fspath(h5ad))}",
    )


def _prepare(regions: dict[str, list[Region]], cell_types, regions_per_sample: int) -> dict[str, list[Region]]:
    if cell_types is not None:
        unknown = [c for c in cell_types if c not in regions]
        if unknown:
            raise DataFormatError(f"cell type(s) {unknown} not in the input (it has {sorted(regions)})")
        regions = {c: regions[c] for c in cell_types}
    if not regions:
        raise DataFormatError("the input holds no cell types")
    empty = sorted(c for c, r in regions.items() if not r)
    if empty:
        raise DataFormatError(f"cell type(s) with no accessible region: {empty}")
    too_few = {c: len(r) for c, r in regions.items() if len(r) < regions_per_sample}
    if too_few:
        raise DataFormatError(
            f"cell type(s) with fewer regions than regions_per_sample={regions_per_sample}: "
            + ", ".join(f"{c} ({n})" for c, n in sorted(too_few.items()))
        )
    out = {}
    for c in sorted(regions):
        rs = sorted(regions[c], key=lambda r: (natural_key(r.chrom), r.start, r.end))
        dedup = [r for i, r in enumerate(rs) if i == 0 or (r.chrom, r.start, r.end) != (rs[i - 1].chrom, rs[i - 1].start, rs[i - 1].end)]
        out[c] = dedup
    return out


def _split_of(region: Region, validation_chroms, test_chroms, use_labels: bool) -> str:
    if use_labels:
        s = region.split or "train"
        if s not in SPLITS:
            raise DataFormatError(f"{region.origin}: field 'split': unknown split label (value {region.split!r}); expected one of {SPLITS}")
        return s
    if region.chrom in test_chroms:
        return "test"
    if region.chrom in validation_chroms:
        return "validation"
    return "train"


def _samples(cell_type: str, regions: list[Region], split_of, r: int) -> dict[str, list[_Sample]]:
    """Group sorted regions into samples of ``r`` consecutive regions on one chromosome and split."""
    by_split: dict[str, list[_Sample]] = {}
    run: list[Region] = []
    counters: dict[str, int] = {}

    def flush():
        for k in range(0, len(run) - r + 1, r):
            chrom = run[0].chrom
            idx = counters.get(chrom, 0)
            counters[chrom] = idx + 1
            by_split.setdefault(split_of(run[0]), []).append(_Sample(cell_type, chrom, idx, run[k : k + r]))

    for reg in regions:
        if run and (reg.chrom != run[-1].chrom or split_of(reg) != split_of(run[-1])):
            flush()
            run = []
        run.append(reg)
    if run:
        flush()
    return by_split


def _window(region: Region, b: int, genome: Genome | None) -> tuple[int, int, str]:
    """(start, end, bases) of the ``b``-base window centred on the summit / centre."""
    if region.sequence is not None:
        seq, s0 = region.sequence, region.seq_start
        if len(seq) < b:
            raise DataFormatError(f"{region.origin}: field 'sequence': {len(seq)} bases, shorter than bases_per_region={b}")
        lo = min(max(region.centre - b // 2 - s0, 0), len(seq) - b)
        return s0 + lo, s0 + lo + b, seq[lo : lo + b]
    if genome is None:
        raise ValueError(f"{region.origin}: region {region.chrom}:{region.start}-{region.end} has no sequence; pass genome= (a FASTA)")
    n = genome.lengths[region.chrom]
    start = min(max(region.centre - b // 2, 0), n - b)
    return start, start + b, genome.fetch(region.chrom, start, start + b)


# --------------------------------------------------------------------------- writing
class _SplitWriter:
    """Writes one split's rows into numbered Parquet shards with the datasets ParquetWriter."""

    def __init__(self, root: str, split: str, features, samples_per_shard: int, rows_per_group: int):
        self.root, self.split, self.features = root, split, features
        self.samples_per_shard, self.rows_per_group = samples_per_shard, rows_per_group
        self.paths: list[str] = []
        self.writer = None
        self.in_shard = 0
        self.total = 0

    def _open(self):
        from datasets.arrow_writer import ParquetWriter

        path = os.path.join(self.root, f"{self.split}-{len(self.paths):05d}.parquet")
        self.paths.append(path)
        self.writer = ParquetWriter(features=self.features, path=path, writer_batch_size=self.rows_per_group)
        self.in_shard = 0

    def write(self, rows: dict[str, list]):
        n = len(rows["sample_id"])
        lo = 0
        while lo < n:
            if self.writer is None or self.in_shard >= self.samples_per_shard:
                self.close()
                self._open()
            take = min(n - lo, self.samples_per_shard - self.in_shard)
            self.writer.write_batch({k: v[lo : lo + take] for k, v in rows.items()})
            self.in_shard += take
            self.total += take
            lo += take

    def close(self):
        if self.writer is not None:
            self.writer.finalize()
            self.writer.close()
            self.writer = None

    def finish(self) -> list[str]:
        """Close and rename shards to ``{split}-XXXXX-of-YYYYY.parquet``; return the new names."""
        self.close()
        names = []
        for i, p in enumerate(self.paths):
            name = f"{self.split}-{i:05d}-of-{len(self.paths):05d}.parquet"
            os.replace(p, os.path.join(self.root, name))
            names.append(name)
        return names


def _dataset_card(features, motifs: MotifSet, info: dict) -> str:
    import yaml

    splits = [s for s in SPLITS if info["num_samples"].get(s)]
    meta = {
        "configs": [
            {"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits]}
        ],
        "dataset_info": {
            "features": features._to_yaml_list(),
            "splits": [{"name": s, "num_examples": info["num_samples"][s]} for s in splits],
        },
        "tags": ["biology", "genomics", "dna", "chromatin-accessibility", "genebert"],
    }
    p = info["parameters"]
    r, t = p["regions_per_sample"], motifs.__len__()
    counts = "\n".join(
        f"| {s} | {ct} | {n} |" for s in splits for ct, n in sorted(info["num_samples_per_cell_type"][s].items())
    )
    tf_lines = "\n".join(f"{i}\t{mid}\t{name}" for i, (mid, name) in enumerate(zip(motifs.ids, motifs.names)))
    return f"""---
{yaml.safe_dump(meta, sort_keys=False)}---

# GeneBERT pre-training dataset

Built by `dataset_scripts` (schema version {SCHEMA_VERSION}) from
{info['source']}. Paired DNA sequence / region-matrix samples for GeneBERT pre-training
(Mo et al., section 3.1 / 4.1): masked genome modelling and next-genome-segment
prediction on `sequences`, sequence-region matching between `sequences` and
`region_matrix`.

## Schema

One row = one sample = R = {r} consecutive accessible regions (sorted by chromosome,
start) of one cell type on one chromosome; num_tfs = {t}.

| column | type | meaning |
|---|---|---|
| `sample_id` | string | `<cell type>:<chrom>:<k>`, k = the sample's index on that chromosome |
| `cell_type` | string | |
| `chrom` | string | |
| `starts`, `ends` | List(int64, length={r}) | 0-based half-open genome coordinates of each region's window (the bases stored) |
| `sequences` | List(string, length={r}) | {p['bases_per_region']} bases per region, centred on the summit if known else the region centre, case as in the source |
| `region_matrix` | Array2D(({r}, {t}), {p['matrix_dtype']}) | row i = TF-binding vector of region i, from its stored window: {p['aggregation']} log2-odds over {'both strands' if p['both_strands'] else 'the forward strand'} |
| `negative_sequences` | List(string, length={r - r // 2}) | second half of another sample of the same cell type and split (seed {p['seed']}) |
| `negative_region_matrix` | Array2D(({r - r // 2}, {t}), {p['matrix_dtype']}) | its region-matrix rows |

Windows containing N (or another non-ACGT code) get no score; a region without any
scoreable window for a motif gets that motif's lowest possible score.

## Motifs

{motifs.source}; pseudocounts {motifs.pseudocounts}; background {motifs.background}.
The matrix columns follow `motifs.json` (`ids`, `names`); the same list as
`index<TAB>id<TAB>name`:

<details><summary>{t} TFs</summary>

```
{tf_lines}
```
</details>

## Splits and counts

Split rule: {info['split_rule']}.

| split | cell type | samples |
|---|---|---|
{counts}

## Loading

```python
from dataset_scripts import load_pretraining_dataset
ds = load_pretraining_dataset("{os.path.basename(info['output_dir'])}")            # DatasetDict
ds = load_pretraining_dataset("{os.path.basename(info['output_dir'])}", streaming=True)
# or: datasets.load_dataset("<this folder>")
```

## Source data and licence

{info.get('attribution') or 'See the source files this dataset was built from for their licences.'}
"""


# --------------------------------------------------------------------------- the builder
def build_pretraining_dataset(
    output_dir: str | os.PathLike,
    *,
    regions: Mapping[str, Sequence[Region]] | None = None,
    dhs_table: str | os.PathLike | None = None,
    sequence_table: str | os.PathLike | None = None,
    sequence_table_options: Mapping | None = None,
    peaks: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike] | None = None,
    region_table: str | os.PathLike | None = None,
    h5ad: str | os.PathLike | None = None,
    cell_type_key: str = "cell_type",
    threshold: float = 0.0,
    genome: str | os.PathLike | None = None,
    cell_types: Sequence[str] | None = None,
    motifs: MotifSet | str | os.PathLike | None = None,
    motif_options: Mapping | None = None,
    regions_per_sample: int = 10,
    bases_per_region: int = 50,
    validation_chroms: Sequence[str] | None = None,
    test_chroms: Sequence[str] | None = None,
    aggregation: str = "max",
    both_strands: bool = True,
    matrix_dtype: str = "float32",
    seed: int = 0,
    negative_pool_size: int = 256,
    samples_per_shard: int = 2000,
    rows_per_row_group: int = 256,
    device: str = "cpu",
    overwrite: bool = False,
    progress: bool = True,
    attribution: str | None = None,
) -> dict:
    """Build the pre-training dataset (schema in the module docstring) at ``output_dir``.

    Region sources (give exactly one):
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

    Args:
        genome: FASTA for sources without sequences (random access via pyfaidx).
        cell_types: restrict to (and require) these cell types.
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
        negative_pool_size: samples scanned and paired per block (memory bound).
        samples_per_shard / rows_per_row_group: Parquet sharding.
        device: torch device for motif scanning.
        overwrite: replace an existing ``output_dir`` (atomically); else it is an error.
        progress: show a tqdm progress bar.
        attribution: licence / attribution text for the dataset card.

    Returns:
        a summary dict (also written to ``build_info.json``): counts per split and cell
        type, number of TFs, seconds taken, output path.
    """
    t0 = time.time()
    output_dir = os.path.abspath(os.fspath(output_dir))
    _recover_interrupted_builds(output_dir)
    if os.path.exists(output_dir) and not overwrite:
        raise FileExistsError(f"{output_dir} exists; pass overwrite=True to replace it")
    if regions_per_sample < 2:
        raise ValueError(f"regions_per_sample must be >= 2 (NGSP needs two segments), got {regions_per_sample}")
    if bases_per_region < 1:
        raise ValueError(f"bases_per_region must be >= 1, got {bases_per_region}")
    if negative_pool_size < 2:
        raise ValueError(f"negative_pool_size must be >= 2, got {negative_pool_size}")
    if matrix_dtype not in ("float32", "float16"):
        raise ValueError(f"matrix_dtype must be float32 or float16, got {matrix_dtype!r}")
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    r = regions_per_sample
    b = bases_per_region

    by_ct, source = _load_regions(
        regions, dhs_table, sequence_table, peaks, region_table, h5ad, b, threshold, cell_type_key, sequence_table_options
    )
    by_ct = _prepare(by_ct, cell_types, r)

    fasta = None
    if any(reg.sequence is None for rs in by_ct.values() for reg in rs):
        if genome is None:
            raise ValueError(f"the regions from {source} carry no sequence: pass genome= (a FASTA)")
        fasta = Genome(genome)
        for rs in by_ct.values():
            fasta.check((x for x in rs if x.sequence is None), window=b)

    use_labels = validation_chroms is None and test_chroms is None and any(
        reg.split is not None for rs in by_ct.values() for reg in rs
    )
    if use_labels:
        split_rule = "the source's own split labels (e.g. DHS data_label: training -> train)"
        vset, tset = set(), set()
    else:
        vset = set(DEFAULT_VALIDATION_CHROMS if validation_chroms is None and test_chroms is None else (validation_chroms or ()))
        tset = set(test_chroms or ())
        if vset & tset:
            raise ValueError(f"chromosomes in both validation and test: {sorted(vset & tset)}")
        split_rule = f"validation = {sorted(vset, key=natural_key)}, test = {sorted(tset, key=natural_key)}, train = the rest"

    def split_of(reg):
        return _split_of(reg, vset, tset, use_labels)

    samples = {ct: _samples(ct, rs, split_of, r) for ct, rs in by_ct.items()}
    total = sum(len(v) for d in samples.values() for v in d.values())
    if total == 0:
        raise DataFormatError(f"no chromosome holds {r} regions of one cell type: no samples (regions_per_sample={r})")
    for ct, d in samples.items():
        if not any(d.values()):
            raise DataFormatError(f"cell type {ct}: no chromosome holds regions_per_sample={r} of its regions")

    mset = load_motifs(motifs, **(motif_options or {}))
    scanner = MotifScanner(mset, device=device, both_strands=both_strands)
    t_count = len(mset)
    features = pretraining_features(r, t_count, matrix_dtype)
    np_dtype = np.float32 if matrix_dtype == "float32" else np.float16

    parent = os.path.dirname(output_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(output_dir)}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    data_dir = os.path.join(tmp, "data")
    os.makedirs(data_dir)
    rng = np.random.default_rng(seed)
    counts: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    dropped: dict[str, dict[str, int]] = {}
    writers: dict[str, _SplitWriter] = {}
    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="sample", desc="GeneBERT pre-training samples", disable=not progress)
        for ct in sorted(samples):
            for split in SPLITS:
                ss = samples[ct].get(split, [])
                if not ss:
                    continue
                if len(ss) == 1:
                    logger.warning("cell type %s, split %s: a single sample has no NGSP partner; dropped", ct, split)
                    dropped.setdefault(split, {})[ct] = 1
                    bar.update(1)
                    continue
                if split not in writers:
                    writers[split] = _SplitWriter(data_dir, split, features, samples_per_shard, rows_per_row_group)
                prev = None
                for lo in range(0, len(ss), negative_pool_size):
                    block = ss[lo : lo + negative_pool_size]
                    rows, prev = _block_rows(block, prev, scanner, fasta, b, r, aggregation, np_dtype, rng)
                    writers[split].write(rows)
                    counts[split][ct] = counts[split].get(ct, 0) + len(block)
                    bar.update(len(block))
        bar.close()
        shards = {s: w.finish() for s, w in writers.items()}
        num = {s: sum(counts[s].values()) for s in SPLITS if counts[s]}
        info = {
            "schema_version": SCHEMA_VERSION,
            "output_dir": output_dir,
            "source": source,
            "split_rule": split_rule,
            "num_tfs": t_count,
            "num_samples": num,
            "num_samples_per_cell_type": {s: counts[s] for s in num},
            "num_regions_per_cell_type": {ct: len(rs) for ct, rs in by_ct.items()},
            "dropped_single_samples": dropped,
            "shards": shards,
            "parameters": {
                "regions_per_sample": r,
                "bases_per_region": b,
                "aggregation": aggregation,
                "both_strands": both_strands,
                "matrix_dtype": matrix_dtype,
                "seed": seed,
                "negative_pool_size": negative_pool_size,
            },
            "attribution": attribution,
        }
        with open(os.path.join(tmp, "motifs.json"), "w") as fh:
            json.dump(mset.to_json(), fh, indent=1)
        info["seconds"] = round(time.time() - t0, 2)
        with open(os.path.join(tmp, "build_info.json"), "w") as fh:
            json.dump(info, fh, indent=1)
        with open(os.path.join(tmp, "README.md"), "w") as fh:
            fh.write(_dataset_card(features, mset, info))
        # atomic publish
        if os.path.exists(output_dir):
            old = os.path.join(parent, f".{os.path.basename(output_dir)}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            os.replace(output_dir, old)
            os.replace(tmp, output_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, output_dir)
    except BaseException:
        for w in writers.values():
            try:
                w.close()
            except Exception:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if fasta is not None:
            fasta.close()
    info["seconds"] = round(time.time() - t0, 2)
    return info


def _block_rows(block: list[_Sample], prev, scanner: MotifScanner, fasta, b: int, r: int, aggregation: str, np_dtype, rng):
    windows = [[_window(reg, b, fasta) for reg in s.regions] for s in block]
    seqs = [w[2] for ws in windows for w in ws]
    mats = scanner.scan(seqs, aggregation=aggregation).reshape(len(block), r, -1)
    mats = mats.astype(np_dtype)
    if not np.all(np.isfinite(mats)):
        i = int(np.argwhere(~np.isfinite(mats))[0][0])
        s = block[i]
        raise DataFormatError(f"non-finite value in the region matrix of sample {s.cell_type}:{s.chrom}:{s.index} (check the motifs / matrix_dtype)")
    h = r // 2
    cur_neg = ([[w[2] for w in ws[h:]] for ws in windows], mats[:, h:])
    pool_seqs = cur_neg[0] + (prev[0] if prev else [])
    pool_mats = np.concatenate([cur_neg[1], prev[1]]) if prev else cur_neg[1]
    n = len(block)
    pool = len(pool_seqs)
    partners = rng.integers(0, pool - 1, size=n)
    partners = partners + (partners >= np.arange(n))  # skip the sample itself (index i in the pool)
    rows = {
        "sample_id": [f"{s.cell_type}:{s.chrom}:{s.index}" for s in block],
        "cell_type": [s.cell_type for s in block],
        "chrom": [s.chrom for s in block],
        "starts": [[w[0] for w in ws] for ws in windows],
        "ends": [[w[1] for w in ws] for ws in windows],
        "sequences": [[w[2] for w in ws] for ws in windows],
        "region_matrix": list(mats),
        "negative_sequences": [pool_seqs[j] for j in partners],
        "negative_region_matrix": [pool_mats[j] for j in partners],
    }
    return rows, cur_neg


# --------------------------------------------------------------------------- the default
DEFAULT_ATTRIBUTION = (
    "Embedded mini-atlas: ENCODE DNase I hypersensitive sites (hg38) specific to K562 or HepG2, "
    "chr2-chr8, from the DHS index of Meuleman et al. 2020 (Nature 584:244-251) as published in the "
    "DNA-Diffusion repository (pinellolab); licence: see LICENSE-DNA-Diffusion.md shipped in "
    "modeling_genebert/dataset_scripts/data/ (Apache-2.0 for academic and non-profit use). "
    "Motifs: JASPAR 2018 (Khan et al. 2018, CC BY 4.0) via pyjaspar."
)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    return True


def _recover_interrupted_builds(output_dir: str) -> None:
    """Undo what a killed build (SIGKILL, power loss) of ``output_dir`` left behind.

    Its temporary folder is removed; if it died between the two renames that replace an
    existing dataset, the previous dataset (kept as ``.NAME.old-PID-*``) is put back, so a
    rerun never finds the old data gone. Folders of builds still running are left alone.
    """
    parent, base = os.path.split(output_dir)
    if not os.path.isdir(parent):
        return
    pattern = re.compile(rf"\.{re.escape(base)}\.(tmp|old)-(\d+)-[0-9a-f]{{8}}")
    for name in sorted(os.listdir(parent)):
        match = pattern.fullmatch(name)
        if not match or _process_alive(int(match.group(2))):
            continue
        path = os.path.join(parent, name)
        if match.group(1) == "old" and not os.path.exists(output_dir):
            os.replace(path, output_dir)
            logger.warning("%s: restored the previous dataset from an interrupted replacement", output_dir)
        else:
            shutil.rmtree(path, ignore_errors=True)
            logger.warning("%s: removed %s left by an interrupted build", output_dir, name)


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


# --------------------------------------------------------------------------- loading
def read_dataset_motifs(path: str | os.PathLike) -> dict:
    """The ``motifs.json`` of a built dataset (``ids``, ``names``, ``num_tfs``, ...)."""
    with open(os.path.join(os.fspath(path), "motifs.json")) as fh:
        return json.load(fh)


def load_pretraining_dataset(path: str | os.PathLike, streaming: bool = False, split: str | None = None):
    """Load a dataset built by :func:`build_pretraining_dataset`.

    Returns a ``DatasetDict`` (``IterableDatasetDict`` when ``streaming``; a single split
    when ``split`` is given) with the schema's features; ``info.description`` of each
    split holds the TF list as JSON (``{"tf_ids": [...], "tf_names": [...], ...}``).
    """
    import glob

    from datasets import load_dataset

    path = os.fspath(path)
    info_path = os.path.join(path, "build_info.json")
    if not os.path.exists(info_path):
        raise FileNotFoundError(f"{path} is not a GeneBERT pre-training dataset (no build_info.json)")
    with open(info_path) as fh:
        info = json.load(fh)
    mot = read_dataset_motifs(path)
    p = info["parameters"]
    features = pretraining_features(p["regions_per_sample"], mot["num_tfs"], p["matrix_dtype"])
    files = {s: sorted(glob.glob(os.path.join(path, "data", f"{s}-*.parquet"))) for s in SPLITS}
    files = {s: f for s, f in files.items() if f}
    if split is not None and split not in files:
        raise ValueError(f"{path} has no split {split!r} (it has {sorted(files)})")
    ds = load_dataset("parquet", data_files=files, features=features, streaming=streaming, split=split)
    desc = json.dumps(
        {
            "tf_ids": mot["ids"],
            "tf_names": mot["names"],
            "num_tfs": mot["num_tfs"],
            "motif_source": mot.get("source"),
            "regions_per_sample": p["regions_per_sample"],
            "bases_per_region": p["bases_per_region"],
        }
    )
    for d in [ds] if split is not None else ds.values():
        d.info.description = desc
    return ds


__all__ = [
    "build_default_pretraining_dataset",
    "build_pretraining_dataset",
    "default_atlas_path",
    "load_pretraining_dataset",
    "pretraining_features",
    "read_dataset_motifs",
]
