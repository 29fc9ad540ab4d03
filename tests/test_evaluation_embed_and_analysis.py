"""Embedding command and the analysis helpers (t-SNE figure + silhouette, seed aggregation, tables)."""

import dataclasses
import json
import logging
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
    import pyarrow.parquet as pq
    from safetensors import safe_open
    from safetensors.numpy import load_file

    source = DATA / "prom_core_all_dev.csv"
    options = embed.EmbedOptions(model_name_or_path=str(folder), dataset=str(source), output=str(tmp_path / "e.npy"),
                                 max_samples=50)
    npy = embed.embed(options)
    array = np.load(tmp_path / "e.npy")
    assert array.shape == (50, 32) and array.dtype == np.float32 and np.isfinite(array).all()
    assert isinstance(npy, embed.EmbedResult) and npy.pooling == "cls" and npy.shape == [50, 32]
    np.testing.assert_array_equal(npy.embeddings, array)
    # the command writes the same vectors, and the metadata the result holds
    assert embed.main(["--model_name_or_path", str(folder), "--dataset", str(source), "--output",
                       str(tmp_path / "e.safetensors"), "--max_samples", "50"]) == 0
    tensors = load_file(tmp_path / "e.safetensors")
    np.testing.assert_allclose(tensors["embeddings"], array, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(tensors["labels"], npy.columns["label"])
    with safe_open(tmp_path / "e.safetensors", "np") as written:
        assert {k: json.loads(v) for k, v in written.metadata().items()} == npy.metadata()
    parquet = embed.embed(dataclasses.replace(options, output=str(tmp_path / "e.parquet")))
    frame = pd.read_parquet(tmp_path / "e.parquet")
    assert len(frame) == 50 and {"embedding", "label"} <= set(frame.columns)
    np.testing.assert_allclose(np.stack(frame["embedding"]), array, rtol=1e-5, atol=1e-6)
    assert parquet.to_dict() == {**json.loads(pq.read_schema(tmp_path / "e.parquet").metadata[b"genebert"]),
                                 "output": str(tmp_path / "e.parquet")}


def test_embed_bad_options_raise_naming_the_option(tmp_path, capsys):
    options = dict(model_name_or_path="no-model", dataset="no-data.csv")
    with pytest.raises(ValueError, match="--batch_size must be at least 1, got 0"):
        embed.embed(embed.EmbedOptions(**options, output="e.npy", batch_size=0))
    with pytest.raises(ValueError, match="--output e.txt: must end with one of .npy, .safetensors, .parquet"):
        embed.embed(embed.EmbedOptions(**options, output="e.txt"))
    assert embed.main(["--model_name_or_path", "no-model", "--dataset", "no-data.csv", "--output", "e.txt"]) == 2
    assert capsys.readouterr().err.startswith("error: --output e.txt: must end with one of")


def test_embed_takes_pathlib_paths(folder, tmp_path):
    result = embed.embed(embed.EmbedOptions(model_name_or_path=folder, dataset=DATA / "prom_core_all_dev.csv",
                                            output=tmp_path / "e.parquet", max_samples=4))
    assert result.output == tmp_path / "e.parquet" and result.shape == [4, 32]
    assert result.to_dict()["output"] == str(tmp_path / "e.parquet") and result.model == str(folder)
    assert len(pd.read_parquet(tmp_path / "e.parquet")) == 4


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


def test_silhouette_is_high_for_separated_clusters_and_near_zero_for_shuffled_labels(tmp_path):
    from matplotlib.image import imread
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(0)
    cell_types = ["K562"] * 40 + ["HepG2"] * 40
    shuffled = list(rng.permutation(cell_types))
    separated = np.concatenate([rng.normal(0, 1, (40, 8)) + 6, rng.normal(0, 1, (40, 8)) - 6])
    mixed = rng.normal(0, 1, (80, 8))
    scores = analysis.tsne_panels({"separated": separated, "mixed": mixed}, cell_types, tmp_path / "f.png")
    assert list(scores) == ["separated", "mixed"]
    # in the embedding space the score is sklearn's cosine silhouette of exactly these points and labels
    assert scores["separated"]["silhouette_embedding_cosine"] == pytest.approx(
        silhouette_score(separated, cell_types, metric="cosine"), abs=1e-9)
    assert scores["separated"]["silhouette_embedding_cosine"] > 0.9
    assert scores["separated"]["silhouette_tsne"] > 0.8
    assert abs(scores["mixed"]["silhouette_embedding_cosine"]) < 0.1 and abs(scores["mixed"]["silhouette_tsne"]) < 0.1
    # the same well-separated points with labels that carry no information score near 0
    shuffled_scores = analysis.tsne_panels({"separated": separated}, shuffled, tmp_path / "g.png")
    assert abs(shuffled_scores["separated"]["silhouette_embedding_cosine"]) < 0.1
    assert abs(shuffled_scores["separated"]["silhouette_tsne"]) < 0.1
    # one panel per embedding set (5.5 inches each at 120 dpi)
    two, one = imread(tmp_path / "f.png"), imread(tmp_path / "g.png")
    assert two.shape[1] == pytest.approx(2 * one.shape[1], rel=0.01) and two.shape[0] == one.shape[0]
    # a single cell type has no silhouette
    alone = analysis.tsne_panels({"x": mixed[:20]}, ["K562"] * 20, tmp_path / "h.png")
    assert np.isnan(alone["x"]["silhouette_tsne"]) and np.isnan(alone["x"]["silhouette_embedding_cosine"])


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
    assert analysis.region_encoder_overrides("native") == {"encoder": "native", "encoder_kwargs": {}}
    assert analysis.region_encoder_overrides("swin_tiny_patch4_window7_224") == {
        "encoder": "timm", "encoder_kwargs": {"model_name": "swin_tiny_patch4_window7_224", "input_mode": "resize"}}
    assert analysis.region_encoder_overrides("vit_tiny_patch16_224@native")["encoder_kwargs"]["input_mode"] == "native"


def test_each_analysis_command_parses_its_budgets_into_its_options(capsys):
    options = analysis.parse_args(["table5", "--output_dir", "o", "--train_file", "t.csv", "--pretrain_steps", "3",
                                   "--finetune_steps", "2", "--seeds", "1", "2", "--variants", "MGM", "MGM+NGSP"])
    assert options == analysis.Table5Options(output_dir="o", train_file="t.csv", pretrain_steps=3, finetune_steps=2,
                                             seeds=[1, 2], variants=["MGM", "MGM+NGSP"])
    defaults = analysis.parse_args(["table7", "--output_dir", "o", "--train_file", "t.csv"])
    assert defaults == analysis.Table7Options(output_dir="o", train_file="t.csv")
    assert (defaults.pretrain_steps, defaults.finetune_steps, defaults.seeds) == (100, 200, [0])
    for argv, message in ((["table6", "--output_dir", "o"], "invalid choice: 'table6'"),
                          (["table5", "--output_dir", "o", "--train_file", "t.csv", "--variants", "SRM"], "invalid choice: 'SRM'")):
        with pytest.raises(SystemExit) as exit:
            analysis.main(argv)
        err = capsys.readouterr().err
        assert exit.value.code == 2 and "error: " in err and message in err


def test_analysis_command_line_is_the_options_of_its_analysis(tmp_path, capsys):
    options = analysis.parse_args(["table8", "--output_dir", "o", "--train_file", "t.csv", "--batch_sizes",
                                   "--lambdas", "0.5", "--seeds", "1", "2", "--overwrite"])
    assert options == analysis.Table8Options(output_dir="o", train_file="t.csv", batch_sizes=[], lambdas=[0.5],
                                             seeds=[1, 2], overwrite=True)
    assert analysis.parse_args(["fig2", "--output_dir", "o"]) == analysis.Fig2Options(output_dir="o")
    # extra options of the commands it calls are checked before any work, by those commands' own parsers
    out = tmp_path / "t5"
    argv = ["table5", "--output_dir", str(out), "--train_file", str(DATA / "prom_core_all_train.csv")]
    assert analysis.main(argv + ["--pretrain_args", "--max_stepz 3"]) == 2
    assert "--pretrain_args: --max_stepz 3 is not an option of genebert-pretrain" in capsys.readouterr().err
    assert analysis.main(argv + ["--finetune_args", "--learning_rate fast"]) == 2
    assert "--finetune_args: argument --learning_rate/--learning-rate: invalid float value: 'fast'" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(TypeError, match="run_analysis takes one of"):
        analysis.run_analysis(analysis.AnalysisOptions(output_dir=str(out)))


def _safetensors(folder) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "model.safetensors"))


