"""genebert-predict: a classifier folder + FASTA / CSV / TSV in, per-class probabilities, label and id out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import pipeline

from dataset_scripts.finetuning_data import reverse_complement
from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.downstream.long_inputs import bases_per_window, split_into_windows
from modeling_genebert.finetuning.predict import load_classifier, main, predict_sequences

K = 4
POSITIONS = 32  # 30 k-mers + [CLS] + [SEP]: a window of 33 bases
LABELS = {0: "non_promoter", 1: "promoter"}


def config(**overrides) -> GeneBertConfig:
    return GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(kmer=K, vocab_size=5 + 4**K, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=64, max_position_embeddings=POSITIONS),
        region_config=dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_tfs=4, regions_per_sample=2),
        projection_dim=16, **overrides,
    )


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    torch.manual_seed(0)
    model = GeneBertForSequenceClassification(config(id2label=LABELS, label2id={v: k for k, v in LABELS.items()}))
    with torch.no_grad():  # weights large enough that sequences get clearly different probabilities
        for p in model.parameters():
            p.normal_(0, 0.5) if p.dim() > 1 else None
    path = tmp_path_factory.mktemp("predict") / "clf"
    model.save_pretrained(path)
    GeneBertTokenizer(k=K).save_pretrained(path)
    return path


def random_dna(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def fasta(path, seqs, names=None):
    names = names or [f"s{i}" for i in range(len(seqs))]
    path.write_text("".join(f">{n} some description\n{s[:20]}\n{s[20:]}\n" for n, s in zip(names, seqs)))
    return path


def pipeline_probs(folder, seqs) -> np.ndarray:
    classify = pipeline("text-classification", model=str(folder))
    out = classify(seqs, top_k=None)
    return np.array([[next(d["score"] for d in row if d["label"] == LABELS[j]) for j in range(2)] for row in out])


def test_fasta_in_table_out_matches_the_text_classification_pipeline(classifier_folder, tmp_path, capsys):
    seqs = random_dna(5, 30, seed=1)
    source = fasta(tmp_path / "in.fa", seqs)
    assert main(["--model_name_or_path", str(classifier_folder), "--input", str(source),
                 "--output", str(tmp_path / "pred"), "--no_progress"]) == 0
    table = pd.read_parquet(tmp_path / "pred.parquet")
    assert list(table.columns) == ["id", "line", "length", "windows", "p_non_promoter", "p_promoter",
                                   "predicted_label", "predicted_probability"]
    assert table["id"].tolist() == [f"s{i}" for i in range(5)] and table["line"].tolist() == [1, 4, 7, 10, 13]
    probs = table[["p_non_promoter", "p_promoter"]].to_numpy()
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-6)
    np.testing.assert_allclose(probs, pipeline_probs(classifier_folder, seqs), atol=1e-5)  # the standard pipeline agrees
    assert probs[:, 1].std() > 0.01  # a real model, not a constant
    assert table["predicted_label"].tolist() == [LABELS[i] for i in probs.argmax(1)]
    np.testing.assert_allclose(table["predicted_probability"], probs.max(1))
    tsv = pd.read_csv(tmp_path / "pred.tsv", sep="\t")
    assert tsv["id"].tolist() == table["id"].tolist()
    np.testing.assert_allclose(tsv["p_promoter"], table["p_promoter"], atol=1e-5)
    printed = capsys.readouterr().out
    assert "predicted_label" in printed and "s4" in printed and "wrote 5 predictions" in printed
    assert not list(tmp_path.glob("*.partial"))


def test_long_inputs_are_windowed_as_in_finetuning_and_rc_average_averages_both_strands(classifier_folder):
    classifier = load_classifier(classifier_folder, "cpu")
    window = bases_per_window(classifier.tokenizer, POSITIONS)
    assert window == 33
    long, short = random_dna(1, 100, seed=2)[0], random_dna(1, 30, seed=3)[0]
    table = predict_sequences(classifier, [long, short], ids=["long", "short"])
    windows, owners = split_into_windows([long], window, window // 2, 1)
    assert table["windows"].tolist() == [len(windows), 1] and len(windows) > 1
    batch = classifier.tokenizer(windows, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = classifier.model(**batch).logits.mean(0)  # the windows' logits, averaged, then softmax
    np.testing.assert_allclose(table.loc[0, ["p_non_promoter", "p_promoter"]].to_numpy(float),
                               logits.softmax(-1).numpy(), atol=1e-5)
    both = predict_sequences(classifier, [short], rc_average=True)
    with torch.no_grad():  # the two strands' logits, averaged before the softmax (genebert-finetune --rc_average's rule)
        strands = classifier.model(**classifier.tokenizer([short, reverse_complement(short)], return_tensors="pt")).logits
    assert abs(strands[0, 1] - strands[1, 1]) > 1e-3
    np.testing.assert_allclose(both.loc[0, ["p_non_promoter", "p_promoter"]].to_numpy(float),
                               strands.mean(0).softmax(-1).numpy(), atol=1e-5)
    forward, reverse = pipeline_probs(classifier_folder, [short, reverse_complement(short)])
    assert not np.allclose(both.loc[0, ["p_non_promoter", "p_promoter"]].to_numpy(float), (forward + reverse) / 2,
                           atol=1e-7)  # not the probabilities' mean


@pytest.mark.slow
def test_batches_and_stream_chunks_do_not_change_the_answer(classifier_folder, tmp_path):
    seqs = random_dna(300, 24, seed=4) + random_dna(3, 80, seed=5)  # more than one streamed chunk of 256
    source = tmp_path / "in.tsv"
    source.write_text("name\tseq\n" + "".join(f"r{i}\t{s}\n" for i, s in enumerate(seqs)))
    tables = []
    for batch_size in ("7", "64"):  # different batch boundaries, same answer
        out = tmp_path / f"b{batch_size}"
        assert main(["--model_name_or_path", str(classifier_folder), "--input", str(source), "--output", str(out),
                     "--sequence_column", "seq", "--batch_size", batch_size, "--no_progress", "--show", "0"]) == 0
        tables.append(pd.read_parquet(f"{out}.parquet"))
    assert len(tables[0]) == 303 and tables[0]["id"].tolist() == [f"r{i}" for i in range(303)]
    assert tables[0]["line"].tolist() == list(range(2, 305))
    np.testing.assert_allclose(tables[0]["p_promoter"], tables[1]["p_promoter"], atol=1e-5)


# what docs/performance.md#precision states for the bf16 opt-in (and the tests below hold it to)
BF16_PROBABILITY_TOLERANCE = 0.05  # |p_bf16 - p_fp32|
BF16_BATCH_MATE_TOLERANCE = 0.01  # |p(batch of 7) - p(batch of 64)| under bf16 (fp32: 1e-5)


def _predicted(classifier_folder, source, out, *options) -> tuple[np.ndarray, dict]:
    import json

    import pyarrow.parquet as pq

    assert main(["--model_name_or_path", str(classifier_folder), "--input", str(source), "--output", str(out),
                 "--sequence_column", "seq", "--no_progress", "--show", "0", *options]) == 0
    table = pq.read_table(f"{out}.parquet")
    return table.column("p_promoter").to_numpy(), json.loads(table.schema.metadata[b"genebert"])


def test_the_default_answer_is_the_same_with_and_without_bf16_units_and_bf16_is_an_opt_in(
        classifier_folder, tmp_path, monkeypatch):
    seqs = random_dna(300, 24, seed=4)
    source = tmp_path / "in.tsv"
    source.write_text("name\tseq\n" + "".join(f"r{i}\t{s}\n" for i, s in enumerate(seqs)))
    default = {}
    for units in ("0", "1"):  # as on an AVX2 machine, then as on an AMX one
        monkeypatch.setenv("GENEBERT_CPU_BF16", units)
        default[units], metadata = _predicted(classifier_folder, source, tmp_path / f"default{units}")
        assert metadata["precision"] == "fp32"
    np.testing.assert_array_equal(default["0"], default["1"])
    bf16 = {}
    for batch_size in ("7", "64"):
        bf16[batch_size], metadata = _predicted(classifier_folder, source, tmp_path / f"bf16_{batch_size}",
                                                "--precision", "bf16", "--batch_size", batch_size)
        assert metadata["precision"] == "bf16"
    assert not np.array_equal(bf16["64"], default["0"])  # bf16 really ran
    assert np.abs(bf16["64"] - default["0"]).max() <= BF16_PROBABILITY_TOLERANCE
    assert np.abs(bf16["7"] - bf16["64"]).max() <= BF16_BATCH_MATE_TOLERANCE
    _, metadata = _predicted(classifier_folder, source, tmp_path / "auto", "--precision", "auto")
    assert metadata["precision"] == "bf16"  # auto takes the units (GENEBERT_CPU_BF16=1 here)


def test_bad_inputs_exit_2_with_one_line_and_leave_no_output(classifier_folder, tmp_path, capsys):
    good = fasta(tmp_path / "good.fa", random_dna(2, 30))
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGTACGT\n>b\nACGU\n")
    wrong_column = tmp_path / "t.csv"
    wrong_column.write_text("id,seq\nx,ACGTACGTAC\n")
    pre = tmp_path / "pretrained"
    GeneBertForPreTraining(config()).save_pretrained(pre)
    GeneBertTokenizer(k=K).save_pretrained(pre)
    clf = str(classifier_folder)
    cases = [
        (["--model_name_or_path", clf, "--input", str(bad)], f"{bad}:4: field 'sequence': not a DNA sequence (character 'U')"),
        (["--model_name_or_path", clf, "--input", str(wrong_column)], "no column 'sequence' in the header ['id', 'seq']; name the sequence column with --sequence_column"),
        (["--model_name_or_path", str(pre), "--input", str(good)], "not a fine-tuned classifier"),
        (["--model_name_or_path", str(tmp_path / "missing"), "--input", str(tmp_path / "missing.fa")],
         f"--model_name_or_path {tmp_path / 'missing'}: no such folder"),  # the model is checked before the input
        (["--model_name_or_path", clf, "--input", str(tmp_path / "missing.fa")], "missing.fa: no such file"),
        (["--model_name_or_path", clf, "--input", str(good), "--batch_size", "0"], "--batch_size must be at least 1"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert main(argv + ["--output", str(tmp_path / "out"), "--no_progress"]) == 2, message
        err = [line for line in capsys.readouterr().err.strip().splitlines() if "error" in line]
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], (message, err)
        assert not list(tmp_path.glob("out.*")), message


def test_existing_outputs_need_overwrite(classifier_folder, tmp_path, capsys):
    source = fasta(tmp_path / "in.fa", random_dna(2, 30))
    argv = ["--model_name_or_path", str(classifier_folder), "--input", str(source), "--output", str(tmp_path / "p"),
            "--no_progress"]
    (tmp_path / "p.tsv").write_text("precious\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'p.tsv'} already exists" in err and "--overwrite" in err
    assert (tmp_path / "p.tsv").read_text() == "precious\n"
    assert main(argv + ["--overwrite"]) == 0
    assert len(pd.read_csv(tmp_path / "p.tsv", sep="\t")) == 2


def test_predict_returns_what_the_command_writes(classifier_folder, tmp_path):
    import json

    import pyarrow.parquet as pq

    from modeling_genebert.finetuning.predict import PredictOptions, PredictResult, predict

    source = fasta(tmp_path / "in.fa", random_dna(3, 30, seed=8))
    result = predict(PredictOptions(model_name_or_path=str(classifier_folder), input=str(source),
                                    output=str(tmp_path / "api"), no_progress=True))
    assert isinstance(result, PredictResult) and result.rows == 3 and result.classes == ["non_promoter", "promoter"]
    table = pd.read_parquet(result.parquet)
    assert result.predicted == {label: int((table["predicted_label"] == label).sum()) for label in result.classes}
    summary = result.to_dict()
    assert summary["files"] == {"parquet": str(tmp_path / "api.parquet"), "tsv": str(tmp_path / "api.tsv")}
    metadata = json.loads(pq.read_schema(result.parquet).metadata[b"genebert"])  # the settings the file records
    assert metadata == {k: v for k, v in summary.items() if k not in ("rows", "predicted", "seconds", "files")}
    assert main(["--model_name_or_path", str(classifier_folder), "--input", str(source), "--output", str(tmp_path / "cli"),
                 "--no_progress"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cli.parquet"), table)


def test_predict_bad_options_raise_naming_the_option(tmp_path):
    from modeling_genebert.finetuning.predict import PredictOptions, predict

    options = dict(model_name_or_path="no-model", input="no-input.fa", output=str(tmp_path / "p"))
    with pytest.raises(ValueError, match="--window_overlap must be >= 0, got -1"):
        predict(PredictOptions(**options, window_overlap=-1))
    with pytest.raises(ValueError, match="--max_length must be at least 1, got 0"):
        predict(PredictOptions(**options, max_length=0))


def test_predict_takes_pathlib_paths(classifier_folder, tmp_path):
    from modeling_genebert.finetuning.predict import PredictOptions, predict

    source = fasta(tmp_path / "in.fa", random_dna(2, 30, seed=5))
    result = predict(PredictOptions(model_name_or_path=classifier_folder, input=source, output=tmp_path / "out",
                                    no_progress=True))
    assert result.parquet == tmp_path / "out.parquet" and result.tsv == tmp_path / "out.tsv" and result.rows == 2
    assert result.model == str(classifier_folder) and result.input == str(source)
    assert len(pd.read_csv(tmp_path / "out.tsv", sep="\t")) == 2


def test_the_command_line_is_the_predict_options(capsys):
    from modeling_genebert.finetuning.predict import PredictOptions, build_parser

    required = ["--model_name_or_path", "m", "--input", "in.fa", "--output", "out"]
    options, command_line = build_parser().parse_options(required + [
        "--rc_average", "--batch_size", "8", "--long_inputs", "truncate", "--window_overlap", "10", "--window_aggregation", "max",
        "--sequence_column", "dna", "--overwrite", "--show", "3"])
    assert options == PredictOptions(model_name_or_path="m", input="in.fa", output="out", rc_average=True, batch_size=8,
                                     long_inputs="truncate", window_overlap=10, window_aggregation="max", sequence_column="dna",
                                     overwrite=True)
    assert command_line.show == 3
    defaults, command_line = build_parser().parse_options(required)
    assert defaults == PredictOptions(model_name_or_path="m", input="in.fa", output="out")
    assert (defaults.batch_size, defaults.long_inputs, defaults.window_aggregation, command_line.show) == (64, "sliding_window", None, 10)
    with pytest.raises(SystemExit) as exit:
        main(required + ["--window_aggregation", "median"])
    assert exit.value.code == 2 and "error: argument --window_aggregation: invalid choice: 'median'" in capsys.readouterr().err


def test_a_region_input_classifier_gets_its_region_matrix_as_at_fine_tuning(tmp_path):
    """results.json's region_input (motifs, rows, aggregation) rebuilds the scanner fine-tuning used."""
    import json

    from modeling_genebert.downstream.region_input import RegionMatrixBuilder

    motifs = Path(__file__).parent / "data" / "dataset_scripts" / "three_motifs.jaspar"
    torch.manual_seed(1)
    cfg = config(id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, classifier_region_fusion=True)
    cfg.region_config.num_tfs = 3
    model = GeneBertForSequenceClassification(cfg).eval()
    model.save_pretrained(tmp_path / "clf")
    GeneBertTokenizer(k=K).save_pretrained(tmp_path / "clf")
    (tmp_path / "clf" / "results.json").write_text(json.dumps(
        {"region_input": {"motifs": str(motifs), "rows": 2, "num_tfs": 3, "aggregation": "max"}}))
    seqs = random_dna(3, 30, seed=6)
    table = predict_sequences(tmp_path / "clf", seqs)
    builder = RegionMatrixBuilder(str(motifs), rows=2)
    batch = GeneBertTokenizer(k=K)(seqs, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**batch, region_matrix=torch.from_numpy(builder(seqs))).logits.softmax(-1).numpy()
    np.testing.assert_allclose(table[["p_non_promoter", "p_promoter"]].to_numpy(float), expected, atol=1e-5)


