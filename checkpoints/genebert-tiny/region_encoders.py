"""Region-matrix encoders f_reg, registered by name (as timm registers models).

Contract (:class:`RegionEncoder`): an ``nn.Module`` built as ``cls(region_config)`` that maps the
raw ``[batch, regions, num_tfs]`` matrix to ``(hidden, pooled)``, ``pooled`` of shape
``[batch, output_dim]``. ``region_config.encoder`` names the class, ``region_config.encoder_kwargs``
holds its own options, which its ``validate_config`` classmethod checks. A new encoder is one
decorated class in one file::

    @register_region_encoder("my_encoder")
    class MyEncoder(nn.Module):
        @classmethod
        def validate_config(cls, config): ...   # optional: check config.encoder_kwargs
        def __init__(self, config): ...         # sets self.output_dim
        def forward(self, region_matrix): ...   # -> (hidden, pooled)

Built-ins: "native" (a small transformer over rows) and "timm" (any timm backbone). The input is
PWM max log-odds scores on no common scale, so both first standardise it (:class:`TFNorm`). Motif
scanning never happens here: the matrix comes from the data side. The name -> class table lives in
``region_encoder_registry``, which the configuration validates against.

This file is exported as Hub remote code: it imports only torch, transformers, timm (when the
"timm" encoder is built) and its sibling region_encoder_registry.
"""

import os
import re
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedConfig
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer

from .region_encoder_registry import (
    REGION_ENCODERS,
    get_region_encoder_class,
    list_region_encoders,
    register_region_encoder,
    validate_region_encoder_config,
)


