"""``genebert-finetune`` levers of issue 23: reverse-complement augmentation (--rc_augment), reverse-complement
test-time averaging (--rc_average) and task-adaptive pre-training (--tapt_steps)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from dataset_scripts import MotifScanner
from dataset_scripts.finetuning_data import reverse_complement
from dataset_scripts.tasks import SEQUENCE_REGIONS, Task, get_task, ref_alt_features, sequence_features
from modeling_genebert import GeneBertForPreTraining, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.downstream.long_inputs import aggregate_windows, fit_to_window
from modeling_genebert.downstream.metrics import compute_all
from modeling_genebert.finetuning import finetune, task_adaptive
from modeling_genebert.finetuning.data import ClassificationCollator, RandomStrand, StrandFlip, strand_flip
from modeling_genebert.downstream.region_input import RegionMatrixBuilder
from small_models import save_pretraining_folder, small_config

from test_finetune import DATA, FAST, finetune_with

rng = np.random.default_rng(0)


def random_dna(length: int, n_rate: float = 0.0) -> str:
    bases = rng.choice(list("ACGT"), size=length)
    bases[rng.random(length) < n_rate] = "N"
    return "".join(bases)


def rows_of(columns: dict) -> list[dict]:
    """A column batch (as prepare_features' map writes it) -> the list of examples the collator gets."""
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


@pytest.fixture(scope="module")
def genebert_folder(tmp_path_factory):
    return save_pretraining_folder(tmp_path_factory.mktemp("genebert"), small_config(kmer=4))


# ----------------------------------------------------------------------------- --rc_augment: the flip itself
@pytest.mark.parametrize("k", [4, 6])
def test_flipped_tokens_are_the_tokens_of_the_reverse_complement(k):
    tokenizer = GeneBertTokenizer(k=k)
    sequences = [random_dna(n, n_rate=0.05 if n % 2 else 0.0) for n in (12, 31, 50, 7, 64)]  # N -> [UNK] k-mers
    collate = ClassificationCollator(tokenizer)
    forward = sequence_features({"sequence": sequences}, tokenizer, 128)
    forward["labels"] = [0, 1, 0, 1, 1]
    flipped = collate(rows_of(StrandFlip(tokenizer).batch(forward)))
    expected = sequence_features({"sequence": [reverse_complement(s) for s in sequences]}, tokenizer, 128)
    expected["labels"] = forward["labels"]
    expected = collate(rows_of(expected))
    assert flipped["input_ids"].shape[1] % 8 == 0 and (flipped["attention_mask"] == 0).any()  # padded batch
    assert (flipped["input_ids"] == tokenizer.unk_token_id).any()
    for key in ("input_ids", "attention_mask", "token_type_ids", "labels"):
        assert torch.equal(flipped[key], expected[key]), key
    assert not torch.equal(flipped["input_ids"], collate(rows_of(forward))["input_ids"])


def test_a_ref_alt_pair_flips_each_sequence_in_its_segment():
    tokenizer = GeneBertTokenizer(k=4)
    ref = [random_dna(40), random_dna(25)]
    alt = [s[:10] + ("A" if s[10] != "A" else "C") + s[11:] for s in ref]
    flipped = StrandFlip(tokenizer, region_blocks=2).batch(ref_alt_features({"ref_sequence": ref, "alt_sequence": alt},
                                                                            tokenizer, 128))
    expected = ref_alt_features({"ref_sequence": [reverse_complement(s) for s in ref],
                                 "alt_sequence": [reverse_complement(s) for s in alt]}, tokenizer, 128)
    assert flipped["input_ids"] == expected["input_ids"]
    assert flipped["token_type_ids"] == expected["token_type_ids"]


def test_region_rows_are_reversed_because_the_scan_reads_both_strands(test_motifs, tmp_path):
    """A tile's row is the same on either strand (the scan scores both), so flipping the sequence
    reverses the order of the rows; with a ref / alt pair each sequence's block of rows is reversed."""
    builder = RegionMatrixBuilder(test_motifs, rows=4)
    assert builder.scanner.both_strands
    sequences = [random_dna(80), random_dna(120)]  # lengths divisible by 4: the tiles of both strands line up
    forward = builder(sequences)
    assert not np.allclose(forward[:, 0], forward[:, -1])
    np.testing.assert_allclose(builder([reverse_complement(s) for s in sequences]), forward[:, ::-1], atol=1e-5)
    tokenizer = GeneBertTokenizer(k=4)
    flip = StrandFlip(tokenizer)
    np.testing.assert_array_equal(flip.region_matrix(forward[0]), forward[0][::-1])
    pair = np.concatenate([forward[0], forward[1]])
    np.testing.assert_array_equal(StrandFlip(tokenizer, region_blocks=2).region_matrix(pair),
                                  np.concatenate([forward[0][::-1], forward[1][::-1]]))


def test_random_strand_draws_both_strands_reproducibly():
    tokenizer = GeneBertTokenizer(k=4)
    sequences = [random_dna(30) for _ in range(8)]
    forward = sequence_features({"sequence": sequences}, tokenizer, 128)
    reverse = StrandFlip(tokenizer).batch(forward)

    def strands(seed: int) -> np.ndarray:
        augment = RandomStrand(StrandFlip(tokenizer), seed)
        draws = [augment(forward)["input_ids"] for _ in range(25)]  # 25 epochs over the same 8 examples
        for drawn in draws:
            for row, ids in enumerate(drawn):
                assert ids in (forward["input_ids"][row], reverse["input_ids"][row])
        return np.array([[ids == reverse["input_ids"][row] for row, ids in enumerate(drawn)] for drawn in draws])

    flipped = strands(42)
    assert 0.35 < flipped.mean() < 0.65
    assert flipped.any(axis=0).all() and (~flipped).any(axis=0).all()  # every example seen on both strands
    np.testing.assert_array_equal(flipped, strands(42))
    assert not np.array_equal(flipped, strands(7))


def test_random_strand_in_dataloader_workers_draws_new_coins_per_worker_and_epoch():
    """Workers copy the transform afresh each epoch: without re-seeding per worker they would all replay the
    main process's first coins, the same strands every epoch."""
    from datasets import Dataset

    tokenizer = GeneBertTokenizer(k=4)
    forward = sequence_features({"sequence": [random_dna(30) for _ in range(16)]}, tokenizer, 128)
    reverse = StrandFlip(tokenizer).batch(forward)["input_ids"]
    data = Dataset.from_dict(forward)

    def epochs(loader_seed: int) -> np.ndarray:
        train = data.with_transform(RandomStrand(StrandFlip(tokenizer), 42))
        loader = torch.utils.data.DataLoader(train, batch_size=4, num_workers=2, collate_fn=lambda rows: rows,
                                             generator=torch.Generator().manual_seed(loader_seed))
        return np.array([[row["input_ids"] == reverse[4 * b + i] for b, batch in enumerate(loader)
                          for i, row in enumerate(batch)] for _ in range(4)])

    flipped = epochs(0)
    assert flipped.shape == (4, 16) and 0.25 < flipped.mean() < 0.75
    assert len({tuple(epoch) for epoch in flipped}) == 4  # a new draw each epoch
    assert not np.array_equal(flipped[0, :4], flipped[0, 4:8])  # worker 0's first batch vs worker 1's first
    np.testing.assert_array_equal(flipped, epochs(0))  # reproducible from the loader's seed
    assert not np.array_equal(flipped, epochs(1))


def test_where_the_other_strand_is_not_defined_the_options_are_refused(test_motifs):
    with pytest.raises(ValueError, match=r"stride 1\), not stride 4"):
        StrandFlip(GeneBertTokenizer(k=4, stride=4))
    with pytest.raises(ValueError, match="reads its own region_matrix"):
        strand_flip(GeneBertTokenizer(k=4), Task("own_regions", "regions given", inputs=SEQUENCE_REGIONS))
    builder = RegionMatrixBuilder(test_motifs, rows=2)
    builder.scanner = MotifScanner(test_motifs, both_strands=False)
    with pytest.raises(ValueError, match="one strand only"):
        strand_flip(GeneBertTokenizer(k=4), get_task("promoter"), builder)


def test_rc_augment_flips_training_examples_only(genebert_folder, tmp_path, monkeypatch):
    seen = []

    class Spy(RandomStrand):
        def __call__(self, batch):
            seen.append(len(batch["input_ids"]))
            return super().__call__(batch)

    monkeypatch.setattr(finetune, "RandomStrand", Spy)
    summary = finetune_with(
        ["--model_name_or_path", str(genebert_folder), "--task", "promoter",
         "--train_file", str(DATA / "prom_core_all_train.csv"), "--validation_file", str(DATA / "prom_core_all_dev.csv"),
         "--max_train_samples", "32", "--max_eval_samples", "24", "--rc_augment", "--output_dir", str(tmp_path / "out"),
         "--max_steps", "3", "--per_device_train_batch_size", "8", "--eval_strategy", "steps", "--eval_steps", "2", *FAST]
    )
    # training batches of 8 (accelerate fetches one ahead); the two evaluations (one batch of 24) are not augmented
    assert set(seen) == {8} and len(seen) in (3, 4)
    assert summary.hyperparameters["rc_augment"] is True
    assert set(summary.results["validation"]) >= {"mcc", "accuracy"}


# ----------------------------------------------------------------------------- --rc_average
def averaged_by_hand(folder, sequences, labels, task="promoter", windows=None):
    """Metrics of the logits of each sequence and of its reverse complement (re-tokenized from the string)
    averaged; ``windows`` = (window strings, owners) for sliding windows: averaged per window, then per sequence."""
    model = GeneBertForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = GeneBertTokenizer.from_pretrained(folder)
    pieces, owners = windows or (sequences, None)

    def logits(strings):
        with torch.no_grad():
            return model(**tokenizer(list(strings), padding=True, return_tensors="pt")).logits.numpy()

    averaged = (logits(pieces) + logits([reverse_complement(s) for s in pieces])) / 2
    if owners is not None:
        averaged = aggregate_windows(averaged, owners, "mean")
    return compute_all(np.asarray(labels), averaged, metric_sets=get_task(task).metrics)


def write_split(path, sequences, labels):
    pd.DataFrame({"sequence": sequences, "label": labels}).to_csv(path, index=False)
    return path


def test_rc_average_scores_both_strands_and_reports_them_apart(genebert_folder, tmp_path):
    dev = pd.read_csv(DATA / "prom_core_all_dev.csv")
    test = dev.iloc[40:64]
    halves = [s[:35] for s in dev["sequence"].iloc[:24]]
    palindromes = [h + reverse_complement(h) for h in halves]  # their reverse complement is themselves
    labels = [i % 2 for i in range(24)]
    out = tmp_path / "out"
    summary = finetune_with(
        ["--model_name_or_path", str(genebert_folder), "--task", "promoter",
         "--train_file", str(DATA / "prom_core_all_train.csv"), "--max_train_samples", "32",
         "--validation_file", str(write_split(tmp_path / "dev.csv", palindromes, labels)),
         "--test_file", str(write_split(tmp_path / "test.csv", list(test["sequence"]), list(test["label"]))),
         "--rc_average", "--output_dir", str(out), "--max_steps", "3", "--learning_rate", "3e-3",
         "--per_device_train_batch_size", "8", "--eval_strategy", "no", "--precision", "fp32", *FAST]
    )
    averaged = summary.results_rc_average
    assert set(averaged) == {"validation", "test"} and summary.hyperparameters["rc_average"] is True
    expected = averaged_by_hand(out, list(test["sequence"]), list(test["label"]))
    for name, value in expected.items():
        assert averaged["test"][name] == pytest.approx(value, abs=1e-5), name
    assert averaged["test"]["roc_auc"] != summary.results["test"]["roc_auc"]  # the other strand changed the scores
    # strand-symmetric input: averaging changes nothing
    palindrome_metrics = {k: v for k, v in summary.results["validation"].items() if k != "loss"}
    assert averaged["validation"] == palindrome_metrics
    written = json.loads((out / "results.json").read_text())
    assert written["results_rc_average"] == averaged and "loss" in written["results"]["test"]
    card = (out / "README.md").read_text()
    assert "test (rc-averaged)" in card and "dataset_split: test (rc-averaged)" not in card


def test_rc_average_with_sliding_windows_averages_each_window_then_the_sequence(genebert_folder, tmp_path):
    dev = pd.read_csv(DATA / "prom_core_all_dev.csv").iloc[:24]
    out = tmp_path / "out"
    summary = finetune_with(
        ["--model_name_or_path", str(genebert_folder), "--task", "promoter",
         "--train_file", str(DATA / "prom_core_all_train.csv"), "--max_train_samples", "16",
         "--validation_file", str(DATA / "prom_core_all_dev.csv"), "--max_eval_samples", "24",
         "--long_inputs", "sliding_window", "--max_length", "24", "--rc_average", "--output_dir", str(out),
         "--max_steps", "2", "--learning_rate", "3e-3", "--per_device_train_batch_size", "8", "--eval_strategy", "no",
         "--precision", "fp32", *FAST]
    )
    tokenizer = GeneBertTokenizer.from_pretrained(out)
    windows = fit_to_window(list(dev["sequence"]), tokenizer, 24, "sliding_window")
    assert len(windows[0]) > 2 * len(dev)  # several windows per sequence
    expected = averaged_by_hand(out, list(dev["sequence"]), list(dev["label"]), windows=windows)
    for name, value in expected.items():
        assert summary.results_rc_average["validation"][name] == pytest.approx(value, abs=1e-5), name


# ----------------------------------------------------------------------------- --tapt_steps
def encoder_weights(model) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if k.startswith("genebert.bert.encoder.")}


