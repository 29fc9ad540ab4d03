"""GeneBERT configuration: a composite config in the style of ``CLIPConfig``.

One sub-config per modality (sequence encoder = BERT over k-mers, region encoder = a
registered encoder over the ``regions x TFs`` matrix, named by ``encoder`` with its options in
``encoder_kwargs``), plus the projection / SRM temperature and the three loss weights of the
paper's Eq. 4, so every ablation of Table 5 is a config switch.

This file is exported verbatim as Hub remote code: it imports transformers, huggingface_hub and
its sibling region_encoder_registry, and (inside ``validate_architecture``) region_encoders, whose
import registers the built-in encoders.
"""

import math
from dataclasses import field

from huggingface_hub.dataclasses import strict
from transformers import BertConfig, PreTrainedConfig

from .region_encoder_registry import validate_region_encoder_config

# how a sequence's hidden states become one vector (srm_pooling, classifier_pooling)
POOLINGS = ("mean", "cls")
# what NGSP classifies: "cls" (BERT's pooler on [CLS], as the paper) or "segments" (the two segments'
# masked means compared: [A, B, |A - B|, A * B], as sentence-pair models compare two inputs)
NGSP_POOLINGS = ("cls", "segments")

# region-config fields written before the region-encoder registry: read (converted), never written
LEGACY_TIMM_FIELDS = {
    "timm_model_name": "model_name", "timm_input_mode": "input_mode", "timm_img_size": "img_size",
    "timm_in_chans": "in_chans",
}
LEGACY_TIMM_DEFAULTS = {"model_name": "swin_tiny_patch4_window7_224", "input_mode": "resize", "in_chans": 3}


def kmer_vocab_size(k: int) -> int:
    """Tokens of a k-mer vocabulary: the 4**k k-mers and the five specials ([PAD] [UNK] [CLS] [SEP] [MASK])."""
    return 5 + 4**k


@strict
class GeneBertSequenceConfig(BertConfig):
    """BERT fields for the k-mer sequence encoder; ``vocab_size`` follows from ``kmer``.

    Every :class:`~transformers.BertConfig` field (``hidden_size``, ``num_hidden_layers``,
    ``num_attention_heads``, ``intermediate_size``, ``max_position_embeddings``, dropouts, ...) means what
    it means there; two are GeneBERT's own.

    Args:
        kmer (`int`, *optional*, defaults to 6):
            Length of the overlapping k-mers the tokenizer makes (3-8). A folder's tokenizer must have the
            same k (checked when a command loads the folder).
        vocab_size (`int`, *optional*, defaults to 4101):
            Tokens of the vocabulary: at least ``5 + 4**kmer`` (the k-mers and [PAD] [UNK] [CLS] [SEP] [MASK]).
    """

    model_type = "genebert_sequence"
    base_config_key = "sequence_config"

    kmer: int = 6
    vocab_size: int = kmer_vocab_size(6)

    def validate_architecture(self):
        if not 3 <= self.kmer <= 8:
            raise ValueError(f"kmer must be between 3 and 8, got {self.kmer}")
        if self.vocab_size < kmer_vocab_size(self.kmer):
            raise ValueError(f"vocab_size={self.vocab_size} is smaller than the {kmer_vocab_size(self.kmer)} tokens "
                             f"of a k={self.kmer} vocabulary")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads ({self.num_attention_heads})"
            )


