"""GeneBERT: multi-modal (k-mer sequence + region matrix) pre-training for regulatory genomes.

Importing this package registers the config, the tokenizer and every model with the
transformers Auto classes -- and does nothing else.

First, before transformers, timm or torchvision is imported, :mod:`.torch_pair` checks that torch and
torchvision are a matched pair (a mismatched torchvision breaks those imports with a long traceback).
When they are not, nothing else is imported: the package's names raise :class:`~.torch_pair.TorchPairError`,
whose message says what to install, and the console scripts (:mod:`.commands`) print it as one
``error:`` line and exit 2. So the check stays the first import here.
"""

from .torch_pair import TorchPairError, installed_pair_problem

__version__ = "0.1.0"
TORCH_PAIR_PROBLEM = installed_pair_problem()

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

if TORCH_PAIR_PROBLEM is None:
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
else:
    def __getattr__(name: str):
        """Every GeneBERT name says what to install instead of failing deep inside torchvision."""
        if name.startswith("__"):
            raise AttributeError(name)
        raise TorchPairError(f"modeling_genebert.{name} is not available: {TORCH_PAIR_PROBLEM}")
