"""GeneBERT models: BERT over k-mers + a region-matrix encoder, aligned by sequence-region matching.

The sequence encoder is transformers' own ``BertModel`` (SDPA, gradient checkpointing), kept
under the attribute ``bert`` with BERT's head names (``cls.predictions``, ``cls.seq_relationship``)
so DNABERT / BERT checkpoints map onto it key by key. Pre-training losses (paper Eq. 1-4):

* MGM  -- cross-entropy of the tied k-mer decoder over positions whose label is not -100;
* NGSP -- cross-entropy of a 2-way head (0 = B follows A, 1 = B is random) on BERT's pooled [CLS]
  (``ngsp_pooling="cls"``, as the paper) or on the two segments' masked means compared
  (``ngsp_pooling="segments"``, the tiny and small presets);
* SRM  -- the paper's Eq. 3 in its standard, numerically stable CLIP form: L2-normalised
  projections of the sequence state (the masked mean of the last hidden states, or the [CLS]
  state with ``srm_pooling="cls"`` as the paper preset) and of the pooled region encoding,
  cosine logits times a learnable scale exp(s) (s initialised to log(1/srm_temperature_init),
  clamped to <= log 100 as in CLIP), symmetric cross-entropy over the b x b batch matrix
  (diagonal = true pairs).

Total loss = mgm_weight * MGM + ngsp_weight * NGSP + srm_weight * SRM; a component whose weight is 0
or whose inputs are absent is not computed and is returned as None.

``GENEBERT_HEADS`` lists every head once, by the transformers Auto class that serves it: the package
registers them from it and ``save_pretrained`` writes them all into ``auto_map``. DNABERT / BERT
checkpoint import lives in ``modeling_genebert.convert_checkpoints`` (not remote code).

Load policy (the account of what did not load, the NaN / inf weight check) lives in ``loading``.

This file is exported as Hub remote code: it imports torch, transformers and its siblings
configuration_genebert, loading and region_encoders (which imports timm when a timm encoder is
built).
"""

import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertModel, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import MaskedLMOutput, SequenceClassifierOutput, TokenClassifierOutput
from transformers.models.bert.modeling_bert import BertLMPredictionHead, BertOnlyMLMHead, BertPreTrainingHeads
from transformers.utils import ModelOutput, logging
from transformers.utils.generic import can_return_tuple

from .configuration_genebert import GeneBertConfig
from .loading import from_pretrained_with_report, no_progress_bars
from .region_encoders import NativeRegionEncoder, TimmRegionEncoder, create_region_encoder

logger = logging.get_logger(__name__)

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP's clamp on the learnable temperature


@dataclass
class GeneBertModelOutput(ModelOutput):
    """Sequence states, pooled [CLS], region encoding and both L2-normalised projections.

    ``region_hidden`` is the native encoder's per-row states ``[batch, regions, hidden]`` or the timm
    backbone's unpooled features (backbone-specific layout); ``logit_scale`` is the SRM multiplier
    exp(s), already clamped.
    """

    last_hidden_state: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    region_hidden: torch.Tensor | None = None
    region_pooled: torch.Tensor | None = None
    sequence_embeds: torch.Tensor | None = None
    region_embeds: torch.Tensor | None = None
    logit_scale: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


@dataclass
class GeneBertForPreTrainingOutput(ModelOutput):
    """Eq. 4 total and each component (None when not computed), plus NGSP and SRM accuracies.

    ``ngsp_accuracy`` is the share of pairs whose next / not-next call is right (chance 0.5);
    ``srm_accuracy`` is the mean of sequence->region and region->sequence in-batch top-1 accuracy.
    """

    loss: torch.Tensor | None = None
    mgm_loss: torch.Tensor | None = None
    ngsp_loss: torch.Tensor | None = None
    ngsp_accuracy: torch.Tensor | None = None
    srm_loss: torch.Tensor | None = None
    srm_accuracy: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None
    sequence_embeds: torch.Tensor | None = None
    region_embeds: torch.Tensor | None = None
    logit_scale: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


