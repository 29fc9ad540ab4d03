"""Checkpoint conversion: DNABERT / BERT checkpoints into GeneBERT (Algorithm 1, line 4).

* :func:`genebert_config_from_bert` -- a GeneBERT config whose sequence encoder has a DNABERT/BERT
  folder's shape, and the folder's k-mer tokenizer;
* :func:`load_sequence_encoder_weights` -- copy a BERT ``BertForMaskedLM`` / ``BertForPreTraining`` /
  ``BertModel`` checkpoint into a GeneBERT model's sequence encoder (and MGM / NGSP heads), key by key;
* :func:`read_state_dict` -- tensors only, from safetensors or a legacy ``.bin`` (``weights_only=True``).

Conversion is not model code: this module is not exported as Hub remote code (as transformers keeps
its ``convert_*`` scripts apart from ``modeling_*``), so it may use the tokenizer.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers.utils import logging

from tokenization import GeneBertTokenizer

from .configuration_genebert import GeneBertConfig
from .folder_tokenizer import kmer_of_vocab_size
from .loading import check_finite_weights
from .modeling_genebert import GeneBertPreTrainedModel

logger = logging.get_logger(__name__)

# BERT config fields that carry over to GeneBERT's sequence encoder
BERT_CONFIG_KEYS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
    "layer_norm_eps", "initializer_range",
)


def genebert_config_from_bert(path: str | os.PathLike, **overrides) -> tuple[GeneBertConfig, GeneBertTokenizer]:
    """A GeneBERT config whose sequence encoder has a DNABERT/BERT folder's shape, and the folder's vocabulary."""
    bert = json.loads((Path(path) / "config.json").read_text())
    vocab = Path(path) / "vocab.txt"
    if not vocab.exists():
        raise FileNotFoundError(f"{path}: a DNABERT/BERT folder needs its vocab.txt (the k-mer vocabulary)")
    tokenizer = GeneBertTokenizer(vocab_file=str(vocab))
    sequence_config = {k: bert[k] for k in BERT_CONFIG_KEYS if k in bert}
    sequence_config.update(kmer=tokenizer.kmer, vocab_size=max(int(bert.get("vocab_size", 0)), len(tokenizer)))
    overrides.setdefault("ngsp_pooling", "cls")  # the checkpoint's NSP head reads BERT's [CLS] pooler
    config = GeneBertConfig.from_preset("tiny", sequence_config=sequence_config, **overrides)
    return config, tokenizer


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors only: safetensors, or a legacy ``.bin`` with ``weights_only=True`` (no arbitrary unpickling).

    ``path`` is a weights file or a folder holding ``model.safetensors`` or ``pytorch_model.bin``.
    """
    path = str(path)
    if os.path.isdir(path):
        for name in ("model.safetensors", "pytorch_model.bin"):
            if os.path.isfile(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
        else:
            raise FileNotFoundError(f"no model.safetensors or pytorch_model.bin in {path}")
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise OSError(f"{path}: cannot read weights: it holds objects other than tensors, which are never "
                      "unpickled (weights_only=True); convert it to safetensors from a trusted source") from error
    except (SafetensorError, RuntimeError, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OSError(f"{path}: cannot read weights ({reason}); the file is truncated or corrupted") from error
    check_finite_weights(state, path)
    return state


def bert_key_to_genebert(key: str, bert_prefix: str) -> str:
    """A BERT checkpoint key as GeneBERT names it: ``bert.*`` under ``bert_prefix``, ``cls.*`` as is,
    a bare ``BertModel`` key under ``bert_prefix``, a GeneBERT key (already under it) as is; DNABERT-era
    ``LayerNorm.gamma/beta`` renamed."""
    key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    if key.startswith(bert_prefix):
        return key
    if key.startswith("bert."):
        return bert_prefix + key[len("bert.") :]
    if key.startswith("cls."):
        return key
    return bert_prefix + key


@torch.no_grad()
def load_sequence_encoder_weights(model: GeneBertPreTrainedModel, path: str | os.PathLike) -> dict:
    """Initialise ``model``'s sequence encoder (and MGM/NGSP heads where present) from a BERT/DNABERT checkpoint.

    ``path`` is a folder (or file) with ``model.safetensors`` or ``pytorch_model.bin`` of a
    ``BertForMaskedLM`` / ``BertForPreTraining`` / ``BertModel``. Returns (and logs) the
    sequence-side ``missing_keys`` and the checkpoint's ``unexpected_keys``; a shape mismatch is an error.
    """
    state = read_state_dict(path)
    bert_prefix = "bert." if model is model.base_model else f"{model.base_model_prefix}.bert."
    own = model.state_dict()
    mapped, unexpected = {}, []
    for key, value in state.items():
        target = bert_key_to_genebert(key, bert_prefix)
        if target in own:
            mapped[target] = value
        else:
            unexpected.append(key)
    _check_same_kmer(next((v for k, v in mapped.items() if k.endswith("word_embeddings.weight")), None), model, path)
    for key, value in mapped.items():
        if own[key].shape != value.shape:
            raise ValueError(f"{key}: checkpoint shape {tuple(value.shape)} != model shape {tuple(own[key].shape)}")
    model.load_state_dict(mapped, strict=False)
    model.tie_weights()
    tied = set(getattr(model, "all_tied_weights_keys", {}))
    sequence_side = [k for k in own if k.startswith(bert_prefix) or k.startswith("cls.")]
    missing = [k for k in sequence_side if k not in mapped and k not in tied and not k.endswith("position_ids")]
    if missing or unexpected:
        logger.warning("Sequence encoder init from %s: missing %s, unexpected %s", path, missing, unexpected)
    return {"missing_keys": missing, "unexpected_keys": unexpected}


def _check_same_kmer(word_embeddings: torch.Tensor | None, model: GeneBertPreTrainedModel, path) -> None:
    """A checkpoint of another k (its vocabulary 5 + 4**k says which) is one error naming both k values and the fix."""
    own_size = model.config.sequence_config.vocab_size
    if word_embeddings is None or word_embeddings.shape[0] == own_size:
        return
    theirs, ours = kmer_of_vocab_size(word_embeddings.shape[0]), kmer_of_vocab_size(own_size)
    if theirs is None or ours is None:
        return  # not a k-mer vocabulary: the shape check names the tensor
    raise ValueError(
        f"{path}: its sequence encoder reads {theirs}-mers (vocabulary {word_embeddings.shape[0]}) but this model is built "
        f"for {ours}-mers (vocabulary {own_size}); pre-train with --kmer {theirs} to start from it, or give a {ours}-mer checkpoint"
    )


__all__ = [
    "bert_key_to_genebert",
    "genebert_config_from_bert",
    "load_sequence_encoder_weights",
    "read_state_dict",
]
