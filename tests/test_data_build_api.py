"""The two build commands as typed calls: options dataclass in, result dataclass out, ``to_dict()`` what the
command writes or prints; the command line is generated from the same dataclasses."""

import json
import os
import shutil
from pathlib import Path

import pytest

from dataset_scripts import (
    BuildFinetuningOptions,
    BuildPretrainingOptions,
    BuildResult,
    FinetuningBuildResult,
    build,
    build_finetuning,
    build_pretraining,
)
from dataset_scripts.build_api import MOTIFS as MOTIF_SECTION
from dataset_scripts.build_api import SAMPLES, SOURCE
from dataset_scripts.cli import UsageError

DATA = Path(__file__).parent / "data" / "dataset_scripts"
MOTIFS = DATA / "three_motifs.jaspar"
PROMOTERS = Path(__file__).parent / "data" / "finetune" / "prom_core_all_train.csv"


@pytest.fixture
def region_table(tmp_path):
    shutil.copy(DATA / "genome_pieces.fa", tmp_path / "genome.fa")  # pyfaidx writes its .fai beside it
    rows = "".join(f"piece1\t{100 + 200 * i}\t{180 + 200 * i}\t{i % 2}\t1\n" for i in range(12))
    (tmp_path / "atlas.tsv").write_text("chrom\tstart\tend\tT\tB\n" + rows)
    return tmp_path / "atlas.tsv", tmp_path / "genome.fa"


def test_build_pretraining_takes_options_and_returns_what_build_info_holds(tmp_path, region_table):
    table, genome = region_table
    options = BuildPretrainingOptions(output=tmp_path / "out", region_table=table, genome=genome, motifs=MOTIFS,
                                      cell_types="T,B", regions_per_sample=3, bases_per_region=40, negative_pool_size=2,
                                      validation_chroms=["piece2"], num_proc=1, no_progress=True)
    assert options.output == str(tmp_path / "out") and options.cell_types == ["T", "B"]
    result = build_pretraining(options)
    assert isinstance(result, BuildResult) and result.output_dir == tmp_path / "out"
    assert result.num_tfs == 3 and result.num_samples_per_cell_type == {"train": {"B": 4, "T": 2}}
    written = json.loads((tmp_path / "out" / "build_info.json").read_text())
    assert {**result.to_dict(), "seconds": None} == {**written, "seconds": None}
    assert list(result.to_dict()) == list(written)  # build_info.json's order too
    assert result.parameters["bases_per_region"] == 40 and result.attribution is None
    assert result.summary() == {"output_dir": str(tmp_path / "out"), "num_tfs": 3, "num_samples": {"train": 6},
                                "num_samples_per_cell_type": {"train": {"B": 4, "T": 2}}, "seconds": result.seconds}
    with pytest.raises(UsageError, match="is not empty"):
        build_pretraining(options)
    with pytest.raises(UsageError, match="give at most one of --dhs_table"):
        build_pretraining(BuildPretrainingOptions(output=tmp_path / "two", region_table=table, dhs_table=[table]))


def test_the_command_prints_the_summary_of_the_result_it_built(tmp_path, region_table, capsys):
    table, genome = region_table
    argv = ["-o", str(tmp_path / "cli"), "--region-table", str(table), "--genome", str(genome), "--motifs", str(MOTIFS),
            "--cell_types", "T", "B", "--regions_per_sample", "3", "--bases_per_region", "40", "--negative_pool_size", "2",
            "--num_proc", "1", "--no_progress"]
    info = build.run_pretraining(argv)
    printed = json.loads(capsys.readouterr().out)
    assert printed["num_samples_per_cell_type"] == {"train": {"B": 4, "T": 2}}
    assert printed == {key: info[key] for key in printed}
    assert info == json.loads((tmp_path / "cli" / "build_info.json").read_text()) | {"seconds": info["seconds"]}


def test_list_options_take_the_comma_and_the_space_separated_forms():
    parser = build.pretraining_parser()
    forms = (["--cell_types", "a,b", "--test_chroms", "chr1,chr9", "--tax_group", "vertebrates,plants"],
             ["--cell_types", "a", "b", "--test-chroms", "chr1", "chr9", "--tax-group", "vertebrates", "plants"],
             ["--cell_types", "a,", "b", "--test_chroms", "chr1", "--test_chroms", "chr1,chr9", "--tax_group", "vertebrates, plants"])
    parsed = [parser.parse_options(["-o", "x", *form])[0] for form in forms]
    assert parsed[0] == parsed[1] == parsed[2]
    assert (parsed[0].cell_types, parsed[0].test_chroms, parsed[0].tax_group) == (["a", "b"], ["chr1", "chr9"], ["vertebrates", "plants"])
    (defaults,) = parser.parse_options(["--output", "x"])
    assert defaults == BuildPretrainingOptions(output="x") and defaults.tax_group == ["vertebrates"]
    (finetuning,) = build.finetuning_parser().parse_options(["-o", "x", "--label_names", "no,yes", "--validation_chroms", "chr3,chr4"])
    assert finetuning == BuildFinetuningOptions(output="x", label_names=["no", "yes"], validation_chroms="chr3,chr4")
    assert (finetuning.test_chroms, BuildFinetuningOptions(output="x").validation_chroms) == ([], ["chr2"])


def test_help_lists_each_option_under_its_group():
    parser = build.pretraining_parser("genebert-build-pretraining")
    sections = {group.title: [action.dest for action in group._group_actions] for group in parser._action_groups}
    assert sections["options"] == ["help", "output"]
    assert sections[SOURCE][:2] == ["dhs_table", "sequence_table"] and "exclude_overlap_with" in sections[SOURCE]
    assert sections[MOTIF_SECTION][0] == "motifs" and "num_proc" in sections[MOTIF_SECTION]
    assert sections[SAMPLES][0] == "regions_per_sample" and sections[SAMPLES][-1] == "no_progress"
    text = parser.format_help()
    listed = text[text.index("\noptions:"):]  # after the usage lines
    assert listed.index(f"{SOURCE}:") < listed.index("--dhs_table") < listed.index(f"{MOTIF_SECTION}:") < listed.index("--collection")
    assert "--output OUTPUT, -o OUTPUT" in text and "--task {" in build.finetuning_parser().format_help()


def test_build_finetuning_takes_options_and_returns_what_the_command_prints(tmp_path, capsys):
    options = BuildFinetuningOptions(output=tmp_path / "prom", task="promoter", train=PROMOTERS, validation=str(PROMOTERS))
    result = build_finetuning(options)
    assert isinstance(result, FinetuningBuildResult) and result.output == tmp_path / "prom"
    assert result.label_names == ["non_promoter", "promoter"] and result.splits["train"] == result.splits["validation"] > 0
    assert result.dataset["train"].num_rows == result.splits["train"]
    assert json.loads((tmp_path / "prom" / "label_mapping.json").read_text())["label_names"] == result.label_names
    assert build.main_finetuning(["-o", str(tmp_path / "cli"), "--task", "promoter", "--train", str(PROMOTERS),
                                  "--validation", str(PROMOTERS)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == {**result.to_dict(), "output": str(tmp_path / "cli")}
    with pytest.raises(UsageError, match="give at least --train"):
        build_finetuning(BuildFinetuningOptions(output=tmp_path / "none"))
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        build_finetuning(BuildFinetuningOptions(output=tmp_path / "nope", task="nope", train=PROMOTERS))
    assert not os.path.exists(tmp_path / "none") and not os.path.exists(tmp_path / "nope")
