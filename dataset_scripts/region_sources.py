"""Where a pre-training dataset's accessible regions come from: one small class per source.

Every source has a ``description`` (a phrase naming it, written into ``build_info.json``
and the dataset card) and a ``load(window=None)`` that returns ``{cell_type: [Region]}``.
``window`` is the number of bases the build keeps per region: sources that carry their
own sequences trim them to it while reading (memory); the others ignore it.

=========================  ==========================================================
:class:`RegionsInPython`   ``{cell_type: [Region, ...]}`` built in Python
:class:`DhsTable`          a DNA-Diffusion / ENCODE DHS table (sequences, split labels)
:class:`SequenceTable`     any table with coordinates, a sequence and cell-type columns
:class:`PeakFiles`         one BED / narrowPeak file per cell type (needs a genome)
:class:`RegionTable`       a regions x cell-types table binarised at ``threshold``
:class:`AnnDataPseudobulk` an AnnData of cells x peaks, pseudo-bulked per cell type
:class:`GenomeWindows`     consecutive windows tiling a genome FASTA (one pseudo cell type)
:class:`CombinedSources`   several of the above in one dataset (cell types merged by name)
=========================  ==========================================================

:func:`region_source` maps the keyword arguments of
:func:`~.pretraining.build_pretraining_dataset` (``dhs_table=``, ``peaks=``, ...) to one
source and insists on exactly one; ``genome_windows=`` may be added to any of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .readers import (
    DataFormatError,
    Region,
    open_text,
    read_dhs_table,
    read_h5ad_pseudobulk,
    read_peak_files,
    read_region_table,
    read_sequence_table,
)

PathLike = str | os.PathLike


def _merged(loaded) -> dict[str, list[Region]]:
    """``{cell_type: regions}`` dicts joined per cell type (duplicates are the builder's to drop)."""
    merged: dict[str, list[Region]] = {}
    for regions_by_cell_type in loaded:
        for cell_type, regions in regions_by_cell_type.items():
            merged.setdefault(cell_type, []).extend(regions)
    return merged


def _file_name(path: PathLike) -> str:
    return os.path.basename(os.fspath(path))


class RegionSource:
    """Base class: accessible regions per cell type, read from one place."""

    @property
    def description(self) -> str:
        raise NotImplementedError

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        """``{cell_type: [Region, ...]}``; ``window``: bases the build keeps per region."""
        raise NotImplementedError


@dataclass
class RegionsInPython(RegionSource):
    """Regions built in Python: ``{cell_type: [Region, ...]}``."""

    regions: Mapping[str, Sequence[Region]]

    @property
    def description(self) -> str:
        return "regions given in Python"

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        return {cell_type: list(regions) for cell_type, regions in self.regions.items()}


@dataclass
class DhsTable(RegionSource):
    """One or more DNA-Diffusion / ENCODE DHS tables; their ``data_label`` column gives the splits.

    Several tables (e.g. the K562-specific and the HepG2-specific one) are merged per cell
    type; a site listed in more than one table is kept once (the builder drops duplicate
    intervals).
    """

    path: PathLike | Sequence[PathLike]

    @property
    def paths(self) -> list[PathLike]:
        return [self.path] if isinstance(self.path, (str, os.PathLike)) else list(self.path)

    @property
    def description(self) -> str:
        names = [_file_name(path) for path in self.paths]
        return f"DHS table{'s' if len(names) > 1 else ''} {', '.join(names)}"

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        return _merged(read_dhs_table(path, window=window) for path in self.paths)


@dataclass
class SequenceTable(RegionSource):
    """A table with coordinates, a sequence column and per-cell-type columns.

    ``options`` go to :func:`~.readers.read_sequence_table`; a ``window`` among them
    wins over the build's.
    """

    path: PathLike
    options: Mapping = field(default_factory=dict)

    @property
    def description(self) -> str:
        return f"sequence table {_file_name(self.path)}"

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        options = dict(self.options or {})
        options.setdefault("window", window)
        return read_sequence_table(self.path, **options)


@dataclass
class PeakFiles(RegionSource):
    """One BED / narrowPeak file per cell type: ``{cell_type: path}`` or a list of paths
    (cell type = the file name up to its first dot)."""

    peaks: Mapping[str, PathLike] | Sequence[PathLike]

    @property
    def description(self) -> str:
        paths = self.peaks.values() if isinstance(self.peaks, Mapping) else self.peaks
        return "peak files " + ", ".join(_file_name(path) for path in paths)

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        return read_peak_files(self.peaks)


@dataclass
class RegionTable(RegionSource):
    """A regions x cell-types table; accessible where the value is above ``threshold``."""

    path: PathLike
    threshold: float = 0.0

    @property
    def description(self) -> str:
        return f"region table {_file_name(self.path)}"

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        return read_region_table(self.path, threshold=self.threshold)


@dataclass
class AnnDataPseudobulk(RegionSource):
    """An AnnData ``.h5ad`` of cells x peaks with ``obs[cell_type_key]``, pseudo-bulked per
    cell type; accessible where the summed value is above ``threshold``."""

    path: PathLike
    cell_type_key: str = "cell_type"
    threshold: float = 0.0

    @property
    def description(self) -> str:
        return f"AnnData pseudo-bulk {_file_name(self.path)}"

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        return read_h5ad_pseudobulk(self.path, cell_type_key=self.cell_type_key, threshold=self.threshold)


@dataclass
class GenomeWindows(RegionSource):
    """Consecutive, non-overlapping windows tiling every record of one or more FASTA files, as one pseudo cell type.

    Why: accessible regions are a few percent of the genome; windows of the genome itself give
    masked genome modelling more (and more varied) sequence, and consecutive windows are the
    genome's own order, so next-segment pairs of this cell type are literally contiguous.
    Windows holding an N (or another non-ACGT code) are skipped; soft-masking is kept. The
    regions carry no split label: they go to ``train`` unless chromosome lists say otherwise.
    Several files (e.g. pieces of different chromosomes) must not share a record name.
    """

    path: PathLike | Sequence[PathLike]
    cell_type: str = "genome"
    window: int | None = None  # default: the build's bases_per_region

    @property
    def paths(self) -> list[PathLike]:
        return [self.path] if isinstance(self.path, (str, os.PathLike)) else list(self.path)

    @property
    def description(self) -> str:
        return f"genome windows of {', '.join(_file_name(path) for path in self.paths)} (cell type {self.cell_type!r})"

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        from Bio import SeqIO

        width = self.window or window
        if not width or width < 1:
            raise ValueError(f"genome windows need a window size (got {width!r})")
        regions: list[Region] = []
        seen: dict[str, str] = {}  # record name -> the file that holds it
        for path in self.paths:
            found = len(regions)
            with open_text(path) as fh:
                for number, record in enumerate(SeqIO.parse(fh, "fasta"), start=1):
                    if record.id in seen:
                        raise DataFormatError(f"{os.fspath(path)}: record {number} ({record.id}): the record name is also "
                                              f"in {seen[record.id]}; genome window files must not share record names")
                    seen[record.id] = os.fspath(path)
                    bases = str(record.seq)
                    for start in range(0, len(bases) - width + 1, width):
                        piece = bases[start : start + width]
                        if set(piece.upper()) <= set("ACGT"):
                            regions.append(Region(record.id, start, start + width, sequence=piece, seq_start=start,
                                                  origin=f"{os.fspath(path)}: record {number} ({record.id}) at {start}"))
            if len(regions) == found:
                raise DataFormatError(f"{os.fspath(path)}: no {width}-base window without N in any FASTA record")
        return {self.cell_type: regions}


@dataclass
class CombinedSources(RegionSource):
    """Several sources in one dataset; a cell type named by two sources gets the regions of both."""

    sources: Sequence[RegionSource]

    @property
    def description(self) -> str:
        return " + ".join(source.description for source in self.sources)

    def load(self, window: int | None = None) -> dict[str, list[Region]]:
        return _merged(source.load(window=window) for source in self.sources)


def region_source(
    *,
    source: RegionSource | None = None,
    regions: Mapping[str, Sequence[Region]] | None = None,
    dhs_table: PathLike | None = None,
    sequence_table: PathLike | None = None,
    sequence_table_options: Mapping | None = None,
    peaks: Mapping[str, PathLike] | Sequence[PathLike] | None = None,
    region_table: PathLike | None = None,
    h5ad: PathLike | None = None,
    cell_type_key: str = "cell_type",
    threshold: float = 0.0,
    genome_windows: PathLike | Sequence[PathLike] | None = None,
) -> RegionSource:
    """The one :class:`RegionSource` named by these keyword arguments (exactly one must be given,
    or ``genome_windows`` alone); ``genome_windows`` (a FASTA, or several) adds :class:`GenomeWindows` to it."""
    if genome_windows is not None:
        windows = GenomeWindows(genome_windows)
        others = dict(source=source, regions=regions, dhs_table=dhs_table, sequence_table=sequence_table, peaks=peaks,
                      region_table=region_table, h5ad=h5ad)
        if all(value is None for value in others.values()):
            return windows
        return CombinedSources([region_source(**others, sequence_table_options=sequence_table_options,
                                              cell_type_key=cell_type_key, threshold=threshold), windows])
    given = {
        "source": source,
        "regions": regions,
        "dhs_table": dhs_table,
        "sequence_table": sequence_table,
        "peaks": peaks,
        "region_table": region_table,
        "h5ad": h5ad,
    }
    named = [name for name, value in given.items() if value is not None]
    if len(named) != 1:
        raise ValueError(
            "give exactly one region source: source=, regions=, dhs_table=, sequence_table=, peaks=, region_table= "
            f"or h5ad= (got {len(named)})"
        )
    if source is not None:
        if not isinstance(source, RegionSource):
            raise TypeError(f"source= must be a RegionSource, got {type(source).__name__}")
        return source
    if regions is not None:
        return RegionsInPython(regions)
    if dhs_table is not None:
        return DhsTable(dhs_table)
    if sequence_table is not None:
        return SequenceTable(sequence_table, dict(sequence_table_options or {}))
    if peaks is not None:
        return PeakFiles(peaks)
    if region_table is not None:
        return RegionTable(region_table, threshold=threshold)
    return AnnDataPseudobulk(h5ad, cell_type_key=cell_type_key, threshold=threshold)


__all__ = [
    "AnnDataPseudobulk",
    "CombinedSources",
    "DhsTable",
    "GenomeWindows",
    "PeakFiles",
    "RegionSource",
    "RegionTable",
    "RegionsInPython",
    "SequenceTable",
    "region_source",
]
