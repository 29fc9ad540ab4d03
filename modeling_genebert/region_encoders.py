"""Region-matrix encoders f_reg: a small native transformer over rows, or any timm backbone.

Input is the raw ``[batch, regions, num_tfs]`` matrix of PWM max log-odds scores (roughly
-20..+20 per TF, on no common scale), so both encoders first standardise it (:class:`TFNorm`).
Motif scanning never happens here: the matrix comes from the data side.

This file is exported as Hub remote code: it imports only torch, transformers and timm.
"""

import os
import re

import torch
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_genebert import GeneBertRegionConfig


class TFNorm(nn.Module):
    """Standardise each TF's scores over the batch's regions, then LayerNorm each region's TF vector.

    Raw max log-odds carry TF-specific offsets (a 20-bp motif never scores like a 6-bp one), so a
    per-region LayerNorm alone leaves every region looking alike: measured on the mini-atlas, region
    embeddings of unrelated samples had cosine 0.97 at init. A BatchNorm over TFs (running
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

    def __init__(self, config: GeneBertRegionConfig):
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


class NativeRegionEncoder(nn.Module):
    """Rows as tokens: LayerNorm(TF vector) -> Linear -> + row position -> transformer -> mean over rows.

    Works for any row count up to ``max_regions``; the fast default on CPUs (~1 ms per batch).
    """

    def __init__(self, config: GeneBertRegionConfig):
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


def _patch_size_hint(config: GeneBertRegionConfig) -> tuple[int, int]:
    """Patch size the native timm input must tile: timm_kwargs["patch_size"], else "patchN" in the name, else 1."""
    patch = (config.timm_kwargs or {}).get("patch_size")
    if patch is None:
        match = re.search(r"patch(\d+)", config.timm_model_name)
        patch = int(match.group(1)) if match else 1
    return (patch, patch) if isinstance(patch, int) else tuple(patch)


class TimmRegionEncoder(nn.Module):
    """A timm backbone (``num_classes=0``) over the region matrix seen as a 1-channel image.

    ``timm_input_mode="resize"`` (paper): the matrix is resized (bilinear, antialiased, so every row
    and column contributes) to the backbone's input size and repeated to ``timm_in_chans``.
    ``"native"``: the matrix is zero-padded at the bottom/right to an input size that the patch size
    tiles, so no row or column is silently dropped (a 4x4-patch Swin at height 10 would drop a row).
    """

    def __init__(self, config: GeneBertRegionConfig):
        super().__init__()
        self.config = config
        self.mode = config.timm_input_mode
        self.input_norm = TFNorm(config.num_tfs, eps=config.layer_norm_eps)
        self.img_size = self._resolve_img_size(config)
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

    @staticmethod
    def _resolve_img_size(config: GeneBertRegionConfig) -> tuple[int, int] | None:
        if config.timm_img_size is not None:
            return tuple(config.timm_img_size)
        if config.timm_input_mode == "resize":
            return None
        ph, pw = _patch_size_hint(config)
        return (-(-config.regions_per_sample // ph) * ph, -(-config.num_tfs // pw) * pw)

    def create_backbone(self, **extra) -> nn.Module:
        import timm

        kwargs = dict(self.config.timm_kwargs or {})
        if self.img_size is not None:
            kwargs["img_size"] = self.img_size
        kwargs.update(extra)
        kwargs.setdefault("pretrained", False)
        return timm.create_model(
            self.config.timm_model_name, num_classes=0, in_chans=self.config.timm_in_chans, **kwargs
        )

    def _check_tiling(self):
        h, w = self.img_size
        if self.mode == "native" and (h < self.config.regions_per_sample or w < self.config.num_tfs):
            raise ValueError(f"timm_img_size {self.img_size} is smaller than the region matrix")
        patch_embed = getattr(self.backbone, "patch_embed", None)
        if patch_embed is not None and hasattr(patch_embed, "patch_size"):
            ph, pw = patch_embed.patch_size
            if h % ph or w % pw:
                raise ValueError(
                    f"input size {self.img_size} is not tiled by the {ph}x{pw} patches of "
                    f"{self.config.timm_model_name}: the last rows/columns would be dropped; set timm_img_size"
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
        x = x.expand(-1, self.config.timm_in_chans, -1, -1).to(self.input_norm.weight.dtype)
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
    def load_timm_weights(self, file: str) -> dict:
        """ImageNet init from a local timm weights file, through timm's own loader (adapts channels, pos-embeds).

        The file must exist: without it timm would fall back to downloading from the Hub.
        """
        if not os.path.isfile(file):
            raise FileNotFoundError(f"{file}: no such timm weights file (GeneBERT never downloads weights)")
        loaded = self.create_backbone(pretrained=True, pretrained_cfg_overlay=dict(file=file))
        result = self.backbone.load_state_dict(loaded.state_dict(), strict=False)
        return {"missing_keys": list(result.missing_keys), "unexpected_keys": list(result.unexpected_keys)}


def build_region_encoder(config: GeneBertRegionConfig) -> nn.Module:
    if config.encoder_type == "native":
        return NativeRegionEncoder(config)
    return TimmRegionEncoder(config)
