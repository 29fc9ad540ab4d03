"""Damaged or untrusted weight files fail loudly, naming the file (never a silent wrong model)."""

import os
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertModel
from modeling_genebert.convert_checkpoints import load_sequence_encoder_weights


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    config = GeneBertConfig.from_preset("tiny", num_tfs=8, regions_per_sample=4, num_hidden_layers=1)
    GeneBertForPreTraining(config).save_pretrained(folder)
    return folder


def _copy(saved, tmp_path, weights: bytes):
    for name in os.listdir(saved):
        (tmp_path / name).write_bytes((saved / name).read_bytes())
    (tmp_path / "model.safetensors").write_bytes(weights)
    return tmp_path


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_safetensors_names_the_file(saved, tmp_path, damage):
    data = (saved / "model.safetensors").read_bytes()
    weights = {"truncated": data[: len(data) // 2], "garbage": b"\x00" * 100, "empty": b""}[damage]
    folder = _copy(saved, tmp_path, weights)
    for loader in (GeneBertForPreTraining, AutoModel):
        with pytest.raises(OSError, match=rf"{tmp_path}.*(truncated or corrupted|model.safetensors)"):
            loader.from_pretrained(folder)


def test_non_finite_weight_is_rejected_by_name(saved, tmp_path):
    state = load_file(saved / "model.safetensors")
    key = next(k for k in state if k.endswith("attention.self.query.weight"))
    state[key][0, 0] = float("nan")
    folder = _copy(saved, tmp_path, b"")
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"weight '\S*encoder.layer.0.attention.self.query.weight' contains NaN or inf"):
        GeneBertModel.from_pretrained(folder)


def test_sequence_encoder_init_reads_tensors_only(tmp_path):
    model = GeneBertModel(GeneBertConfig.from_preset("tiny", num_tfs=8, regions_per_sample=4, num_hidden_layers=1))
    # a pickle that would run code if unpickled without weights_only
    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps(os.system))
    with pytest.raises(OSError, match=r"pytorch_model.bin: cannot read weights: it holds objects other than tensors"):
        load_sequence_encoder_weights(model, tmp_path)
    torch.save({"bert.embeddings.word_embeddings.weight": torch.zeros(3)}, tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match="checkpoint shape"):
        load_sequence_encoder_weights(model, tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"PK\x03\x04broken")
    with pytest.raises(OSError, match="cannot read weights"):
        load_sequence_encoder_weights(model, tmp_path)


def test_half_precision_weights_load_as_float32_unless_asked(tmp_path):
    """A release stored in bf16 (half the download) trains and runs in float32 like any GeneBERT model."""
    config = GeneBertConfig.from_preset("tiny", num_tfs=8, regions_per_sample=4, num_hidden_layers=1)
    model = GeneBertForPreTraining(config).to(torch.bfloat16)
    model.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert {t.dtype for t in stored.values() if t.is_floating_point()} == {torch.bfloat16}
    for loader in (GeneBertForPreTraining, AutoModel):
        loaded = loader.from_pretrained(tmp_path)
        assert {p.dtype for p in loaded.parameters()} == {torch.float32}, loader
        embeddings = loaded.get_input_embeddings().weight
        assert torch.equal(embeddings, stored["genebert.bert.embeddings.word_embeddings.weight"].float())
    assert {p.dtype for p in AutoModel.from_pretrained(tmp_path, dtype="auto").parameters()} == {torch.bfloat16}
    assert {p.dtype for p in GeneBertModel.from_pretrained(tmp_path, dtype=torch.float16).parameters()} == {torch.float16}
