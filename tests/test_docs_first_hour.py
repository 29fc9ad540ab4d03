"""A new user's first hour: loads are quiet, cards and folders tell the truth (the README's and docs/' code blocks
run as written in test_docs.py)."""

import json
import logging
import os
import re
import stat
from pathlib import Path

import pytest
import torch
import transformers
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.cards.finetune_card import results_text
from modeling_genebert.finetuning import finetune
from small_models import save_pretraining_folder, small_config
from test_finetune import finetune_with

DATA = Path(__file__).parent / "data" / "finetune"


def tiny_config(**overrides) -> GeneBertConfig:
    return small_config(kmer=3, num_hidden_layers=1, **overrides)


@pytest.fixture(scope="module")
def pretraining_folder(tmp_path_factory) -> Path:
    return save_pretraining_folder(tmp_path_factory.mktemp("pretrained"), tiny_config())


@pytest.fixture(scope="module")
def finetuned(pretraining_folder, tmp_path_factory):
    """A short fine-tuning from the pre-training folder, split files named as GUE names them."""
    data = tmp_path_factory.mktemp("data") / "prom_core_all"
    data.mkdir()
    (data / "train.csv").write_text((DATA / "prom_core_all_train.csv").read_text())
    (data / "dev.csv").write_text((DATA / "prom_core_all_dev.csv").read_text())
    out = tmp_path_factory.mktemp("finetuned")
    evaluations = []
    original = transformers.Trainer.evaluate

    def counting(self, *args, **kwargs):
        evaluations.append(kwargs.get("metric_key_prefix", "eval"))
        return original(self, *args, **kwargs)

    transformers.Trainer.evaluate = counting
    try:
        summary = finetune_with([
            "--model_name_or_path", str(pretraining_folder), "--task", "promoter",
            "--train_file", str(data / "train.csv"), "--validation_file", str(data / "dev.csv"),
            "--output_dir", str(out), "--max_steps", "6", "--per_device_train_batch_size", "16",
            "--eval_strategy", "steps", "--eval_steps", "6", "--max_eval_samples", "64", "--disable_tqdm", "true",
        ]).to_dict()
    finally:
        transformers.Trainer.evaluate = original
    return summary, out, evaluations


def test_fine_tuned_folder_policy(finetuned):
    _, out, _ = finetuned
    names = {p.name for p in out.iterdir()}
    assert "training_args.json" in names and "training_args.bin" not in names
    assert not any(n.startswith("checkpoint-") for n in names)
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir() if p.is_file()}
    assert set(modes.values()) == {0o666 & ~umask}, modes  # the weights are as readable as the rest
    assert json.loads((out / "training_args.json").read_text())["max_steps"] == 6


def test_card_and_results_say_what_ran(finetuned):
    summary, out, evaluations = finetuned
    hyper = summary["hyperparameters"]
    assert summary["dataset"] == "prom_core_all"  # the folder, not the split file's stem
    assert hyper["max_steps"] == 6 and "num_train_epochs" not in hyper and 0 < hyper["epochs_run"] < 1
    assert hyper["warmup_ratio"] == 0.1 and "warmup_steps" not in hyper
    card = ModelCard.load(out / "README.md")
    index = card.data.eval_results[0]
    assert index.dataset_name == "prom_core_all" and index.dataset_type == "prom_core_all"
    assert '"num_train_epochs"' not in card.text and '"epochs_run"' in card.text
    # validation was evaluated once, at the last step, and that evaluation is what results report
    assert evaluations.count("eval") == 1 and "validation" not in evaluations


def test_terminal_results_table_is_aligned():
    text = results_text({"validation": {"precision": 0.81234, "mcc": 0.5}, "test": {"precision": 0.7, "mcc": 0.4}})
    header, rule, *rows = text.splitlines()
    assert header.split()[:3] == ["metric", "validation", "test"]
    assert set(rule.replace(" ", "")) == {"-"} and "|" not in text
    assert rows[0].split()[:3] == ["precision", "0.8123", "0.7000"]


def test_loading_into_another_head_says_one_line(pretraining_folder, caplog):
    caplog.set_level(logging.DEBUG, logger="modeling_genebert")
    model = AutoModelForSequenceClassification.from_pretrained(pretraining_folder, num_labels=2)
    assert isinstance(model, GeneBertForSequenceClassification)
    ours = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    line = ours[0].getMessage()
    assert "new classification head initialised" in line and "pre-training heads (MGM / NGSP)" in line
    assert "LOAD REPORT" not in line
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("LOAD REPORT" in m and "UNEXPECTED" in m for m in debug)  # the full table, at debug level


def test_a_missing_encoder_weight_still_warns_loudly(pretraining_folder, tmp_path, caplog):
    for f in pretraining_folder.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    weights = load_file(tmp_path / "model.safetensors")
    gone = "genebert.bert.encoder.layer.0.attention.self.query.weight"
    del weights[gone]
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    caplog.set_level(logging.WARNING, logger="modeling_genebert")
    GeneBertForSequenceClassification.from_pretrained(tmp_path, num_labels=2)
    loud = [r.getMessage() for r in caplog.records if "encoder weight(s) missing" in r.getMessage()]
    assert len(loud) == 1 and gone in loud[0]


def test_region_matrix_with_srm_off_is_said_to_be_ignored(caplog):
    model = GeneBertForPreTraining(tiny_config(srm_weight=0.0))
    tok = GeneBertTokenizer(k=3)
    batch = tok(["ACGTACGTAC", "GGCATTACGA"], return_tensors="pt")
    caplog.set_level(logging.WARNING, logger="modeling_genebert")
    logging.Logger.warning_once.cache_clear()  # transformers' once-per-process memo: an earlier test may have said it
    for _ in range(2):
        out = model(**batch, region_matrix=torch.randn(2, 2, 3))
    said = [r.getMessage() for r in caplog.records if "region_matrix is ignored" in r.getMessage()]
    assert len(said) == 1 and "srm_weight is 0" in said[0] and out.srm_loss is None


def test_tokenizer_save_returns_only_written_files(tmp_path):
    files = GeneBertTokenizer(k=3).save_pretrained(tmp_path)
    assert files and all(Path(f).exists() for f in files)
    assert not (tmp_path / "added_tokens.json").exists()


def test_finetune_help_leads_with_our_options(capsys):
    with pytest.raises(SystemExit):
        finetune.main(["--help"])
    text = capsys.readouterr().out
    assert text.index("\nmodel:") < text.index("\ndata:") < text.index("\ntraining (GeneBERT's defaults):") \
        < text.index("passed through")
    ours = text[: text.index("passed through")]
    for option in ("--output_dir", "--learning_rate", "--per_device_train_batch_size", "--num_train_epochs",
                   "--warmup_steps", "--task", "--train_file"):
        block = ours.split(f"  {option} ", 1)[1].split("\n  --", 1)[0]
        assert re.search(r"[a-z]{3,}", block.split("\n", 1)[-1] if "\n" in block else block), option

