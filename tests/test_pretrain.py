"""The pre-training layer: collator, the `genebert-pretrain` entry point, resume, DDP."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dataset_scripts.cli import UsageError
from modeling_genebert import GeneBertTokenizer
from modeling_genebert.pretraining.collator import NEXT, NOT_NEXT, GeneBertPretrainingCollator
from modeling_genebert.pretraining.pretrain import PretrainResult, last_complete_checkpoint, main, parse_args, pretrain

REPO = Path(__file__).resolve().parents[1]


def fake_row(i: int, regions: int = 4, bases: int = 8, num_tfs: int = 3) -> dict:
    rng = np.random.default_rng(i)
    seqs = ["".join(rng.choice(list("ACGT"), bases)) for _ in range(regions)]
    negs = ["".join(rng.choice(list("ACGT"), bases)) for _ in range(regions - regions // 2)]
    return {
        "sample_id": f"K562:chr1:{i}",
        "sequences": seqs,
        "region_matrix": rng.normal(size=(regions, num_tfs)).astype(np.float32),
        "negative_sequences": negs,
        "negative_region_matrix": rng.normal(size=(regions - regions // 2, num_tfs)).astype(np.float32),
    }


def test_collator_pairs_segments_with_their_region_rows():
    tok = GeneBertTokenizer(k=3)
    rows = [fake_row(i) for i in range(64)]
    collator = GeneBertPretrainingCollator(tok, max_length=64, mask_ratio=0.15, seed=0, pad_to_multiple_of=None)
    batch = collator(rows)
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "labels", "next_sentence_label", "region_matrix"}
    labels = batch["next_sentence_label"].tolist()
    assert 16 < labels.count(NOT_NEXT) < 48 and set(labels) == {NEXT, NOT_NEXT}
    # 2 regions x 8 bases per segment -> 14 3-mers each, plus [CLS] [SEP] [SEP]
    assert batch["input_ids"].shape == (64, 2 * 14 + 3)
    assert batch["region_matrix"].shape == (64, 4, 3)
    for row, label, matrix, types in zip(rows, labels, batch["region_matrix"], batch["token_type_ids"]):
        second = row["region_matrix"][2:] if label == NEXT else row["negative_region_matrix"]
        np.testing.assert_array_equal(matrix.numpy(), np.concatenate([row["region_matrix"][:2], second]))
        assert types.tolist() == [0] * 16 + [1] * 15
    # without masking the ids are exactly the tokenizer's encoding of the chosen pair
    row, label = rows[0], labels[0]
    second = row["sequences"][2:] if label == NEXT else row["negative_sequences"]
    expected = tok("".join(row["sequences"][:2]), "".join(second))["input_ids"]
    targets = batch["labels"][0]
    restored = torch.where(targets != -100, targets, batch["input_ids"][0])
    assert restored.tolist() == expected
    # MGM targets never sit on special tokens
    special = torch.isin(batch["input_ids"], torch.tensor([0, 2, 3]))
    assert not ((batch["labels"] != -100) & special & (batch["input_ids"] != 4)).any()
    assert (batch["labels"] != -100).any(dim=1).all()


def test_collator_is_reproducible_and_rejects_mismatched_rows():
    tok = GeneBertTokenizer(k=3)
    rows = [fake_row(i) for i in range(8)]
    a = GeneBertPretrainingCollator(tok, seed=3)(rows)
    b = GeneBertPretrainingCollator(tok, seed=3)(rows)
    assert all(torch.equal(a[key], b[key]) for key in a)
    bad = fake_row(0)
    bad["region_matrix"] = bad["region_matrix"][:3]
    with pytest.raises(ValueError, match="K562:chr1:0: region_matrix has 3 rows but the sample has 4"):
        GeneBertPretrainingCollator(tok)([bad])


def test_collator_contiguous_rows_pair_left_and_right_halves():
    """Schema 2 rows (R negative right halves): A = left halves, B = right halves or the negative's."""
    tok = GeneBertTokenizer(k=3)
    rows = []
    for i in range(64):
        row = fake_row(i)
        row["negative_sequences"] = [bases[4:] for bases in fake_row(1000 + i)["sequences"]]
        row["negative_region_matrix"] = np.full((4, 3), float(i), dtype=np.float32)
        rows.append(row)
    batch = GeneBertPretrainingCollator(tok, max_length=64, mask_ratio=0.15, seed=0, pad_to_multiple_of=None)(rows)
    labels = batch["next_sentence_label"].tolist()
    assert 16 < labels.count(NOT_NEXT) < 48
    assert batch["input_ids"].shape == (64, 2 * 14 + 3) and batch["region_matrix"].shape == (64, 4, 3)
    restored = torch.where(batch["labels"] != -100, batch["labels"], batch["input_ids"])  # MGM targets put back
    for row, label, ids, matrix in zip(rows, labels, restored, batch["region_matrix"]):
        second = [b[4:] for b in row["sequences"]] if label == NEXT else row["negative_sequences"]
        assert ids.tolist() == tok("".join(b[:4] for b in row["sequences"]), "".join(second))["input_ids"]
        expected = row["region_matrix"] if label == NEXT else row["negative_region_matrix"]
        np.testing.assert_array_equal(matrix.numpy(), expected)
    bad = fake_row(0)
    bad["negative_sequences"] = bad["negative_sequences"][:1]
    with pytest.raises(ValueError, match="1 negative sequences for 4 regions"):
        GeneBertPretrainingCollator(tok)([bad])