def srm_loss_and_accuracy(
    sequence_embeds: torch.Tensor, region_embeds: torch.Tensor, logit_scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE over the batch (CLIP form of Eq. 3) and mean two-way top-1 retrieval accuracy."""
    logits = logit_scale.float() * sequence_embeds.float() @ region_embeds.float().t()  # [seq, region]
    target = torch.arange(logits.shape[0], device=logits.device)
    loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
    with torch.no_grad():
        accuracy = ((logits.argmax(1) == target).float().mean() + (logits.argmax(0) == target).float().mean()) / 2
    return loss, accuracy


def sparse_mgm_loss(prediction_head: nn.Module, hidden_states: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """MGM cross-entropy with the k-mer decoder run on labelled positions only.

    Only the masked 15-20% of tokens carry labels, so decoding every token into the 4**k vocabulary
    would spend most of the decoder's work on positions no loss reads. Same value as the dense loss
    with ``ignore_index=-100`` (NaN as well when nothing is labelled).
    """
    selected = labels != -100
    logits = prediction_head(hidden_states[selected])
    return F.cross_entropy(logits.float(), labels[selected])


class GeneBertPreTrainedModel(PreTrainedModel):
    config_class = GeneBertConfig
    config: GeneBertConfig
    base_model_prefix = "genebert"
    input_modalities = ("text",)
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _no_split_modules = ["BertEmbeddings", "BertLayer", "RegionLayer"]
    # losses are per-batch means: Trainer must not rescale them by a global token count
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module):
        """Generic init, plus what it cannot know; the transformers.init functions skip loaded tensors."""
        super()._init_weights(module)
        if isinstance(module, BertLMPredictionHead):
            init.zeros_(module.bias)
        elif isinstance(module, GeneBertModel) and module.logit_scale is not None:
            init.constant_(module.logit_scale, self.config.logit_scale_init_value)

    def _initialize_weights(self, module, is_custom_code: bool = False):
        # a region encoder over a third-party backbone (timm) re-initialises it itself; transformers
        # would skip it in custom code anyway (no direct parameters)
        if hasattr(module, "reset_backbone"):
            module.reset_backbone()
            module._is_hf_initialized = True
            return
        super()._initialize_weights(module, is_custom_code)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """transformers' ``from_pretrained`` under GeneBERT's load policy (see ``loading``)."""
        return from_pretrained_with_report(super().from_pretrained, pretrained_model_name_or_path, *args, **kwargs)

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Also list every registered GeneBERT head in ``auto_map``: one folder serves all AutoModel* classes."""
        auto_map = dict(getattr(self.config, "auto_map", None) or {})
        for cls in GENEBERT_HEADS.values():
            if cls._auto_class is not None:
                auto_map.setdefault(cls._auto_class, f"{cls.__module__.split('.')[-1]}.{cls.__name__}")
        if auto_map:
            self.config.auto_map = auto_map
        with no_progress_bars():
            return super().save_pretrained(save_directory, *args, **kwargs)

    def get_input_embeddings(self):
        return self.base_model.bert.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.base_model.bert.embeddings.word_embeddings = value

    def load_region_encoder_weights(self, file: str | os.PathLike) -> dict:
        """Init the region encoder from a local weights file, e.g. ImageNet for timm (Algorithm 1, line 4)."""
        encoder = getattr(self.base_model, "region_encoder", None)
        if encoder is None:
            raise ValueError(f"{type(self).__name__} has no region encoder")
        if not hasattr(encoder, "load_pretrained_weights"):
            raise ValueError(
                f"region encoder {self.config.region_config.encoder!r} loads no weights file; "
                "load_region_encoder_weights needs one that does, e.g. region_config.encoder='timm'"
            )
        return encoder.load_pretrained_weights(str(file))


def masked_mean(hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over real (non-padding) tokens, so padding never changes a sequence's representation."""
    if attention_mask is None:
        return hidden_states.mean(dim=1)
    weights = attention_mask.unsqueeze(-1).to(hidden_states.dtype)
    return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


class GeneBertModel(GeneBertPreTrainedModel):
    """Both encoders and the SRM projections; returns a :class:`GeneBertModelOutput`.

    ``add_region_encoder=False`` (masked LM, token classification) drops the region encoder, the
    projections and the logit scale, so those models carry no unused parameters.
    """

    def __init__(self, config: GeneBertConfig, add_pooling_layer: bool = True, add_region_encoder: bool = True):
        super().__init__(config)
        self.bert = BertModel._from_config(config.sequence_config, add_pooling_layer=add_pooling_layer)
        self.region_encoder = self.sequence_projection = self.region_projection = self.logit_scale = None
        if add_region_encoder:
            self.region_encoder = create_region_encoder(config.region_config)
            self.sequence_projection = nn.Linear(config.sequence_config.hidden_size, config.projection_dim, bias=False)
            self.region_projection = nn.Linear(self.region_encoder.output_dim, config.projection_dim, bias=False)
            self.logit_scale = nn.Parameter(torch.tensor(config.logit_scale_init_value))
        self.post_init()

    def _srm_pool(self, last_hidden_state: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """E_seq before projection: the [CLS] state or the mean over real (non-padding) tokens."""
        if self.config.srm_pooling == "cls":
            return last_hidden_state[:, 0]
        return masked_mean(last_hidden_state, attention_mask)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        region_matrix: torch.Tensor | None = None,
        **kwargs,
    ) -> GeneBertModelOutput:
        r"""
        region_matrix (`torch.FloatTensor` of shape `(batch_size, regions, num_tfs)`, *optional*):
            Raw PWM max log-odds scores, one row per region in input order; without it only the
            sequence side runs.
        """
        length = (input_ids if input_ids is not None else inputs_embeds).shape[1]
        limit = self.config.sequence_config.max_position_embeddings
        if length > limit and position_ids is None:  # BERT's own error here is an opaque shape mismatch
            raise ValueError(
                f"input of {length} tokens is longer than the model's max_position_embeddings ({limit}): "
                f"tokenize with truncation=True, max_length={limit}, or cover long sequences with sliding "
                "windows (modeling_genebert.downstream.long_inputs, --long_inputs sliding_window)"
            )
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        last_hidden_state = outputs.last_hidden_state
        sequence_embeds = region_hidden = region_pooled = region_embeds = logit_scale = None
        if self.region_encoder is not None:
            sequence_embeds = F.normalize(self.sequence_projection(self._srm_pool(last_hidden_state, attention_mask)), dim=-1)
            logit_scale = self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()
            if region_matrix is not None:
                region_hidden, region_pooled = self.region_encoder(region_matrix)
                region_embeds = F.normalize(self.region_projection(region_pooled.to(last_hidden_state.dtype)), dim=-1)
        return GeneBertModelOutput(
            last_hidden_state=last_hidden_state,
            pooler_output=outputs.pooler_output,
            region_hidden=region_hidden,
            region_pooled=region_pooled,
            sequence_embeds=sequence_embeds,
            region_embeds=region_embeds,
            logit_scale=logit_scale,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class GeneBertForPreTraining(GeneBertPreTrainedModel):
    """MGM (tied k-mer decoder) + NGSP ([CLS] or segment comparison) + SRM (symmetric InfoNCE), weighted as in Eq. 4."""

    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "genebert.bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: GeneBertConfig):
        super().__init__(config)
        self.genebert = GeneBertModel(config)
        self.cls = BertPreTrainingHeads(config.sequence_config)
        self.ngsp_pooler = None
        if config.ngsp_pooling == "segments":
            hidden = config.sequence_config.hidden_size
            self.ngsp_pooler = nn.Sequential(nn.Linear(4 * hidden, hidden), nn.Tanh())
        self.post_init()

    def _ngsp_features(self, outputs, attention_mask, token_type_ids) -> torch.Tensor:
        """The vector NGSP classifies: BERT's [CLS] pooler output, or the two segments compared."""
        if self.ngsp_pooler is None:
            return outputs.pooler_output
        if token_type_ids is None:
            raise ValueError("next_sentence_label with ngsp_pooling='segments' needs token_type_ids (0 = segment A, 1 = segment B)")
        real = torch.ones_like(token_type_ids) if attention_mask is None else attention_mask
        segment_b = token_type_ids.bool()
        a = masked_mean(outputs.last_hidden_state, real * ~segment_b)
        b = masked_mean(outputs.last_hidden_state, real * segment_b)
        return self.ngsp_pooler(torch.cat([a, b, (a - b).abs(), a * b], dim=-1))

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings):
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        region_matrix: torch.Tensor | None = None,
        output_prediction_logits: bool | None = None,
        **kwargs,
    ) -> GeneBertForPreTrainingOutput:
        r"""
        labels (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
            MGM targets; -100 = not masked (ignored).
        output_prediction_logits (`bool`, *optional*):
            Return the k-mer logits of every token (`prediction_logits`). Default: only when no `labels`
            are given; with `labels` the decoder runs on the labelled (masked) positions alone, the same
            loss for a fraction of the decoder's cost.
        next_sentence_label (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
            NGSP targets: 0 = segment B follows A in that cell type, 1 = B is random.
        region_matrix (`torch.FloatTensor` of shape `(batch_size, regions, num_tfs)`, *optional*):
            Raw PWM scores of the regions in the input; without it the batch trains MGM + NGSP only.
        """
        config = self.config
        if region_matrix is not None and not config.srm_weight:
            logger.warning_once("region_matrix is ignored: config.srm_weight is 0, so SRM (its only use here) is off")
        outputs = self.genebert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            region_matrix=region_matrix if config.srm_weight else None,
            return_dict=True,
            **kwargs,
        )
        prediction_logits = seq_relationship_logits = None
        mgm_loss = ngsp_loss = ngsp_accuracy = srm_loss = srm_accuracy = None
        if config.mgm_weight:
            full_logits = output_prediction_logits if output_prediction_logits is not None else labels is None
            if full_logits:
                prediction_logits = self.cls.predictions(outputs.last_hidden_state)
                if labels is not None:
                    mgm_loss = F.cross_entropy(
                        prediction_logits.view(-1, prediction_logits.shape[-1]).float(), labels.view(-1), ignore_index=-100
                    )
            elif labels is not None:
                mgm_loss = sparse_mgm_loss(self.cls.predictions, outputs.last_hidden_state, labels)
        if config.ngsp_weight and (self.ngsp_pooler is None or token_type_ids is not None or next_sentence_label is not None):
            seq_relationship_logits = self.cls.seq_relationship(self._ngsp_features(outputs, attention_mask, token_type_ids))
            if next_sentence_label is not None:
                ngsp_loss = F.cross_entropy(seq_relationship_logits.view(-1, 2).float(), next_sentence_label.view(-1))
                with torch.no_grad():
                    ngsp_accuracy = (seq_relationship_logits.argmax(-1) == next_sentence_label.view(-1)).float().mean()
        if outputs.region_embeds is not None:
            srm_loss, srm_accuracy = srm_loss_and_accuracy(
                outputs.sequence_embeds, outputs.region_embeds, outputs.logit_scale
            )
        weighted = [
            weight * component
            for weight, component in (
                (config.mgm_weight, mgm_loss),
                (config.ngsp_weight, ngsp_loss),
                (config.srm_weight, srm_loss),
            )
            if component is not None
        ]
        return GeneBertForPreTrainingOutput(
            loss=sum(weighted) if weighted else None,
            mgm_loss=mgm_loss,
            ngsp_loss=ngsp_loss,
            ngsp_accuracy=ngsp_accuracy,
            srm_loss=srm_loss,
            srm_accuracy=srm_accuracy,
            prediction_logits=prediction_logits,
            seq_relationship_logits=seq_relationship_logits,
            sequence_embeds=outputs.sequence_embeds,
            region_embeds=outputs.region_embeds,
            logit_scale=outputs.logit_scale,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class GeneBertForMaskedLM(GeneBertPreTrainedModel):
    """Sequence encoder + tied MGM head only (fill-mask, MLM fine-tuning)."""

    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "genebert.bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: GeneBertConfig):
        super().__init__(config)
        self.genebert = GeneBertModel(config, add_pooling_layer=False, add_region_encoder=False)
        self.cls = BertOnlyMLMHead(config.sequence_config)
        self.post_init()

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings):
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> MaskedLMOutput:
        outputs = self.genebert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        logits = self.cls(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), labels.view(-1), ignore_index=-100)
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions)


