"""GeneBERT: multi-modal (k-mer sequence + region matrix) pre-training for regulatory genomes.

Importing this package registers the config, the tokenizer and every model with the
transformers Auto classes -- and does nothing else.
"""

import transformers
from transformers import AutoConfig, AutoTokenizer

from .configuration_genebert import GeneBertConfig, GeneBertRegionConfig, GeneBertSequenceConfig
from .modeling_genebert import (
    GENEBERT_HEADS,
    GeneBertForMaskedLM,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertForTokenClassification,
    GeneBertModel,
    GeneBertPreTrainedModel,
)
from tokenization import GeneBertTokenizer

__version__ = "0.1.0"

AutoConfig.register(GeneBertConfig.model_type, GeneBertConfig, exist_ok=True)
AutoConfig.register(GeneBertSequenceConfig.model_type, GeneBertSequenceConfig, exist_ok=True)
AutoConfig.register(GeneBertRegionConfig.model_type, GeneBertRegionConfig, exist_ok=True)
AutoTokenizer.register(GeneBertConfig, slow_tokenizer_class=GeneBertTokenizer, exist_ok=True)
for _auto, _model in GENEBERT_HEADS.items():
    getattr(transformers, _auto).register(GeneBertConfig, _model, exist_ok=True)
    # so that save_pretrained writes `auto_map` + our own modules as Hub remote code
    _model.register_for_auto_class(_auto)
GeneBertConfig.register_for_auto_class()
GeneBertTokenizer.register_for_auto_class("AutoTokenizer")

__all__ = [
    "GeneBertConfig",
    "GeneBertSequenceConfig",
    "GeneBertRegionConfig",
    "GeneBertTokenizer",
    "GeneBertPreTrainedModel",
    "GeneBertModel",
    "GeneBertForPreTraining",
    "GeneBertForMaskedLM",
    "GeneBertForSequenceClassification",
    "GeneBertForTokenClassification",
]
