"""The dataset card (README.md) of a built pre-training dataset.

``templates/pretraining_dataset_card.md`` filled from ``build_info.json``'s contents: the Hub's
YAML header (configs -> shards, features, split sizes), the schema with this build's sizes,
how NGSP pairs are made, the motif set and the TF order, and counts per split and cell type.
"""

from __future__ import annotations

import os
import string
from importlib import resources

from .motifs import MotifSet
from .pretraining_load import SCHEMA_VERSION, SPLITS, negative_regions

CARD_TEMPLATE = "pretraining_dataset_card.md"


def _negative_columns_card(parameters: dict, num_tfs: int) -> str:
    """The dataset card's table rows for the NGSP negative columns."""
    pairing, regions = parameters.get("ngsp_pairing", "next_regions"), parameters["regions_per_sample"]
    n, dtype, seed = negative_regions(regions, pairing), parameters["matrix_dtype"], parameters["seed"]
    if pairing == "contiguous" and parameters.get("ngsp_negatives") == "shuffled":
        right = parameters["bases_per_region"] - parameters["bases_per_region"] // 2
        return (
            f"| `negative_sample_id` | string | `<sample_id>:shuffled`: the \"not next\" segment B is this sample's own right halves, shuffled |\n"
            f"| `negative_sequences` | List(string, length={n}) | a dinucleotide-preserving shuffle (seed {seed}) of each right half ({right} bases) |\n"
            f"| `negative_region_matrix` | Array2D(({n}, {num_tfs}), {dtype}) | row i = scan of left half i followed by the shuffled right half i (the bases of a \"not next\" input) |"
        )
    if pairing == "contiguous":
        right = parameters["bases_per_region"] - parameters["bases_per_region"] // 2
        return (
            f"| `negative_sample_id` | string | the sample (same cell type and split, seed {seed}) whose bases make the \"not next\" segment B |\n"
            f"| `negative_sequences` | List(string, length={n}) | the right halves ({right} bases) of that sample's windows |\n"
            f"| `negative_region_matrix` | Array2D(({n}, {num_tfs}), {dtype}) | row i = scan of this sample's left half i followed by the partner's right half i (the bases of a \"not next\" input) |"
        )
    return (
        f"| `negative_sequences` | List(string, length={n}) | second half of another sample of the same cell type and split (seed {seed}) |\n"
        f"| `negative_region_matrix` | Array2D(({n}, {num_tfs}), {dtype}) | its region-matrix rows |"
    )


def _ngsp_pairing_card(parameters: dict) -> str:
    """The dataset card's sentence on how next-genome-segment pairs are made."""
    if parameters.get("ngsp_pairing", "next_regions") == "contiguous":
        cut = parameters["bases_per_region"] // 2
        return (
            "NGSP pairing `contiguous`: each window is cut after its first "
            f"{cut} bases (at the summit); segment A = the left halves of the R windows, segment B = their "
            "right halves (the genome that immediately follows each A_i: \"next\") or "
            + ("a dinucleotide shuffle of those same right halves (\"not next\": same composition, no genome structure)."
               if parameters.get("ngsp_negatives") == "shuffled"
               else "the right halves of the sample named in `negative_sample_id` (\"not next\").")
        )
    return (
        "NGSP pairing `next_regions`: segment A = the first R // 2 regions, segment B = the next regions "
        "or the second half of another sample (\"not next\")."
    )


def _overlap_card(report: dict | None) -> str:
    """The dataset card's paragraph on the benchmark-overlap filter (empty when none was applied)."""
    if not report:
        return ""
    k = report["k"]
    files = "\n".join(
        f"| `{path}` | {entry['sequences']:,} | {entry['kmers']:,} | {entry.get('windows_overlapping', 0):,} |"
        for path, entry in report["files"].items()
    )
    cell_types = "\n".join(
        f"| {cell_type} | {report['windows_checked'][cell_type]:,} | {n:,} | "
        f"{n / max(report['windows_checked'][cell_type], 1):.2%} |"
        for cell_type, n in sorted(report["windows_dropped"].items())
    )
    return (
        "\n## Benchmark overlap\n\n"
        f"Every region window sharing an exact {k}-mer (either strand, case ignored) with a sequence of these "
        "files was dropped before the samples were formed:\n\n"
        f"| file | sequences | distinct canonical {k}-mers | windows sharing a {k}-mer with it |\n|---|---|---|---|\n"
        f"{files}\n\n"
        "| cell type | windows checked | windows dropped | share |\n|---|---|---|---|\n"
        f"{cell_types}\n"
    )


def pretraining_dataset_card(features, motif_set: MotifSet, info: dict) -> str:
    """README.md of a built dataset: ``templates/pretraining_dataset_card.md`` filled from ``info``."""
    import yaml

    splits = [split for split in SPLITS if info["num_samples"].get(split)]
    meta = {
        "configs": [
            {"config_name": "default", "data_files": [{"split": split, "path": f"data/{split}-*.parquet"} for split in splits]}
        ],
        "dataset_info": {
            "features": features._to_yaml_list(),
            "splits": [{"name": split, "num_examples": info["num_samples"][split]} for split in splits],
        },
        "tags": ["biology", "genomics", "dna", "chromatin-accessibility", "genebert"],
    }
    parameters = info["parameters"]
    regions_per_sample = parameters["regions_per_sample"]
    template = resources.files(__package__).joinpath("templates", CARD_TEMPLATE).read_text(encoding="utf-8")
    return string.Template(template).substitute(
        yaml_header=yaml.safe_dump(meta, sort_keys=False),
        schema_version=info.get("schema_version", SCHEMA_VERSION),
        source=info["source"],
        regions_per_sample=regions_per_sample,
        negative_columns=_negative_columns_card(parameters, len(motif_set)),
        ngsp_pairing=_ngsp_pairing_card(parameters),
        num_tfs=len(motif_set),
        bases_per_region=parameters["bases_per_region"],
        matrix_dtype=parameters["matrix_dtype"],
        aggregation=parameters["aggregation"],
        strands="both strands" if parameters["both_strands"] else "the forward strand",
        seed=parameters["seed"],
        motif_source=motif_set.source,
        pseudocounts=motif_set.pseudocounts,
        background=motif_set.background,
        tf_lines="\n".join(f"{i}\t{motif_id}\t{name}" for i, (motif_id, name) in enumerate(zip(motif_set.ids, motif_set.names))),
        split_rule=info["split_rule"],
        overlap=_overlap_card(info.get("overlap_filter")),
        counts="\n".join(
            f"| {split} | {cell_type} | {n} |"
            for split in splits
            for cell_type, n in sorted(info["num_samples_per_cell_type"][split].items())
        ),
        dataset_name=os.path.basename(info["output_dir"]),
        attribution=info.get("attribution") or "See the source files this dataset was built from for their licences.",
    )
