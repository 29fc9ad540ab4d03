"""The k-mer tokenizer (installed as ``modeling_genebert.tokenization``)."""

from .tokenization_genebert import GeneBertTokenizer

__all__ = ["GeneBertTokenizer"]