class GeneBertForSequenceClassification(GeneBertPreTrainedModel):
    """Classifier on the pooled [CLS] (or, with ``config.classifier_pooling="mean"``, the masked mean
    of the last hidden states); with ``config.classifier_region_fusion`` the region embedding is concatenated.

    With fusion on and no ``region_matrix``, the region part is a zero vector: the centre of the
    unit sphere the region embeddings live on, i.e. "no region evidence", so sequence-only inputs
    (e.g. promoter sets without ATAC context) still classify with the same head. With
    ``config.classifier_region_wide`` a linear read-out of the standardised matrix is added to the
    logits (nothing without a matrix): a motif-score logistic regression trained jointly with the
    network, which on GUE's TF tasks the unit-norm region embedding alone did not match.
    """

    def __init__(self, config: GeneBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        seq = config.sequence_config
        self.fusion = config.classifier_region_fusion
        self.mean_pooling = config.classifier_pooling == "mean"
        self.genebert = GeneBertModel(config, add_pooling_layer=not self.mean_pooling, add_region_encoder=self.fusion)
        dropout = seq.classifier_dropout if seq.classifier_dropout is not None else seq.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(seq.hidden_size + (config.projection_dim if self.fusion else 0), config.num_labels)
        self.region_wide = None
        if self.fusion and config.classifier_region_wide:  # each TF's best score over the rows, standardised, to logits
            num_tfs = config.region_config.num_tfs
            self.region_wide = nn.Sequential(nn.BatchNorm1d(num_tfs, affine=False), nn.Linear(num_tfs, config.num_labels))
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        region_matrix: torch.Tensor | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        if region_matrix is not None and not self.fusion:
            logger.warning_once("region_matrix is ignored: config.classifier_region_fusion is False")
        outputs = self.genebert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            region_matrix=region_matrix if self.fusion else None,
            return_dict=True,
            **kwargs,
        )
        if self.mean_pooling:
            features = masked_mean(outputs.last_hidden_state, attention_mask)
        else:
            features = outputs.pooler_output
        features = self.dropout(features)
        if self.fusion:
            region = outputs.region_embeds
            if region is None:
                region = features.new_zeros(features.shape[0], self.config.projection_dim)
            features = torch.cat([features, region.to(features.dtype)], dim=-1)
        logits = self.classifier(features)
        if self.region_wide is not None and region_matrix is not None:
            dtype = next(self.region_wide.parameters()).dtype  # (peft may wrap the module: no indexing)
            wide = self.region_wide(region_matrix.to(dtype).amax(dim=1))
            logits = logits + wide.to(logits.dtype)
        loss = None
        if labels is not None:
            loss = self._classification_loss(logits, labels)
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )

    def _classification_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """problem_type resolution and losses exactly as BertForSequenceClassification."""
        if self.config.problem_type is None:
            if self.num_labels == 1:
                self.config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                self.config.problem_type = "single_label_classification"
            else:
                self.config.problem_type = "multi_label_classification"
        if self.config.problem_type == "regression":
            if self.num_labels == 1:
                return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
            return F.mse_loss(logits, labels.to(logits.dtype))
        if self.config.problem_type == "single_label_classification":
            return F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


