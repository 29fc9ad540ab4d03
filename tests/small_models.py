"""Small GeneBERT configs and saved pre-training folders shared by the fine-tuning tests (not a test module).

One builder instead of a copy per test file: the files differ only in k, depth and the head's
overrides; every model here has a 3-TF, 2-row native region encoder.
"""

from pathlib import Path

import torch

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer


def small_config(kmer: int = 4, num_hidden_layers: int = 1, **overrides) -> GeneBertConfig:
    return GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(kmer=kmer, vocab_size=5 + 4**kmer, hidden_size=32, num_hidden_layers=num_hidden_layers,
                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=128),
        region_config=dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_tfs=3, regions_per_sample=2),
        projection_dim=16,
        **overrides,
    )


def save_pretraining_folder(path: Path, config: GeneBertConfig) -> Path:
    """A randomly initialised (seed 0) pre-training folder with its tokenizer, as genebert-pretrain writes it."""
    torch.manual_seed(0)
    GeneBertForPreTraining(config).save_pretrained(path)
    GeneBertTokenizer(k=config.sequence_config.kmer).save_pretrained(path)
    return path
