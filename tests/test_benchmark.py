"""``genebert-benchmark``: suite discovery, recipes, references, bad input, resumability, report and cards."""

from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from modeling_genebert.evaluation.benchmark import Recipe, discover_suite, load_references, runner
from modeling_genebert.evaluation.benchmark.report import aggregate, markdown, update_model_card

DATA = Path(__file__).parent / "data"


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
    assert runner.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not out.exists() or not any(out.rglob("results.*"))


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit):
        runner.main(["--help"])
    text = capsys.readouterr().out
    for option in ("--models", "--suite", "--seeds", "--arms", "--recipe", "--references", "--max_steps",
                   "--max_train_samples", "--output_dir", "--keep_models"):
        assert option in text


# ----------------------------------------------------------------------------- end to end, resumable
@pytest.mark.slow
def test_kmer_arm_runs_and_a_finished_run_is_never_rerun(suite, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["--suite", str(suite), "--arms", "kmer_lr", "--seeds", "1", "2", "--output_dir", str(out)]
    first = runner.run(argv)
    assert len(first["runs"]) == 4
    prom = next(r for r in first["rows"] if r["task"] == "prom_core_all")
    assert prom["eval_split"] == "test" and prom["mcc"]["mean"] > 0.2  # k-mers separate real promoters from non-promoters
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("runs/**/results.json")}
    assert len(stamps) == 4
    capsys.readouterr()
    runner.run(argv)
    assert capsys.readouterr().out.count("done before, skipped") == 4
    assert {p: p.stat().st_mtime_ns for p in out.rglob("runs/**/results.json")} == stamps
    for name in ("results.csv", "results.md", "results.json", "results.png"):
        assert (out / name).stat().st_size > 0


@pytest.mark.slow
def test_every_arm_end_to_end_and_a_killed_run_continues(suite, model_folder, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["--models", str(model_folder), "--suite", str(suite), "--tasks", "tf0", "--seeds", "5",
            "--max_steps", "2", "--output_dir", str(out)]
    result = runner.run(argv)
    arms = {(r["model"], r["arm"]) for r in result["runs"]}
    assert arms == {("tiny-pt", "finetune"), ("tiny-pt", "from_scratch"), ("tiny-pt", "lora"), ("-", "kmer_lr")}
    for record in result["runs"]:
        assert record["eval_split"] == "dev" and record["selection"] == "carved from train"
        assert set(record["metrics"]) >= {"mcc", "f1", "precision", "recall", "roc_auc"}
    lora = next(r for r in result["runs"] if r["arm"] == "lora")
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
    capsys.readouterr()
    runner.run(argv)
    printed = capsys.readouterr().out
    assert printed.count("done before, skipped") == 3 and "tf0 lora seed 5: running" in printed
    assert (victim / "results.json").exists() and not (victim / "partial.bin").exists()
    assert {p: p.stat().st_mtime_ns for p in others} == others
