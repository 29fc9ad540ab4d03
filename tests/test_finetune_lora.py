"""LoRA fine-tuning (``genebert-finetune --peft lora``): what is adapted, what trains, how the adapter loads."""

import json
from pathlib import Path

import pytest
import torch

from modeling_genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.finetuning import finetune
from modeling_genebert.finetuning.lora import apply_lora, encoder_target_modules, load_lora_model
from small_models import save_pretraining_folder, small_config
from test_finetune import finetune_with

peft = pytest.importorskip("peft")

DATA = Path(__file__).parent / "data" / "finetune"
FAST = ["--per_device_eval_batch_size", "128", "--logging_steps", "1000", "--disable_tqdm", "true", "--use_cpu", "true"]


def tiny_config(**overrides) -> GeneBertConfig:
    return small_config(kmer=4, num_hidden_layers=2, **overrides)


@pytest.fixture(scope="module")
def base_folder(tmp_path_factory) -> Path:
    return save_pretraining_folder(tmp_path_factory.mktemp("base"), tiny_config())


def test_default_targets_are_query_and_value_of_every_encoder_layer():
    model = GeneBertForSequenceClassification(tiny_config(num_labels=2))
    names = encoder_target_modules(model, ["query", "value"])
    assert names == [f"genebert.bert.encoder.layer.{i}.attention.self.{m}" for i in range(2) for m in ("query", "value")]
    every = encoder_target_modules(model, ["query", "key", "value", "dense"])
    assert len(every) == 2 * 6  # q, k, v, attention.output.dense, intermediate.dense, output.dense per layer
    assert not any("pooler" in n for n in every)  # the pooler trains fully instead (modules_to_save)


def test_only_lora_and_head_train_and_base_weights_are_frozen():
    model = apply_lora(GeneBertForSequenceClassification(tiny_config(num_labels=3)))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or "classifier" in n or "pooler" in n for n in trainable)
    assert any("lora_A" in n for n in trainable) and any("classifier" in n for n in trainable)
    frozen = dict(model.named_parameters())
    assert not any(p.requires_grad for n, p in frozen.items() if "word_embeddings" in n or n.endswith("query.base_layer.weight"))


def test_the_wide_region_read_out_trains_fully_and_comes_back_from_the_adapter_folder(base_folder, tmp_path):
    """--region_wide with LoRA: the read-out is part of the head (modules_to_save); the adapter folder restores it."""
    from safetensors.torch import load_file
    from test_finetune import JASPAR

    from modeling_genebert.finetuning.classifier import load_classifier

    motifs = tmp_path / "m.jaspar"
    motifs.write_text(JASPAR)
    finetune_with(["--model_name_or_path", str(base_folder), "--train_file", str(DATA / "prom_core_all_dev.csv"),
                   "--region_input", "--motifs", str(motifs), "--region_wide", "--peft", "lora", "--max_steps", "2",
                   "--per_device_train_batch_size", "8", "--eval_strategy", "no", "--output_dir", str(tmp_path / "out"),
                   *FAST])
    saved = load_file(tmp_path / "out" / "adapter_model.safetensors")
    trained = saved["base_model.model.region_wide.1.weight"]
    loaded = load_classifier(tmp_path / "out").model
    torch.testing.assert_close(loaded.region_wide[1].weight, trained)
    assert "region_wide" in json.loads((tmp_path / "out" / "adapter_config.json").read_text())["modules_to_save"]


def test_unknown_target_module_is_an_error_naming_the_layers():
    with pytest.raises(ValueError, match="qkv.*query"):
        apply_lora(GeneBertForSequenceClassification(tiny_config(num_labels=2)), target_modules="qkv")


def test_cli_rejects_unknown_method_and_merge_without_peft(base_folder, tmp_path, capsys):
    base = ["--model_name_or_path", str(base_folder), "--train_file", str(DATA / "prom_core_all_dev.csv"),
            "--max_steps", "1", "--output_dir", str(tmp_path / "x"), *FAST]
    assert finetune.main(base + ["--peft", "adalora"]) == 2
    assert "the supported method is 'lora'" in capsys.readouterr().err
    assert finetune.main(base + ["--merge_lora", "true"]) == 2
    assert "--merge_lora needs --peft lora" in capsys.readouterr().err
    assert not (tmp_path / "x" / "results.json").exists()


@pytest.mark.slow
def test_lora_adapter_folder_loads_onto_the_base_model_and_merges(base_folder, tmp_path):
    out = tmp_path / "lora"
    summary = finetune_with([
        "--model_name_or_path", str(base_folder), "--task", "promoter", "--peft", "lora", "--lora_rank", "4",
        "--train_file", str(DATA / "prom_core_all_train.csv"), "--validation_file", str(DATA / "prom_core_all_dev.csv"),
        "--max_steps", "6", "--learning_rate", "5e-3", "--output_dir", str(out), "--seed", "3", *FAST,
    ])
    peft_info = summary.hyperparameters["peft"]
    assert peft_info["rank"] == 4 and peft_info["saved"] == "adapter"
    assert 0 < peft_info["trainable_parameters"] < peft_info["total_parameters"]
    assert (out / "adapter_config.json").exists() and (out / "adapter_model.safetensors").exists()
    assert not (out / "model.safetensors").exists()  # an adapter, not a copy of the base model
    assert json.loads((out / "results.json").read_text())["results"]["validation"]["mcc"] is not None

    # the documented way: the base folder + PeftModel.from_pretrained
    base = GeneBertForSequenceClassification.from_pretrained(base_folder, num_labels=2)
    documented = peft.PeftModel.from_pretrained(base, str(out)).eval()
    helper = load_lora_model(out).eval()
    merged = load_lora_model(out, merge=True).eval()
    ids = GeneBertTokenizer.from_pretrained(out)(["ACGTACGTTAGGCTAGCTAGGATTACAGG"], return_tensors="pt")
    with torch.no_grad():
        a, b, c = (m(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]).logits
                   for m in (documented, helper, merged))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c, rtol=1e-4, atol=1e-5)
    # training moved the LoRA B matrices (initialised at zero) and the head
    state = documented.state_dict()
    assert any(v.abs().sum() > 0 for k, v in state.items() if "lora_B" in k)
    fresh = GeneBertForSequenceClassification.from_pretrained(base_folder, num_labels=2)
    assert not torch.allclose(fresh.classifier.weight, documented.base_model.model.classifier.modules_to_save["default"].weight)


@pytest.mark.slow
def test_merge_lora_saves_a_plain_genebert_folder(base_folder, tmp_path):
    out = tmp_path / "merged"
    summary = finetune_with([
        "--model_name_or_path", str(base_folder), "--peft", "lora", "--merge_lora", "true",
        "--lora_target_modules", "query,key,value,dense",
        "--train_file", str(DATA / "prom_core_all_dev.csv"), "--max_steps", "3", "--output_dir", str(out), *FAST,
    ])
    assert summary.hyperparameters["peft"]["saved"] == "merged"
    assert (out / "model.safetensors").exists() and not (out / "adapter_config.json").exists()
    model = GeneBertForSequenceClassification.from_pretrained(out)
    assert not any("lora" in n for n, _ in model.named_parameters())
