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


def _mask_scores(folder, text):
    """The model's own softmax over the vocabulary at the [MASK] of ``text``, computed without the pipeline."""
    model = GeneBertForMaskedLM.from_pretrained(folder).eval()
    tokenizer = GeneBertTokenizer.from_pretrained(folder)
    batch = tokenizer(text, return_tensors="pt")
    (position,) = (batch["input_ids"][0] == tokenizer.mask_token_id).nonzero()[:, 0].tolist()
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (1, batch["input_ids"].shape[1], 5 + 4**K)
    return logits[0, position].softmax(-1), tokenizer


def _assert_distinct_kmers(predictions, tokenizer):
    tokens = [p["token"] for p in predictions]
    assert len(set(tokens)) == len(tokens), tokens
    for p in predictions:
        assert p["token_str"] == tokenizer.convert_ids_to_tokens(p["token"])
        assert len(p["token_str"]) == K and set(p["token_str"]) <= set("ACGT"), p  # a k-mer, not a special token


def test_fill_mask_model_ranks_kmers_for_a_masked_token(folders):
    """fill-mask ranks k-mers by the model's own softmax at the [MASK] position, best first."""
    text = DNA[:8] + "[MASK]" + DNA[8:]
    probs, tokenizer = _mask_scores(folders["mlm"], text)
    top = probs.topk(10)
    predictions = pipeline("fill-mask", model=folders["mlm"])(text, top_k=10)
    assert [p["token"] for p in predictions] == top.indices.tolist()
    np.testing.assert_allclose([p["score"] for p in predictions], top.values.numpy(), rtol=1e-5, atol=1e-7)
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-6
    _assert_distinct_kmers(predictions, tokenizer)


def test_fill_mask_ranking_follows_the_masked_lm_head(folders, tmp_path):
    """A head biased towards three chosen k-mers makes the pipeline return exactly them, in that order."""
    model = GeneBertForMaskedLM.from_pretrained(folders["mlm"]).eval()
    tokenizer = GeneBertTokenizer.from_pretrained(folders["mlm"])
    chosen = ["GATC", "TTTT", "CAGA"]
    ids = tokenizer.convert_tokens_to_ids(chosen)
    with torch.no_grad():
        model.cls.predictions.bias[ids] += torch.tensor([30.0, 25.0, 20.0])
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    text = DNA[:8] + "[MASK]" + DNA[8:]
    probs, _ = _mask_scores(str(tmp_path), text)
    predictions = pipeline("fill-mask", model=str(tmp_path))(text, top_k=3)
    assert [p["token_str"] for p in predictions] == chosen
    np.testing.assert_allclose([p["score"] for p in predictions], probs[ids].numpy(), rtol=1e-5, atol=1e-7)
    assert predictions[0]["score"] > 0.99


def test_fill_mask_pipeline_shape(folders):
    filler = pipeline("fill-mask", model=folders["mlm"])
    predictions = filler(DNA[:8] + "[MASK]" + DNA[8:], top_k=3)
    assert len(predictions) == 3
    assert set(predictions[0]) == {"score", "token", "token_str", "sequence"}
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores) and sum(scores) <= 1 + 1e-6
    tokenizer = GeneBertTokenizer.from_pretrained(folders["mlm"])
    _assert_distinct_kmers(predictions, tokenizer)
    assert all(isinstance(p["sequence"], str) and set(p["sequence"]) <= set("ACGTN") for p in predictions)