class GeneBertForTokenClassification(GeneBertPreTrainedModel):
    """Per-token classifier (e.g. splice sites); labels -100 are ignored."""

    def __init__(self, config: GeneBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        seq = config.sequence_config
        self.genebert = GeneBertModel(config, add_pooling_layer=False, add_region_encoder=False)
        dropout = seq.classifier_dropout if seq.classifier_dropout is not None else seq.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(seq.hidden_size, config.num_labels)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> TokenClassifierOutput:
        outputs = self.genebert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        logits = self.classifier(self.dropout(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1), ignore_index=-100)
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


# every head, keyed by the transformers Auto class that serves it (registration and auto_map)
GENEBERT_HEADS = {
    "AutoModel": GeneBertModel,
    "AutoModelForPreTraining": GeneBertForPreTraining,
    "AutoModelForMaskedLM": GeneBertForMaskedLM,
    "AutoModelForSequenceClassification": GeneBertForSequenceClassification,
    "AutoModelForTokenClassification": GeneBertForTokenClassification,
}


__all__ = [
    "GENEBERT_HEADS",
    "GeneBertPreTrainedModel",
    "GeneBertModel",
    "GeneBertForPreTraining",
    "GeneBertForMaskedLM",
    "GeneBertForSequenceClassification",
    "GeneBertForTokenClassification",
    "GeneBertModelOutput",
    "GeneBertForPreTrainingOutput",
    "NativeRegionEncoder",
    "TimmRegionEncoder",
]