def _table_line(name: str, stats: dict) -> str:
    cells = [f"{stats[m]['mean']:.3f} ± {stats[m]['std']:.3f}" if m in stats else "n/a"
             for m in analysis.TABLE_METRICS]
    return f"| {name} | " + " | ".join(cells) + " |"


def _files_match_the_summary(out: Path, summary: analysis.TableResult) -> None:
    assert summary.results_file == out / "results.json"
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(summary.to_dict(), default=str))
    table = (out / "table.md").read_text()
    assert summary.table in table
    for name, stats in summary.rows.items():
        assert _table_line(name, stats) in table


def analyse(argv: list[str]) -> analysis.AnalysisResult:
    """The typed call with genebert-analysis's options as a command line gives them."""
    return analysis.run_analysis(analysis.parse_args(argv))


FINETUNE = ["--train_file", str(DATA / "prom_core_all_train.csv"),
            "--validation_file", str(DATA / "prom_core_all_dev.csv"),
            "--finetune_steps", "2", "--finetune_train_samples", "64", "--finetune_eval_samples", "64"]


@pytest.mark.slow
def test_table5_two_seeds_rows_files_and_initialisations(pretraining_dataset, tmp_path):
    """Two variants x two seeds (tiny preset, 2 steps each): every (variant, seed) is run, each row is
    mean and sample std of its seeds' validation metrics, the files hold the summary, and "no loss"
    fine-tunes a random initialisation while the pre-trained variant fine-tunes the pre-trained weights."""
    out = tmp_path / "t5"
    # a large pre-training learning rate moves the weights far from their initialisation in 2 steps
    budget = ["--dataset", str(pretraining_dataset), "--pretrain_steps", "2", "--pretrain_batch_size", "4",
              "--pretrain_args", "--learning_rate 0.05 --max_eval_samples 16"]
    summary = analyse(["table5", "--output_dir", str(out), *budget, "--variants", "no loss", "MGM+NGSP+SRM",
                       "--seeds", "0", "1", *FINETUNE])
    assert set(summary.rows) == {"no loss", "MGM+NGSP+SRM"}
    assert sorted((r["variant"], r["seed"]) for r in summary.runs) == [
        ("MGM+NGSP+SRM", 0), ("MGM+NGSP+SRM", 1), ("no loss", 0), ("no loss", 1)]
    assert summary.budgets["finetune_steps"] == 2 and summary.seeds == [0, 1]
    runs = {(r["variant"], r["seed"]): r for r in summary.runs}

    # each run's metrics are those its genebert-finetune run wrote; each row aggregates its two seeds
    for run in summary.runs:
        written = json.loads((Path(run["finetune_dir"]) / "results.json").read_text())
        assert written["results"]["validation"] == run["finetune"] and written["seed"] == run["seed"]
        assert written["hyperparameters"]["global_steps"] == 2
    some_spread = False
    for name, row in summary.rows.items():
        assert {"precision", "recall", "roc_auc"} <= set(row) <= set(analysis.TABLE_METRICS)
        for metric, stats in row.items():
            values = [runs[(name, seed)]["finetune"][metric] for seed in (0, 1)]
            assert stats["n"] == 2
            assert stats["mean"] == pytest.approx(np.mean(values), abs=1e-12)
            assert stats["std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
            some_spread |= stats["std"] > 0
    assert some_spread, "two seeds gave identical metrics everywhere: the seed does not reach the runs"
    _files_match_the_summary(out, summary)
    assert "over 2 seed(s)" in (out / "table.md").read_text()

    # pre-training: only for the pre-trained variant, with its loss weights and the requested steps
    for seed in (0, 1):
        assert runs[("no loss", seed)]["pretraining"] is None
        assert runs[("MGM+NGSP+SRM", seed)]["pretraining"]["steps"] == 2
    no_loss, with_loss = (json.loads((Path(runs[(v, 0)]["finetune_dir"]) / "results.json").read_text())
                          for v in ("no loss", "MGM+NGSP+SRM"))
    pretrained = Path(with_loss["model_name_or_path"])  # what the pre-trained variant's fine-tuning started from
    assert pretrained.is_relative_to(out / "mgm_ngsp_srm" / "seed0" / "pretrain")
    config = json.loads((pretrained / "config.json").read_text())
    assert (config["mgm_weight"], config["ngsp_weight"], config["srm_weight"]) == (1.0, 1.0, 0.5)
    assert not (out / "no_loss" / "seed0" / "pretrain").exists()

    # "no loss" starts from random weights, the pre-trained variant from the pre-trained ones
    assert no_loss["from_scratch"] is True and no_loss["init"].startswith("random")
    assert with_loss["from_scratch"] is False and with_loss["init"] == "pre-trained GeneBERT"
    start = _safetensors(pretrained)
    ends = {v: _safetensors(runs[(v, 0)]["finetune_dir"]) for v in ("no loss", "MGM+NGSP+SRM")}
    shared = [k for k in start if k.startswith("genebert.bert.encoder.") and all(k in e for e in ends.values())]
    assert shared

    def distance(weights):  # mean absolute difference to the pre-trained encoder
        return float(torch.cat([(weights[k] - start[k]).abs().flatten() for k in shared]).mean())

    # 2 fine-tuning steps at lr 5e-4 move a weight by about 1e-3 at most; the pre-training moved them far more
    fine_tuned, from_scratch = distance(ends["MGM+NGSP+SRM"]), distance(ends["no loss"])
    assert fine_tuned < 2e-3 and from_scratch > 10 * max(fine_tuned, 1e-4), (fine_tuned, from_scratch)


@pytest.mark.slow
def test_table5_one_seed_has_zero_std(tmp_path, pretraining_dataset):
    out = tmp_path / "t5"
    root_handlers = list(logging.getLogger().handlers)
    summary = analyse(["table5", "--output_dir", str(out), "--dataset", str(pretraining_dataset),
                       "--variants", "no loss", "--seeds", "3", *FINETUNE])
    assert logging.getLogger().handlers == root_handlers  # logging is the caller's (the command line's) to set up
    assert list(summary.rows) == ["no loss"] and [r["seed"] for r in summary.runs] == [3]
    (run,) = summary.runs
    for metric, stats in summary.rows["no loss"].items():
        assert stats == {"mean": pytest.approx(run["finetune"][metric]), "std": 0.0, "n": 1}
    _files_match_the_summary(out, summary)
    assert "over 1 seed(s)" in (out / "table.md").read_text()


@pytest.mark.slow
def test_fig2_compares_two_different_models(pretraining_dataset, tmp_path):
    """fig2 pre-trains a uni-modal (no SRM) and a multi-modal model and scores each one's own embeddings."""
    from sklearn.metrics import silhouette_score

    out = tmp_path / "f2"
    fig = analyse(["fig2", "--output_dir", str(out), "--dataset", str(pretraining_dataset),
                   "--pretrain_steps", "2", "--pretrain_batch_size", "4", "--max_samples", "40"])
    uni, multi = fig.models["uni-modal (MGM+NGSP)"], fig.models["multi-modal (MGM+NGSP+SRM)"]
    assert Path(uni).resolve() != Path(multi).resolve()
    weights = {folder: json.loads((Path(folder) / "config.json").read_text()) for folder in (uni, multi)}
    assert (weights[uni]["ngsp_weight"], weights[uni]["srm_weight"]) == (1.0, 0.0)
    assert (weights[multi]["ngsp_weight"], weights[multi]["srm_weight"]) == (1.0, 0.5)
    assert all(p["steps"] == 2 for p in fig.pretraining.values()) and len(fig.pretraining) == 2

    records = embed.read_records(str(pretraining_dataset), split="validation", max_samples=40, seed=0)
    assert fig.samples == 40 == len(records["sequence"])
    assert fig.cell_types == sorted(set(records["cell_type"])) == ["HepG2", "K562"]
    embeddings = {}
    for title, folder in fig.models.items():
        model, tokenizer = embed.load_encoder(folder)
        embeddings[title] = embed.embed_sequences(model, tokenizer, records["sequence"], pooling="cls")
        expected = silhouette_score(embeddings[title], records["cell_type"], metric="cosine")
        assert fig.silhouette[title]["silhouette_embedding_cosine"] == pytest.approx(expected, abs=1e-5)
    assert not np.allclose(*embeddings.values())  # two different models, not one folder twice
    assert Path(fig.figure).stat().st_size > 1000
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(fig.to_dict(), default=str))