@strict
class GeneBertRegionConfig(PreTrainedConfig):
    """Region-matrix encoder: ``encoder`` names a registered encoder (built-ins "native", a small
    transformer over rows, and "timm", any timm backbone), ``encoder_kwargs`` holds its options.

    Configs saved with the older flat fields (``encoder_type``, ``timm_model_name``,
    ``timm_input_mode``, ``timm_img_size``, ``timm_in_chans``, ``timm_kwargs``) load converted.

    Args:
        num_tfs (`int`, *optional*, defaults to 579):
            Columns of the region matrix: one per motif (579 JASPAR 2018 CORE vertebrate motifs, as the paper).
        regions_per_sample (`int`, *optional*, defaults to 10):
            Rows of the region matrix of one pre-training sample (the paper's 10 regions).
        encoder (`str`, *optional*, defaults to `"native"`):
            Name of a registered region encoder (:mod:`.region_encoder_registry`).
        encoder_kwargs (`dict`, *optional*):
            Options of that encoder, checked by its class (timm: ``model_name``, ``input_mode``, ``img_size``,
            ``in_chans`` and any ``timm.create_model`` keyword).
        hidden_size, num_hidden_layers, num_attention_heads, intermediate_size (`int`):
            Width, depth, heads and feed-forward width of the native encoder (a transformer over the rows).
        hidden_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout in the native encoder.
        layer_norm_eps (`float`, *optional*, defaults to 1e-12):
            Epsilon of its layer norms.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of its weight initialisation.
        max_regions (`int`, *optional*, defaults to 64):
            Size of the native encoder's row-position table: any row count up to this works.
    """

    model_type = "genebert_region"
    base_config_key = "region_config"

    num_tfs: int = 579
    regions_per_sample: int = 10
    encoder: str = "native"
    # options of the named encoder, validated by its class (timm: model_name, input_mode, img_size,
    # in_chans, and any timm.create_model keyword)
    encoder_kwargs: dict = field(default_factory=dict)
    # native encoder
    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 256
    hidden_dropout_prob: float | int = 0.1
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    max_regions: int = 64  # size of the native encoder's row-position table (any row count up to this works)

    def __post_init__(self, **kwargs):
        if "encoder_type" in kwargs or "timm_kwargs" in kwargs or LEGACY_TIMM_FIELDS.keys() & kwargs.keys():
            self._convert_legacy_fields(kwargs)
        super().__post_init__(**kwargs)

    def _convert_legacy_fields(self, kwargs: dict) -> None:
        """``encoder_type`` + ``timm_*`` (popped from ``kwargs``) -> ``encoder`` + ``encoder_kwargs``."""
        encoder_type = kwargs.pop("encoder_type", None)
        legacy = {new: kwargs.pop(old) for old, new in LEGACY_TIMM_FIELDS.items() if old in kwargs}
        timm_kwargs = kwargs.pop("timm_kwargs", None) or {}
        if encoder_type is not None:
            self.encoder = encoder_type
        if self.encoder == "timm":
            legacy = {key: value for key, value in legacy.items() if value is not None}
            self.encoder_kwargs = {**LEGACY_TIMM_DEFAULTS, **legacy, **timm_kwargs, **self.encoder_kwargs}

    def validate_architecture(self):
        if self.num_tfs < 1 or self.regions_per_sample < 1:
            raise ValueError("num_tfs and regions_per_sample must be positive")
        # importing the built-in encoders registers them, so a config is judged alike whatever was imported first
        from .region_encoders import NativeRegionEncoder, TimmRegionEncoder  # noqa: F401

        validate_region_encoder_config(self)