@pytest.mark.slow
def test_a_lora_adapter_folder_predicts_like_its_merged_model(tmp_path):
    from modeling_genebert.finetuning.arguments import (
        FinetuneDataArguments,
        FinetuneModelArguments,
        FinetuneTrainingArguments,
    )
    from modeling_genebert.finetuning.finetune import finetune
    from modeling_genebert.finetuning.lora import load_lora_model

    torch.manual_seed(2)
    GeneBertForPreTraining(config()).save_pretrained(tmp_path / "base")
    GeneBertTokenizer(k=K).save_pretrained(tmp_path / "base")
    finetune(FinetuneModelArguments(model_name_or_path=str(tmp_path / "base"), peft="lora"),
             FinetuneDataArguments(task="promoter", max_length=32,
                                   train_file=str(Path(__file__).parent / "data" / "finetune" / "prom_core_all_dev.csv")),
             FinetuneTrainingArguments(output_dir=str(tmp_path / "adapter"), max_steps=2, learning_rate=1e-2,
                                       eval_strategy="no", disable_tqdm=True, use_cpu=True))
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    seqs = random_dna(4, 60, seed=7)  # longer than the window: windowed as fine-tuning would
    table = predict_sequences(tmp_path / "adapter", seqs)
    assert (table["windows"] > 1).all()
    merged = load_lora_model(tmp_path / "adapter", merge=True).eval()
    classifier = load_classifier(tmp_path / "adapter", "cpu")
    classifier.model = merged
    np.testing.assert_allclose(predict_sequences(classifier, seqs)["p_promoter"], table["p_promoter"], atol=1e-6)
    assert set(table["predicted_label"]) <= {"non_promoter", "promoter"}
    # the supervised variant score loads the adapter folder as predict does (it used to refuse adapter folders)
    from modeling_genebert.variants.supervised import SupervisedEffect

    effect = SupervisedEffect(tmp_path / "adapter")
    assert effect.labels == classifier.label_names == ["non_promoter", "promoter"]
    short = random_dna(3, 30, seed=8)
    with torch.no_grad():
        expected = merged(**classifier.tokenizer(short, return_tensors="pt")).logits
    torch.testing.assert_close(effect.logits(short), expected, atol=1e-5, rtol=1e-5)


