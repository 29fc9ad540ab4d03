"""The region-encoder registry: a new encoder is one decorated class; old saved configs load converted."""

import json
import shutil
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from torch import nn
from transformers import AutoConfig

import modeling_genebert  # noqa: F401  (registers GeneBERT with AutoConfig)
from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertModel
from modeling_genebert.configuration_genebert import LEGACY_TIMM_FIELDS
from modeling_genebert.region_encoder_registry import validate_region_encoder_config
from modeling_genebert.region_encoders import (
    NativeRegionEncoder,
    TimmRegionEncoder,
    create_region_encoder,
    list_region_encoders,
    register_region_encoder,
)

LEGACY = Path(__file__).parent / "data" / "legacy_config"
OLD_KEYS = {"encoder_type", "timm_kwargs", *LEGACY_TIMM_FIELDS}
R, TFS = 10, 40


@register_region_encoder("test_linear_rows")
class LinearRowsEncoder(nn.Module):
    """A contributor's encoder: one class, registered by name, validating its own options."""

    @classmethod
    def validate_config(cls, config):
        unknown = set(config.encoder_kwargs) - {"width"}
        if unknown:
            raise ValueError(f"test_linear_rows takes only 'width', got {sorted(unknown)}")

    def __init__(self, config):
        super().__init__()
        self.output_dim = config.encoder_kwargs.get("width", 8)
        self.proj = nn.Linear(config.num_tfs, self.output_dim)

    def forward(self, region_matrix):
        hidden = torch.tanh(self.proj(region_matrix))
        return hidden, hidden.mean(dim=1)


def config(**region) -> GeneBertConfig:
    sequence = dict(kmer=3, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                    max_position_embeddings=64)
    region = dict(num_tfs=TFS, regions_per_sample=R, **region)
    return GeneBertConfig.from_preset("tiny", sequence_config=sequence, region_config=region, projection_dim=16)


def test_builtins_are_registered():
    assert {"native", "timm", "test_linear_rows"} <= set(list_region_encoders())


def test_a_registered_encoder_is_used_by_name_and_trains(tmp_path):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(config(encoder="test_linear_rows", encoder_kwargs={"width": 12}))
    encoder = model.genebert.region_encoder
    assert isinstance(encoder, LinearRowsEncoder) and model.genebert.region_projection.in_features == 12
    out = model(torch.randint(5, 69, (3, 16)), region_matrix=torch.randn(3, R, TFS))
    out.srm_loss.backward()
    assert encoder.proj.weight.grad is not None and encoder.proj.weight.grad.abs().sum() > 0
    model.save_pretrained(tmp_path)
    loaded = GeneBertForPreTraining.from_pretrained(tmp_path)
    assert isinstance(loaded.genebert.region_encoder, LinearRowsEncoder)
    torch.testing.assert_close(loaded.genebert.region_encoder.proj.weight, encoder.proj.weight)


def test_an_encoder_validates_its_own_options():
    with pytest.raises(StrictDataclassClassValidationError, match="takes only 'width'"):
        config(encoder="test_linear_rows", encoder_kwargs={"depth": 2})
    with pytest.raises(StrictDataclassClassValidationError, match="native region encoder takes no encoder_kwargs"):
        config(encoder="native", encoder_kwargs={"model_name": "vit_tiny_patch16_224"})
    with pytest.raises(StrictDataclassClassValidationError, match=r"needs encoder_kwargs\['model_name'\]"):
        config(encoder="timm")
    with pytest.raises(StrictDataclassClassValidationError, match="input_mode"):
        config(encoder="timm", encoder_kwargs=dict(model_name="vit_tiny_patch16_224", input_mode="crop"))


UNKNOWN = r"unknown region encoder 'no_such_encoder'; registered: \[.*'native', .*'test_linear_rows', 'timm'\]"


def test_unknown_encoder_is_a_config_error_naming_the_registered_ones(tmp_path):
    with pytest.raises(StrictDataclassClassValidationError, match=UNKNOWN) as caught:
        config(encoder="no_such_encoder")
    assert type(caught.value.__cause__) is ValueError
    # a saved config naming it fails to load the same way
    config().save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    saved["region_config"]["encoder"] = "no_such_encoder"
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(StrictDataclassClassValidationError, match=UNKNOWN):
        GeneBertConfig.from_pretrained(tmp_path)
    # the registry's own check, and building, say the same as a plain ValueError
    for check in (validate_region_encoder_config, create_region_encoder):
        with pytest.raises(ValueError, match=UNKNOWN):
            check(SimpleNamespace(encoder="no_such_encoder", encoder_kwargs={}))