@strict
class GeneBertConfig(PreTrainedConfig):
    """Composite GeneBERT config (sequence + region sub-configs, projection, loss weights), as ``CLIPConfig``.

    Args:
        sequence_config (`dict` or :class:`GeneBertSequenceConfig`, *optional*):
            The k-mer BERT (defaults: BERT-base fields, k 6).
        region_config (`dict` or :class:`GeneBertRegionConfig`, *optional*):
            The region-matrix encoder.
        projection_dim (`int`, *optional*, defaults to 256):
            Dimension of the shared space SRM compares sequences and region matrices in (both are projected
            into it, then L2-normalised).
        srm_temperature_init (`float`, *optional*, defaults to 0.07):
            Initial temperature of SRM's InfoNCE; learnt as ``logit_scale = log(1 / temperature)``, as CLIP.
        mgm_weight, ngsp_weight, srm_weight (`float`, *optional*, defaults to 1.0, 1.0, 0.5):
            Weights of the three losses in the paper's Eq. 4 (masked genome modelling, next genome-segment
            prediction, sequence-region matching); 0 switches a loss off (the Table 5 ablations).
        srm_pooling (`str`, *optional*, defaults to `"mean"`):
            The sequence vector SRM reads: ``"mean"`` (masked mean of the last hidden states) or ``"cls"``
            (the [CLS] state, the paper's reading).
        classifier_region_fusion (`bool`, *optional*, defaults to `False`):
            Sequence classification concatenates the region embedding to the sequence features (zeros when
            no ``region_matrix`` is given).
        classifier_region_wide (`bool`, *optional*, defaults to `False`):
            With ``classifier_region_fusion``, also add a linear read-out of the standardised region matrix
            (each TF's best score over the rows) to the logits: the "wide" half of wide-and-deep, so motif
            evidence reaches the decision directly rather than only through the unit-norm region embedding.
        classifier_pooling (`str`, *optional*, defaults to `"cls"`):
            Sequence-classification features: ``"cls"`` (BERT's pooler on [CLS]) or ``"mean"``.
        ngsp_pooling (`str`, *optional*, defaults to `"cls"`):
            NGSP features: ``"cls"`` (the paper) or ``"segments"`` (the two segments' means compared).
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the initialisation of GeneBERT's own layers.
        pad_token_id (`int`, *optional*, defaults to 0):
            Id of [PAD].
        tie_word_embeddings (`bool`, *optional*, defaults to `True`):
            The MGM decoder shares the k-mer embedding matrix.
    """

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
    # E_seq for SRM: "mean" (masked mean of the last hidden states, the representation a mean-pooled
    # classifier reads) or "cls" (the [CLS] state, the paper's reading; the paper preset uses it)
    srm_pooling: str = "mean"
    # sequence classification: concatenate the region embedding to [CLS] (zeros when no region_matrix is given)
    classifier_region_fusion: bool = False
    # with fusion: a linear path from the standardised region matrix (max over rows) to the logits ("wide and deep")
    classifier_region_wide: bool = False
    # sequence classification features: "cls" (BERT's pooler on [CLS], as the paper) or "mean" (masked
    # mean of the last hidden states, as ModernBERT's option): the representation SRM pre-trains
    # when srm_pooling="mean", whereas the [CLS] pooler learns only from NGSP.
    classifier_pooling: str = "cls"
    # NGSP features: "cls" (the paper; the default, so checkpoints saved before this option load as
    # they were) or "segments". A randomly initialised [CLS] starts out the same for every input, so
    # NGSP learns from it slowly and unsteadily; comparing the segments gives the head a per-pair
    # signal from the first step. The tiny and small presets use "segments", the paper preset "cls".
    ngsp_pooling: str = "cls"
    initializer_range: float = 0.02
    pad_token_id: int | None = 0
    # the MGM decoder shares the k-mer embedding matrix (read by transformers' weight tying)
    tie_word_embeddings: bool = True

    def validate_architecture(self):
        for name in ("srm_pooling", "classifier_pooling"):
            if getattr(self, name) not in POOLINGS:
                raise ValueError(f"{name} must be 'mean' or 'cls', got {getattr(self, name)!r}")
        if self.ngsp_pooling not in NGSP_POOLINGS:
            raise ValueError(f"ngsp_pooling must be one of {NGSP_POOLINGS}, got {self.ngsp_pooling!r}")
        if self.srm_temperature_init <= 0:
            raise ValueError(f"srm_temperature_init must be positive, got {self.srm_temperature_init}")

    @property
    def logit_scale_init_value(self) -> float:
        return math.log(1.0 / self.srm_temperature_init)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "GeneBertConfig":
        """Named presets: "tiny" (tests, CPU demos), "small" (4 layers x 256: pre-training plus
        fine-tuning of one task within a few CPU-hours) and "paper" (BERT-base + Swin-B-384).

        All keep k = 6 (DNABERT's best k, so DNABERT tokenizers and checkpoints load unchanged) and
        512 positions (10 regions x 50 bp in two segments). ``overrides`` replace preset fields; a
        ``sequence_config`` / ``region_config`` dict is merged into the preset's.
        """
        presets = {
            "tiny": dict(
                sequence_config=dict(
                    kmer=6, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=512, max_position_embeddings=512,
                ),
                region_config=dict(encoder="native", hidden_size=64, num_hidden_layers=1,
                                   num_attention_heads=4, intermediate_size=128),
                projection_dim=64,
                ngsp_pooling="segments",
            ),
            "small": dict(
                sequence_config=dict(
                    kmer=6, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                    intermediate_size=1024, max_position_embeddings=512,
                ),
                region_config=dict(encoder="native", hidden_size=128, num_hidden_layers=2,
                                   num_attention_heads=4, intermediate_size=256),
                projection_dim=128,
                ngsp_pooling="segments",
            ),
            "paper": dict(
                sequence_config=dict(kmer=6),
                region_config=dict(
                    encoder="timm",
                    encoder_kwargs=dict(model_name="swin_base_patch4_window12_384", input_mode="resize",
                                        img_size=[384, 384]),
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
                override = overrides.pop(key)
                if "encoder" in override and "encoder_kwargs" not in override:  # another encoder: not the preset's options
                    kwargs[key].pop("encoder_kwargs", None)
                kwargs[key] = {**kwargs[key], **override}
        kwargs.update(overrides)
        seq = kwargs["sequence_config"]
        seq.setdefault("vocab_size", kmer_vocab_size(seq.get("kmer", 6)))
        return cls(**kwargs)


__all__ = ["GeneBertConfig", "GeneBertSequenceConfig", "GeneBertRegionConfig", "kmer_vocab_size"]
