# PLACEHOLDER: replaced by the model implementation (issue 3).
from transformers import PreTrainedModel

from .configuration_genebert import GeneBertConfig


class GeneBertPreTrainedModel(PreTrainedModel):
    config_class = GeneBertConfig


class GeneBertModel(GeneBertPreTrainedModel):
    pass


class GeneBertForPreTraining(GeneBertPreTrainedModel):
    pass


class GeneBertForMaskedLM(GeneBertPreTrainedModel):
    pass


class GeneBertForSequenceClassification(GeneBertPreTrainedModel):
    pass


class GeneBertForTokenClassification(GeneBertPreTrainedModel):
    pass