def test_built_in_encoders_validate_whatever_was_imported_first(tmp_path, monkeypatch):
    """As Hub remote code does: the config module imported alone, with a registry of its own that no
    encoder module has filled yet, still knows the built-ins when it validates."""
    package = tmp_path / "fresh_copy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = Path(modeling_genebert.__file__).parent
    for name in ("configuration_genebert.py", "region_encoder_registry.py", "region_encoders.py"):
        shutil.copy(source / name, package / name)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        from fresh_copy.configuration_genebert import GeneBertRegionConfig
        from fresh_copy.region_encoder_registry import REGION_ENCODERS

        assert not REGION_ENCODERS and "fresh_copy.region_encoders" not in sys.modules
        with pytest.raises(StrictDataclassClassValidationError, match=r"needs encoder_kwargs\['model_name'\]"):
            GeneBertRegionConfig(encoder="timm")
        with pytest.raises(StrictDataclassClassValidationError,
                           match=r"unknown region encoder 'no_such_encoder'; registered: \['native', 'timm'\]"):
            GeneBertRegionConfig(encoder="no_such_encoder")
        assert GeneBertRegionConfig(encoder="native").encoder == "native"
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == "fresh_copy"]:
            del sys.modules[name]


def test_paper_preset_uses_the_timm_encoder():
    region = GeneBertConfig.from_preset("paper").region_config
    assert region.encoder == "timm"
    assert region.encoder_kwargs == dict(model_name="swin_base_patch4_window12_384", input_mode="resize",
                                         img_size=[384, 384])
    # another encoder in an override does not inherit the preset's timm options
    assert GeneBertConfig.from_preset("paper", region_config=dict(encoder="native")).region_config.encoder_kwargs == {}


EXPECTED = {
    "native": (NativeRegionEncoder, {}),
    "timm": (TimmRegionEncoder, dict(model_name="swin_tiny_patch4_window7_224", input_mode="native", in_chans=3,
                                     embed_dim=24, depths=[1, 1], num_heads=[1, 2], window_size=4)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_folder_saved_with_the_old_fields_loads_converted(name, tmp_path, recwarn, capfd):
    folder = LEGACY / name
    assert OLD_KEYS & json.loads((folder / "config.json").read_text())["region_config"].keys()  # really the old format
    encoder_class, encoder_kwargs = EXPECTED[name]
    for load in (GeneBertConfig.from_pretrained, AutoConfig.from_pretrained):
        loaded = load(folder)
        assert type(loaded) is GeneBertConfig
        region = loaded.region_config
        assert region.encoder == name and region.encoder_kwargs == encoder_kwargs
        assert not OLD_KEYS & set(vars(region))
    assert not [w for w in recwarn if "timm_" in str(w.message) or "encoder_type" in str(w.message)]
    assert "encoder_type" not in capfd.readouterr().err  # converted quietly

    model = GeneBertModel(loaded)
    assert type(model.region_encoder) is encoder_class
    with torch.no_grad():
        _, pooled = model.region_encoder(torch.randn(2, R, TFS))
    assert pooled.shape == (2, model.region_encoder.output_dim)

    loaded.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())["region_config"]
    assert not OLD_KEYS & saved.keys()
    assert saved["encoder"] == name and saved.get("encoder_kwargs", {}) == encoder_kwargs
    assert GeneBertConfig.from_pretrained(tmp_path).region_config.encoder_kwargs == encoder_kwargs


def test_old_keyword_arguments_still_build():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        region = config(encoder_type="timm", timm_model_name="vit_tiny_patch16_224", timm_input_mode="native",
                        timm_kwargs=dict(embed_dim=24, depth=1, num_heads=2)).region_config
    assert region.encoder == "timm"
    assert region.encoder_kwargs == dict(model_name="vit_tiny_patch16_224", input_mode="native", in_chans=3,
                                         embed_dim=24, depth=1, num_heads=2)
