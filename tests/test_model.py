"""GeneBERT models: shapes, each loss against a hand computation, loss switches, heads, save/load."""

import math

import pytest
from huggingface_hub.errors import StrictDataclassClassValidationError
import torch
import torch.nn.functional as F
from transformers import (
    AutoModel,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
)

from modeling_genebert import (
    GeneBertConfig,
    GeneBertForMaskedLM,
    GeneBertForPreTraining,
    GeneBertForSequenceClassification,
    GeneBertForTokenClassification,
    GeneBertModel,
)

B, L, R, TFS = 4, 24, 10, 16


def tiny_config(**overrides) -> GeneBertConfig:
    sequence = dict(kmer=3, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                    max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    region = dict(num_tfs=TFS, regions_per_sample=R, hidden_size=32, num_attention_heads=2, intermediate_size=64,
                  hidden_dropout_prob=0.0)
    sequence.update(overrides.pop("sequence_config", {}))
    region.update(overrides.pop("region_config", {}))
    return GeneBertConfig.from_preset("tiny", sequence_config=sequence, region_config=region, projection_dim=16,
                                      **overrides)


def batch(seed: int = 0, regions: int = R) -> dict:
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, 5 + 4**3, (B, L), generator=g)
    input_ids[:, 0], input_ids[:, L // 2], input_ids[:, -1] = 2, 3, 3
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, L // 2 + 1 :] = 1
    labels = torch.full_like(input_ids, -100)
    masked = torch.rand(B, L, generator=g) < 0.3
    masked[:, 1] = True
    labels[masked] = input_ids[masked]
    input_ids = input_ids.masked_fill(masked, 4)
    return dict(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        token_type_ids=token_type_ids,
        labels=labels,
        next_sentence_label=torch.tensor([0, 1, 0, 1]),
        region_matrix=torch.randn(B, regions, TFS, generator=g) * 8,
    )


@pytest.fixture(scope="module")
def pretraining_model():
    torch.manual_seed(0)
    return GeneBertForPreTraining(tiny_config()).eval()


def test_pretraining_shapes(pretraining_model):
    assert pretraining_model(**batch()).prediction_logits is None  # with labels the decoder runs on masked positions only
    out = pretraining_model(**batch(), output_prediction_logits=True)
    assert out.prediction_logits.shape == (B, L, 5 + 4**3)
    assert out.seq_relationship_logits.shape == (B, 2)
    assert out.sequence_embeds.shape == out.region_embeds.shape == (B, 16)
    for name in ("loss", "mgm_loss", "ngsp_loss", "srm_loss", "srm_accuracy", "logit_scale"):
        assert getattr(out, name).shape == ()
    torch.testing.assert_close(out.sequence_embeds.norm(dim=-1), torch.ones(B))
    torch.testing.assert_close(out.region_embeds.norm(dim=-1), torch.ones(B))


def test_base_model_outputs(pretraining_model):
    data = batch()
    data["attention_mask"][0, -5:] = 0  # padding must not enter the mean-pooled E_seq
    out = pretraining_model.genebert(data["input_ids"], data["attention_mask"], data["token_type_ids"],
                                     region_matrix=data["region_matrix"])
    assert out.last_hidden_state.shape == (B, L, 32)
    assert out.pooler_output.shape == (B, 32)
    assert out.region_hidden.shape == (B, R, 32)
    assert out.region_pooled.shape == (B, 32)
    # srm_pooling="mean" (default): E_seq is the mean over non-padding tokens
    mask = data["attention_mask"].unsqueeze(-1).float()
    mean = (out.last_hidden_state * mask).sum(1) / mask.sum(1)
    expected = F.normalize(pretraining_model.genebert.sequence_projection(mean), dim=-1)
    torch.testing.assert_close(out.sequence_embeds, expected)
    no_region = pretraining_model.genebert(data["input_ids"])
    assert no_region.region_embeds is None and no_region.sequence_embeds is not None


def test_cls_pooling_uses_the_cls_state():
    torch.manual_seed(0)
    model = GeneBertForPreTraining(tiny_config(srm_pooling="cls")).eval()
    data = batch()
    out = model.genebert(data["input_ids"], data["attention_mask"], data["token_type_ids"],
                         region_matrix=data["region_matrix"])
    expected = F.normalize(model.genebert.sequence_projection(out.last_hidden_state[:, 0]), dim=-1)
    torch.testing.assert_close(out.sequence_embeds, expected)
    with pytest.raises(StrictDataclassClassValidationError, match="srm_pooling must be 'mean' or 'cls', got 'max'"):
        tiny_config(srm_pooling="max")


def test_losses_match_hand_computation(pretraining_model):
    data = batch()
    out = pretraining_model(**data)  # the default (sparse) MGM, checked against the full logits by hand
    # MGM: mean cross-entropy over the masked positions only
    masked = data["labels"] != -100
    log_probs = pretraining_model(**data, output_prediction_logits=True).prediction_logits.log_softmax(-1)[masked]
    mgm = -log_probs.gather(1, data["labels"][masked][:, None]).mean()
    torch.testing.assert_close(out.mgm_loss, mgm)
    # NGSP: 2-way cross-entropy on [CLS]
    ngsp = -out.seq_relationship_logits.log_softmax(-1).gather(1, data["next_sentence_label"][:, None]).mean()
    torch.testing.assert_close(out.ngsp_loss, ngsp)
    calls = out.seq_relationship_logits.argmax(-1)
    torch.testing.assert_close(out.ngsp_accuracy, (calls == data["next_sentence_label"]).float().mean())
    # SRM: symmetric InfoNCE from the embeddings and the learnable scale (init 1 / 0.07)
    assert out.logit_scale.item() == pytest.approx(1 / 0.07, rel=1e-5)
    sim = out.logit_scale * out.sequence_embeds @ out.region_embeds.t()
    seq_to_region = -torch.diagonal(sim.log_softmax(dim=1)).mean()
    region_to_seq = -torch.diagonal(sim.log_softmax(dim=0)).mean()
    torch.testing.assert_close(out.srm_loss, (seq_to_region + region_to_seq) / 2)
    target = torch.arange(B)
    accuracy = ((sim.argmax(1) == target).float().mean() + (sim.argmax(0) == target).float().mean()) / 2
    torch.testing.assert_close(out.srm_accuracy, accuracy)
    # Eq. 4 with the default weights 1, 1, 0.5
    torch.testing.assert_close(out.loss, mgm + ngsp + 0.5 * out.srm_loss)


def test_logit_scale_is_clamped_like_clip():
    model = GeneBertForPreTraining(tiny_config()).eval()
    with torch.no_grad():
        model.genebert.logit_scale.fill_(10.0)
    assert model(**batch()).logit_scale.item() == pytest.approx(100.0)


@pytest.mark.parametrize("component", ["mgm", "ngsp", "srm"])
def test_zero_weight_disables_component(component):
    torch.manual_seed(0)
    model = GeneBertForPreTraining(tiny_config(**{f"{component}_weight": 0.0})).eval()
    out = model(**batch())
    assert getattr(out, f"{component}_loss") is None
    parts = [w * getattr(out, f"{n}_loss") for n, w in (("mgm", 1.0), ("ngsp", 1.0), ("srm", 0.5)) if n != component]
    torch.testing.assert_close(out.loss, sum(parts))
    if component == "srm":
        assert out.region_embeds is None
    if component == "mgm":
        assert out.prediction_logits is None


def test_batch_without_regions_trains_mgm_and_ngsp_only(pretraining_model):
    data = batch()
    data.pop("region_matrix")
    out = pretraining_model(**data)
    assert out.srm_loss is None and out.srm_accuracy is None and out.region_embeds is None
    torch.testing.assert_close(out.loss, out.mgm_loss + out.ngsp_loss)


def test_batch_without_labels(pretraining_model):
    data = batch()
    data.pop("labels"), data.pop("next_sentence_label")
    out = pretraining_model(**data)
    assert out.mgm_loss is None and out.ngsp_loss is None
    torch.testing.assert_close(out.loss, 0.5 * out.srm_loss)
    data.pop("region_matrix")
    assert pretraining_model(**data).loss is None


def test_native_encoder_takes_other_region_counts(pretraining_model):
    out = pretraining_model(**batch(regions=7))
    assert out.srm_loss is not None and torch.isfinite(out.srm_loss)


def test_return_dict_false_gives_tuple(pretraining_model):
    out = pretraining_model(**batch(), return_dict=False)
    assert isinstance(out, tuple) and out[0].shape == ()


def test_mgm_decoder_is_tied_to_kmer_embeddings(pretraining_model, tmp_path):
    assert pretraining_model.cls.predictions.decoder.weight is pretraining_model.get_input_embeddings().weight
    pretraining_model.save_pretrained(tmp_path)
    loaded = GeneBertForPreTraining.from_pretrained(tmp_path)
    assert loaded.cls.predictions.decoder.weight is loaded.get_input_embeddings().weight


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = GeneBertForPreTraining(tiny_config()).train()
    data = batch()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(25):
        out = model(**data)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(out.loss.item())
    assert losses[-1] < 0.4 * losses[0], losses
    assert out.srm_loss.item() < 0.5 * math.log(B)


def test_gradient_checkpointing_trains():
    model = GeneBertForPreTraining(tiny_config()).train()
    model.activation_checkpointing_enable()
    model(**batch()).loss.backward()
    assert model.genebert.bert.embeddings.word_embeddings.weight.grad is not None


def test_bf16_autocast_forward(pretraining_model):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = pretraining_model(**batch())
    for name in ("loss", "mgm_loss", "ngsp_loss", "srm_loss"):
        assert getattr(out, name).dtype == torch.float32 and torch.isfinite(getattr(out, name))


@pytest.mark.parametrize(
    "cls, auto",
    [
        (GeneBertForPreTraining, AutoModelForPreTraining),
        (GeneBertModel, AutoModel),
        (GeneBertForSequenceClassification, AutoModelForSequenceClassification),
        (GeneBertForTokenClassification, AutoModelForTokenClassification),
    ],
)
def test_save_load_equality(cls, auto, tmp_path):
    torch.manual_seed(0)
    model = cls(tiny_config(num_labels=3)).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    loaded = auto.from_pretrained(tmp_path).eval()
    assert type(loaded) is cls
    inputs = {k: v for k, v in batch().items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    if cls in (GeneBertForPreTraining, GeneBertModel):
        inputs["region_matrix"] = batch()["region_matrix"]
    with torch.no_grad():
        expected, got = model(**inputs), loaded(**inputs)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=0, atol=0)


def test_task_model_loads_pretraining_checkpoint(pretraining_model, tmp_path):
    pretraining_model.save_pretrained(tmp_path)
    classifier = AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=2)
    torch.testing.assert_close(
        classifier.genebert.bert.encoder.layer[0].output.dense.weight,
        pretraining_model.genebert.bert.encoder.layer[0].output.dense.weight,
    )
    masked_lm = GeneBertForMaskedLM.from_pretrained(tmp_path).eval()
    data = batch()
    with torch.no_grad():
        torch.testing.assert_close(
            masked_lm(data["input_ids"]).logits, pretraining_model(data["input_ids"]).prediction_logits
        )


