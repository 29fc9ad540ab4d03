"""End-to-end ``genebert-finetune`` on real GUE core-promoter backgrounds with a planted motif.

Background sequences are real (tests/data/finetune, a subset of GUE prom_core_all); the
label is whether a 14-bp motif was planted at a random position. A tiny GeneBERT must learn it.
"""

import json
import logging
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from huggingface_hub import ModelCard

from modeling_genebert import (
    GeneBertConfig,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertTokenizer,
)
from dataset_scripts.sequences import reverse_complement
from modeling_genebert.finetuning import finetune
from modeling_genebert.finetuning.classifier import load_classifier
from modeling_genebert.finetuning.finetune import (
    ClassificationCollator,
    FinetuneModelArguments,
    RegionMatrixBuilder,
    load_model_and_tokenizer,
)
from small_models import save_pretraining_folder, small_config

DATA = Path(__file__).parent / "data" / "finetune"
MOTIF = "GATTACAGGTACCA"
FAST = ["--per_device_eval_batch_size", "128", "--logging_steps", "1000", "--disable_tqdm", "true", "--use_cpu", "true"]


def finetune_with(argv: list[str]) -> finetune.FinetuneResult:
    """The typed call with genebert-finetune's options as a command line gives them."""
    model_args, data_args, training_args, _ = finetune.parse_args(argv)
    return finetune.finetune(model_args, data_args, training_args)


def tiny_config(**overrides) -> GeneBertConfig:
    return small_config(kmer=4, num_hidden_layers=1, **overrides)


@pytest.fixture(scope="module")
def genebert_folder(tmp_path_factory) -> Path:
    """A saved (randomly initialised) GeneBERT pre-training folder, as genebert-pretrain writes it."""
    return save_pretraining_folder(tmp_path_factory.mktemp("genebert"), tiny_config())


