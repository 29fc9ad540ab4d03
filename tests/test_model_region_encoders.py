"""Region encoders: no row (or column) of the matrix may be silently dropped; local ImageNet init."""

import pytest
import timm
import torch
from safetensors.torch import save_file

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertModel
from modeling_genebert.region_encoders import TimmRegionEncoder

R, TFS = 10, 40
SWIN_KWARGS = dict(embed_dim=24, depths=(1, 1), num_heads=(1, 2), window_size=4)
SWIN = dict(model_name="swin_tiny_patch4_window7_224", **SWIN_KWARGS)
VIT = dict(model_name="vit_tiny_patch16_224", embed_dim=24, depth=1, num_heads=2)
ENCODERS = {
    "native": dict(encoder="native"),
    "timm-swin-native": dict(encoder="timm", encoder_kwargs=dict(input_mode="native", **SWIN)),
    "timm-swin-resize": dict(encoder="timm", encoder_kwargs=dict(input_mode="resize", img_size=[32, 32], **SWIN)),
    "timm-vit-native": dict(encoder="timm", encoder_kwargs=dict(input_mode="native", **VIT)),
}


def config(region: dict) -> GeneBertConfig:
    region = dict(num_tfs=TFS, regions_per_sample=R, hidden_size=32, num_attention_heads=2, intermediate_size=64,
                  hidden_dropout_prob=0.0, **region)
    sequence = dict(kmer=3, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                    max_position_embeddings=64)
    return GeneBertConfig.from_preset("tiny", sequence_config=sequence, region_config=region, projection_dim=16)


def perturbed(base: torch.Tensor, axis: int) -> torch.Tensor:
    """The base matrix, then one copy per row (axis 0) or column (axis 1) with only that slice re-drawn."""
    g = torch.Generator().manual_seed(1)
    copies = [base]
    for i in range(base.shape[axis]):
        x = base.clone()
        index = (i, slice(None)) if axis == 0 else (slice(None), i)
        x[index] = torch.randn(x[index].shape, generator=g) * 8
        copies.append(x)
    return torch.stack(copies)


@pytest.mark.parametrize("name", list(ENCODERS))
def test_every_row_influences_the_output(name):
    torch.manual_seed(0)
    encoder = GeneBertModel(config(ENCODERS[name])).region_encoder.eval()
    base = torch.randn(R, TFS, generator=torch.Generator().manual_seed(0)) * 8
    with torch.no_grad():
        _, pooled = encoder(perturbed(base, axis=0))
    change = (pooled[1:] - pooled[:1]).abs().amax(dim=-1)
    assert (change > 1e-4).all(), f"rows without influence: {torch.nonzero(change <= 1e-4).flatten().tolist()}"


@pytest.mark.parametrize("name", ["timm-swin-native", "timm-swin-resize"])
def test_every_column_influences_the_output(name):
    encoder = GeneBertModel(config(ENCODERS[name])).region_encoder.eval()
    base = torch.randn(R, TFS, generator=torch.Generator().manual_seed(0)) * 8
    with torch.no_grad():
        _, pooled = encoder(perturbed(base, axis=1))
    assert ((pooled[1:] - pooled[:1]).abs().amax(dim=-1) > 1e-4).all()


def test_native_timm_input_pads_to_the_patch_grid():
    encoder = GeneBertModel(config(ENCODERS["timm-swin-native"])).region_encoder
    assert encoder.img_size == (12, 40)  # 10 rows padded to the 4-pixel patch, none dropped


def test_untiled_input_size_is_refused():
    """The measured trap: a 4x4-patch Swin at height 10 would silently ignore the last row."""
    with pytest.raises(ValueError, match="not tiled"):
        GeneBertModel(config(dict(encoder="timm", encoder_kwargs=dict(input_mode="native", img_size=[10, 40], **SWIN))))


def test_timm_model_save_load_restores_buffers(tmp_path):
    """transformers builds on the meta device: timm's non-persistent buffers must be rebuilt on load."""
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config(ENCODERS["timm-swin-native"])).eval()
    model.save_pretrained(tmp_path)
    loaded = GeneBertForPreTraining.from_pretrained(tmp_path).eval()
    for (name, a), (_, b) in zip(model.named_buffers(), loaded.named_buffers()):
        assert torch.equal(a, b), name
    ids = torch.randint(5, 69, (3, 16))
    regions = torch.randn(3, R, TFS) * 8
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids, region_matrix=regions).srm_loss, model(ids, region_matrix=regions).srm_loss)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_imagenet_init_from_a_local_file(tmp_path, monkeypatch, suffix):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    region = ENCODERS["timm-swin-native"]
    reference = timm.create_model(SWIN["model_name"], pretrained=False, num_classes=0, img_size=(12, 40), **SWIN_KWARGS)
    file = tmp_path / f"weights{suffix}"
    state = {k: v.contiguous() for k, v in reference.state_dict().items()}
    save_file(state, file) if suffix == ".safetensors" else torch.save(state, file)
    model = GeneBertForPreTraining(config(region))
    info = model.load_region_encoder_weights(file)
    assert info["unexpected_keys"] == []
    for name, value in state.items():
        torch.testing.assert_close(model.genebert.region_encoder.backbone.state_dict()[name], value)


def test_missing_timm_weights_file_is_an_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = GeneBertForPreTraining(config(ENCODERS["timm-swin-native"]))
    with pytest.raises(FileNotFoundError, match="missing.safetensors: no such timm weights file"):
        model.load_region_encoder_weights(tmp_path / "missing.safetensors")


def test_load_region_weights_needs_timm():
    with pytest.raises(ValueError, match="timm"):
        GeneBertForPreTraining(config(ENCODERS["native"])).load_region_encoder_weights("missing.pth")


def test_timm_encoder_is_used_by_pretraining():
    model = GeneBertForPreTraining(config(ENCODERS["timm-swin-resize"]))
    assert isinstance(model.genebert.region_encoder, TimmRegionEncoder)
    out = model(torch.randint(5, 69, (2, 16)), region_matrix=torch.randn(2, R, TFS))
    out.loss.backward()
    assert model.genebert.region_encoder.backbone.patch_embed.proj.weight.grad is not None