def test_tapt_adapts_the_encoder_on_train_sequences_and_finetuning_starts_from_it(genebert_folder, tmp_path,
                                                                                  monkeypatch):
    received = []
    original = task_adaptive.task_adaptive_pretraining

    def spy(model_folder, sequences, *args, **kwargs):
        received.extend(sequences)
        return original(model_folder, sequences, *args, **kwargs)

    monkeypatch.setattr(task_adaptive, "task_adaptive_pretraining", spy)
    train = pd.read_csv(DATA / "prom_core_all_train.csv").iloc[:32]
    dev = pd.read_csv(DATA / "prom_core_all_dev.csv").iloc[:16]
    out = tmp_path / "out"
    summary = finetune_with(
        ["--model_name_or_path", str(genebert_folder), "--task", "promoter",
         "--train_file", str(write_split(tmp_path / "train.csv", list(train["sequence"]), list(train["label"]))),
         "--validation_file", str(write_split(tmp_path / "dev.csv", list(dev["sequence"]), list(dev["label"]))),
         "--tapt_steps", "3", "--tapt_batch_size", "8", "--tapt_learning_rate", "1e-3",
         "--learning_rate", "0", "--output_dir", str(out), "--max_steps", "1", "--eval_strategy", "no", *FAST]
    )
    assert sorted(received) == sorted(train["sequence"]) and not set(received) & set(dev["sequence"])
    record = summary.hyperparameters["task_adaptive_pretraining"]
    assert {k: record[k] for k in ("steps", "learning_rate", "batch_size", "train_sequences")} == {
        "steps": 3, "learning_rate": 1e-3, "batch_size": 8, "train_sequences": 32}
    assert np.isfinite([record["mgm_loss_first"], record["mgm_loss_last"]]).all() and record["cpu_minutes"] >= 0
    assert "task-adaptive pre-training (3 steps)" in summary.init
    assert summary.model_name_or_path == str(genebert_folder)
    adapted_folder = out / "task_adaptive_pretraining"
    assert record["folder"] == str(adapted_folder) and (adapted_folder / "model.safetensors").is_file()
    adapted = encoder_weights(GeneBertForPreTraining.from_pretrained(adapted_folder))
    before = encoder_weights(GeneBertForPreTraining.from_pretrained(genebert_folder))
    assert any(not torch.equal(adapted[k], before[k]) for k in before)  # MGM moved the encoder
    finetuned = encoder_weights(GeneBertForSequenceClassification.from_pretrained(out))  # learning rate 0
    assert all(torch.equal(finetuned[k], adapted[k]) for k in adapted)