@runtime_checkable
class RegionEncoder(Protocol):
    """What GeneBERT needs of a region encoder (checked when one is created).

    Optional hooks: ``validate_config(config)`` (classmethod, raises ``ValueError`` on bad
    ``encoder_kwargs``; run by the config's validation and before construction),
    ``describe(config)`` (classmethod, one line for model cards), ``load_pretrained_weights(file)``
    (init from a local file) and ``reset_backbone()`` (re-initialise a third-party backbone that
    transformers built on the meta device; called instead of transformers' generic init).
    """

    output_dim: int

    def forward(self, region_matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[batch, regions, num_tfs]`` -> ``(hidden, pooled [batch, output_dim])``."""
        ...


def create_region_encoder(config: PreTrainedConfig) -> nn.Module:
    """Build the encoder ``config.encoder`` names, after its own validation; checks the contract."""
    validate_region_encoder_config(config)
    cls = get_region_encoder_class(config.encoder)
    encoder = cls(config)
    if not isinstance(encoder, nn.Module) or not isinstance(encoder, RegionEncoder):
        raise TypeError(f"region encoder {config.encoder!r} ({cls.__name__}) must be an nn.Module with output_dim and forward")
    return encoder


def describe_region_encoder(config: PreTrainedConfig) -> str:
    """One line for model cards: the encoder's ``describe``, else its name and ``encoder_kwargs``."""
    describe = getattr(REGION_ENCODERS.get(config.encoder), "describe", None)
    if describe is not None:
        return describe(config)
    options = ", ".join(f"{key}={value}" for key, value in config.encoder_kwargs.items())
    return f"`{config.encoder}`" + (f" ({options})" if options else "")


class TFNorm(nn.Module):
    """Standardise each TF's scores over the batch's regions, then LayerNorm each region's TF vector.

    Raw max log-odds carry TF-specific offsets (a 20-bp motif never scores like a 6-bp one), so a
    per-region LayerNorm alone leaves every region looking alike. A BatchNorm over TFs (running
    statistics at evaluation) removes the offsets first.
    """

    def __init__(self, num_tfs: int, eps: float):
        super().__init__()
        self.batch_norm = nn.BatchNorm1d(num_tfs, affine=False)
        self.layer_norm = nn.LayerNorm(num_tfs, eps=eps)

    @property
    def weight(self) -> torch.Tensor:
        return self.layer_norm.weight

    def forward(self, region_matrix: torch.Tensor) -> torch.Tensor:
        x = region_matrix.to(self.layer_norm.weight.dtype)
        x = self.batch_norm(x.reshape(-1, x.shape[-1])).reshape(x.shape)
        return self.layer_norm(x)


class RegionLayer(GradientCheckpointingLayer):
    """Pre-norm transformer layer over region rows (SDPA attention, GELU MLP)."""

    def __init__(self, config: PreTrainedConfig):
        super().__init__()
        h = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.dropout_p = config.hidden_dropout_prob
        self.norm1 = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.qkv = nn.Linear(h, 3 * h)
        self.out = nn.Linear(h, h)
        self.norm2 = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.fc1 = nn.Linear(h, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, h)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.num_heads, h // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout_p if self.training else 0.0)
        x = x + self.dropout(self.out(attn.transpose(1, 2).reshape(b, n, h)))
        return x + self.dropout(self.fc2(F.gelu(self.fc1(self.norm2(x)))))


@register_region_encoder("native")
class NativeRegionEncoder(nn.Module):
    """Rows as tokens: TFNorm -> Linear -> + row position -> transformer -> mean over rows.

    Works for any row count up to ``max_regions``; the fast default on CPUs. Its options are the
    region config's own fields (``hidden_size``, ``num_hidden_layers``, ...): no ``encoder_kwargs``.
    """

    @classmethod
    def validate_config(cls, config: PreTrainedConfig) -> None:
        if config.encoder_kwargs:
            raise ValueError(
                f"the native region encoder takes no encoder_kwargs (got {sorted(config.encoder_kwargs)}); "
                "set hidden_size, num_hidden_layers, ... on the region config"
            )
        if config.max_regions < config.regions_per_sample:
            raise ValueError(f"max_regions ({config.max_regions}) < regions_per_sample ({config.regions_per_sample})")
        if config.hidden_size % config.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({config.hidden_size}) is not a multiple of num_attention_heads ({config.num_attention_heads})"
            )

    @classmethod
    def describe(cls, config: PreTrainedConfig) -> str:
        return f"native transformer, {config.num_hidden_layers} layers, hidden {config.hidden_size}"

    def __init__(self, config: PreTrainedConfig):
        super().__init__()
        self.input_norm = TFNorm(config.num_tfs, eps=config.layer_norm_eps)
        self.input_proj = nn.Linear(config.num_tfs, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_regions, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(RegionLayer(config) for _ in range(config.num_hidden_layers))
        self.final_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.output_dim = config.hidden_size

    def forward(self, region_matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = region_matrix.shape[1]
        if n > self.position_embeddings.num_embeddings:
            raise ValueError(f"{n} regions exceed region_config.max_regions={self.position_embeddings.num_embeddings}")
        x = self.input_proj(self.input_norm(region_matrix))
        x = self.dropout(x + self.position_embeddings.weight[:n])
        for layer in self.layers:
            x = layer(x)
        x = self.final_norm(x)
        return x, x.mean(dim=1)


@register_region_encoder("timm")
class TimmRegionEncoder(nn.Module):
    """A timm backbone (``num_classes=0``) over the region matrix seen as a 1-channel image.

    ``encoder_kwargs``: ``model_name`` (required), ``input_mode``, ``img_size``, ``in_chans`` (default
    3); every other key goes to ``timm.create_model``. ``input_mode="resize"`` (default, the paper's):
    the matrix is resized (bilinear, antialiased, so every row and column contributes) to the
    backbone's input size and repeated to ``in_chans``. ``"native"``: the matrix is zero-padded at the
    bottom/right to an input size that the patch size tiles, so no row or column is silently dropped
    (a 4x4-patch Swin at height 10 would drop a row).
    """

    OPTIONS = ("model_name", "input_mode", "img_size", "in_chans")
    INPUT_MODES = ("resize", "native")

    @classmethod
    def validate_config(cls, config: PreTrainedConfig) -> None:
        kwargs = config.encoder_kwargs
        if not isinstance(kwargs.get("model_name"), str):
            raise ValueError("the timm region encoder needs encoder_kwargs['model_name'] (a timm model name)")
        if kwargs.get("input_mode", "resize") not in cls.INPUT_MODES:
            raise ValueError(f"encoder_kwargs['input_mode'] must be 'resize' or 'native', got {kwargs['input_mode']!r}")
        img_size = kwargs.get("img_size")
        if img_size is not None and (
            not isinstance(img_size, (list, tuple)) or len(img_size) != 2 or not all(isinstance(v, int) for v in img_size)
        ):
            raise ValueError(f"encoder_kwargs['img_size'] must be [height, width], got {img_size!r}")
        if not isinstance(kwargs.get("in_chans", 3), int):
            raise ValueError(f"encoder_kwargs['in_chans'] must be an int, got {kwargs['in_chans']!r}")
        if "num_classes" in kwargs:
            raise ValueError("encoder_kwargs may not set num_classes: the backbone is built headless (num_classes=0)")

    @classmethod
    def describe(cls, config: PreTrainedConfig) -> str:
        kwargs = config.encoder_kwargs
        return f"timm `{kwargs['model_name']}` ({kwargs.get('input_mode', 'resize')} input)"

    def __init__(self, config: PreTrainedConfig):
        super().__init__()
        self.config = config
        options = config.encoder_kwargs
        self.model_name = options["model_name"]
        self.mode = options.get("input_mode", "resize")
        self.in_chans = options.get("in_chans", 3)
        self.timm_kwargs = {k: v for k, v in options.items() if k not in self.OPTIONS}
        self.input_norm = TFNorm(config.num_tfs, eps=config.layer_norm_eps)
        self.img_size = self._resolve_img_size(options.get("img_size"))
        self.backbone = self.create_backbone()
        if self.img_size is None:  # resize mode at the backbone's default input size
            self.img_size = tuple(self.backbone.pretrained_cfg["input_size"][1:])
        self._check_tiling()
        self.output_dim = self.backbone.num_features
        # from_pretrained builds on the meta device: then reset_backbone() must restore timm's init and
        # buffers; otherwise timm's own init is kept and transformers' generic init skips the backbone
        self.built_on_meta = any(p.is_meta for p in self.backbone.parameters())
        if not self.built_on_meta:
            for module in self.backbone.modules():
                module._is_hf_initialized = True

    def _patch_size_hint(self) -> tuple[int, int]:
        """Patch size the native input must tile: the ``patch_size`` kwarg, else "patchN" in the name, else 1."""
        patch = self.timm_kwargs.get("patch_size")
        if patch is None:
            match = re.search(r"patch(\d+)", self.model_name)
            patch = int(match.group(1)) if match else 1
        return (patch, patch) if isinstance(patch, int) else tuple(patch)

    def _resolve_img_size(self, img_size) -> tuple[int, int] | None:
        if img_size is not None:
            return tuple(img_size)
        if self.mode == "resize":
            return None
        ph, pw = self._patch_size_hint()
        return (-(-self.config.regions_per_sample // ph) * ph, -(-self.config.num_tfs // pw) * pw)

    def create_backbone(self, **extra) -> nn.Module:
        import timm

        kwargs = dict(self.timm_kwargs)
        if self.img_size is not None:
            kwargs["img_size"] = self.img_size
        kwargs.update(extra)
        kwargs.setdefault("pretrained", False)
        return timm.create_model(self.model_name, num_classes=0, in_chans=self.in_chans, **kwargs)

    def _check_tiling(self):
        h, w = self.img_size
        if self.mode == "native" and (h < self.config.regions_per_sample or w < self.config.num_tfs):
            raise ValueError(f"img_size {self.img_size} is smaller than the region matrix")
        patch_embed = getattr(self.backbone, "patch_embed", None)
        if patch_embed is not None and hasattr(patch_embed, "patch_size"):
            ph, pw = patch_embed.patch_size
            if h % ph or w % pw:
                raise ValueError(
                    f"input size {self.img_size} is not tiled by the {ph}x{pw} patches of "
                    f"{self.model_name}: the last rows/columns would be dropped; set encoder_kwargs['img_size']"
                )

    def forward(self, region_matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.input_norm(region_matrix).unsqueeze(1)
        h, w = self.img_size
        if self.mode == "resize":
            x = F.interpolate(x.float(), size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        else:
            if x.shape[2] > h:
                raise ValueError(f"{x.shape[2]} regions exceed the native timm input height {h}")
            x = F.pad(x, (0, w - x.shape[3], 0, h - x.shape[2]))
        x = x.expand(-1, self.in_chans, -1, -1).to(self.input_norm.weight.dtype)
        features = self.backbone.forward_features(x)
        return features, self.backbone.forward_head(features, pre_logits=True)

    @torch.no_grad()
    def reset_backbone(self):
        """Copy a freshly built backbone's init into every tensor not loaded from a checkpoint.

        transformers builds models on the meta device and leaves timm's non-persistent buffers
        (e.g. Swin's relative_position_index) empty; only timm knows how to rebuild them.
        """
        if not self.built_on_meta:
            return
        self.built_on_meta = False
        with torch.device("cpu"):
            fresh = self.create_backbone()
        fresh_tensors = {**dict(fresh.named_parameters()), **dict(fresh.named_buffers())}
        for name, tensor in [*self.backbone.named_parameters(), *self.backbone.named_buffers()]:
            init.copy_(tensor, fresh_tensors[name])

    @torch.no_grad()
    def load_pretrained_weights(self, file: str) -> dict:
        """ImageNet init from a local timm weights file, through timm's own loader (adapts channels, pos-embeds).

        The file must exist: without it timm would fall back to downloading from the Hub.
        """
        if not os.path.isfile(file):
            raise FileNotFoundError(f"{file}: no such timm weights file (GeneBERT never downloads weights)")
        loaded = self.create_backbone(pretrained=True, pretrained_cfg_overlay=dict(file=file))
        result = self.backbone.load_state_dict(loaded.state_dict(), strict=False)
        return {"missing_keys": list(result.missing_keys), "unexpected_keys": list(result.unexpected_keys)}


__all__ = [
    "RegionEncoder",
    "NativeRegionEncoder",
    "TimmRegionEncoder",
    "TFNorm",
    "create_region_encoder",
    "describe_region_encoder",
    "get_region_encoder_class",
    "list_region_encoders",
    "register_region_encoder",
]
