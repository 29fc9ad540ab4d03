"""No silent overwrite: every command that writes a folder refuses a non-empty one, naming it and the flag.

Allowed: a new or empty folder, ``--overwrite``, ``--resume_from_checkpoint auto`` where there is a
checkpoint to resume, the leftover of an interrupted run of the same command (its in-progress
marker, or nothing but ``checkpoint-N`` folders), and a benchmark's own folder (it resumes by design).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataset_scripts import build
from dataset_scripts.output_folders import (
    MARKER,
    OutputExistsError,
    OutputFolder,
    check_output_files,
    check_output_folder,
)

DATA = Path(__file__).parent / "data" / "finetune"
TRAIN = str(DATA / "prom_core_all_train.csv")


def finished_model(folder: Path) -> dict[str, bytes]:
    """A stand-in for a finished genebert-finetune folder: what it holds, to compare after a refused run."""
    folder.mkdir(parents=True)
    files = {"config.json": b'{"model_type": "genebert"}', "model.safetensors": b"200 steps of weights",
             "results.json": b'{"global_steps": 200}'}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return files


def unchanged(folder: Path, files: dict[str, bytes]) -> bool:
    return sorted(p.name for p in folder.iterdir()) == sorted(files) and all(
        (folder / name).read_bytes() == content for name, content in files.items())


def last_error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), lines
    return lines[-1]


# ----------------------------------------------------------------------------- the policy
def test_policy_allows_new_empty_overwrite_resume_and_leftovers(tmp_path):
    assert check_output_folder(tmp_path / "new", "genebert-x") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty", "genebert-x")
    done = tmp_path / "done"
    finished_model(done)
    with pytest.raises(OutputExistsError, match=rf"{done} is not empty: it holds config.json, model.safetensors, "
                                                r"results.json; genebert-x does not overwrite it: pass --overwrite, "):
        check_output_folder(done, "genebert-x")
    check_output_folder(done, "genebert-x", overwrite=True)
    with pytest.raises(OutputExistsError, match=r"pass --overwrite \(or --resume_from_checkpoint auto to continue its run\)"):
        check_output_folder(done, "genebert-x", resume_flag="--resume_from_checkpoint auto")
    check_output_folder(done, "genebert-x", resume=True, resume_flag="--resume_from_checkpoint auto")
    left = tmp_path / "left"
    (left / "checkpoint-4").mkdir(parents=True)
    check_output_folder(left, "genebert-x", leftovers=("checkpoint-*",))
    with pytest.raises(OutputExistsError, match="it holds checkpoint-4"):
        check_output_folder(left, "genebert-y")  # a command that leaves no checkpoints did not write it
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputExistsError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "file", "genebert-x")


def test_an_interrupted_run_is_known_by_its_marker_until_it_finishes(tmp_path):
    run = OutputFolder(tmp_path / "run", "genebert-a")
    assert run.start() == tmp_path / "run"
    (tmp_path / "run" / "part.npy").write_bytes(b"half")
    assert json.loads((tmp_path / "run" / MARKER).read_text())["command"] == "genebert-a"
    check_output_folder(tmp_path / "run", "genebert-a")  # killed here: the same command may go on
    with pytest.raises(OutputExistsError, match=r"is not empty \(written by genebert-a\): it holds part.npy"):
        check_output_folder(tmp_path / "run", "genebert-b")
    run.finish()
    assert not (tmp_path / "run" / MARKER).exists()
    with pytest.raises(OutputExistsError, match="it holds part.npy"):
        check_output_folder(tmp_path / "run", "genebert-a")  # finished: no longer a leftover


def test_own_layout_and_output_files(tmp_path):
    bench = tmp_path / "bench"
    (bench / "runs").mkdir(parents=True)
    (bench / "results.csv").write_text("x")
    check_output_folder(bench, "genebert-benchmark", own_layout=("runs", "results.csv"))
    (bench / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="it holds notes.txt"):
        check_output_folder(bench, "genebert-benchmark", own_layout=("runs", "results.csv"))
    check_output_files([tmp_path / "p.tsv"], "genebert-x")
    (tmp_path / "p.tsv").write_text("x")
    with pytest.raises(OutputExistsError, match=r"p.tsv already exists; genebert-x does not overwrite them: pass --overwrite"):
        check_output_files([tmp_path / "p.tsv", tmp_path / "p.parquet"], "genebert-x")
    check_output_files([tmp_path / "p.tsv"], "genebert-x", overwrite=True)


# ----------------------------------------------------------------------------- every command
def test_finetune_refuses_a_finished_model_folder(tmp_path, capsys):
    """The report: --output_dir runs/prom replaced a finished 200-step classifier with a 1-step one, exit 0."""
    from modeling_genebert.finetuning import finetune

    prom = tmp_path / "runs" / "prom"
    files = finished_model(prom)
    argv = ["--task", "promoter", "--train_file", TRAIN, "--max_steps", "1", "--output_dir", str(prom)]
    assert finetune.main(argv) == 2
    error = last_error(capsys)
    assert f"{prom} is not empty" in error and "pass --overwrite" in error
    assert unchanged(prom, files)
    # --overwrite, or a folder an interrupted run left, gets past the check (to the next error: the data)
    missing = ["--task", "promoter", "--train_file", str(tmp_path / "missing.csv"), "--max_steps", "1"]
    assert finetune.main(missing + ["--output_dir", str(prom), "--overwrite"]) == 2
    assert "missing.csv" in last_error(capsys)
    (tmp_path / "killed" / "checkpoint-3").mkdir(parents=True)
    assert finetune.main(missing + ["--output_dir", str(tmp_path / "killed")]) == 2
    assert "missing.csv" in last_error(capsys)


def test_pretrain_refuses_a_finished_run_unless_resuming_a_checkpoint(tmp_path, capsys):
    from modeling_genebert.pretraining import pretrain

    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    (run / "final" / "model.safetensors").write_bytes(b"w")
    argv = ["--output_dir", str(run), "--dataset_path", str(tmp_path / "no-dataset"), "--max_steps", "1"]
    assert pretrain.main(argv) == 2
    error = last_error(capsys)
    assert f"{run} is not empty: it holds final" in error
    assert "pass --overwrite (or --resume_from_checkpoint auto to continue its run)" in error
    assert pretrain.main(argv + ["--resume_from_checkpoint", "auto"]) == 2  # nothing to resume: still refused
    assert "is not empty" in last_error(capsys)
    (run / "checkpoint-4").mkdir()
    (run / "checkpoint-4" / "trainer_state.json").write_text("{}")
    assert pretrain.main(argv + ["--resume_from_checkpoint", "auto"]) == 2
    assert "no-dataset" in last_error(capsys)  # past the check, stopped by the missing dataset
    assert (run / "final" / "model.safetensors").read_bytes() == b"w"


def test_explain_refuses_a_non_empty_output_dir(tmp_path, capsys):
    pytest.importorskip("captum")
    from modeling_genebert.explain.cli import main

    report = tmp_path / "report"
    report.mkdir()
    (report / "report.html").write_text("<html>yesterday's report</html>")
    assert main(["--model_name_or_path", str(tmp_path / "no-model"), "--input", str(tmp_path / "x.fa"),
                 "--output_dir", str(report)]) == 2
    error = last_error(capsys)
    assert f"{report} is not empty: it holds report.html; genebert-explain does not overwrite it: pass --overwrite" in error
    assert (report / "report.html").read_text() == "<html>yesterday's report</html>"


def test_analysis_and_benchmark_refuse_a_foreign_folder(tmp_path, capsys):
    from modeling_genebert.evaluation import analysis
    from modeling_genebert.evaluation.benchmark import runner

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert analysis.main(["table5", "--output_dir", str(foreign), "--train_file", TRAIN]) == 2
    assert f"{foreign} is not empty: it holds notes.txt; genebert-analysis does not overwrite it" in last_error(capsys)
    argv = ["--suite", str(tmp_path / "no-suite"), "--arms", "kmer_lr", "--seeds", "1"]
    assert runner.main(argv + ["--output_dir", str(foreign)]) == 2
    assert "genebert-benchmark does not overwrite it: pass --overwrite" in last_error(capsys)
    bench = tmp_path / "bench"  # a benchmark's own folder is continued (finished runs are kept)
    (bench / "runs").mkdir(parents=True)
    (bench / "results.csv").write_text("task,model\n")
    assert runner.main(argv + ["--output_dir", str(bench)]) == 2
    assert "no-suite" in last_error(capsys)
    assert (foreign / "notes.txt").read_text() == "keep"


def test_dataset_builders_refuse_a_non_empty_output(tmp_path, capsys):
    out = tmp_path / "data"
    out.mkdir()
    (out / "dataset_dict.json").write_text('{"splits": ["train"]}')
    assert build.main_pretraining(["--output", str(out), "--no_progress"]) == 2
    assert f"{out} is not empty: it holds dataset_dict.json; genebert-build-pretraining does not overwrite it: " \
           "pass --overwrite" in last_error(capsys)
    argv = ["--output", str(out), "--task", "promoter", "--train", TRAIN]
    assert build.main_finetuning(argv) == 2  # it used to write over the folder
    assert "genebert-build-finetuning does not overwrite it: pass --overwrite" in last_error(capsys)
    assert (out / "dataset_dict.json").read_text() == '{"splits": ["train"]}'
    assert build.main_finetuning(argv + ["--overwrite"]) == 0
    assert json.loads((out / "dataset_dict.json").read_text())["splits"] == ["train"]
    assert (out / "label_mapping.json").exists() and not (out / MARKER).exists()


@pytest.mark.slow
def test_a_finished_finetune_is_not_replaced_by_a_second_run(tmp_path, capsys):
    from modeling_genebert.finetuning import finetune

    out = tmp_path / "prom"
    fast = ["--task", "promoter", "--train_file", TRAIN, "--max_train_samples", "32", "--max_eval_samples", "32",
            "--eval_strategy", "no", "--disable_tqdm", "true", "--use_cpu", "true", "--output_dir", str(out)]
    assert finetune.main(fast + ["--max_steps", "2"]) == 0
    assert not (out / MARKER).exists()  # finished: no in-progress marker left in a Hub-ready folder
    weights = (out / "model.safetensors").read_bytes()
    assert finetune.main(fast + ["--max_steps", "1"]) == 2
    assert f"{out} is not empty" in last_error(capsys)
    assert (out / "model.safetensors").read_bytes() == weights
    assert json.loads((out / "results.json").read_text())["hyperparameters"]["global_steps"] == 2
    assert finetune.main(fast + ["--max_steps", "1", "--overwrite"]) == 0
    assert json.loads((out / "results.json").read_text())["hyperparameters"]["global_steps"] == 1


@pytest.mark.parametrize("argv, message", [
    (["--per_device_train_batch_size", "-4"], "--per_device_train_batch_size must be at least 1, got -4"),
    (["--learning_rate=-1e-4"], "--learning_rate must be at least 0, got -0.0001"),
    (["--num_train_epochs", "-1"], "--num_train_epochs must be greater than 0, got -1.0"),
    (["--max_train_samples", "0"], "--max_train_samples must be at least 1, got 0"),
    (["--lora_rank", "0", "--peft", "lora"], "--lora_rank must be at least 1, got 0"),
])
def test_finetune_numbers_fail_before_any_data_is_read_and_leave_nothing(tmp_path, capsys, argv, message):
    """It failed after loading and tokenising, with torch's message, and left a folder holding only the marker."""
    from modeling_genebert.finetuning import finetune

    out = tmp_path / "out"
    missing = tmp_path / "missing.csv"  # had the data been read first, the error would name this file
    assert finetune.main(["--task", "promoter", "--train_file", str(missing), "--output_dir", str(out), *argv]) == 2
    assert last_error(capsys) == f"error: {message} (set GENEBERT_DEBUG=1 to see the traceback)"
    assert not out.exists()


def test_pretrain_numbers_fail_before_any_data_is_read(tmp_path, capsys):
    from modeling_genebert.pretraining import pretrain

    out = tmp_path / "run"
    assert pretrain.main(["--output_dir", str(out), "--dataset_path", str(tmp_path / "no-dataset"),
                          "--gradient_accumulation_steps", "0"]) == 2
    assert "--gradient_accumulation_steps must be at least 1, got 0" in last_error(capsys)
    assert not out.exists()
