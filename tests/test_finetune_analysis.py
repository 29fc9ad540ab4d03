"""Embedding command and the analysis helpers (t-SNE figure + silhouette, seed aggregation, tables)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from modeling_genebert.evaluation import analysis, embed

DATA = Path(__file__).parent / "data" / "finetune"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("embed")
    config = GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(kmer=4, vocab_size=5 + 4**4, hidden_size=32, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=128),
        region_config=dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_tfs=4, regions_per_sample=2),
        projection_dim=16,
    )
    GeneBertForPreTraining(config).save_pretrained(path)
    GeneBertTokenizer(k=4).save_pretrained(path)
    return path


def test_embed_writes_every_format(folder, tmp_path):
    from safetensors.numpy import load_file

    source = DATA / "prom_core_all_dev.csv"
    npy = embed.run(["--model_name_or_path", str(folder), "--dataset", str(source), "--output",
                      str(tmp_path / "e.npy"), "--max_samples", "50"])
    array = np.load(tmp_path / "e.npy")
    assert array.shape == (50, 32) and array.dtype == np.float32 and np.isfinite(array).all()
    assert npy["pooling"] == "cls"
    embed.run(["--model_name_or_path", str(folder), "--dataset", str(source), "--output",
                str(tmp_path / "e.safetensors"), "--max_samples", "50"])
    tensors = load_file(tmp_path / "e.safetensors")
    np.testing.assert_allclose(tensors["embeddings"], array, rtol=1e-5, atol=1e-6)
    assert tensors["labels"].shape == (50,)
    embed.run(["--model_name_or_path", str(folder), "--dataset", str(source), "--output",
                str(tmp_path / "e.parquet"), "--max_samples", "50"])
    frame = pd.read_parquet(tmp_path / "e.parquet")
    assert len(frame) == 50 and {"embedding", "label"} <= set(frame.columns)
    np.testing.assert_allclose(np.stack(frame["embedding"]), array, rtol=1e-5, atol=1e-6)


def test_poolings(folder):
    model, tokenizer = embed.load_encoder(str(folder))
    sequences = pd.read_csv(DATA / "prom_core_all_dev.csv")["sequence"].tolist()[:6]
    cls = embed.embed_sequences(model, tokenizer, sequences, pooling="cls")
    with torch.no_grad():
        states = model(**tokenizer(sequences[:1], return_tensors="pt")).last_hidden_state[0]
    np.testing.assert_allclose(cls[0], states[0].numpy(), rtol=1e-4, atol=1e-5)
    mean = embed.embed_sequences(model, tokenizer, sequences, pooling="mean")
    np.testing.assert_allclose(mean[0], states[1:-1].mean(0).numpy(), rtol=1e-4, atol=1e-5)
    projected = embed.embed_sequences(model, tokenizer, sequences, pooling="projected")
    assert projected.shape == (6, 16)
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 1.0, rtol=1e-5)


def test_mean_pooling_ignores_padding(folder):
    model, tokenizer = embed.load_encoder(str(folder))
    sequences = pd.read_csv(DATA / "prom_core_all_dev.csv")["sequence"].tolist()[:2]
    short = sequences[1][:30]
    alone = embed.embed_sequences(model, tokenizer, [short], pooling="mean")
    padded = embed.embed_sequences(model, tokenizer, [sequences[0], short], pooling="mean")
    np.testing.assert_allclose(alone[0], padded[1], rtol=1e-4, atol=1e-5)


def test_embed_rejects_unknown_output_format(folder, tmp_path):
    with pytest.raises(ValueError, match=".npy"):
        embed.save_embeddings(tmp_path / "e.csv", np.zeros((2, 3)), {}, {})


def test_tsne_figure_and_silhouette_separate_clusters(tmp_path):
    rng = np.random.default_rng(0)
    cell_types = ["K562"] * 40 + ["HepG2"] * 40
    separated = np.concatenate([rng.normal(0, 1, (40, 8)) + 6, rng.normal(0, 1, (40, 8)) - 6])
    mixed = rng.normal(0, 1, (80, 8))
    scores = analysis.tsne_panels({"separated": separated, "mixed": mixed}, cell_types, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert scores["separated"]["silhouette_tsne"] > 0.5 > abs(scores["mixed"]["silhouette_tsne"])
    assert scores["separated"]["silhouette_embedding_cosine"] > 0.5


def test_aggregate_and_table():
    runs = [{"precision": 0.7, "recall": 0.6, "roc_auc": 0.8}, {"precision": 0.8, "recall": 0.6, "roc_auc": 0.9}]
    stats = analysis.aggregate(runs)
    assert stats["precision"]["mean"] == pytest.approx(0.75)
    assert stats["precision"]["std"] == pytest.approx(np.std([0.7, 0.8], ddof=1))
    assert stats["recall"]["std"] == 0.0 and "mcc" not in stats
    table = analysis.markdown_table({"MGM": stats}, "losses")
    assert "| MGM | 0.750 ± 0.071 | 0.600 ± 0.000 | 0.850 ± 0.071 | n/a | n/a |" in table
    assert "over 2 seed(s)" in table and "macro precision" in table


def test_region_encoder_specs():
    assert analysis.region_encoder_overrides("native") == {"encoder_type": "native"}
    assert analysis.region_encoder_overrides("swin_tiny_patch4_window7_224") == {
        "encoder_type": "timm", "timm_model_name": "swin_tiny_patch4_window7_224", "timm_input_mode": "resize"}
    assert analysis.region_encoder_overrides("vit_tiny_patch16_224@native")["timm_input_mode"] == "native"


def test_analysis_help_lists_the_commands_and_budgets(capsys):
    with pytest.raises(SystemExit):
        analysis.main(["table5", "--help"])
    text = capsys.readouterr().out
    for option in ("--pretrain_steps", "--finetune_steps", "--seeds", "--train_file", "--variants"):
        assert option in text
    with pytest.raises(SystemExit):
        analysis.main(["--help"])
    text = capsys.readouterr().out
    assert all(c in text for c in ("fig2", "table5", "table7", "table8"))


def test_fig2_and_table5_end_to_end_on_the_mini_atlas(pretraining_dataset, tmp_path, monkeypatch):
    """Tiny budgets: the commands run, write their files and carry every variant."""
    from modeling_genebert import GeneBertConfig

    micro = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                 max_position_embeddings=128)
    real_from_preset = GeneBertConfig.from_preset.__func__

    def micro_preset(cls, name, **overrides):  # the "tiny" preset, shrunk so that CI stays fast
        overrides["sequence_config"] = {**micro, **overrides.get("sequence_config", {})}
        return real_from_preset(cls, name, **overrides)

    monkeypatch.setattr(GeneBertConfig, "from_preset", classmethod(micro_preset))
    budget = ["--dataset", str(pretraining_dataset), "--pretrain_steps", "2", "--pretrain_batch_size", "4"]
    summary = analysis.run(
        ["table5", "--output_dir", str(tmp_path / "t5"), *budget, "--variants", "no loss", "MGM+NGSP+SRM",
         "--train_file", str(DATA / "prom_core_all_train.csv"), "--validation_file", str(DATA / "prom_core_all_dev.csv"),
         "--finetune_steps", "2", "--finetune_train_samples", "64", "--finetune_eval_samples", "64"]
    )
    assert list(summary["rows"]) == ["no loss", "MGM+NGSP+SRM"]
    assert summary["runs"][0]["pretraining"] is None and summary["runs"][1]["pretraining"]["steps"] == 2
    assert "| MGM+NGSP+SRM |" in (tmp_path / "t5" / "table.md").read_text()
    assert json.loads((tmp_path / "t5" / "results.json").read_text())["budgets"]["finetune_steps"] == 2
    folder = summary["runs"][1]["finetune_dir"]
    assert (Path(folder) / "README.md").exists()

    pretrained = str(Path(summary["runs"][1]["finetune_dir"]).parent / "pretrain" / "final")
    fig = analysis.run(["fig2", "--output_dir", str(tmp_path / "f2"), "--dataset", str(pretraining_dataset),
                         "--unimodal", pretrained, "--multimodal", pretrained, "--max_samples", "40"])
    assert Path(fig["figure"]).stat().st_size > 1000
    assert set(fig["cell_types"]) == {"K562", "HepG2"} or len(fig["cell_types"]) >= 2
    for scores in fig["silhouette"].values():
        assert -1 <= scores["silhouette_tsne"] <= 1
