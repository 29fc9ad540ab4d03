"""NGSP features: the paper's [CLS] pooler or the segment comparison (config.ngsp_pooling)."""

import json

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining


def _config(**overrides):
    return GeneBertConfig.from_preset(
        "tiny", sequence_config=dict(vocab_size=69, kmer=3, max_position_embeddings=64), srm_weight=0.0, **overrides
    )


def _pair_batch():
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, 69, (4, 20), generator=g)
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, 10:] = 1
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, 16:] = 0  # padding inside segment B of the first pair
    return dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
                next_sentence_label=torch.tensor([0, 1, 0, 1]))


def test_presets_choose_segments_and_the_paper_keeps_cls():
    assert GeneBertConfig.from_preset("tiny").ngsp_pooling == "segments"
    assert GeneBertConfig.from_preset("small").ngsp_pooling == "segments"
    assert GeneBertConfig.from_preset("paper").ngsp_pooling == "cls"
    assert GeneBertConfig().ngsp_pooling == "cls"
    assert GeneBertForPreTraining(_config(ngsp_pooling="cls")).ngsp_pooler is None


def test_a_config_saved_before_the_option_loads_as_cls(tmp_path):
    config = _config()
    data = config.to_dict()
    data.pop("ngsp_pooling")
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert GeneBertConfig.from_pretrained(tmp_path).ngsp_pooling == "cls"


def test_unknown_ngsp_pooling_is_an_error():
    with pytest.raises(StrictDataclassClassValidationError, match="ngsp_pooling must be one of .*got 'mean'"):
        _config(ngsp_pooling="mean")


def test_segment_features_compare_the_two_segments_and_ignore_padding():
    torch.manual_seed(0)
    model = GeneBertForPreTraining(_config()).eval()
    batch = _pair_batch()
    with torch.no_grad():
        out = model(**batch)
        hidden = model.genebert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                token_type_ids=batch["token_type_ids"]).last_hidden_state
        a, b = hidden[0, :10].mean(0), hidden[0, 10:16].mean(0)  # pair 0: B is positions 10-15 (the rest is padding)
        features = model.ngsp_pooler(torch.cat([a, b, (a - b).abs(), a * b]))
        torch.testing.assert_close(out.seq_relationship_logits[0], model.cls.seq_relationship(features), rtol=1e-5, atol=1e-5)
        # a different segment B changes the logits of that pair only
        changed = dict(batch, input_ids=batch["input_ids"].clone())
        changed["input_ids"][1, 12] = 5 + (changed["input_ids"][1, 12] - 4) % 64
        again = model(**changed).seq_relationship_logits
    assert not torch.allclose(again[1], out.seq_relationship_logits[1])
    torch.testing.assert_close(again[[0, 2, 3]], out.seq_relationship_logits[[0, 2, 3]])
    assert out.ngsp_loss is not None and 0.0 <= out.ngsp_accuracy.item() <= 1.0


def test_segments_need_token_type_ids_for_an_ngsp_loss_only():
    model = GeneBertForPreTraining(_config()).eval()
    batch = _pair_batch()
    batch.pop("token_type_ids")
    with torch.no_grad():
        assert model(input_ids=batch["input_ids"]).seq_relationship_logits is None  # no segments, no NGSP asked
        with pytest.raises(ValueError, match="needs token_type_ids"):
            model(**batch)


def test_the_segment_pooler_learns_what_segment_b_is():
    """Pairs whose B is drawn from A's half of the vocabulary are "next" (label 0), the others are not: twenty
    steps learn it (the [CLS] pooler's collapsed start is what kept NGSP at chance)."""
    torch.manual_seed(0)
    model = GeneBertForPreTraining(_config(mgm_weight=0.0)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        labels = torch.randint(0, 2, (32,), generator=g)
        a = torch.randint(5, 37, (32, 10), generator=g)
        b = torch.where(labels[:, None] == 0, torch.randint(5, 37, (32, 10), generator=g), torch.randint(37, 69, (32, 10), generator=g))
        ids = torch.cat([a, b], 1)
        types = torch.cat([torch.zeros_like(a), torch.ones_like(b)], 1)
        loss = model(input_ids=ids, token_type_ids=types, next_sentence_label=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        out = model(input_ids=ids, token_type_ids=types, next_sentence_label=labels)
    assert out.ngsp_accuracy.item() > 0.9
