"""``genebert-benchmark``: suite discovery, recipes, references, bad input, resumability, report and cards."""

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from modeling_genebert.evaluation.benchmark import Recipe, discover_suite, load_references, runner
from modeling_genebert.evaluation.benchmark.report import aggregate, markdown, update_model_card
from modeling_genebert.evaluation.benchmark.sweep import choose, grid, point_name

DATA = Path(__file__).parent / "data"


def bench(argv: list[str]) -> runner.BenchmarkResult:
    """The typed call with genebert-benchmark's options as a command line gives them."""
    (options,) = runner.build_parser().parse_args_into_dataclasses(args=argv)
    return runner.run_benchmark(options)


@pytest.fixture()
def progress(caplog):
    """The benchmark's progress log lines (logged, not printed: the command line shows them)."""
    caplog.set_level(logging.INFO, logger="genebert.benchmark")
    return caplog


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture()
def suite(tmp_path) -> Path:
    """Two GUE-layout tasks from real GUE rows: prom_core_all with a test split, tf0 without one."""
    prom = (DATA / "finetune" / "prom_core_all_train.csv").read_text().splitlines()
    dev = (DATA / "finetune" / "prom_core_all_dev.csv").read_text().splitlines()
    tf = (DATA / "gue_tf0_dev_200.csv").read_text().splitlines()
    root = tmp_path / "suite"
    _write(root / "prom_core_all" / "train.csv", prom)
    _write(root / "prom_core_all" / "dev.csv", dev[:101])
    _write(root / "prom_core_all" / "test.csv", [dev[0]] + dev[101:])
    _write(root / "tf0" / "train.csv", tf[:151])
    _write(root / "tf0" / "dev.csv", [tf[0]] + tf[151:])
    return root


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(kmer=4, vocab_size=5 + 4**4, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=64, max_position_embeddings=128),
        region_config=dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_tfs=3, regions_per_sample=2),
        projection_dim=16,
    )
    path = tmp_path_factory.mktemp("models") / "tiny-pt"
    GeneBertForPreTraining(config).save_pretrained(path)
    GeneBertTokenizer(k=4).save_pretrained(path)
    return path


# ----------------------------------------------------------------------------- suite, recipe, references
def test_suite_discovery_maps_tasks_and_notes_missing_test(suite):
    tasks = {t.name: t for t in discover_suite(suite, recipe=Recipe())}
    assert set(tasks) == {"prom_core_all", "tf0"}
    assert tasks["prom_core_all"].task == "promoter" and tasks["prom_core_all"].has_test
    assert tasks["tf0"].task == "generic" and not tasks["tf0"].has_test
    assert tasks["tf0"].labels == ["0", "1"] and tasks["tf0"].sizes == {"train": 150, "dev": 50}


def test_default_recipe_is_the_measured_tiny_recipe():
    recipe = Recipe().for_task("tf0")
    assert (recipe["num_train_epochs"], recipe["learning_rate"], recipe["per_device_train_batch_size"]) == (3, 3e-4, 32)
    assert Recipe().for_task("splice")["task"] == "splice"