def pretrain_args(dataset, config, output_dir, **overrides) -> list[str]:
    options = {
        "dataset_path": dataset,
        "config_file": config,
        "output_dir": output_dir,
        "max_length": 128,
        "max_steps": 6,
        "per_device_train_batch_size": 8,
        "per_device_eval_batch_size": 8,
        "max_eval_samples": 16,
        "logging_steps": 2,
        "save_steps": 3,
        "learning_rate": 1e-3,
        "warmup_steps": 0,
        "disable_tqdm": "true",
        "use_cpu": "true",
    }
    options.update(overrides)
    return [item for key, value in options.items() for item in (f"--{key}", str(value))]


def test_pretrain_main_writes_a_hub_ready_folder(pretraining_dataset, micro_config_file, tmp_path):
    from huggingface_hub import ModelCard
    from transformers import AutoModelForPreTraining, AutoTokenizer

    root_handlers = list(logging.getLogger().handlers)
    result = pretrain(*parse_args(pretrain_args(pretraining_dataset, micro_config_file, tmp_path / "run")))
    assert isinstance(result, PretrainResult) and result.output_dir == tmp_path / "run" / "final"
    assert logging.getLogger().handlers == root_handlers  # logging is the caller's (the command line's) to set up
    summary = result.to_dict()
    final = result.output_dir
    assert json.loads((final / "pretraining_summary.json").read_text()) == summary
    assert summary["dataset"] == str(pretraining_dataset) and summary["train_samples"] > 0
    for name in ("model.safetensors", "config.json", "tokenizer_config.json", "vocab.txt", "README.md",
                 "configuration_genebert.py", "modeling_genebert.py", "tokenization_genebert.py",
                 "pretraining_summary.json"):
        assert (final / name).is_file(), name
    assert not list(final.glob("*.bin"))
    config = json.loads((final / "config.json").read_text())
    assert config["auto_map"]["AutoModelForPreTraining"] == "modeling_genebert.GeneBertForPreTraining"
    assert summary["global_step"] == 6
    for phase in ("before", "after"):
        assert {"mgm_loss", "ngsp_loss", "srm_loss", "srm_accuracy"} <= set(summary[phase])
        assert all(np.isfinite(v) for v in summary[phase].values())
    card = ModelCard.load(final / "README.md")
    assert card.data.library_name == "transformers"
    assert {"genomics", "dna", "custom_code"} <= set(card.data.tags)
    assert "Citation" in card.text and "trust_remote_code=True" in card.text
    # the component losses are logged separately during training
    state = json.loads((final / "trainer_state.json").read_text())  # the checkpoints are gone, the history is kept
    assert not list((tmp_path / "run").glob("checkpoint-*"))
    logged = [entry for entry in state["log_history"] if "loss" in entry]
    assert logged and {"mgm_loss", "ngsp_loss", "srm_loss", "srm_accuracy"} <= set(logged[0])
    model = AutoModelForPreTraining.from_pretrained(final)
    tokenizer = AutoTokenizer.from_pretrained(final)
    assert type(model).__name__ == "GeneBertForPreTraining" and tokenizer.kmer == 6


@pytest.mark.parametrize("units, expected", [("1", "bf16"), ("0", "fp32")])
def test_auto_precision_trains_in_bf16_where_the_units_are_and_records_it(pretraining_dataset, micro_config_file,
                                                                          tmp_path, monkeypatch, units, expected):
    """The fast tier runs the bf16 training path on any machine (oneDNN emulates it where the units are missing)."""
    monkeypatch.setenv("GENEBERT_CPU_BF16", units)
    result = pretrain(*parse_args(pretrain_args(pretraining_dataset, micro_config_file, tmp_path / "run", max_steps=2,
                                                save_steps=100)))
    summary = result.to_dict()
    assert summary["precision"] == expected and summary["global_step"] == 2
    assert all(np.isfinite(v) for phase in ("before", "after") for v in summary[phase].values())