def test_task_adaptive_pretraining_lowers_the_mgm_loss_on_the_task_sequences(genebert_folder, tmp_path):
    sequences = [random_dna(60) for _ in range(4)]
    folder = task_adaptive.task_adaptive_pretraining(genebert_folder, sequences, tmp_path / "adapted", steps=40,
                                                     learning_rate=3e-3, batch_size=4, seed=0, use_cpu=True,
                                                     disable_tqdm=True)
    record = json.loads((folder / "task_adaptive_pretraining.json").read_text())
    assert record["steps"] == 40 and record["mgm_loss_steps_averaged"] == 4
    assert record["mgm_loss_last"] < record["mgm_loss_first"] - 0.3
    assert GeneBertTokenizer.from_pretrained(folder).kmer == 4


@pytest.mark.parametrize("case", ["from_scratch", "preset", "classifier", "dnabert"])
def test_tapt_needs_a_genebert_pretraining_folder(case, genebert_folder, tmp_path, capsys):
    args = ["--task", "promoter", "--train_file", str(DATA / "prom_core_all_train.csv"), "--tapt_steps", "2",
            "--output_dir", str(tmp_path / "out")]
    if case == "from_scratch":
        args += ["--model_name_or_path", str(genebert_folder), "--from_scratch"]
    elif case == "classifier":
        GeneBertForSequenceClassification.from_pretrained(genebert_folder).save_pretrained(tmp_path / "classifier")
        args += ["--model_name_or_path", str(tmp_path / "classifier")]
    elif case == "dnabert":
        (tmp_path / "dnabert").mkdir()
        (tmp_path / "dnabert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
        (tmp_path / "dnabert" / "pytorch_model.bin").write_bytes(b"")
        args += ["--model_name_or_path", str(tmp_path / "dnabert")]
    capsys.readouterr()
    assert finetune.main(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and ("--tapt_steps" in error)
    assert "pre-training folder" in error or "from_scratch" in error


def test_the_levers_are_off_by_default_and_parsed_where_they_act():
    model_args, data_args, _, _ = finetune.parse_args(["--output_dir", "o"])
    assert (data_args.rc_augment, data_args.rc_average, model_args.tapt_steps) == (False, False, 0)
    assert (model_args.tapt_learning_rate, model_args.tapt_batch_size) == (5e-4, 32)
    model_args, data_args, _, _ = finetune.parse_args(["--output_dir", "o", "--rc_augment", "--rc_average", "--tapt_steps", "5",
                                                       "--tapt_learning_rate", "1e-3", "--tapt_batch_size", "8"])
    assert (data_args.rc_augment, data_args.rc_average) == (True, True)
    assert (model_args.tapt_steps, model_args.tapt_learning_rate, model_args.tapt_batch_size) == (5, 1e-3, 8)


def test_help_says_predict_averages_the_strands_the_same_way(capsys):
    with pytest.raises(SystemExit):
        finetune.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "average the two strands' logits" in text and "genebert-predict --rc_average applies the same rule" in text
