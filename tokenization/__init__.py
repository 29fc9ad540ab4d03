"""The k-mer tokenizer (installed as ``tokenization``)."""

from .tokenization_genebert import GeneBertTokenizer

__all__ = ["GeneBertTokenizer"]
