# PLACEHOLDER: replaced by the tokenizer implementation (issue 2).
from transformers import PreTrainedTokenizer


class GeneBertTokenizer(PreTrainedTokenizer):
    pass
