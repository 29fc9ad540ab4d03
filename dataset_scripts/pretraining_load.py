"""The GeneBERT pre-training dataset's schema, and loading a built one.

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
``negative_sample_id``     string                                      (``contiguous`` only) the sample whose bases
                                                                       make the "not next" segment B (same cell
                                                                       type and split; ``<own id>:shuffled`` for
                                                                       ``ngsp_negatives="shuffled"``)
``negative_sequences``     List(string, length=R)                      ``contiguous``: for each i, the right half (the last
                                                                       ``w - w//2`` bases, w = bases_per_region)
                                                                       of that sample's window i
``negative_region_matrix`` Array2D((R, num_tfs))                       row i = scan of the *composite* window i of
                                                                       a "not next" input: this sample's left
                                                                       half i followed by the partner's right half i
=========================  ==========================================  =====================================

Next genome-segment prediction (NGSP) pairs, ``ngsp_pairing="contiguous"`` (opt-in,
schema version 2): every region window is cut at its centre (the summit); segment A = the
left halves of the R windows, segment B = the right halves, so B_i is the genome that
immediately follows A_i ("next"), or the right halves of *another* sample of the same
cell type and split ("not next", ``negative_sequences``). With ``ngsp_negatives="shuffled"``
the "not next" B is instead a seeded dinucleotide shuffle of the sample's *own* right halves:
the same bases and dinucleotide counts per window, so composition cannot tell "next" from
"not next" and the model has to read sequence structure (motifs, repeats); this version of
the task is measured to be learnable (docs/results/2026-12-01-pretraining-design.md#ngsp).
Both inputs hold exactly R windows' worth of bases, and the matrix rows (``region_matrix`` /
``negative_region_matrix``) describe exactly those bases, so sequence-region matching pairs
stay true.

``ngsp_pairing="next_regions"`` (the default, schema version 1, unchanged; measured to
carry no A-B signal, same page): A = the first ``R // 2`` regions, B = the next
``R - R // 2`` accessible regions or those of another sample; there ``negative_sequences``
/ ``negative_region_matrix`` hold ``R - R//2`` whole windows / their rows and there is no
``negative_sample_id``. Datasets built before schema version 2 load as this pairing.

The TF order (JASPAR ids and names) is in ``motifs.json`` next to the data, in the
dataset card and, after :func:`load_pretraining_dataset`, in ``dataset.info.description``
(JSON). Splits are by chromosome: ``train``, ``validation`` and, if asked for, ``test``.

Output layout (loadable with ``datasets.load_dataset(out_dir)``, streaming included)::

    out_dir/README.md                       dataset card (YAML: configs -> shards, features)
    out_dir/motifs.json                     TF ids / names / widths / background, in matrix order
    out_dir/build_info.json                 parameters, sources, counts per split and cell type
    out_dir/data/train-00000-of-00002.parquet ...
"""

from __future__ import annotations

import json
import os

SCHEMA_VERSION = 2
NGSP_PAIRINGS = {"contiguous": 2, "next_regions": 1}  # pairing -> the schema version that writes it
NGSP_NEGATIVES = ("other_sample", "shuffled")  # where a ``contiguous`` "not next" segment B comes from
# the default demo's 20-bp windows are too short for any pairing to carry a signal
# (docs/results/2026-12-01-pretraining-design.md#ngsp)
DEFAULT_NGSP_PAIRING = "next_regions"
SPLITS = ("train", "validation", "test")


def negative_regions(regions_per_sample: int, ngsp_pairing: str = DEFAULT_NGSP_PAIRING) -> int:
    """Rows of ``negative_sequences`` / ``negative_region_matrix`` under ``ngsp_pairing``."""
    return regions_per_sample if ngsp_pairing == "contiguous" else regions_per_sample - regions_per_sample // 2


