"""The dataset-builder commands speak one dialect: --snake_case options (dashed aliases kept),
``error: <message>`` and exit status 2 on bad input, the traceback only with GENEBERT_DEBUG=1."""

import json
import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from dataset_scripts import build

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "dataset_scripts")
MOTIFS = os.path.join(DATA, "three_motifs.jaspar")


@pytest.fixture
def genome(tmp_path):
    path = tmp_path / "genome.fa"
    shutil.copy(os.path.join(DATA, "genome_pieces.fa"), path)  # pyfaidx writes its .fai beside it
    return str(path)


def _region_table(path, rows=None):
    rows = rows or "".join(f"piece1\t{100 + 200 * i}\t{180 + 200 * i}\t{i % 2}\t1\n" for i in range(12))
    path.write_text("chrom\tstart\tend\tT\tB\n" + rows)
    return str(path)


def _run(command: str, *args: str, debug: bool = False) -> subprocess.CompletedProcess:
    """Run a console entry point of dataset_scripts.build in a fresh interpreter, as the shell would."""
    code = f"import sys; from dataset_scripts.build import {command}; sys.exit({command}())"
    env = {key: value for key, value in os.environ.items() if key != "GENEBERT_DEBUG"}
    if debug:
        env["GENEBERT_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("parser", [build.pretraining_parser, build.finetuning_parser])
def test_every_option_is_snake_case_first_with_its_dashed_alias(parser):
    for action in parser()._actions:
        long_options = [o for o in action.option_strings if o.startswith("--")]
        if not long_options or long_options == ["--help"]:
            continue
        name = long_options[0][2:]
        assert "-" not in name, f"{long_options}: the snake_case spelling must come first"
        if "_" in name:
            assert f"--{name.replace('_', '-')}" in long_options, f"{long_options}: the dashed alias is missing"
        assert action.dest == name


@pytest.mark.parametrize("parser", [build.pretraining_parser, build.finetuning_parser])
def test_dashed_and_snake_case_spellings_parse_alike(parser):
    snake, dashed = [], []
    for action in parser()._actions:
        long_options = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
        if len(long_options) < 2:
            continue
        value = [] if action.nargs == 0 else [action.choices[-1] if action.choices else "1"]
        snake += [long_options[0], *value]
        dashed += [long_options[1], *value]
    assert snake and vars(parser().parse_args(["-o", "x", *snake])) == vars(parser().parse_args(["-o", "x", *dashed]))


def test_dashed_alias_and_snake_case_build_the_same_dataset(tmp_path, genome, capsys):
    table = _region_table(tmp_path / "atlas.tsv")
    common = ["--genome", genome, "--motifs", MOTIFS, "--aggregation", "logsumexp"]
    snake = ["--region_table", table, "--regions_per_sample", "3", "--bases_per_region", "40", "--matrix_dtype", "float16",
             "--negative_pool_size", "2", "--no_progress"]
    dashed = ["--region-table", table, "--regions-per-sample", "3", "--bases-per-region", "40", "--matrix-dtype", "float16",
              "--negative-pool-size", "2", "--no-progress"]
    infos = []
    for name, spelling in (("snake", snake), ("dashed", dashed)):
        assert build.main_pretraining(["--output", str(tmp_path / name), *common, *spelling]) == 0
        assert json.loads(capsys.readouterr().out)["num_samples_per_cell_type"] == {"train": {"B": 4, "T": 2}}
        info = json.loads((tmp_path / name / "build_info.json").read_text())
        rows = {split: [pq.read_table(tmp_path / name / "data" / shard).to_pydict() for shard in shards]
                for split, shards in info["shards"].items()}
        info.pop("seconds"), info.pop("output_dir")
        infos.append((info, rows))
    assert infos[0] == infos[1]
    assert infos[0][0]["parameters"]["matrix_dtype"] == "float16" and infos[0][0]["parameters"]["bases_per_region"] == 40


def test_help_shows_snake_case_first(capsys):
    with pytest.raises(SystemExit):
        build.main_pretraining(["--help"])
    text = capsys.readouterr().out
    assert "--dhs_table TABLE [TABLE ...], --dhs-table TABLE [TABLE ...]" in text and "--regions_per_sample" in text


def test_malformed_input_file_is_one_error_line_and_status_2(tmp_path, genome):
    bad = _region_table(tmp_path / "broken.tsv", rows="piece1\t100\t180\t1\t1\npiece1\tten\t380\t0\t1\n")
    args = ["--output", str(tmp_path / "o"), "--region_table", bad, "--genome", genome, "--motifs", MOTIFS, "--no_progress"]
    result = _run("main_pretraining", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and "broken.tsv:3" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()
    # with GENEBERT_DEBUG=1 the traceback shows (and the status is Python's for an uncaught exception)
    debug = _run("main_pretraining", *args, debug=True)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "broken.tsv:3" in debug.stderr


def test_impossible_options_are_errors_not_tracebacks(tmp_path, genome):
    table = _region_table(tmp_path / "atlas.tsv")
    result = _run("main_pretraining", "--output", str(tmp_path / "o"), "--region_table", table, "--dhs_table", table)
    assert result.returncode == 2 and "error: give at most one of --dhs_table" in result.stderr
    assert "Traceback" not in result.stderr
    result = _run("main_pretraining", "--output", str(tmp_path / "o"), "--region_table", table, "--genome", genome,
                  "--motifs", MOTIFS, "--regions_per_sample", "1")
    assert result.returncode == 2 and "error: regions_per_sample must be >= 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_finetuning_speaks_the_same_dialect(tmp_path):
    bad = tmp_path / "train.csv"
    bad.write_text("seq,label\nACGTACGT,1\n")
    result = _run("main_finetuning", "--output", str(tmp_path / "o"), "--train", str(bad), "--sequence_column", "sequence")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "train.csv" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    result = _run("main_finetuning", "--output", str(tmp_path / "o"))
    assert result.returncode == 2 and "error: give at least --train" in result.stderr