def planted(path: Path, rows: pd.DataFrame, seed: int) -> Path:
    rng = random.Random(seed)
    sequences, labels = [], []
    for i, seq in enumerate(rows["sequence"]):
        label = i % 2
        if label:
            at = rng.randrange(0, len(seq) - len(MOTIF))
            seq = seq[:at] + MOTIF + seq[at + len(MOTIF):]
        sequences.append(seq)
        labels.append(label)
    pd.DataFrame({"sequence": sequences, "label": labels}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def planted_run(genebert_folder, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("planted")
    train = planted(tmp / "train.csv", pd.read_csv(DATA / "prom_core_all_train.csv"), 0)
    dev = planted(tmp / "dev.csv", pd.read_csv(DATA / "prom_core_all_dev.csv").iloc[:120], 1)
    test = planted(tmp / "test.csv", pd.read_csv(DATA / "prom_core_all_dev.csv").iloc[120:], 2)
    out = tmp / "model"
    root_handlers = list(logging.getLogger().handlers)
    result = finetune_with(
        [
            "--model_name_or_path", str(genebert_folder), "--task", "promoter",
            "--train_file", str(train), "--validation_file", str(dev), "--test_file", str(test),
            "--dataset_name", "planted-motif", "--output_dir", str(out),
            "--num_train_epochs", "3", "--learning_rate", "3e-3", "--per_device_train_batch_size", "16",
            "--eval_strategy", "no", "--seed", "7", *FAST,
        ]
    )
    assert logging.getLogger().handlers == root_handlers  # logging is the caller's (the command line's) to set up
    return result, out


def test_tiny_finetune_learns_a_planted_motif(planted_run):
    result, out = planted_run
    for split in ("validation", "test"):
        metrics = result.results[split]
        assert metrics["roc_auc"] > 0.9, metrics
        assert metrics["precision"] > 0.8 and metrics["recall"] > 0.8, metrics
    assert result.init == "pre-trained GeneBERT"
    assert result.data_sizes == {"train": 400, "validation": 120, "test": 80}
    assert result.labels == {0: "non_promoter", 1: "promoter"}


def test_results_json_carries_metrics_definitions_seed_and_sizes(planted_run):
    result, out = planted_run
    saved = json.loads((out / "results.json").read_text())
    assert isinstance(result, finetune.FinetuneResult) and result.results_file == out / "results.json"
    assert saved == json.loads(json.dumps(result.to_dict(), default=str))  # the file is the result, as JSON
    assert "results_rc_average" not in saved and saved["output_dir"] == str(out)
    assert saved["results"]["test"]["roc_auc"] == pytest.approx(result.results["test"]["roc_auc"])
    assert saved["seed"] == 7 and saved["hyperparameters"]["learning_rate"] == 3e-3
    assert saved["region_input"] is False
    assert "macro" in saved["metric_definitions"]["precision"]
    assert saved["compute"]["train CPU minutes"] > 0


def test_model_card_yaml_parses_and_carries_the_results(planted_run):
    result, out = planted_run
    card = ModelCard.load(out / "README.md")
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "text-classification"
    found = {(r.dataset_split, r.metric_type): r for r in card.data.eval_results}
    for split in ("validation", "test"):
        for metric in ("precision", "recall", "roc_auc", "f1", "mcc"):
            entry = found[(split, metric)]
            assert entry.metric_value == pytest.approx(result.results[split][metric], abs=1e-4)
            assert entry.dataset_name == "planted-motif"
    assert "macro precision" in found[("test", "precision")].metric_name
    text = card.text
    assert "| roc_auc |" in text and "region input | no" in text and "| seed | 7 |" in text
    assert "| train samples | 400 |" in text


def test_finetuned_folder_reloads_and_predicts_the_motif(planted_run):
    _, out = planted_run
    model = GeneBertForSequenceClassification.from_pretrained(out).eval()
    tokenizer = GeneBertTokenizer.from_pretrained(out)
    background = pd.read_csv(DATA / "prom_core_all_dev.csv")["sequence"].iloc[-4:].tolist()
    with_motif = [s[:20] + MOTIF + s[20 + len(MOTIF):] for s in background]
    batch = tokenizer(background + with_motif, padding=True, return_tensors="pt")
    with torch.no_grad():
        probabilities = model(**batch).logits.softmax(-1)[:, 1]
    assert probabilities[4:].min() > probabilities[:4].max()
    assert model.config.id2label[1] == "promoter"


def test_pretrained_and_from_scratch_initialisation(genebert_folder):
    pretrained = GeneBertForPreTraining.from_pretrained(genebert_folder)
    reference = pretrained.genebert.bert.encoder.layer[0].attention.self.query.weight
    id2label = {0: "a", 1: "b"}
    loaded, _, init = load_model_and_tokenizer(FinetuneModelArguments(model_name_or_path=str(genebert_folder)), 2, id2label, None)
    assert init == "pre-trained GeneBERT"
    torch.testing.assert_close(loaded.genebert.bert.encoder.layer[0].attention.self.query.weight, reference)
    scratch, tokenizer, init = load_model_and_tokenizer(
        FinetuneModelArguments(model_name_or_path=str(genebert_folder), from_scratch=True), 2, id2label, None
    )
    assert init.startswith("random")
    assert not torch.allclose(scratch.genebert.bert.encoder.layer[0].attention.self.query.weight, reference)
    assert scratch.config.sequence_config.hidden_size == 32 and tokenizer.kmer == 4
    mean, _, _ = load_model_and_tokenizer(
        FinetuneModelArguments(model_name_or_path=str(genebert_folder), classifier_pooling="mean"), 2, id2label, None
    )
    assert mean.config.classifier_pooling == "mean" and mean.genebert.bert.pooler is None
    torch.testing.assert_close(mean.genebert.bert.encoder.layer[0].attention.self.query.weight, reference)


def test_dnabert_folder_baseline_loads_bert_weights(tmp_path):
    from transformers import BertConfig, BertForMaskedLM

    from tokenization.tokenization_genebert import kmer_vocab

    torch.manual_seed(0)
    bert = BertForMaskedLM(
        BertConfig(vocab_size=5 + 4**4, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=64, max_position_embeddings=128)
    )
    bert.save_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_text("\n".join(kmer_vocab(4)) + "\n")
    model, tokenizer, init = load_model_and_tokenizer(
        FinetuneModelArguments(model_name_or_path=str(tmp_path)), 2, {0: "a", 1: "b"}, None
    )
    assert init == "DNABERT/BERT checkpoint" and tokenizer.kmer == 4
    torch.testing.assert_close(
        model.genebert.bert.embeddings.word_embeddings.weight, bert.bert.embeddings.word_embeddings.weight
    )
    torch.testing.assert_close(
        model.genebert.bert.encoder.layer[0].output.dense.weight, bert.bert.encoder.layer[0].output.dense.weight
    )


JASPAR = """>MA9001.1 PLANTED
A  [ 1 10  0  0 10  0 10  1  1  0  0 10  1 10 ]
C  [ 0  0  0  0  0 10  0  0  0  0 10  0 10  0 ]
G  [10  0  0  0  0  0  0 10 10  0  0  0  0  0 ]
T  [ 0  0 10 10  0  0  0  0  0 10  0  0  0  0 ]
>MA9002.1 GC
A  [ 0  0  0  0 ]
C  [10  0 10  0 ]
G  [ 0 10  0 10 ]
T  [ 0  0  0  0 ]
>MA9003.1 AT
A  [10  0 10 ]
C  [ 0  0  0 ]
G  [ 0  0  0 ]
T  [ 0 10  0 ]
"""


def region_finetune(genebert_folder, tmp_path, *options, rows=32, steps=2):
    """``(result, motif file)``: the promoter task on ``rows`` planted training rows, fine-tuned ``steps`` steps with
    ``--region_input`` over the three motifs above in two tiles, plus ``options``; the output is ``tmp_path/out``."""
    motifs = tmp_path / "motifs.jaspar"
    motifs.write_text(JASPAR)
    train = planted(tmp_path / "train.csv", pd.read_csv(DATA / "prom_core_all_train.csv").iloc[:rows], 0)
    result = finetune_with(
        [
            "--model_name_or_path", str(genebert_folder), "--task", "promoter", "--train_file", str(train),
            "--region_input", "--motifs", str(motifs), "--region_rows", "2", *options,
            "--output_dir", str(tmp_path / "out"), "--max_steps", str(steps), "--per_device_train_batch_size", "16",
            "--eval_strategy", "no", *FAST,
        ]
    )
    return result, motifs


def test_region_matrix_builder_scans_tiles(tmp_path):
    motifs = tmp_path / "motifs.jaspar"
    motifs.write_text(JASPAR)
    builder = RegionMatrixBuilder(str(motifs), rows=2)
    background = pd.read_csv(DATA / "prom_core_all_dev.csv")["sequence"].iloc[0]
    first_half = MOTIF + background[len(MOTIF):]
    second_half = background[: 70 - len(MOTIF)] + MOTIF
    matrix = builder([first_half, second_half, background])
    assert matrix.shape == (3, 2, 3) and matrix.dtype == np.float32
    best = matrix[:, :, 0]  # PLANTED motif column: highest where the motif sits
    assert best[0, 0] > best[0, 1] and best[1, 1] > best[1, 0]
    assert best[0, 0] > best[2].max()
    assert builder.info()["num_tfs"] == 3


def test_separate_strands_give_each_tile_a_forward_and_a_reverse_row(tmp_path):
    """``strands="separate"``: rows tile by tile, forward then reverse; their max is the pooled row, and a motif
    planted on the reverse strand shows in the reverse row only."""
    motifs = tmp_path / "motifs.jaspar"
    motifs.write_text(JASPAR)
    pooled, separate = RegionMatrixBuilder(str(motifs), rows=2), RegionMatrixBuilder(str(motifs), rows=2, strands="separate")
    background = pd.read_csv(DATA / "prom_core_all_dev.csv")["sequence"].iloc[0]
    forward = MOTIF + background[len(MOTIF):]
    reverse = reverse_complement(MOTIF) + background[len(MOTIF):]
    matrix = separate([forward, reverse])
    assert matrix.shape == (2, 4, 3) and separate.matrix_rows == 4
    assert separate.info()["strands"] == "separate" and pooled.info()["strands"] == "both"
    np.testing.assert_array_equal(matrix.reshape(2, 2, 2, 3).max(axis=2), pooled([forward, reverse]))
    planted = matrix[:, 0, 0], matrix[:, 1, 0]  # tile 0's forward and reverse rows, PLANTED column
    assert planted[0][0] > planted[1][0] and planted[1][1] > planted[0][1]
    with pytest.raises(ValueError, match="region strands must be one of"):
        RegionMatrixBuilder(str(motifs), strands="plus")


def test_region_strands_separate_is_recorded_and_rebuilt_for_predict(genebert_folder, tmp_path):
    result, motifs = region_finetune(genebert_folder, tmp_path, "--region_strands", "separate")
    assert result.region_input["strands"] == "separate" and result.region_input["rows"] == 2
    assert "2 tile(s) x 2 strands x 3 TFs" in (tmp_path / "out" / "README.md").read_text()
    classifier = load_classifier(tmp_path / "out")
    assert classifier.region_builder.matrix_rows == 4
    assert classifier.model.genebert.region_encoder.position_embeddings.num_embeddings >= 4
    # a user's motif file is found again by its path; gone, it is named
    assert result.region_input["motif_file"] == str(motifs.resolve())
    # in a genebert-benchmark run folder the fine-tuning's record is finetune_results.json (results.json is the
    # benchmark's): the region input is rebuilt from it; with no record at all the mismatch is named
    out = tmp_path / "out"
    (out / "results.json").rename(out / "finetune_results.json")
    (out / "results.json").write_text(json.dumps({"arm": "finetune", "metrics": {"mcc": 0.1}}))
    assert load_classifier(out).region_builder.matrix_rows == 4
    (out / "finetune_results.json").rename(out / "kept.json")
    with pytest.raises(ValueError, match=r"the model reads 3 TFs but the region input rebuilt from results.json scans 579"):
        load_classifier(out)
    (out / "kept.json").rename(out / "finetune_results.json")
    motifs.rename(tmp_path / "moved.jaspar")
    with pytest.raises(ValueError, match=r"region_input.motif_file .*motifs.jaspar does not exist"):
        load_classifier(out)


def test_a_different_motif_set_starts_only_the_tf_facing_layers_afresh(genebert_folder, tmp_path, caplog):
    """A pre-trained 3-TF region encoder fine-tuned on a 2-motif scan (as a newer JASPAR release would be): the
    layers that read TF columns are new, every other region-encoder weight comes from the folder."""
    motifs = tmp_path / "two.jaspar"
    motifs.write_text(JASPAR.split(">MA9003.1")[0])
    model_args = FinetuneModelArguments(model_name_or_path=str(genebert_folder), region_input=True, motifs=str(motifs))
    with caplog.at_level(logging.WARNING, logger="genebert.finetune"):
        model, _, init = load_model_and_tokenizer(model_args, 2, {0: "a", 1: "b"}, (1, 2))
    assert "pre-trained on 3 TFs but --region_input scans 2 motifs" in caplog.text
    assert "TF input layers new for 2 motifs" in init
    encoder = model.genebert.region_encoder
    assert encoder.input_proj.weight.shape[1] == 2 and encoder.input_norm.batch_norm.running_mean.shape == (2,)
    pretrained = GeneBertForPreTraining.from_pretrained(genebert_folder).genebert.region_encoder.state_dict()
    carried = {k: v for k, v in encoder.state_dict().items() if not k.startswith(("input_proj", "input_norm"))}
    assert carried and all(torch.equal(v, pretrained[k]) for k, v in carried.items())


def test_region_wide_adds_a_linear_read_out_of_the_region_matrix_to_the_logits(genebert_folder, tmp_path):
    result, _ = region_finetune(genebert_folder, tmp_path, "--region_wide")
    assert result.region_input["wide"] is True
    assert "plus a linear read-out to the logits (--region_wide)" in (tmp_path / "out" / "README.md").read_text()
    classifier = load_classifier(tmp_path / "out")
    model = classifier.model
    assert model.config.classifier_region_wide and model.region_wide[1].weight.shape == (2, 3)
    # logits = the fused head's + Linear(BatchNorm(each TF's best score over the rows)); nothing without a matrix
    tokenizer = classifier.tokenizer
    batch = ClassificationCollator(tokenizer)([{"input_ids": tokenizer(s)["input_ids"], "labels": 0}
                                               for s in ("ACGTACGTACGT", "GATTACAGGTACCA")])
    matrix = torch.as_tensor(classifier.region_builder(["ACGTACGTACGT", "GATTACAGGTACCA"]))
    with torch.no_grad():
        full = model(**batch, region_matrix=matrix).logits
        model.region_wide = None
        fused_only = model(**batch, region_matrix=matrix).logits
        wide = load_classifier(tmp_path / "out").model.region_wide(matrix.amax(dim=1))
    torch.testing.assert_close(full, fused_only + wide)
    with pytest.raises(ValueError, match="--region_wide reads the region matrix: add --region_input"):
        finetune_with(["--model_name_or_path", str(genebert_folder), "--task", "promoter",
                       "--train_file", str(tmp_path / "train.csv"), "--region_wide",
                       "--output_dir", str(tmp_path / "no_region"), *FAST])


def test_region_input_fine_tune_fuses_the_region_matrix(genebert_folder, tmp_path):
    result, _ = region_finetune(genebert_folder, tmp_path, rows=64, steps=3)
    assert result.region_input["num_tfs"] == 3 and result.region_input["rows"] == 2
    model = GeneBertForSequenceClassification.from_pretrained(tmp_path / "out")
    assert model.config.classifier_region_fusion and model.genebert.region_encoder is not None
    # the region encoder started from the pre-trained folder's weights
    pretrained = GeneBertForPreTraining.from_pretrained(genebert_folder)
    assert model.genebert.region_projection.weight.shape == pretrained.genebert.region_projection.weight.shape
    card = (tmp_path / "out" / "README.md").read_text()
    assert "region input | yes" in card
    # the collator feeds the region matrix and the model's output depends on it
    tokenizer = GeneBertTokenizer.from_pretrained(tmp_path / "out")
    feature = {"input_ids": tokenizer("ACGTACGTAC")["input_ids"], "labels": 1}
    rng = np.random.default_rng(0)  # (rows are LayerNormed by the encoder: constant rows would all look alike)
    batch = ClassificationCollator(tokenizer)([{**feature, "region_matrix": rng.normal(size=(2, 3)) * 5},
                                               {**feature, "region_matrix": rng.normal(size=(2, 3)) * 5}])
    assert batch["region_matrix"].shape == (2, 2, 3)
    model.eval()
    with torch.no_grad():
        logits = model(**batch).logits
    assert not torch.allclose(logits[0], logits[1])


def test_splice_task_reports_spliceai_metrics(genebert_folder, tmp_path):
    result = finetune_with(
        [
            "--model_name_or_path", str(genebert_folder), "--max_length", "128",  # the small model: 400-bp windows truncated
            "--task", "splice", "--train_file", str(DATA / "splice_dev.csv"), "--validation_split_percentage", "40",
            "--splice_neither_label", "2", "--class_names", "acceptor,donor,neither",
            "--output_dir", str(tmp_path / "out"), "--max_steps", "2", "--eval_strategy", "no",
            "--per_device_train_batch_size", "8", *FAST,
        ]
    )
    metrics = result.results["validation"]
    assert {"topk_accuracy", "pr_auc", "topk_accuracy_acceptor", "pr_auc_donor", "roc_auc", "mcc"} <= set(metrics)
    assert "topk_accuracy_neither" not in metrics
    assert result.data_sizes == {"train": 54, "validation": 36}
    assert "SpliceAI" in result.metric_definitions["topk_accuracy"]


def test_wrong_number_of_classes_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="task 'promoter' has 2 classes"):
        finetune_with(["--task", "promoter", "--train_file", str(DATA / "splice_dev.csv"), "--output_dir", str(tmp_path)])


def test_the_command_line_fills_the_model_data_and_training_arguments(capsys):
    model_args, data_args, training_args, _ = finetune.parse_args(
        ["--model_name_or_path", "m", "--task", "splice", "--region_input", "--motifs", "m.jaspar", "--from_scratch",
         "--splice_neither_label", "2", "--learning_rate", "1e-3", "--output_dir", "o"])
    assert (model_args.model_name_or_path, model_args.region_input, model_args.motifs, model_args.from_scratch) == (
        "m", True, "m.jaspar", True)
    assert (data_args.task, data_args.splice_neither_label) == ("splice", 2)
    assert (training_args.learning_rate, training_args.output_dir) == (1e-3, "o")
    model_args, data_args, training_args, _ = finetune.parse_args(["--output_dir", "o"])
    assert (model_args.model_name_or_path, model_args.region_input, data_args.task) == (None, False, "generic")
    # GeneBERT's fine-tuning defaults, not transformers' (learning rate 5e-5, batch size 8)
    assert (training_args.learning_rate, training_args.per_device_train_batch_size, training_args.num_train_epochs) == (1e-4, 32, 3.0)
    with pytest.raises(SystemExit) as exit:
        finetune.main(["--output_dir", "o", "--learning_rate", "fast"])
    assert exit.value.code == 2 and "invalid float value: 'fast'" in capsys.readouterr().err.split("error: argument --learning_rate")[1]


def test_console_entry_point_exits_zero(genebert_folder, tmp_path):
    """genebert-finetune = finetune:main; the wrapper calls sys.exit(main()), so main must return 0."""
    assert finetune.main(
        ["--model_name_or_path", str(genebert_folder), "--task", "promoter", "--train_file", str(DATA / "prom_core_all_train.csv"), "--max_train_samples", "32",
         "--max_eval_samples", "32", "--output_dir", str(tmp_path), "--max_steps", "1", "--eval_strategy", "no", *FAST]
    ) == 0
    assert (tmp_path / "results.json").exists()


@pytest.mark.parametrize("units, expected", [("1", "bf16"), ("0", "fp32")])
def test_auto_precision_fine_tunes_in_bf16_where_the_units_are_and_records_it(genebert_folder, tmp_path, monkeypatch,
                                                                              units, expected):
    monkeypatch.setenv("GENEBERT_CPU_BF16", units)
    assert finetune.main(
        ["--model_name_or_path", str(genebert_folder), "--task", "promoter", "--train_file", str(DATA / "prom_core_all_train.csv"),
         "--max_train_samples", "32", "--max_eval_samples", "32", "--output_dir", str(tmp_path), "--max_steps", "2", *FAST]
    ) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["hyperparameters"]["precision"] == expected
    assert all(np.isfinite(v) for v in results["results"]["validation"].values() if isinstance(v, float))