def test_sequence_classification_problem_types():
    data = batch()
    single = GeneBertForSequenceClassification(tiny_config(num_labels=3)).eval()
    out = single(data["input_ids"], labels=torch.tensor([0, 1, 2, 1]))
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, torch.tensor([0, 1, 2, 1])))
    assert single.config.problem_type == "single_label_classification"
    multi = GeneBertForSequenceClassification(tiny_config(num_labels=3)).eval()
    targets = torch.tensor([[1.0, 0, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0]])
    out = multi(data["input_ids"], labels=targets)
    torch.testing.assert_close(out.loss, F.binary_cross_entropy_with_logits(out.logits, targets))
    regression = GeneBertForSequenceClassification(tiny_config(num_labels=1)).eval()
    out = regression(data["input_ids"], labels=torch.tensor([0.5, 1.0, -1.0, 2.0]))
    torch.testing.assert_close(out.loss, F.mse_loss(out.logits.squeeze(), torch.tensor([0.5, 1.0, -1.0, 2.0])))


def test_sequence_classification_region_fusion():
    torch.manual_seed(0)
    model = GeneBertForSequenceClassification(tiny_config(num_labels=2, classifier_region_fusion=True)).eval()
    data = batch()
    with torch.no_grad():
        with_regions = model(data["input_ids"], region_matrix=data["region_matrix"]).logits
        other_regions = model(data["input_ids"], region_matrix=batch(seed=1)["region_matrix"]).logits
        without = model(data["input_ids"]).logits
        pooled = model.genebert(data["input_ids"]).pooler_output
    assert not torch.allclose(with_regions, other_regions)
    # no region_matrix: the region half of the classifier input is zeros ("no region evidence")
    expected = model.classifier(torch.cat([pooled, torch.zeros(B, 16)], dim=-1))
    torch.testing.assert_close(without, expected)
    plain = GeneBertForSequenceClassification(tiny_config(num_labels=2))
    assert plain.genebert.region_encoder is None


