"""A tokenizer whose k is not the model's is an error in every command that loads both (issue 29 item 5).

A k-4 tokenizer saved into a k-6 model folder gave token ids the model read as other k-mers: finetune
and predict ran without a word and 12.3% of predicted labels flipped.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from modeling_genebert import GeneBertForPreTraining, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.evaluation import embed
from modeling_genebert.finetuning import finetune, predict
from modeling_genebert.folder_tokenizer import kmer_of_vocab_size, load_tokenizer
from modeling_genebert.variants import cli as variants_cli
from small_models import small_config

LABELS = {0: "no", 1: "yes"}


def _folder(path, model_class, kmer, tokenizer_k, **overrides):
    torch.manual_seed(0)
    config = small_config(kmer=kmer, **overrides)
    model_class(config).save_pretrained(path)
    GeneBertTokenizer(k=tokenizer_k).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory):
    root = tmp_path_factory.mktemp("kmer")
    labels = dict(id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    return {
        "classifier": _folder(root / "clf", GeneBertForSequenceClassification, 6, 4, **labels),
        "pretrained": _folder(root / "pre", GeneBertForPreTraining, 6, 4),
        "pretrained_k6": _folder(root / "pre6", GeneBertForPreTraining, 6, 6),
    }


def _error_lines(capsys) -> list[str]:
    return [s for s in re.split(r"[\r\n]", capsys.readouterr().err) if "error" in s.lower()]


def test_vocabulary_sizes_name_their_k():
    assert [kmer_of_vocab_size(5 + 4**k) for k in (3, 4, 6)] == [3, 4, 6]
    assert kmer_of_vocab_size(4100) is None and kmer_of_vocab_size(5) is None


def test_load_tokenizer_takes_the_models_k_where_the_folder_has_none(tmp_path):
    config = small_config(kmer=4)
    GeneBertForPreTraining(config).save_pretrained(tmp_path)  # weights and config, no tokenizer files
    assert load_tokenizer(tmp_path, config).kmer == 4  # from_pretrained alone would give k = 6
    GeneBertTokenizer(k=5).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"its tokenizer reads 5-mers but the model was built for 4-mers"):
        load_tokenizer(tmp_path, config)


@pytest.mark.parametrize("command", ["predict", "embed", "score_variants", "finetune"])
def test_every_command_refuses_a_tokenizer_of_another_k(command, mismatched, tmp_path, capsys):
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(40)]
    table = tmp_path / "seqs.csv"
    table.write_text("sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(seqs)))
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ref_sequence,alt_sequence\n" + "".join(f"{a},{b}\n" for a, b in zip(seqs, seqs[1:4])))
    clf, pre, out = str(mismatched["classifier"]), str(mismatched["pretrained"]), str(tmp_path / "out")
    runs = {
        "predict": (clf, lambda: predict.main(["--model_name_or_path", clf, "--input", str(table), "--output", out,
                                               "--no_progress"])),
        "embed": (pre, lambda: embed.main(["--model_name_or_path", pre, "--dataset", str(table), "--output", out + ".npy"])),
        "score_variants": (clf, lambda: variants_cli.main(["--alleles", str(pairs), "--classifier", clf, "--no_motifs",
                                                           "--output", out, "--no_progress"])),
        "finetune": (pre, lambda: finetune.main(["--model_name_or_path", pre, "--task", "promoter", "--train_file",
                                                 str(table), "--output_dir", out, "--max_steps", "1", "--use_cpu", "true"])),
    }
    folder, run = runs[command]
    assert run() == 2
    (line,) = _error_lines(capsys)
    assert line.startswith(f"error: {folder}: its tokenizer reads 4-mers but the model was built for 6-mers"), line
    assert "GeneBertTokenizer(k=6).save_pretrained(folder)" in line
    assert not list(tmp_path.glob("out*.*")) and not list(tmp_path.glob("out/*.safetensors"))


def test_init_sequence_encoder_from_another_k_names_both_and_the_fix(mismatched, pretraining_dataset, micro_config_file,
                                                                     tmp_path, capsys):
    from test_pretrain import pretrain_args

    from modeling_genebert.pretraining import pretrain

    argv = pretrain_args(pretraining_dataset, micro_config_file, tmp_path / "run", max_steps=1, kmer=4,
                         init_sequence_encoder_from=mismatched["pretrained_k6"])
    assert pretrain.main(argv) == 2
    (line,) = _error_lines(capsys)
    assert f"{mismatched['pretrained_k6']}: its sequence encoder reads 6-mers (vocabulary 4101) but this model is built " \
           "for 4-mers (vocabulary 261); pre-train with --kmer 6 to start from it, or give a 4-mer checkpoint" in line, line


def test_init_sequence_encoder_from_a_genebert_folder_of_the_same_k_loads_its_encoder(mismatched):
    from safetensors.torch import load_file

    from modeling_genebert.convert_checkpoints import load_sequence_encoder_weights

    torch.manual_seed(1)
    model = GeneBertForPreTraining(small_config(kmer=6))
    report = load_sequence_encoder_weights(model, mismatched["pretrained_k6"])
    saved = load_file(mismatched["pretrained_k6"] / "model.safetensors")
    for name in ("genebert.bert.embeddings.word_embeddings.weight", "genebert.bert.encoder.layer.0.attention.self.query.weight"):
        torch.testing.assert_close(model.state_dict()[name], saved[name])  # GeneBERT keys were once mapped to nothing
    assert not [k for k in report["missing_keys"] if k.startswith("genebert.bert.")]