def pretraining_features(regions_per_sample: int, num_tfs: int, matrix_dtype: str = "float32",
                         ngsp_pairing: str = DEFAULT_NGSP_PAIRING):
    """The :class:`datasets.Features` of the pre-training schema (``ngsp_pairing``: see the module docstring)."""
    from datasets import Array2D, Features, List, Value

    if ngsp_pairing not in NGSP_PAIRINGS:
        raise ValueError(f"ngsp_pairing must be one of {sorted(NGSP_PAIRINGS)}, got {ngsp_pairing!r}")
    negatives = negative_regions(regions_per_sample, ngsp_pairing)
    columns = {
        "sample_id": Value("string"),
        "cell_type": Value("string"),
        "chrom": Value("string"),
        "starts": List(Value("int64"), length=regions_per_sample),
        "ends": List(Value("int64"), length=regions_per_sample),
        "sequences": List(Value("string"), length=regions_per_sample),
        "region_matrix": Array2D(shape=(regions_per_sample, num_tfs), dtype=matrix_dtype),
    }
    if ngsp_pairing == "contiguous":
        columns["negative_sample_id"] = Value("string")
    columns["negative_sequences"] = List(Value("string"), length=negatives)
    columns["negative_region_matrix"] = Array2D(shape=(negatives, num_tfs), dtype=matrix_dtype)
    return Features(columns)


def read_dataset_motifs(path: str | os.PathLike) -> dict:
    """The ``motifs.json`` of a built dataset (``ids``, ``names``, ``num_tfs``, ...)."""
    with open(os.path.join(os.fspath(path), "motifs.json")) as fh:
        return json.load(fh)


def dataset_ngsp_pairing(info: dict, path: str = "dataset") -> str:
    """The NGSP pairing a dataset was built with, from its ``build_info.json`` contents.

    Datasets before schema version 2 carry no ``ngsp_pairing``: they are ``next_regions``.
    A newer schema than this package knows is an error that says so.
    """
    version = info.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(
            f"{path}: schema version {version!r} is newer than this package reads ({SCHEMA_VERSION}); "
            "upgrade genebert or rebuild the dataset"
        )
    pairing = info.get("parameters", {}).get("ngsp_pairing", "next_regions")
    if pairing not in NGSP_PAIRINGS:
        raise ValueError(f"{path}: unknown ngsp_pairing {pairing!r} in build_info.json (known: {sorted(NGSP_PAIRINGS)})")
    return pairing


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
    motifs = read_dataset_motifs(path)
    parameters = info["parameters"]
    ngsp_pairing = dataset_ngsp_pairing(info, path)
    features = pretraining_features(parameters["regions_per_sample"], motifs["num_tfs"], parameters["matrix_dtype"], ngsp_pairing)
    shards = {name: sorted(glob.glob(os.path.join(path, "data", f"{name}-*.parquet"))) for name in SPLITS}
    shards = {name: files for name, files in shards.items() if files}
    if split is not None and split not in shards:
        raise ValueError(f"{path} has no split {split!r} (it has {sorted(shards)})")
    dataset = load_dataset("parquet", data_files=shards, features=features, streaming=streaming, split=split)
    description = json.dumps(
        {
            "tf_ids": motifs["ids"],
            "tf_names": motifs["names"],
            "num_tfs": motifs["num_tfs"],
            "motif_source": motifs.get("source"),
            "regions_per_sample": parameters["regions_per_sample"],
            "bases_per_region": parameters["bases_per_region"],
            "schema_version": info.get("schema_version", 1),
            "ngsp_pairing": ngsp_pairing,
        }
    )
    for split_dataset in [dataset] if split is not None else dataset.values():
        split_dataset.info.description = description
    return dataset



__all__ = [
    "DEFAULT_NGSP_PAIRING",
    "NGSP_NEGATIVES",
    "NGSP_PAIRINGS",
    "SCHEMA_VERSION",
    "SPLITS",
    "dataset_ngsp_pairing",
    "load_pretraining_dataset",
    "negative_regions",
    "pretraining_features",
    "read_dataset_motifs",
]