def test_loss_switches_reach_the_trainer_through_a_json_options_file(pretraining_dataset, micro_config_file, tmp_path,
                                                                      capsys):
    options = tmp_path / "options.json"  # genebert-pretrain options.json: the options as one JSON object
    options.write_text(json.dumps({"dataset_path": str(pretraining_dataset), "config_file": str(micro_config_file),
                                   "output_dir": str(tmp_path / "run"), "max_length": 128, "max_steps": 2,
                                   "per_device_train_batch_size": 8, "per_device_eval_batch_size": 8,
                                   "max_eval_samples": 16, "save_steps": 100, "srm_weight": 0, "disable_tqdm": True,
                                   "use_cpu": True}))
    assert main([str(options)]) == 0
    summary = json.loads((tmp_path / "run" / "final" / "pretraining_summary.json").read_text())
    assert "srm_loss" not in summary["after"] and "mgm_loss" in summary["after"] and summary["global_step"] == 2
    printed = capsys.readouterr().out
    assert "GeneBERT pre-training summary" in printed and f"Hub-ready model folder: {tmp_path / 'run' / 'final'}" in printed


def test_last_complete_checkpoint_skips_a_half_written_one(tmp_path):
    for step, complete in ((4, True), (8, True), (12, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert last_complete_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-8")
    assert last_complete_checkpoint(str(tmp_path / "missing")) is None


def cli(args, **kwargs):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, "-m", "modeling_genebert.pretraining.pretrain", *args],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


@pytest.mark.slow
def test_sigkilled_run_resumes_to_the_same_step_count(pretraining_dataset, micro_config_file, tmp_path):
    run = tmp_path / "run"
    args = pretrain_args(pretraining_dataset, micro_config_file, run, max_steps=60, save_steps=4,
                         per_device_train_batch_size=2, save_total_limit=2)
    process = cli(args)
    deadline = time.time() + 240
    while last_complete_checkpoint(str(run)) in (None, str(run / "checkpoint-4")):
        assert process.poll() is None, process.stdout.read()
        assert time.time() < deadline, "no second checkpoint within 240 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run / "final").exists(), "the run finished before it could be killed"
    killed_at = int(last_complete_checkpoint(str(run)).rsplit("-", 1)[1])
    assert 8 <= killed_at < 60

    resumed = cli(args + ["--resume_from_checkpoint", "auto"])
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert "missing keys" not in output  # the tied decoder is stored once, not missing
    summary = json.loads((run / "final" / "pretraining_summary.json").read_text())
    assert summary["global_step"] == 60
    assert all(np.isfinite(v) for v in summary["after"].values())
    state = json.loads((run / "final" / "trainer_state.json").read_text())
    first_logged = min(entry["step"] for entry in state["log_history"] if "loss" in entry)
    assert first_logged <= killed_at  # history carried over from the checkpoint


@pytest.mark.slow
def test_two_process_cpu_ddp_ranks_agree(pretraining_dataset, micro_config_file, tmp_path):
    """2-process DDP over gloo on the CPU (torchrun sets the env; accelerate picks it up)."""
    run = tmp_path / "ddp"
    args = pretrain_args(pretraining_dataset, micro_config_file, run, max_steps=4, save_steps=100,
                         per_device_train_batch_size=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
         str(REPO / "tests" / "ddp_worker.py"), *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    digests = [json.loads((run / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert digests[0]["world_size"] == digests[1]["world_size"] == 2
    assert digests[0]["global_step"] == digests[1]["global_step"] == 4
    assert digests[0]["digest"] == digests[1]["digest"]
    assert (run / "final" / "model.safetensors").is_file()


def test_resuming_reports_only_keys_that_are_really_missing(caplog):
    """A checkpoint stores the tied k-mer decoder once; transformers would call it missing on every resume."""
    from torch.nn.modules.module import _IncompatibleKeys

    from modeling_genebert import GeneBertConfig, GeneBertForPreTraining
    from modeling_genebert.pretraining.trainer import GeneBertTrainer

    trainer = GeneBertTrainer.__new__(GeneBertTrainer)  # only the model is read
    trainer.model = GeneBertForPreTraining(GeneBertConfig.from_preset("tiny", num_hidden_layers=1))
    tied = list(GeneBertForPreTraining._tied_weights_keys)
    with caplog.at_level(logging.WARNING):
        trainer._issue_warnings_after_load(_IncompatibleKeys(tied, []))
        assert "missing keys" not in caplog.text
        trainer._issue_warnings_after_load(_IncompatibleKeys([*tied, "genebert.bert.pooler.dense.weight"], []))
    assert "missing keys in the checkpoint model loaded: ['genebert.bert.pooler.dense.weight']" in caplog.text


def test_training_presets_fill_only_options_left_at_their_defaults():
    from modeling_genebert.pretraining.pretrain import PretrainingArguments, apply_training_preset

    args = PretrainingArguments(output_dir="x", learning_rate=5e-4)
    apply_training_preset(args, "cpu")
    assert (args.max_steps, args.warmup_steps, args.eval_steps) == (1000, 60, 250)
    assert args.learning_rate == 5e-4  # given on the command line: kept
    with pytest.raises(ValueError, match=r"unknown training preset 'gpu'; choose one of \['cpu', 'paper'\]"):
        apply_training_preset(args, "gpu")


def test_kmer_option_sets_k_and_vocabulary_of_the_preset():
    from modeling_genebert.pretraining.pretrain import ModelArguments, build_config

    config = build_config(ModelArguments(preset="small", kmer=4), num_tfs=7, regions_per_sample=10)
    assert (config.sequence_config.kmer, config.sequence_config.vocab_size) == (4, 261)
    assert config.sequence_config.hidden_size == 256  # the rest of the preset is kept
    assert build_config(ModelArguments(), 7, 10).sequence_config.kmer == 6
    with pytest.raises(ValueError, match="kmer must be between 3 and 8, got 9"):
        build_config(ModelArguments(kmer=9), 7, 10)


def test_the_no_argument_run_uses_the_data_on_which_ngsp_learns(tmp_path, monkeypatch):
    """The main job's default data: contiguous pairs, shuffled negatives, 50-bp windows, long enough a run
    (with 10 x 20-bp next_regions pairs, or 240 steps, the summary ended with NGSP at chance)."""
    from modeling_genebert.pretraining import pretrain as module

    monkeypatch.setenv("GENEBERT_CACHE", str(tmp_path))
    built = {}
    monkeypatch.setattr(module, "build_default_pretraining_dataset", lambda path, **options: built.update(path=path, **options))
    _, data_args, training_args = parse_args([])
    path = module.default_dataset(data_args.default_bases_per_region, data_args.default_ngsp_pairing,
                                  data_args.default_ngsp_negatives)
    assert built == {"path": path, "bases_per_region": 50, "ngsp_pairing": "contiguous", "ngsp_negatives": "shuffled"}
    assert path == str(tmp_path / "default-mini-atlas-v2-shuffled-b50")
    assert training_args.max_steps == 600
    summary = module.summarize({"ngsp_accuracy": 0.5}, {"ngsp_accuracy": 0.7, "srm_accuracy": 0.5}, 1 / 32)
    assert "NGSP accuracy chance level: 0.5000" in summary and "SRM accuracy chance level: 0.0312" in summary


def test_a_long_run_in_slices_keeps_the_schedule_of_one_run(pretraining_dataset, micro_config_file, tmp_path):
    """--stop_at_step ends a session with a checkpoint and no final/; resumed, the run ends where one straight run
    does, with the same learning rates (the schedule is --max_steps', not the slice's)."""
    straight = pretrain(*parse_args(pretrain_args(pretraining_dataset, micro_config_file, tmp_path / "one", save_steps=2,
                                                  lr_scheduler_type="cosine")))
    sliced_args = pretrain_args(pretraining_dataset, micro_config_file, tmp_path / "sliced", save_steps=100,
                                lr_scheduler_type="cosine", stop_at_step=4)
    first = pretrain(*parse_args(sliced_args))
    assert first.output_dir == tmp_path / "sliced" / "checkpoint-4" and first.global_step == 4 and first.after == {}
    assert first.output_dir.is_dir() and not (tmp_path / "sliced" / "final").exists()
    with pytest.raises(UsageError, match="--stop_at_step 4: the run resumes at step 4, already there"):
        pretrain(*parse_args(sliced_args + ["--resume_from_checkpoint", "auto"]))
    second = pretrain(*parse_args(sliced_args[:-2] + ["--resume_from_checkpoint", "auto"]))
    assert second.output_dir == tmp_path / "sliced" / "final" and second.global_step == straight.global_step == 6

    def rates(result):
        state = json.loads((result.output_dir / "trainer_state.json").read_text())
        return {e["step"]: e["learning_rate"] for e in state["log_history"] if "learning_rate" in e}

    assert rates(second) == pytest.approx(rates(straight)) and set(rates(second)) == {2, 4, 6}
