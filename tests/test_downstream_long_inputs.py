"""Over-long inputs: truncated with a warning, or covered by sliding windows whose outputs are aggregated."""

import logging
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from modeling_genebert import GeneBertConfig, GeneBertModel, GeneBertTokenizer
from modeling_genebert.evaluation.embed import embed_sequences
from modeling_genebert.downstream.long_inputs import aggregate_windows, bases_per_window, split_into_windows, warn_truncated
from test_finetune import finetune_with

DATA = Path(__file__).parent / "data" / "finetune"
FAST = ["--per_device_eval_batch_size", "128", "--logging_steps", "1000", "--disable_tqdm", "true", "--use_cpu", "true"]


@pytest.mark.parametrize("k, stride, max_length", [(6, 1, 512), (4, 1, 20), (6, 6, 10), (3, 2, 7)])
def test_a_window_of_bases_fills_max_length_tokens(k, stride, max_length):
    tok = GeneBertTokenizer(k=k, stride=stride)
    window = bases_per_window(tok, max_length)
    assert len(tok("A" * window)["input_ids"]) == max_length
    assert len(tok("A" * (window + stride))["input_ids"]) == max_length + 1
    with pytest.raises(ValueError, match="max_length 2 leaves no room"):
        bases_per_window(tok, 2)


def test_windows_cover_every_base_and_end_at_the_end():
    sequences = ["ACGT" * 10 + "GG", "ACG", "A C\nGTTTAA", ""]
    windows, owners = split_into_windows(sequences, window=12, overlap=5)
    assert owners.tolist() == [0] * 6 + [1, 2, 3]
    first = [w for w, o in zip(windows, owners) if o == 0]
    assert all(len(w) == 12 for w in first)
    starts = [0, 7, 14, 21, 28, 30]  # step 7; the last one aligned to the end (42 - 12)
    assert first == [sequences[0][s : s + 12] for s in starts]
    assert windows[6:] == ["ACG", "ACGTTTAA", ""]  # whitespace does not count as bases
    # stride 3: steps keep the k-mer phase
    sequence = "ACGTACGTACGTACGTACGT"
    windows, _ = split_into_windows([sequence], window=9, overlap=2, stride=3)
    assert windows == [sequence[s : s + 9] for s in (0, 6, 12)]  # step 7 -> 6; the last start 11 -> 12
    with pytest.raises(ValueError, match=r"overlap must be in \[0, 12\) bases, got 12"):
        split_into_windows(["ACGT"], window=12, overlap=12)


def test_aggregation_by_mean_and_max():
    values = np.array([[1.0, 5.0], [3.0, -1.0], [2.0, 2.0]], dtype=np.float32)
    owners = np.array([0, 0, 1])
    assert aggregate_windows(values, owners, "mean").tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert aggregate_windows(values, owners, "max").tolist() == [[3.0, 5.0], [2.0, 2.0]]
    assert aggregate_windows(values, owners, "mean").dtype == np.float32
    with pytest.raises(ValueError, match="aggregation must be one of"):
        aggregate_windows(values, owners, "median")
    with pytest.raises(ValueError, match="3 window outputs for 2 windows"):
        aggregate_windows(values, owners[:2])


def test_truncation_is_announced(caplog):
    with caplog.at_level(logging.WARNING, logger="genebert.long_inputs"):
        assert warn_truncated(["A" * 30, "A" * 10, "A" * 21], window=21, where="test split") == 1
    assert "test split: 1 of 3 sequences are longer than the model's window of 21 bases (longest 30)" in caplog.text
    caplog.clear()
    assert warn_truncated(["A" * 21], window=21) == 0 and not caplog.text


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    config = GeneBertConfig.from_preset(
        "tiny", num_tfs=4, regions_per_sample=2,
        sequence_config=dict(kmer=4, vocab_size=5 + 4**4, hidden_size=32, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=64),
    )
    return GeneBertModel(config).eval(), GeneBertTokenizer(k=4)