def test_sequence_classification_mean_pooling():
    torch.manual_seed(0)
    model = GeneBertForSequenceClassification(tiny_config(num_labels=2, classifier_pooling="mean")).eval()
    assert model.genebert.bert.pooler is None  # the [CLS] pooler is unused, so not built
    ids = batch()["input_ids"][:2]
    padded = torch.cat([ids, torch.zeros(2, 5, dtype=ids.dtype)], dim=1)
    mask = torch.cat([torch.ones_like(ids), torch.zeros(2, 5, dtype=ids.dtype)], dim=1)
    with torch.no_grad():
        logits = model(ids).logits
        hidden = model.genebert(ids).last_hidden_state
        padded_logits = model(padded, attention_mask=mask).logits
    torch.testing.assert_close(logits, model.classifier(hidden.mean(dim=1)))
    torch.testing.assert_close(padded_logits, logits)  # padding does not move the mean
    with pytest.raises(StrictDataclassClassValidationError, match="classifier_pooling must be 'mean' or 'cls', got 'max'"):
        tiny_config(classifier_pooling="max")


def test_token_classification_ignores_minus_100():
    model = GeneBertForTokenClassification(tiny_config(num_labels=3)).eval()
    data = batch()
    labels = torch.randint(0, 3, (B, L))
    labels[:, 0] = -100
    out = model(data["input_ids"], labels=labels)
    assert out.logits.shape == (B, L, 3)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits[:, 1:].reshape(-1, 3), labels[:, 1:].reshape(-1)))
    assert model.genebert.region_encoder is None and model.genebert.bert.pooler is None


def test_masked_lm_loss_and_tying():
    model = GeneBertForMaskedLM(tiny_config()).eval()
    data = batch()
    out = model(data["input_ids"], labels=data["labels"])
    masked = data["labels"] != -100
    expected = F.cross_entropy(out.logits[masked], data["labels"][masked])
    torch.testing.assert_close(out.loss, expected)
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight


def test_every_config_field_of_ours_has_an_args_entry():
    """As BERT's config: each field GeneBERT adds is documented under Args in its class docstring."""
    import dataclasses

    from transformers import BertConfig, PreTrainedConfig

    from modeling_genebert import GeneBertConfig, GeneBertRegionConfig, GeneBertSequenceConfig

    for cls, base in ((GeneBertConfig, PreTrainedConfig), (GeneBertRegionConfig, PreTrainedConfig),
                      (GeneBertSequenceConfig, BertConfig)):
        inherited = {f.name for f in dataclasses.fields(base)} if dataclasses.is_dataclass(base) else set()
        own = [f.name for f in dataclasses.fields(cls) if f.name not in inherited or f.name in cls.__annotations__]
        args = cls.__doc__.split("Args:", 1)[1]
        missing = [name for name in own if name not in args]
        assert own and not missing, (cls.__name__, missing)
