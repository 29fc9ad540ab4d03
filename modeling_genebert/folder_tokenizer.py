"""The tokenizer of a model folder, checked against the model it feeds.

A k-mer tokenizer of another k than the model's loads without complaint and gives token ids that
the model reads as other k-mers: a k-4 tokenizer saved into a k-6 model folder flipped 12.3% of
predicted labels, silently. Every command that loads a model and its folder's tokenizer goes
through :func:`load_tokenizer`, which refuses that pairing in one line naming both k values.
"""

from __future__ import annotations

import math
import os

from tokenization import GeneBertTokenizer

from .configuration_genebert import kmer_vocab_size

TOKENIZER_FILES = ("tokenizer_config.json", "vocab.txt")


def kmer_of_vocab_size(vocab_size: int) -> int | None:
    """The k whose k-mer vocabulary has ``vocab_size`` tokens (``5 + 4**k``), or None when no k does."""
    if vocab_size <= 5:
        return None
    k = round(math.log(vocab_size - 5, 4))
    return k if kmer_vocab_size(k) == vocab_size else None


def check_tokenizer_matches(tokenizer: GeneBertTokenizer, config, folder: str | os.PathLike) -> None:
    """A tokenizer whose k is not the model's (``config.sequence_config.kmer``) is an error naming both and the fix."""
    model_k = config.sequence_config.kmer
    if tokenizer.kmer != model_k:
        raise ValueError(
            f"{os.fspath(folder)}: its tokenizer reads {tokenizer.kmer}-mers but the model was built for {model_k}-mers "
            f"(config.json sequence_config.kmer); save the model's own tokenizer there: "
            f"GeneBertTokenizer(k={model_k}).save_pretrained(folder)"
        )


def load_tokenizer(folder: str | os.PathLike, config) -> GeneBertTokenizer:
    """The folder's tokenizer, checked against ``config``; a folder without one gets the model's own k-mer tokenizer
    (``from_pretrained`` of a folder without tokenizer files would give the default k = 6 whatever the model's k)."""
    if not any(os.path.isfile(os.path.join(folder, name)) for name in TOKENIZER_FILES):
        return GeneBertTokenizer(k=config.sequence_config.kmer)
    tokenizer = GeneBertTokenizer.from_pretrained(folder)
    check_tokenizer_matches(tokenizer, config, folder)
    return tokenizer


__all__ = ["check_tokenizer_matches", "kmer_of_vocab_size", "load_tokenizer"]