def _classifier(path, seed: int, labels=LABELS):
    torch.manual_seed(seed)
    model = GeneBertForSequenceClassification(config(id2label=labels, label2id={v: k for k, v in labels.items()}))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5) if p.dim() > 1 else None
    model.save_pretrained(path)
    GeneBertTokenizer(k=K).save_pretrained(path)
    return path


def test_ensemble_with_averages_the_members_logits_before_the_softmax(classifier_folder, tmp_path, capsys):
    other = _classifier(tmp_path / "seed1", seed=1)
    seqs = random_dna(3, 30, seed=6) + random_dna(1, 90, seed=7)  # the long one is windowed alike by both members
    # fp32: the reference below is computed in fp32 (auto takes bf16 on CPUs with bf16 units)
    both = predict_sequences(classifier_folder, seqs, ensemble_with=[other], precision="fp32")
    per_member = [predict_sequences(folder, seqs, precision="fp32") for folder in (classifier_folder, other)]
    logits = []
    for folder in (classifier_folder, other):
        member = load_classifier(folder, "cpu")
        windows, owners = split_into_windows(seqs, 33, 33 // 2, 1)
        with torch.no_grad():
            window_logits = member.model(**member.tokenizer(windows, padding=True, return_tensors="pt")).logits
        logits.append(torch.stack([window_logits[torch.as_tensor(owners) == i].mean(0) for i in range(len(seqs))]))
    expected = ((logits[0] + logits[1]) / 2).softmax(-1).numpy()
    columns = ["p_non_promoter", "p_promoter"]
    np.testing.assert_allclose(both[columns].to_numpy(float), expected, atol=1e-5)
    mean_of_probs = (per_member[0][columns].to_numpy(float) + per_member[1][columns].to_numpy(float)) / 2
    assert np.abs(both[columns].to_numpy(float) - mean_of_probs).max() > 1e-3  # logits averaged, not probabilities
    assert np.abs(per_member[0][columns].to_numpy(float) - per_member[1][columns].to_numpy(float)).max() > 0.05

    source = fasta(tmp_path / "in.fa", seqs)
    assert main(["--model_name_or_path", str(classifier_folder), "--ensemble_with", str(other), "--input", str(source),
                 "--output", str(tmp_path / "ens"), "--precision", "fp32", "--no_progress", "--show", "0"]) == 0
    written = pd.read_parquet(tmp_path / "ens.parquet")
    np.testing.assert_allclose(written[columns].to_numpy(float), expected, atol=1e-5)

    swapped = _classifier(tmp_path / "swapped", seed=2, labels={0: "promoter", 1: "non_promoter"})
    capsys.readouterr()
    for member, message in ((swapped, "--ensemble_with: a classifier of the classes ['promoter', 'non_promoter']"),
                            (tmp_path / "nowhere", f"--ensemble_with {tmp_path / 'nowhere'}: no such folder")):
        assert main(["--model_name_or_path", str(classifier_folder), "--ensemble_with", str(member), "--input", str(source),
                     "--output", str(tmp_path / "bad"), "--no_progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, err
        assert not list(tmp_path.glob("bad*"))