def test_recipe_unknown_key_is_named(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("defaults:\n  learning_rate: 1.0e-4\ntasks:\n  tf0:\n    epochs: 2\n")
    with pytest.raises(ValueError, match=r"unknown recipe key tasks\.tf0\.epochs"):
        Recipe(path)
    path.write_text("defaults:\n  learning_rate: fast\n")
    with pytest.raises(ValueError, match="learning_rate = 'fast'"):
        Recipe(path)


def test_user_recipe_inherits_the_defaults(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("tasks:\n  tf0:\n    learning_rate: 1.0e-4\n")
    recipe = Recipe(path)
    assert recipe.for_task("tf0")["learning_rate"] == 1e-4 and recipe.for_task("tf0")["max_length"] == 512
    assert recipe.for_task("other")["learning_rate"] == 3e-4


def test_folder_without_train_and_labels_differing_between_splits(suite):
    (suite / "prom_core_all" / "train.csv").unlink()
    with pytest.raises(ValueError, match=r"prom_core_all: no train\.csv"):
        discover_suite(suite)
    dev = (suite / "tf0" / "dev.csv").read_text().replace(",1\n", ",2\n")
    (suite / "tf0" / "dev.csv").write_text(dev)
    with pytest.raises(ValueError, match=r"tf0: the splits hold different labels .*dev: \['0', '2'\]"):
        discover_suite(suite, ["tf0"])


def test_shipped_references_hold_the_published_numbers():
    refs = load_references()
    dnabert2 = {r.task: r.metrics["mcc"] for r in refs if r.method.startswith("DNABERT-2")}
    assert dnabert2 == pytest.approx({"prom_core_all": 0.6937, "tf0": 0.7199, "tf1": 0.7606, "tf2": 0.6652,
                                      "tf3": 0.5854, "tf4": 0.7743, "splice": 0.8499})
    paper = [r for r in refs if r.method == "GeneBERT (paper)"]
    assert {r.table for r in paper} == {"Table 1", "Table 2", "Table 3", "Table 4"}
    table1 = next(r for r in paper if r.table == "Table 1")
    assert table1.metrics == {"precision": 0.805, "recall": 0.803, "roc_auc": 0.894}
    assert all(r.citation and r.compute for r in refs)


def test_aggregate_and_markdown_show_mean_sd_and_labelled_references():
    records = [{"task": "tf0", "model": "m", "arm": "finetune", "seed": s, "eval_split": "dev",
                "selection": "carved from train", "metrics": {"mcc": v, "f1": v}, "cpu_minutes": 1.0}
               for s, v in ((1, 0.2), (2, 0.4))]
    (row,) = aggregate(records)
    assert row["mcc"]["mean"] == pytest.approx(0.3) and row["mcc"]["sd"] == pytest.approx(0.1414, abs=1e-4)
    text = markdown([row], load_references())
    assert "0.300 ± 0.141" in text and "carved out of train" in text
    assert "DNABERT-2 (117M)" in text and "0.720" in text and "Zhou et al." in text


def test_model_card_gets_model_index_entries_replaced_on_rerun(tmp_path):
    row = {"task": "tf0", "task_name": "generic", "model": "m", "arm": "finetune", "eval_split": "test",
           "mcc": {"mean": 0.5, "sd": 0.01, "n": 3}, "f1": {"mean": 0.7, "sd": 0.0, "n": 3}}
    update_model_card(tmp_path, [row])
    row["mcc"]["mean"] = 0.6
    update_model_card(tmp_path, [row])
    results = ModelCard.load(tmp_path / "README.md").data.eval_results
    assert [(r.dataset_name, r.metric_type, r.metric_value) for r in results] == [("tf0", "mcc", 0.6), ("tf0", "f1", 0.7)]


# ----------------------------------------------------------------------------- CLI: bad input, no half-written files
@pytest.mark.parametrize("case, message", [
    ("not_a_model", "is not a GeneBERT or BERT checkpoint"),
    ("no_train", "no train.csv"),
    ("bad_recipe", "unknown recipe key defaults.lr"),
    ("no_models", "need --models"),
    ("negative_tapt", "--tapt_steps -5"),
    ("bad_finetune_args", "--finetune_args: --lerning_rate 0.1 is not an option of genebert-finetune"),
])
def test_bad_input_exits_2_without_results(case, message, suite, model_folder, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--suite", str(suite), "--output_dir", str(out), "--seeds", "1", "--max_steps", "1"]
    if case == "not_a_model":
        bogus = tmp_path / "bogus"
        bogus.mkdir()
        (bogus / "config.json").write_text('{"model_type": "gpt2"}')
        argv += ["--models", str(bogus)]
    elif case == "no_train":
        (suite / "tf0" / "train.csv").unlink()
        argv += ["--models", str(model_folder)]
    elif case == "bad_recipe":
        recipe = tmp_path / "r.yaml"
        recipe.write_text("defaults:\n  lr: 0.1\n")
        argv += ["--models", str(model_folder), "--recipe", str(recipe)]
    elif case == "negative_tapt":
        argv += ["--models", str(model_folder), "--tapt_steps", "-5"]
    elif case == "bad_finetune_args":
        argv += ["--models", str(model_folder), "--finetune_args", "--lerning_rate 0.1"]
    assert runner.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not out.exists() or not any(out.rglob("results.*"))


def test_the_command_line_is_the_benchmark_options(capsys):
    def parse(argv):
        (options,) = runner.build_parser().parse_args_into_dataclasses(args=argv)
        return options

    assert parse(["--models", "a", "b", "--suite", "s", "--seeds", "1", "2", "--arms", "kmer_lr", "lora", "--recipe", "r.yaml",
                  "--references", "refs.yaml", "--max_steps", "5", "--max_train_samples", "10", "--output_dir", "o",
                  "--keep_models"]) == runner.BenchmarkOptions(
        models=["a", "b"], suite="s", seeds=[1, 2], arms=["kmer_lr", "lora"], recipe="r.yaml", references="refs.yaml",
        max_steps=5, max_train_samples=10, output_dir="o", keep_models=True)
    defaults = parse(["--suite", "s", "--output_dir", "o"])
    assert defaults == runner.BenchmarkOptions(suite="s", output_dir="o")
    assert defaults.seeds == [42, 7, 13] and defaults.arms == list(runner.ARMS) and not defaults.keep_models
    with pytest.raises(SystemExit) as exit:
        runner.main(["--suite", "s", "--output_dir", "o", "--arms", "svm"])
    assert exit.value.code == 2 and "error: argument --arms: invalid choice: 'svm'" in capsys.readouterr().err


def test_motif_lr_finds_a_planted_motif_and_names_its_motif_set(tmp_path):
    """The motif_lr arm: logistic regression on each motif's best score; a motif planted in every positive is found."""
    from datasets import ClassLabel, Dataset, DatasetDict

    from modeling_genebert.evaluation.benchmark.linear_baselines import run_motif_lr

    motifs = tmp_path / "planted.jaspar"
    motifs.write_text(">MA9001.1 PLANTED\nA [ 1 10 0 0 10 0 10 1 1 0 0 10 1 10 ]\nC [ 0 0 0 0 0 10 0 0 0 0 10 0 10 0 ]\n"
                      "G [10 0 0 0 0 0 0 10 10 0 0 0 0 0 ]\nT [ 0 0 10 10 0 0 0 0 0 10 0 0 0 0 ]\n"
                      ">MA9002.1 GC\nA [ 0 0 0 0 ]\nC [10 0 10 0 ]\nG [ 0 10 0 10 ]\nT [ 0 0 0 0 ]\n")
    rng = np.random.default_rng(0)

    def split(n):
        rows = {"sequence": [], "label": []}
        for i in range(n):
            seq = "".join(rng.choice(list("ACGT"), 60))
            if i % 2:
                at = int(rng.integers(0, 46))
                seq = seq[:at] + "GATTACAGGTACCA" + seq[at + 14:]
            rows["sequence"].append(seq)
            rows["label"].append(i % 2)
        return Dataset.from_dict(rows).cast_column("label", ClassLabel(names=["no", "yes"]))

    data = DatasetDict(train=split(80), validation=split(40), test=split(40))
    summary = run_motif_lr(data, str(motifs), seed=0)
    assert summary["results"]["test"]["mcc"] > 0.9
    assert summary["hyperparameters"]["features"] == 2 and "planted.jaspar" in summary["hyperparameters"]["motifs"]
    assert summary["data_sizes"] == {"train": 80, "validation": 40, "test": 40}


# ----------------------------------------------------------------------------- end to end, resumable
@pytest.mark.slow
def test_kmer_arm_runs_and_a_finished_run_is_never_rerun(suite, tmp_path, progress):
    out = tmp_path / "bench"
    argv = ["--suite", str(suite), "--arms", "kmer_lr", "--seeds", "1", "2", "--output_dir", str(out)]
    root_handlers = list(logging.getLogger().handlers)
    first = bench(argv)
    assert logging.getLogger().handlers == root_handlers  # logging is the caller's (the command line's) to set up
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(first.to_dict(), default=str))
    assert first.files["markdown"].read_text() == first.report and first.suite == suite
    assert len(first.runs) == 4
    prom = next(r for r in first.rows if r["task"] == "prom_core_all")
    assert prom["eval_split"] == "test" and prom["mcc"]["mean"] > 0.2  # k-mers separate real promoters from non-promoters
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("runs/**/results.json")}
    assert len(stamps) == 4
    progress.clear()
    bench(argv)
    assert sum("done before, skipped" in m for m in progress.messages) == 4
    assert {p: p.stat().st_mtime_ns for p in out.rglob("runs/**/results.json")} == stamps
    for name in ("results.csv", "results.md", "results.json", "results.png"):
        assert (out / name).stat().st_size > 0


@pytest.mark.slow
def test_every_arm_end_to_end_and_a_killed_run_continues(suite, model_folder, tmp_path, progress):
    out = tmp_path / "bench"
    argv = ["--models", str(model_folder), "--suite", str(suite), "--tasks", "tf0", "--seeds", "5",
            "--max_steps", "2", "--output_dir", str(out)]
    result = bench(argv)
    arms = {(r["model"], r["arm"]) for r in result.runs}
    assert arms == {("tiny-pt", "finetune"), ("tiny-pt", "from_scratch"), ("tiny-pt", "lora"), ("-", "kmer_lr"),
                    ("-", "motif_lr")}
    for record in result.runs:
        assert record["eval_split"] == "dev" and record["selection"] == "carved from train"
        assert set(record["metrics"]) >= {"mcc", "f1", "precision", "recall", "roc_auc"}
    lora = next(r for r in result.runs if r["arm"] == "lora")
    assert lora["hyperparameters"]["peft"]["method"] == "lora"
    csv_text = (out / "results.csv").read_text()
    assert csv_text.startswith("task,model,arm,eval_split") and "mcc_mean" in csv_text
    card = ModelCard.load(model_folder / "README.md").data.eval_results
    assert {r.dataset_name for r in card} == {"tf0"} and any(r.metric_type == "mcc" for r in card)
    # weights are not kept by default; no checkpoints left
    assert not list(out.rglob("model.safetensors")) and not list(out.rglob("checkpoint-*"))

    # a "killed" benchmark: one run lost its results.json and left a partial file behind
    victim = out / "runs" / "tiny-pt" / "tf0" / "lora" / "seed5"
    (victim / "results.json").unlink()
    (victim / "partial.bin").write_bytes(b"x")
    others = {p: p.stat().st_mtime_ns for p in out.rglob("runs/**/results.json")}
    progress.clear()
    bench(argv)
    assert sum("done before, skipped" in m for m in progress.messages) == 4  # the other arms' runs
    assert any(m.endswith("tf0 lora seed 5: running") for m in progress.messages)
    assert (victim / "results.json").exists() and not (victim / "partial.bin").exists()
    assert {p: p.stat().st_mtime_ns for p in others} == others


# ----------------------------------------------------------------------------- --sweep, levers, RC averaging
SELECTION_MCC = {1e-4: 0.30, 3e-4: 0.60}  # the selection split favours 3e-4 ...
REPORTED_MCC = {1e-4: 0.90, 3e-4: 0.10}  # ... the reported split would favour 1e-4


@pytest.fixture()
def fake_finetune(monkeypatch):
    """finetune() replaced by canned results per learning rate; returns the (lr, seed, (model, data, training
    arguments)) of each call."""
    calls = []

    def finetune(model_args, data_args, training_args):
        lr, seed = training_args.learning_rate, training_args.seed
        calls.append((lr, seed, (model_args, data_args, training_args)))
        reported = REPORTED_MCC[lr] + seed / 100
        summary = {"results": {"validation": {"mcc": SELECTION_MCC[lr]}, "test": {"mcc": reported, "f1": 0.5}},
                   "hyperparameters": {"learning_rate": lr}}
        if data_args.rc_average:
            summary["results_rc_average"] = {"validation": {"mcc": SELECTION_MCC[lr]}, "test": {"mcc": reported + 0.05}}
        return SimpleNamespace(to_dict=lambda: summary)  # what run_one reads of a FinetuneResult

    monkeypatch.setattr(runner, "finetune", finetune)
    return calls


@pytest.fixture()
def sweep_argv(suite, model_folder, tmp_path) -> list[str]:
    recipe = tmp_path / "sweep.yaml"
    recipe.write_text('defaults:\n  sweep:\n    learning_rate: [1.0e-4, 3.0e-4]\n    num_train_epochs: ["+0"]\n')
    return ["--models", str(model_folder), "--suite", str(suite), "--tasks", "tf0", "--arms", "finetune",
            "--seeds", "1", "2", "--recipe", str(recipe), "--sweep", "--no_model_cards",
            "--output_dir", str(tmp_path / "bench")]


def test_sweep_chooses_on_the_selection_split_records_it_and_resumes(fake_finetune, sweep_argv, tmp_path, progress):
    out = tmp_path / "bench"
    result = bench(sweep_argv)
    # two grid points on the first seed, then only seed 2 at the chosen point (seed 1 reuses the sweep's run)
    assert [(lr, seed) for lr, seed, _ in fake_finetune] == [(1e-4, 1), (3e-4, 1), (3e-4, 2)]
    chosen = {"learning_rate": 3e-4, "num_train_epochs": 3}
    for record in result.runs:
        assert record["sweep_point"] == chosen and record["sweep"]["chosen"] == "lr0.0003-ep3"
        assert record["sweep"]["selected_on"] == "carved from train" and record["sweep"]["seed"] == 1
        assert [(p["name"], p["selection_mcc"]) for p in record["sweep"]["table"]] == [("lr0.0001-ep3", 0.3),
                                                                                        ("lr0.0003-ep3", 0.6)]
    (row,) = result.rows
    assert row["mcc"]["mean"] == pytest.approx(0.10 + 0.015)  # the reported MCC of 3e-4 over seeds 1 and 2
    saved = json.loads((out / "results.json").read_text())
    assert saved["rows"][0]["sweep"]["point"] == chosen and saved["runs"][0]["sweep"]["point"] == chosen
    seed1 = json.loads((out / "runs/tiny-pt/tf0/finetune/seed1/results.json").read_text())
    assert seed1["reused_from"] == "sweep/lr0.0003-ep3" and seed1["sweep"]["chosen"] == "lr0.0003-ep3"
    report = (out / "results.md").read_text()
    assert "Schedule sweep" in report and "carved from train" in report
    assert "| tiny-pt · fine-tuned | **learning_rate 0.0003, num_train_epochs 3** | **0.600** |" in report
    assert "| tiny-pt · fine-tuned | learning_rate 0.0001, num_train_epochs 3 | 0.300 |" in report
    assert "--sweep adds 1 fine-tuning run(s)" in report
    assert "learning_rate 0.0003, num_train_epochs 3" in (out / "results.csv").read_text()

    # resumed: nothing runs again; a lost sweep point runs alone and the choice stands
    progress.clear()
    bench(sweep_argv)
    assert len(fake_finetune) == 3 and sum("done before, skipped" in m for m in progress.messages) == 4
    (out / "runs/tiny-pt/tf0/finetune/sweep/lr0.0001-ep3/results.json").unlink()
    bench(sweep_argv)
    assert [(lr, seed) for lr, seed, _ in fake_finetune[3:]] == [(1e-4, 1)]


def test_runs_of_other_settings_are_run_again(fake_finetune, sweep_argv, progress):
    plain = [a for a in sweep_argv if a != "--sweep"]
    bench(plain)
    assert [(lr, seed) for lr, seed, _ in fake_finetune] == [(3e-4, 1), (3e-4, 2)]  # the recipe's rate
    progress.clear()
    result = bench(plain + ["--rc_augment"])
    assert any("finished before with other settings (levers {}, now {'rc_augment': True})" in m for m in progress.messages)
    assert len(fake_finetune) == 4 and all(data.rc_augment for _, _, (_, data, _) in fake_finetune[2:])
    assert result.rows[0]["levers"] == "RC augment"


def test_rc_average_gives_separate_rows_with_their_own_means(fake_finetune, sweep_argv, tmp_path):
    out = tmp_path / "bench"
    result = bench([a for a in sweep_argv if a != "--sweep"] + ["--rc_average", "--tapt_steps", "300"])
    plain, averaged = result.rows
    assert not plain["rc_average"] and averaged["rc_average"] and averaged["seeds"] == [1, 2]
    assert plain["mcc"]["mean"] == pytest.approx(0.115) and averaged["mcc"]["mean"] == pytest.approx(0.165)
    assert averaged["mcc"]["sd"] == pytest.approx(plain["mcc"]["sd"]) == pytest.approx(0.00707, abs=1e-5)
    report = (out / "results.md").read_text()
    assert "| tiny-pt · fine-tuned (TAPT 300 steps) | 2 | 0.115 ± 0.007 |" in report
    assert "| tiny-pt · fine-tuned (TAPT 300 steps) + RC average | 2 | 0.165 ± 0.007 |" in report
    lines = (out / "results.csv").read_text().splitlines()
    assert lines[0].endswith("levers,rc_average,seed_ensemble,sweep_selected_on,sweep_point,sweep_table")
    assert [line.split(",")[-6:-4] for line in lines[1:]] == [["TAPT 300 steps", "False"], ["TAPT 300 steps", "True"]]


def test_finetune_arguments_carry_recipe_budget_and_levers_and_finetune_args_win(suite, model_folder):
    task = next(t for t in discover_suite(suite) if t.name == "tf0")
    run_ = {"model": "m", "task": "tf0", "arm": "finetune", "seed": 1, "dir": Path("out")}

    def arguments_of(arm="finetune", **values):
        options = runner.BenchmarkOptions(suite=str(suite), output_dir="o", **values)
        recipe = runner.task_recipe(options, Recipe(), "tf0")
        return runner.finetune_arguments(options, recipe, task, {**run_, "arm": arm}, str(model_folder))

    model, data, training = arguments_of()
    assert (model.model_name_or_path, model.from_scratch, model.peft, model.tapt_steps) == (str(model_folder), False, None, 0)
    assert (data.task, data.dataset_name, data.rc_augment, data.rc_average) == ("generic", "tf0", False, False)
    # tf0 has no test split: dev is reported, the selection split is carved out of train
    assert data.test_file == str(task.files["dev"]) and data.validation_file is None
    assert data.results_file == str(Path("out") / "finetune_results.json") and data.max_train_samples is None
    assert (training.output_dir, training.seed, training.learning_rate, training.num_train_epochs) == ("out", 1, 3e-4, 3)
    assert training.load_best_model_at_end and training.metric_for_best_model == "mcc" and training.save_total_limit == 1

    model, data, training = arguments_of(rc_augment=True, rc_average=True, tapt_steps=300, num_train_epochs=2,
                                         max_steps=5, max_train_samples=60)
    assert data.rc_augment and data.rc_average and model.tapt_steps == 300 and data.max_train_samples == 60
    assert training.num_train_epochs == 2 and training.max_steps == 5  # --num_train_epochs replaces the recipe's 3

    model, _, training = arguments_of("lora", lora_rank=4)
    assert (model.peft, model.lora_rank, model.lora_target_modules) == ("lora", 4, "query,value")
    assert training.learning_rate == Recipe().for_task("tf0")["lora_learning_rate"]
    assert arguments_of("from_scratch")[0].from_scratch

    # --finetune_args come last, as on genebert-finetune's command line: they win over the recipe and the levers
    model, data, training = arguments_of(rc_average=True, finetune_args="--learning_rate 0.01 --rc_average false "
                                                                        "--region_input --logging_steps 7")
    assert training.learning_rate == 0.01 and not data.rc_average and model.region_input
    assert training.logging_steps == 7 and training.num_train_epochs == 3  # what they do not name stays


def test_sweep_grid_per_arm_relative_epochs_and_tie_break():
    sweep = Recipe().for_task("tf0")["sweep"]
    points = grid(sweep, "finetune", 3)
    assert [point_name(p) for p in points] == ["lr0.0001-ep3-wu0.1", "lr0.0001-ep5-wu0.1", "lr0.0003-ep3-wu0.1",
                                               "lr0.0003-ep5-wu0.1", "lr0.001-ep3-wu0.1", "lr0.001-ep5-wu0.1"]
    assert {p["lora_learning_rate"] for p in grid(sweep, "lora", 3)} == {3e-4, 1e-3, 3e-3}
    assert grid({"num_train_epochs": ["+0", 2, "+1.5"]}, "finetune", 2) == [{"num_train_epochs": 2},
                                                                            {"num_train_epochs": 3.5}]
    assert choose([{"selection_mcc": 0.5}, {"selection_mcc": 0.7}, {"selection_mcc": 0.7}]) == 1
    assert choose([{"selection_mcc": None}, {"selection_mcc": float("nan")}, {"selection_mcc": 0.1}]) == 2


@pytest.mark.parametrize("sweep, message", [
    ("{lr: [1.0e-4]}", r"unknown sweep key tasks\.tf0\.sweep\.lr; known keys: learning_rate"),
    ("{learning_rate: 1.0e-4}", r"tasks\.tf0\.sweep\.learning_rate = 0\.0001 is not a non-empty list"),
    ("{learning_rate: [fast]}", r"tasks\.tf0\.sweep\.learning_rate value 'fast' is not a number > 0"),
    ("{num_train_epochs: ['2']}", r"num_train_epochs value '2' is not a number > 0 or \"\+N\""),
    ("{warmup_steps: [0.1, 0.1]}", r"warmup_steps = \[0\.1, 0\.1\] repeats a value"),
    ("[1, 2]", r"tasks\.tf0\.sweep = \[1, 2\] is not a dict"),
])
def test_recipe_sweep_errors_name_the_file_and_key(sweep, message, tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(f"tasks:\n  tf0:\n    sweep: {sweep}\n")
    with pytest.raises(ValueError, match=str(path).replace(".", r"\.") + ": .*" + message):
        Recipe(path)


@pytest.mark.slow
def test_sweep_end_to_end_on_a_tiny_model(suite, model_folder, tmp_path):
    recipe = tmp_path / "sweep.yaml"
    recipe.write_text("defaults:\n  sweep:\n    learning_rate: [1.0e-4, 1.0e-3]\n")
    out = tmp_path / "bench"
    result = bench(["--models", str(model_folder), "--suite", str(suite), "--tasks", "tf0", "--arms", "finetune",
                    "--seeds", "3", "--max_steps", "2", "--max_train_samples", "60", "--recipe", str(recipe),
                    "--sweep", "--no_model_cards", "--output_dir", str(out)])
    (record,) = result.runs
    table = record["sweep"]["table"]
    assert [p["point"]["learning_rate"] for p in table] == [1e-4, 1e-3]
    assert all(-1 <= p["selection_mcc"] <= 1 for p in table)  # the selection split carved out of train was scored
    assert record["sweep_point"] == table[choose(table)]["point"]
    assert sorted(p.name for p in (out / "runs/tiny-pt/tf0/finetune/sweep").iterdir()) == ["lr0.0001", "lr0.001"]


@pytest.mark.slow
def test_seed_ensemble_scores_the_mean_of_the_seeds_logits(suite, model_folder, tmp_path):
    import numpy as np
    from sklearn.metrics import matthews_corrcoef

    from modeling_genebert.finetuning.predict import Predictor, load_classifier

    out = tmp_path / "bench"
    result = bench(["--models", str(model_folder), "--suite", str(suite), "--tasks", "tf0", "--seeds", "1", "2",
                    "--arms", "finetune", "--max_steps", "6", "--output_dir", str(out), "--seed_ensemble"])
    plain = next(r for r in result.rows if not r.get("seed_ensemble"))
    ensemble = next(r for r in result.rows if r.get("seed_ensemble"))
    assert ensemble["seeds"] == [1, 2] and plain["seeds"] == [1, 2] and ensemble["mcc"]["n"] == 1
    folders = [out / "runs" / "tiny-pt" / "tf0" / "finetune" / f"seed{seed}" for seed in (1, 2)]
    assert all((folder / "model.safetensors").is_file() for folder in folders)  # kept for the ensemble
    dev = (suite / "tf0" / "dev.csv").read_text().splitlines()[1:]
    sequences, labels = [line.split(",")[0] for line in dev], [int(line.split(",")[1]) for line in dev]
    logits = [Predictor(load_classifier(folder)).logits(sequences)[0] for folder in folders]
    assert not np.allclose(logits[0], logits[1])  # two different members
    expected = matthews_corrcoef(labels, np.mean(logits, axis=0).argmax(1))
    assert ensemble["mcc"]["mean"] == pytest.approx(expected, abs=1e-9)
    assert "fine-tuned + seed ensemble" in result.report
    assert ",True," in (out / "results.csv").read_text().splitlines()[-1]
