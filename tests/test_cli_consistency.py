"""One dialect across the commands (issue 22 item 7).

* input that is not DNA: ``FILE:LINE: field 'COLUMN': not a DNA sequence (character 'X')`` in every command
  (explain said ``s1: non-DNA characters``, score-variants ``not a nucleotide code``, finetune named FASTA
  records by number, embed took it without a word);
* a wrong sequence column names the option that picks it (``--sequence_column``);
* no progress bar glued onto the error line;
* the model folder is checked before any data is read;
* ``--help`` shows every option's default.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dataset_scripts import build
from dataset_scripts.cli import console_script
from modeling_genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.evaluation import analysis, embed
from modeling_genebert.evaluation.benchmark import runner
from modeling_genebert.finetuning import finetune, predict
from modeling_genebert.variants import cli as variants_cli

K = 3


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    config = GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(kmer=K, vocab_size=5 + 4**K, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=64, max_position_embeddings=64),
        region_config=dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_tfs=4, regions_per_sample=2),
        projection_dim=16, id2label={0: "unbound", 1: "bound"}, label2id={"unbound": 0, "bound": 1},
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("consistency") / "clf"
    GeneBertForSequenceClassification(config).save_pretrained(path)
    GeneBertTokenizer(k=K).save_pretrained(path)
    return path


def dna(n: int, length: int = 30, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def error_lines(capsys) -> list[str]:
    """The stderr segments (lines, and the pieces a progress bar's carriage returns make) that hold 'error'."""
    return [s for s in re.split(r"[\r\n]", capsys.readouterr().err) if "error" in s.lower()]


def explain_main():
    pytest.importorskip("captum")
    from modeling_genebert.explain.cli import main

    return main


# ----------------------------------------------------------------------------- one message for non-DNA input
@pytest.mark.parametrize("command", ["finetune_csv", "finetune_fasta", "build_finetuning", "predict", "explain",
                                     "embed", "score_variants_table", "score_variants_fasta"])
def test_non_dna_input_is_one_message_with_file_and_line(command, classifier, tmp_path, capsys):
    good = dna(3)
    table = tmp_path / "seqs.csv"
    table.write_text("sequence,label\n" + f"{good[0]},0\n{good[1]},1\n{good[2][:10]}U{good[2][11:]},0\n")
    fasta = tmp_path / "seqs.fa"
    fasta.write_text(f">a 0\n{good[0]}\n>b 1\n{good[1][:12]}\n{good[1][12:20]}U{good[1][21:]}\n")
    out = str(tmp_path / "out")
    clf = str(classifier)
    where, field = f"{table}:4", "sequence"
    if command == "finetune_csv":
        code = finetune.main(["--train_file", str(table), "--output_dir", out])
    elif command == "finetune_fasta":
        code, where = finetune.main(["--train_file", str(fasta), "--output_dir", out]), f"{fasta}:5"
    elif command == "build_finetuning":
        code = build.main_finetuning(["--train", str(table), "--output", out])
    elif command == "predict":
        code, where = predict.main(["--model_name_or_path", clf, "--input", str(fasta), "--output", out, "--no_progress"]), f"{fasta}:5"
    elif command == "explain":
        code = explain_main()(["--model_name_or_path", clf, "--input", str(fasta), "--output_dir", out])
        where = f"{fasta}:5"
    elif command == "embed":
        unlabelled = tmp_path / "unlabelled.csv"
        unlabelled.write_text("sequence\n" + f"{good[0]}\n{good[1]}\n{good[2][:10]}U{good[2][11:]}\n")
        code = embed.main(["--model_name_or_path", clf, "--dataset", str(unlabelled), "--output", out + ".npy"])
        where = f"{unlabelled}:4"
    elif command == "score_variants_table":
        pairs = tmp_path / "pairs.csv"
        pairs.write_text(f"ref_sequence,alt_sequence\n{good[0]},{good[1]}\n{good[2][:10]}U{good[2][11:]},{good[0]}\n")
        code = variants_cli.main(["--alleles", str(pairs), "--classifier", clf, "--no_motifs", "--output", out,
                                  "--no_progress"])
        where, field = f"{pairs}:3", "ref_sequence"
    else:
        ref, alt = tmp_path / "ref.fa", tmp_path / "alt.fa"
        ref.write_text(f">v1\n{good[0]}\n>v2\n{good[1]}\n")
        alt.write_text(f">v1\n{good[1]}\n>v2\n{good[2][:10]}U{good[2][11:]}\n")
        code = variants_cli.main(["--ref_fasta", str(ref), "--alt_fasta", str(alt), "--classifier", clf, "--no_motifs",
                                  "--output", out, "--no_progress"])
        where = f"{alt}:4"
    assert code == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert f"error: {where}: field '{field}': not a DNA sequence (character 'U')" in lines[0], lines[0]


# ----------------------------------------------------------------------------- a wrong column names the option
@pytest.mark.parametrize("command", ["finetune", "build_finetuning", "predict", "explain", "embed"])
def test_a_wrong_sequence_column_suggests_the_option(command, classifier, tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("seq,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(dna(4))))
    unlabelled = tmp_path / "u.csv"
    unlabelled.write_text("seq\n" + "".join(f"{s}\n" for s in dna(4)))
    out, clf = str(tmp_path / "out"), str(classifier)
    runs = {
        "finetune": lambda: finetune.main(["--train_file", str(table), "--output_dir", out]),
        "build_finetuning": lambda: build.main_finetuning(["--train", str(table), "--output", out]),
        "predict": lambda: predict.main(["--model_name_or_path", clf, "--input", str(table), "--output", out]),
        "explain": lambda: explain_main()(["--model_name_or_path", clf, "--input", str(table), "--output_dir", out]),
        "embed": lambda: embed.main(["--model_name_or_path", clf, "--dataset", str(unlabelled), "--output", out + ".npy"]),
    }
    assert runs[command]() == 2
    (line,) = error_lines(capsys)
    assert "no column 'sequence' in the header" in line and "name the sequence column with --sequence_column" in line, line


# ----------------------------------------------------------------------------- no progress bar on the error line
def test_an_open_progress_bar_is_closed_before_the_error_line(capsys):
    from tqdm.auto import tqdm

    def run(argv):
        bar = tqdm(desc="reading", unit="seq", file=sys.stderr)
        bar.update(3)
        raise ValueError("input.fa:7: field 'sequence': not a DNA sequence (character 'U')")

    assert console_script(run, "genebert-test")([]) == 2
    err = capsys.readouterr().err
    assert "reading: 3seq" in err
    assert [s for s in re.split(r"[\r\n]", err) if "error" in s] == [
        "error: input.fa:7: field 'sequence': not a DNA sequence (character 'U') (set GENEBERT_DEBUG=1 to see the traceback)"]


def test_score_variants_stops_mid_progress_on_a_line_of_its_own(classifier, tmp_path, capsys):
    good = dna(4, 20, seed=3)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ref_sequence,alt_sequence\n" + "".join(f"{a},{b}\n" for a, b in zip(good, good[1:]))
                     + f"{good[0][:5]}U{good[0][6:]},{good[1]}\n")
    assert variants_cli.main(["--alleles", str(pairs), "--classifier", str(classifier), "--no_motifs", "--chunk_size", "1",
                              "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "scoring variants: 3variant" in err  # the bar was running when the bad row came
    errors = [s for s in re.split(r"[\r\n]", err) if "error" in s]
    assert len(errors) == 1 and errors[0].startswith(f"error: {pairs}:5: field 'ref_sequence': not a DNA sequence"), errors


# ----------------------------------------------------------------------------- the model folder first
@pytest.mark.parametrize("command", ["finetune", "explain", "embed", "score_variants"])
def test_the_model_folder_is_checked_before_the_data(command, tmp_path, capsys):
    model, data, out = str(tmp_path / "no-model"), str(tmp_path / "no-data.csv"), str(tmp_path / "out")
    runs = {
        "finetune": lambda: finetune.main(["--model_name_or_path", model, "--train_file", data, "--output_dir", out]),
        "explain": lambda: explain_main()(["--model_name_or_path", model, "--input", data, "--output_dir", out]),
        "embed": lambda: embed.main(["--model_name_or_path", model, "--dataset", data, "--output", out + ".npy"]),
        "score_variants": lambda: variants_cli.main(["--alleles", data, "--classifier", model, "--output", out]),
    }
    assert runs[command]() == 2
    (line,) = error_lines(capsys)
    assert "no-model" in line and "no-data" not in line, line
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("x")
    model = str(not_a_model)
    assert runs[command]() == 2
    (line,) = error_lines(capsys)
    assert f"{not_a_model}: not a model folder (no config.json)" in line, line


# ----------------------------------------------------------------------------- --help shows defaults
def _parsers():
    yield "genebert-predict", predict.build_parser()
    yield "genebert-embed", embed.build_parser()
    yield "genebert-benchmark", runner.build_parser()
    yield "genebert-finetune", finetune.build_parser()
    yield "genebert-build-pretraining", build.pretraining_parser("genebert-build-pretraining")
    yield "genebert-build-finetuning", build.finetuning_parser("genebert-build-finetuning")
    yield "genebert-score-variants", variants_cli.build_parser()
    for name, sub in next(a for a in analysis.build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices.items():
        yield f"genebert-analysis {name}", sub


def test_help_shows_every_default(capsys):
    pytest.importorskip("captum")
    from modeling_genebert.explain import cli as explain_cli

    parsers = list(_parsers())
    with pytest.raises(SystemExit):
        explain_cli.build_parser().parse_args(["--help"])
    explain_help = " ".join(capsys.readouterr().out.split())
    assert "Integrated Gradients interpolation steps (default: 50)" in explain_help
    assert "windows per forward pass: ISM mutants, IG path points (bases path)" in explain_help and "(default: 64)" in explain_help
    missing = []
    for name, parser in parsers:
        formatter = parser._get_formatter()
        for action in parser._actions:
            if (not action.option_strings or action.help == argparse.SUPPRESS or action.default in (None, False, "", [])
                    or action.default is argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction)):
                continue
            if "default" not in formatter._expand_help(action).lower():
                missing.append(f"{name} {action.option_strings[0]}")
    assert not missing, missing


# ----------------------------------------------------------------------------- twice into one output
def _twice_runs(classifier, tmp_path):
    """Per command: (run(out) -> exit code, the output path the second run must leave as the first wrote it)."""
    from test_pretrain import pretrain_args

    from modeling_genebert import GeneBertConfig
    from modeling_genebert.pretraining import pretrain

    data = tmp_path / "in"
    data.mkdir()
    seqs = dna(8, 40, seed=11)
    table = data / "seqs.csv"
    table.write_text("sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(seqs)))
    fasta = data / "seqs.fa"
    fasta.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    pairs = data / "pairs.csv"
    pairs.write_text("ref_sequence,alt_sequence\n" + "".join(f"{a},{b}\n" for a, b in zip(seqs, seqs[1:])))
    dataset = tmp_path / "build_pretraining"  # the pre-training command reads the build command's output
    micro = tmp_path / "micro.json"
    GeneBertConfig.from_preset("tiny", sequence_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                                            intermediate_size=64, max_position_embeddings=128),
                               region_config=dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_tfs=3,
                                                  regions_per_sample=4), projection_dim=16).to_json_file(micro)
    clf = str(classifier)
    fast = ["--max_steps", "1", "--max_train_samples", "32", "--eval_strategy", "no", "--disable_tqdm", "true",
            "--use_cpu", "true"]
    return {
        "build_pretraining": (lambda out: build.main_pretraining(
            ["--output", out, "--dhs_table", str(DHS), "--motifs", str(MOTIFS), "--bases_per_region", "20",
             "--regions_per_sample", "4", "--no_progress"]), "build_info.json"),
        "build_finetuning": (lambda out: build.main_finetuning(["--output", out, "--task", "promoter", "--train", str(table)]),
                             "dataset_dict.json"),
        "pretrain": (lambda out: pretrain.main(pretrain_args(dataset, micro, out, max_steps=1, save_steps=100)),
                     "final/model.safetensors"),
        "finetune": (lambda out: finetune.main(["--task", "promoter", "--train_file", str(PROMOTERS), "--output_dir", out, *fast]),
                     "model.safetensors"),
        "predict": (lambda out: predict.main(["--model_name_or_path", clf, "--input", str(fasta), "--output", f"{out}/p",
                                              "--no_progress", "--show", "0"]), "p.parquet"),
        "embed": (lambda out: embed.main(["--model_name_or_path", clf, "--dataset", str(table), "--output", f"{out}/e.npy"]),
                  "e.npy"),
        "explain": (lambda out: explain_main()(["--model_name_or_path", clf, "--input", str(fasta), "--output_dir", out,
                                                "--methods", "ism", "--motifs", "none", "--no_progress"]), "summary.json"),
        "score_variants": (lambda out: variants_cli.main(["--alleles", str(pairs), "--classifier", clf, "--no_motifs",
                                                          "--output", f"{out}/v", "--no_progress"]), "v.parquet"),
    }


DHS = Path(__file__).parent / "data" / "dataset_scripts" / "dhs_subset.tsv.gz"
MOTIFS = Path(__file__).parent / "data" / "dataset_scripts" / "three_motifs.jaspar"
PROMOTERS = Path(__file__).parent / "data" / "finetune" / "prom_core_all_train.csv"
TWICE = ["build_pretraining", "build_finetuning", "pretrain", "finetune", "predict", "embed", "explain", "score_variants"]


@pytest.mark.parametrize("command", TWICE)
def test_each_command_run_twice_into_one_output_refuses_the_second_run_and_keeps_the_first(command, classifier, tmp_path,
                                                                                           capsys):
    """No command replaces a finished run: the second exits 2 naming what is there and --overwrite (issue 29 item 4).

    genebert-benchmark continues its own folder by design (finished runs are skipped: test_evaluation_benchmark), and
    genebert-analysis writes through the same OutputFolder policy (test_data_output_folders)."""
    runs = _twice_runs(classifier, tmp_path)
    if command == "pretrain":
        assert runs["build_pretraining"][0](str(tmp_path / "build_pretraining")) == 0
    run, kept = runs[command]
    out = tmp_path / "out"
    assert run(str(out)) == 0, capsys.readouterr().err
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert (out / kept).is_file()
    capsys.readouterr()
    assert run(str(out)) == 2
    (line,) = error_lines(capsys)
    assert "--overwrite" in line and str(out) in line, line
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# ----------------------------------------------------------------------------- quiet by default
def test_loading_and_saving_a_folder_draw_no_progress_bars(classifier, tmp_path, capsys):
    from transformers.utils import logging as hf_logging

    model = GeneBertForSequenceClassification.from_pretrained(classifier)
    model.save_pretrained(tmp_path / "copy")
    err = capsys.readouterr().err
    assert "Loading weights" not in err and "Writing model shards" not in err, err
    assert hf_logging.is_progress_bar_enabled()  # the bars of long work stay on


def test_embed_on_a_classifier_folder_says_so_in_one_line(classifier, tmp_path, caplog, capsys):
    import logging

    table = tmp_path / "seqs.csv"
    table.write_text("sequence\n" + "".join(f"{s}\n" for s in dna(4)))
    with caplog.at_level(logging.INFO):
        assert embed.main(["--model_name_or_path", str(classifier), "--dataset", str(table),
                           "--output", str(tmp_path / "e.npy")]) == 0
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert [m for m in said if "GeneBertForSequenceClassification folder" in m] == [
        f"{classifier} is a GeneBertForSequenceClassification folder: embedding with its fine-tuned sequence encoder"]
    assert not [m for m in said if "randomly initialised" in m or "dropped" in m], said
    assert embed.main(["--model_name_or_path", str(classifier), "--dataset", str(table), "--pooling", "projected",
                       "--output", str(tmp_path / "p.npy")]) == 2
    assert "pooling 'projected' needs a folder whose model has the SRM projection" in error_lines(capsys)[0]


def test_lora_wrapping_raises_no_third_party_future_warning(classifier):
    import warnings

    from modeling_genebert.finetuning.lora import apply_lora

    model = GeneBertForSequenceClassification.from_pretrained(classifier)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_lora(model)
    assert not [w for w in caught if issubclass(w.category, FutureWarning)], [str(w.message) for w in caught]
