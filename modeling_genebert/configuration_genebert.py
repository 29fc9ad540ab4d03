"""GeneBERT configuration: a composite config in the style of ``CLIPConfig``.

One sub-config per modality (sequence encoder = BERT over k-mers, region encoder =
native transformer or any timm backbone over the ``regions x TFs`` matrix), plus the
projection / SRM temperature and the three loss weights of the paper's Eq. 4, so every
ablation of Table 5 is a config switch.

This file is exported verbatim as Hub remote code: it imports only transformers.
"""

import math

from huggingface_hub.dataclasses import strict
from transformers import BertConfig, PreTrainedConfig

# how a sequence's hidden states become one vector (srm_pooling, classifier_pooling)
POOLINGS = ("mean", "cls")


@strict
class GeneBertSequenceConfig(BertConfig):
    """BERT fields for the k-mer sequence encoder; ``vocab_size`` follows from ``kmer``."""

    model_type = "genebert_sequence"
    base_config_key = "sequence_config"

    kmer: int = 6
    vocab_size: int = 5 + 4**6

    def validate_architecture(self):
        if not 3 <= self.kmer <= 8:
            raise ValueError(f"kmer must be between 3 and 8, got {self.kmer}")
        if self.vocab_size < 5 + 4**self.kmer:
            raise ValueError(
                f"vocab_size={self.vocab_size} is smaller than the {5 + 4**self.kmer} tokens of a k={self.kmer} vocabulary"
            )
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads ({self.num_attention_heads})"
            )


@strict
class GeneBertRegionConfig(PreTrainedConfig):
    """Region-matrix encoder: ``encoder_type`` "native" (small transformer over rows) or "timm"."""

    model_type = "genebert_region"
    base_config_key = "region_config"

    num_tfs: int = 579
    regions_per_sample: int = 10
    encoder_type: str = "native"
    # native encoder
    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 256
    hidden_dropout_prob: float | int = 0.1
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    max_regions: int = 64  # size of the native encoder's row-position table (any row count up to this works)
    # timm encoder
    timm_model_name: str = "swin_tiny_patch4_window7_224"
    timm_input_mode: str = "resize"  # "resize" (paper) or "native"
    timm_img_size: list[int] | tuple[int, int] | None = None
    timm_in_chans: int = 3
    timm_kwargs: dict | None = None

    def validate_architecture(self):
        if self.max_regions < self.regions_per_sample:
            raise ValueError(f"max_regions ({self.max_regions}) < regions_per_sample ({self.regions_per_sample})")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads ({self.num_attention_heads})"
            )
        if self.encoder_type not in ("native", "timm"):
            raise ValueError(f"encoder_type must be 'native' or 'timm', got {self.encoder_type!r}")
        if self.timm_input_mode not in ("resize", "native"):
            raise ValueError(f"timm_input_mode must be 'resize' or 'native', got {self.timm_input_mode!r}")
        if self.num_tfs < 1 or self.regions_per_sample < 1:
            raise ValueError("num_tfs and regions_per_sample must be positive")


@strict
class GeneBertConfig(PreTrainedConfig):
    """Composite GeneBERT config (sequence + region sub-configs, projection, loss weights)."""

    model_type = "genebert"
    sub_configs_defaults = {
        "sequence_config": GeneBertSequenceConfig,
        "region_config": GeneBertRegionConfig,
    }

    sequence_config: dict | GeneBertSequenceConfig | None = None
    region_config: dict | GeneBertRegionConfig | None = None
    projection_dim: int = 256
    srm_temperature_init: float = 0.07
    mgm_weight: float | int = 1.0
    ngsp_weight: float | int = 1.0
    srm_weight: float | int = 0.5
    # E_seq for SRM: "mean" (masked mean of the last hidden states) or "cls" (the [CLS] state, as
    # DESIGN.md reads the paper). Measured on the mini-atlas (tiny preset, from scratch): with "cls"
    # the [CLS] states of unrelated samples start at cosine 0.99999 and SRM stayed at chance for
    # 80 steps; with "mean" validation retrieval reached 19% (chance 3%) in 100 steps.
    srm_pooling: str = "mean"
    # sequence classification: concatenate the region embedding to [CLS] (zeros when no region_matrix is given)
    classifier_region_fusion: bool = False
    # sequence classification features: "cls" (BERT's pooler on [CLS], as the paper) or "mean" (masked
    # mean of the last hidden states, as ModernBERT's option): the representation SRM pre-trains
    # when srm_pooling="mean", whereas the [CLS] pooler learns only from NGSP.
    classifier_pooling: str = "cls"
    initializer_range: float = 0.02
    pad_token_id: int | None = 0
    # the MGM decoder shares the k-mer embedding matrix (read by transformers' weight tying)
    tie_word_embeddings: bool = True

    def validate_architecture(self):
        for name in ("srm_pooling", "classifier_pooling"):
            if getattr(self, name) not in POOLINGS:
                raise ValueError(f"{name} must be 'mean' or 'cls', got {getattr(self, name)!r}")
        if self.srm_temperature_init <= 0:
            raise ValueError(f"srm_temperature_init must be positive, got {self.srm_temperature_init}")

    @property
    def logit_scale_init_value(self) -> float:
        return math.log(1.0 / self.srm_temperature_init)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "GeneBertConfig":
        """Named presets: "tiny" (tests, CPU demos) and "paper" (BERT-base + Swin-B-384)."""
        presets = {
            "tiny": dict(
                sequence_config=dict(
                    kmer=6, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=512, max_position_embeddings=512,
                ),
                region_config=dict(encoder_type="native", hidden_size=64, num_hidden_layers=1,
                                   num_attention_heads=4, intermediate_size=128),
                projection_dim=64,
            ),
            "paper": dict(
                sequence_config=dict(kmer=6),
                region_config=dict(
                    encoder_type="timm", timm_model_name="swin_base_patch4_window12_384",
                    timm_input_mode="resize", timm_img_size=[384, 384],
                ),
                projection_dim=256,
                srm_pooling="cls",
            ),
        }
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(presets)}")
        kwargs = presets[name]
        for key in ("sequence_config", "region_config"):
            if key in overrides and isinstance(overrides[key], dict):
                kwargs[key] = {**kwargs[key], **overrides.pop(key)}
        kwargs.update(overrides)
        seq = kwargs["sequence_config"]
        seq.setdefault("vocab_size", 5 + 4 ** seq.get("kmer", 6))
        return cls(**kwargs)


__all__ = ["GeneBertConfig", "GeneBertSequenceConfig", "GeneBertRegionConfig"]