@pytest.mark.parametrize("pooling, how", [("mean", "mean"), ("cls", "max"), ("projected", "mean")])
def test_sliding_window_embeddings_aggregate_the_windows(encoder, pooling, how, caplog):
    model, tok = encoder
    rng = random.Random(0)
    long = "".join(rng.choice("ACGT") for _ in range(100))
    short = long[:20]
    kw = dict(pooling=pooling, max_length=20)  # window = 18 + 3 = 21 bases
    sliding = embed_sequences(model, tok, [long, short], long_inputs="sliding_window", window_overlap=5,
                              window_aggregation=how, **kw)
    windows, _ = split_into_windows([long], 21, 5)
    assert len(windows) == 6
    per_window = embed_sequences(model, tok, windows, **kw)
    expected = per_window.mean(0) if how == "mean" else per_window.max(0)
    if pooling == "projected":
        expected = expected / np.linalg.norm(expected)
    np.testing.assert_allclose(sliding[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sliding[1], embed_sequences(model, tok, [short], **kw)[0], rtol=1e-5, atol=1e-6)
    with caplog.at_level(logging.WARNING, logger="genebert.long_inputs"):
        truncated = embed_sequences(model, tok, [long, short], **kw)
    assert "1 of 2 sequences are longer than the model's window of 21 bases (longest 100)" in caplog.text
    np.testing.assert_allclose(truncated[0], per_window[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="long_inputs must be one of"):
        embed_sequences(model, tok, [long], long_inputs="chunk")


@pytest.mark.slow
def test_finetune_with_sliding_windows_sees_the_tail(tmp_path):
    """A motif planted past the first window is learnable only with sliding windows; metrics are per sequence."""
    motif = "GATTACAGGTACCA"
    rng = random.Random(0)

    def write(name, rows):
        sequences, labels = [], []
        for i, seq in enumerate(rows["sequence"]):
            if i % 2:
                at = rng.randrange(40, len(seq) - len(motif))
                seq = seq[:at] + motif + seq[at + len(motif):]
            sequences.append(seq)
            labels.append(i % 2)
        pd.DataFrame({"sequence": sequences, "label": labels}).to_csv(tmp_path / name, index=False)
        return str(tmp_path / name)

    train = write("train.csv", pd.read_csv(DATA / "prom_core_all_train.csv").iloc[:240])
    dev = write("dev.csv", pd.read_csv(DATA / "prom_core_all_dev.csv").iloc[:100])
    common = ["--task", "promoter", "--train_file", train, "--validation_file", dev, "--max_length", "20",
              "--num_train_epochs", "3", "--learning_rate", "3e-3", "--per_device_train_batch_size", "16",
              "--eval_strategy", "no", "--seed", "3", *FAST]
    config = tmp_path / "config"
    tiny = GeneBertConfig.from_preset(
        "tiny", num_tfs=4, regions_per_sample=2,
        sequence_config=dict(kmer=4, vocab_size=5 + 4**4, hidden_size=32, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=64),
    )
    from modeling_genebert import GeneBertForPreTraining

    GeneBertForPreTraining(tiny).save_pretrained(config)
    GeneBertTokenizer(k=4).save_pretrained(config)
    sliding = finetune_with(["--model_name_or_path", str(config), "--output_dir", str(tmp_path / "s"),
                             "--long_inputs", "sliding_window", "--window_overlap", "14", "--window_aggregation", "max",
                             *common])
    assert sliding.data_sizes == {"train": 240, "validation": 100}
    assert sliding.hyperparameters["windows"]["validation"] == 100 * 8  # 70 bp in 21-bp windows, step 7
    assert sliding.results["validation"]["roc_auc"] > 0.9, sliding.results
    truncated = finetune_with(["--model_name_or_path", str(config), "--output_dir", str(tmp_path / "t"), *common])
    assert truncated.hyperparameters["long_inputs"] == "truncate"
    assert truncated.results["validation"]["roc_auc"] < 0.75, truncated.results


def test_too_long_input_to_the_model_is_a_clear_error(encoder):
    model, _ = encoder
    with pytest.raises(ValueError, match=r"input of 70 tokens is longer than the model's max_position_embeddings \(64\)"):
        model(input_ids=torch.full((1, 70), 7))
    assert model(input_ids=torch.full((1, 64), 7)).last_hidden_state.shape == (1, 64, 32)


def test_options_are_checked_before_any_work():
    from modeling_genebert.downstream.long_inputs import fit_to_window

    tok = GeneBertTokenizer(k=4)
    with pytest.raises(ValueError, match="window aggregation must be one of"):
        fit_to_window(["ACGT"], tok, 20, "sliding_window", window_aggregation="median")
    assert fit_to_window(["ACGT" * 10], tok, 20) == (["ACGT" * 10], None)
    windows, owners = fit_to_window(["ACGT" * 10], tok, 20, "sliding_window")  # 21-base windows at 0, 11, 19
    sequence = "ACGT" * 10
    assert windows == [sequence[0:21], sequence[11:32], sequence[19:40]] and owners.tolist() == [0, 0, 0]
