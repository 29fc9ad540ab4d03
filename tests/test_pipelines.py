"""transformers pipelines with GeneBERT folders saved by save_pretrained (package installed, Auto classes).

Documented shapes:
* feature-extraction: ``[1, tokens, hidden]`` per input (tokens = k-mers + [CLS] + [SEP]);
* text-classification: one ``{"label", "score"}`` per input (``top_k=None``: one per class, scores sum to 1);
* token-classification: one ``{"entity", "score", "index", "word"}`` per k-mer token (specials dropped);
* fill-mask: ``top_k`` ``{"score", "token", "token_str", "sequence"}`` per [MASK].
"""

import numpy as np
import pytest
import torch
from transformers import pipeline

from modeling_genebert import (
    GeneBertConfig,
    GeneBertForMaskedLM,
    GeneBertForSequenceClassification,
    GeneBertForTokenClassification,
    GeneBertModel,
    GeneBertTokenizer,
)

K, HIDDEN = 4, 32
DNA = "ACGTAGGCTTACGATCGATCGG"  # 22 bases -> 19 4-mers -> 21 tokens with [CLS]/[SEP]


def config(**overrides):
    return GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(kmer=K, vocab_size=5 + 4**K, hidden_size=HIDDEN, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=64),
        region_config=dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_tfs=4, regions_per_sample=2),
        projection_dim=16,
        **overrides,
    )


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("pipelines")
    labels = {0: "non_promoter", 1: "promoter"}
    token_labels = {0: "exon", 1: "intron", 2: "site"}
    out = {}
    for name, cls, extra in (
        ("base", GeneBertModel, {}),
        ("mlm", GeneBertForMaskedLM, {}),
        ("seq", GeneBertForSequenceClassification, dict(id2label=labels, label2id={v: k for k, v in labels.items()})),
        ("tok", GeneBertForTokenClassification, dict(id2label=token_labels, label2id={v: k for k, v in token_labels.items()})),
    ):
        path = root / name
        cls(config(**extra)).save_pretrained(path)
        GeneBertTokenizer(k=K).save_pretrained(path)
        out[name] = str(path)
    return out


def test_feature_extraction_shape(folders):
    extractor = pipeline("feature-extraction", model=folders["base"])
    features = np.asarray(extractor(DNA))
    assert features.shape == (1, len(DNA) - K + 1 + 2, HIDDEN)
    batch = extractor([DNA, DNA[:10]])
    assert np.asarray(batch[1]).shape == (1, 10 - K + 1 + 2, HIDDEN)


def test_text_classification_shape(folders):
    classifier = pipeline("text-classification", model=folders["seq"])
    (top,) = classifier(DNA)
    assert set(top) == {"label", "score"} and top["label"] in {"non_promoter", "promoter"}
    scores = classifier([DNA, DNA[::-1]], top_k=None)
    assert len(scores) == 2 and all(len(s) == 2 for s in scores)
    assert sum(s["score"] for s in scores[0]) == pytest.approx(1.0, abs=1e-5)


def test_token_classification_one_prediction_per_kmer(folders):
    tagger = pipeline("token-classification", model=folders["tok"], ignore_labels=[])
    tags = tagger(DNA)
    assert len(tags) == len(DNA) - K + 1
    assert [t["index"] for t in tags] == list(range(1, len(DNA) - K + 2))
    assert tags[0]["word"] == DNA[:K] and tags[-1]["word"] == DNA[-K:]
    assert {t["entity"] for t in tags} <= {"exon", "intron", "site"}


def test_fill_mask_model_ranks_kmers_for_a_masked_token(folders):
    """The model side of fill-mask: logits over the k-mer vocabulary at a [MASK] position."""
    model = GeneBertForMaskedLM.from_pretrained(folders["mlm"]).eval()
    tokenizer = GeneBertTokenizer.from_pretrained(folders["mlm"])
    batch = tokenizer(DNA, return_tensors="pt")
    batch["input_ids"][0, 5] = tokenizer.mask_token_id
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (1, len(DNA) - K + 3, 5 + 4**K)


def test_fill_mask_pipeline_shape(folders):
    filler = pipeline("fill-mask", model=folders["mlm"])
    predictions = filler(DNA[:8] + "[MASK]" + DNA[8:], top_k=3)
    assert len(predictions) == 3
    assert set(predictions[0]) == {"score", "token", "token_str", "sequence"}
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    tokenizer = GeneBertTokenizer.from_pretrained(folders["mlm"])
    assert all(p["token_str"] == tokenizer.convert_ids_to_tokens(p["token"]) for p in predictions)
    assert all(isinstance(p["sequence"], str) and set(p["sequence"]) <= set("ACGTN") for p in predictions)
