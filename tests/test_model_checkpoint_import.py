"""Sequence-encoder init from a DNABERT / BERT checkpoint folder (Algorithm 1, line 4)."""

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertForPreTraining

from modeling_genebert import GeneBertConfig, GeneBertForMaskedLM, GeneBertForPreTraining
from modeling_genebert.convert_checkpoints import load_sequence_encoder_weights

BERT = dict(vocab_size=5 + 4**3, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=64)


def genebert_config() -> GeneBertConfig:
    # ngsp_pooling="cls": BERT's NSP head reads the [CLS] pooler (what genebert_config_from_bert sets)
    return GeneBertConfig.from_preset("tiny", sequence_config=dict(kmer=3, **BERT), ngsp_pooling="cls",
                                      region_config=dict(num_tfs=8, hidden_size=32), projection_dim=16)


def save_checkpoint(model, folder, fmt: str):
    if fmt == "safetensors":
        model.save_pretrained(folder)
        assert (folder / "model.safetensors").exists()
    else:  # DNABERT-era format: pytorch_model.bin, LayerNorm gamma/beta names
        folder.mkdir()
        state = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
                 for k, v in model.state_dict().items()}
        torch.save(state, folder / "pytorch_model.bin")


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_import_bert_for_masked_lm(tmp_path, fmt):
    torch.manual_seed(0)
    bert = BertForMaskedLM(BertConfig(**BERT)).eval()
    with torch.no_grad():
        bert.cls.predictions.bias.normal_()  # a head bias that a fresh init would not reproduce
    save_checkpoint(bert, tmp_path / "ckpt", fmt)

    model = GeneBertForPreTraining(genebert_config()).eval()
    info = load_sequence_encoder_weights(model, tmp_path / "ckpt")
    # a masked-LM checkpoint has no pooler and no NSP head: reported, not silently skipped
    assert sorted(info["missing_keys"]) == sorted([
        "genebert.bert.pooler.dense.weight", "genebert.bert.pooler.dense.bias",
        "cls.seq_relationship.weight", "cls.seq_relationship.bias",
    ])
    assert info["unexpected_keys"] == []
    ours = model.state_dict()
    for key, value in bert.state_dict().items():
        target = "genebert." + key if key.startswith("bert.") else key
        torch.testing.assert_close(ours[target], value, rtol=0, atol=0)
    assert model.cls.predictions.decoder.weight is model.get_input_embeddings().weight

    ids = torch.randint(5, BERT["vocab_size"], (2, 12))
    masked_lm = GeneBertForMaskedLM(genebert_config()).eval()
    assert load_sequence_encoder_weights(masked_lm, tmp_path / "ckpt") == {"missing_keys": [], "unexpected_keys": []}
    with torch.no_grad():
        expected = bert(ids).logits
        torch.testing.assert_close(model(ids).prediction_logits, expected)
        torch.testing.assert_close(masked_lm(ids).logits, expected)


def test_import_bert_for_pretraining_includes_ngsp_head(tmp_path):
    torch.manual_seed(0)
    bert = BertForPreTraining(BertConfig(**BERT)).eval()
    bert.save_pretrained(tmp_path)
    model = GeneBertForPreTraining(genebert_config()).eval()
    assert load_sequence_encoder_weights(model, tmp_path) == {"missing_keys": [], "unexpected_keys": []}
    ids = torch.randint(5, BERT["vocab_size"], (2, 12))
    with torch.no_grad():
        ref, out = bert(ids), model(ids)
    torch.testing.assert_close(out.prediction_logits, ref.prediction_logits)
    torch.testing.assert_close(out.seq_relationship_logits, ref.seq_relationship_logits)


def test_shape_mismatch_is_an_error(tmp_path):
    BertForMaskedLM(BertConfig(**{**BERT, "hidden_size": 64})).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="shape"):
        load_sequence_encoder_weights(GeneBertForPreTraining(genebert_config()), tmp_path)
