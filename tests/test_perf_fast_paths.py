"""The fast paths of issue 21: sparse MGM, pre-training dropout, run-time bf16 choice, parallel motif scans."""

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dataset_scripts.motif_scan import MotifScanner
from dataset_scripts.pretraining_build import build_pretraining_dataset
from dataset_scripts.readers import Region
from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, precision
from modeling_genebert.pretraining.pretrain import PretrainingArguments, build_pretraining_model

MOTIFS = os.path.join(os.path.dirname(__file__), "data", "dataset_scripts", "three_motifs.jaspar")


def _tiny_config(**sequence):
    return GeneBertConfig.from_preset(
        "tiny", region_config=dict(num_tfs=8, regions_per_sample=4),
        sequence_config=dict(kmer=3, vocab_size=69, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=64, max_position_embeddings=64, **sequence),
    )


def _batch(masked_columns=slice(3, 9)):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 69, (3, 24), generator=g)
    labels = torch.full_like(ids, -100)
    labels[:, masked_columns] = ids[:, masked_columns]
    types = torch.zeros_like(ids)
    types[:, 12:] = 1
    return dict(input_ids=ids, token_type_ids=types, labels=labels, next_sentence_label=torch.tensor([0, 1, 0]),
                region_matrix=torch.randn(3, 4, 8, generator=g))


def test_sparse_mgm_loss_and_gradients_equal_the_dense_ones():
    torch.manual_seed(0)
    model = GeneBertForPreTraining(_tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    batch = _batch()
    sparse = model(**batch)
    assert sparse.prediction_logits is None  # labels given: the decoder ran on the 18 masked positions only
    sparse.mgm_loss.backward()
    sparse_grad = model.genebert.bert.embeddings.word_embeddings.weight.grad.clone()
    model.zero_grad()
    dense = model(**batch, output_prediction_logits=True)
    assert dense.prediction_logits.shape == (3, 24, 69)
    dense.mgm_loss.backward()
    torch.testing.assert_close(sparse.mgm_loss, dense.mgm_loss)
    torch.testing.assert_close(sparse_grad, model.genebert.bert.embeddings.word_embeddings.weight.grad)
    # no labels: full logits, as the Auto classes and pipelines expect
    unlabelled = model(**{k: v for k, v in batch.items() if k != "labels"})
    assert unlabelled.prediction_logits.shape == (3, 24, 69) and unlabelled.mgm_loss is None


def test_pretraining_dropout_builds_modules_without_changing_the_saved_config(tmp_path):
    config = _tiny_config()
    model = build_pretraining_model(config, 0.0)
    attention = model.genebert.bert.encoder.layer[0].attention.self
    assert attention.dropout.p == 0.0 and model.genebert.bert.embeddings.dropout.p == 0.0
    model.save_pretrained(tmp_path)
    saved = GeneBertConfig.from_pretrained(tmp_path).sequence_config
    assert saved.hidden_dropout_prob == saved.attention_probs_dropout_prob == 0.1  # what fine-tuning gets
    assert build_pretraining_model(_tiny_config(), None).genebert.bert.embeddings.dropout.p == 0.1
    with pytest.raises(ValueError, match="pretraining_dropout must be in"):
        build_pretraining_model(_tiny_config(), 1.5)


def test_bf16_is_chosen_from_the_cpu_flags_and_the_fallback_is_said_once(monkeypatch, caplog):
    monkeypatch.delenv(precision.CPU_BF16_ENV, raising=False)  # the flags decide, not the suite's switch
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    monkeypatch.setattr(precision, "_warned", set())
    supported, reason = precision.bf16_support("cpu")
    assert not supported and "no AMX or AVX512-BF16" in reason
    with caplog.at_level(logging.WARNING, logger="genebert.precision"):
        assert precision.resolve_bf16("auto", "cpu") is False
        assert precision.resolve_bf16("auto", "cpu") is False
    assert sum("running in fp32" in r.getMessage() for r in caplog.records) == 1
    assert precision.resolve_bf16("bf16", "cpu") is True and precision.resolve_bf16("fp32", "cpu") is False
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "amx_bf16", "amx_tile"}))
    assert precision.bf16_support("cpu") == (True, "this CPU has amx_bf16")
    with pytest.raises(ValueError, match="--precision must be one of"):
        precision.resolve_bf16("half", "cpu")


def test_bf16_units_can_be_declared_present_or_absent_whatever_the_cpu(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    monkeypatch.setenv(precision.CPU_BF16_ENV, "1")  # run as an AMX machine would
    assert precision.bf16_support("cpu") == (True, "GENEBERT_CPU_BF16=1")
    assert precision.resolved_precision("auto") == "bf16" and precision.resolved_precision("fp32") == "fp32"
    assert precision.resolved_precision() == "bf16"  # resolve's own default stays auto: training takes the units
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    monkeypatch.setenv(precision.CPU_BF16_ENV, "0")  # run as an AVX2 machine would
    assert precision.resolved_precision("auto") == "fp32" and precision.resolved_precision("bf16") == "bf16"
    monkeypatch.setenv(precision.CPU_BF16_ENV, "yes")
    with pytest.raises(ValueError, match="GENEBERT_CPU_BF16 must be 0 or 1, got 'yes'"):
        precision.bf16_support("cpu")


def test_inference_defaults_to_fp32_and_training_to_auto():
    from modeling_genebert.evaluation.embed import EmbedOptions
    from modeling_genebert.explain.api import ExplainOptions
    from modeling_genebert.finetuning.arguments import FinetuneTrainingArguments
    from modeling_genebert.finetuning.predict import PredictOptions
    from modeling_genebert.variants.api import ScoreVariantsOptions

    for options in (EmbedOptions, ExplainOptions, PredictOptions, ScoreVariantsOptions):
        assert options.__dataclass_fields__["precision"].default == "fp32", options
    for arguments in (PretrainingArguments, FinetuneTrainingArguments):
        assert arguments.__dataclass_fields__["precision"].default == "auto", arguments


def test_training_arguments_take_bf16_only_where_the_machine_has_the_units(monkeypatch, tmp_path):
    monkeypatch.delenv(precision.CPU_BF16_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    args = PretrainingArguments(output_dir=str(tmp_path))
    assert args.precision == "auto" and not args.bf16
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    args = PretrainingArguments(output_dir=str(tmp_path))
    assert args.bf16 and args.use_cpu
    assert not PretrainingArguments(output_dir=str(tmp_path), precision="fp32").bf16


def test_inference_precision_autocasts_only_when_chosen():
    linear = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with precision.inference_precision("bf16", "cpu"):
        assert linear(x).dtype == torch.bfloat16
    with precision.inference_precision("fp32", "cpu"):
        assert linear(x).dtype == torch.float32


def test_parallel_motif_scan_is_byte_identical():
    from dataset_scripts.motifs import read_motif_file

    motifs = read_motif_file(MOTIFS)
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGTN"), rng.integers(5, 40))) for _ in range(300)]
    one = MotifScanner(motifs).scan(sequences, batch_size=16)
    scanner = MotifScanner(motifs, num_proc=2)
    try:
        two = scanner.scan(sequences, batch_size=16)
        assert scanner._pool is not None  # the work went to worker processes
    finally:
        scanner.close()
    assert one.tobytes() == two.tobytes()
    with pytest.raises(ValueError, match="num_proc must be at least 1"):
        MotifScanner(motifs, num_proc=0)


@pytest.mark.slow
def test_dataset_built_with_two_processes_is_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setattr(MotifScanner, "BATCH_ELEMENTS", 6 * 30 * 5)  # batches of 5 windows: every block is split
    pools = []
    start = MotifScanner._scan_in_processes
    monkeypatch.setattr(MotifScanner, "_scan_in_processes", lambda self, *a: pools.append(1) or start(self, *a))
    rng = np.random.default_rng(1)
    regions = {"A": [Region("c1", i * 100, i * 100 + 40, sequence="".join(rng.choice(list("ACGT"), 80)),
                            seq_start=i * 100 - 20) for i in range(120)]}
    kw = dict(regions=regions, motifs=MOTIFS, regions_per_sample=4, bases_per_region=30, negative_pool_size=8,
              progress=False)
    build_pretraining_dataset(tmp_path / "one", **kw)
    build_pretraining_dataset(tmp_path / "two", num_proc=2, **kw)
    assert pools  # the second build scanned in worker processes
    shards = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.parquet"))
    assert shards
    for shard in shards:
        assert (tmp_path / "one" / shard).read_bytes() == (tmp_path / "two" / shard).read_bytes()


def _efficiency_module():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "efficiency.py"
    spec = importlib.util.spec_from_file_location("efficiency_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_efficiency_benchmark_paths_run_at_small_shapes_on_the_cpu():
    """The code the GPU run uses (steps, FLOP counting, batched variant scoring), at tiny shapes here."""
    bench = _efficiency_module()
    cpu = torch.device("cpu")
    for path in (bench.RunPath("today"), bench.RunPath("fast", dropout=0.0, sparse_mgm=True, bf16=True)):
        step, model, inputs = bench.pretraining_step("tiny", path, cpu, batch=2, length=64)
        before = model.cls.predictions.transform.dense.weight.clone()
        step()
        assert not torch.equal(before, model.cls.predictions.transform.dense.weight)  # the optimizer stepped
    dense = bench.count_flops(bench.pretraining_step, "tiny", cpu, batch=2, length=64)
    # 2 layers x 128 tokens: at least the encoder's linear layers, forward and backward (x3)
    assert dense > 3 * 2 * 128 * 2 * (4 * 128 * 128 + 2 * 128 * 512)
    assert bench.variant_scoring_rate(cpu, n=8) > 0
    assert bench.physical_cores() >= 1


def test_embeddings_grouped_by_length_come_back_in_input_order_and_bf16_stays_close():
    import random

    from modeling_genebert import GeneBertModel, GeneBertTokenizer
    from modeling_genebert.evaluation.embed import embed_sequences

    torch.manual_seed(0)
    config = GeneBertConfig.from_preset(
        "tiny", region_config=dict(num_tfs=4, regions_per_sample=2),
        sequence_config=dict(kmer=4, vocab_size=5 + 4**4, hidden_size=32, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=64),
    )
    model, tokenizer = GeneBertModel(config).eval(), GeneBertTokenizer(k=4)
    rng = random.Random(0)
    sequences = ["".join(rng.choice("ACGT") for _ in range(n)) for n in (40, 12, 30, 8, 25)]
    batched = embed_sequences(model, tokenizer, sequences, pooling="mean", batch_size=2, precision="fp32")
    for i, sequence in enumerate(sequences):
        alone = embed_sequences(model, tokenizer, [sequence], pooling="mean", precision="fp32")[0]
        np.testing.assert_allclose(batched[i], alone, rtol=1e-4, atol=1e-5)
    bf16 = embed_sequences(model, tokenizer, sequences, pooling="mean", batch_size=2, precision="bf16")
    assert bf16.dtype == np.float32
    assert np.abs(bf16 - batched).max() < 0.1 and not np.array_equal(bf16, batched)  # bf16 really ran


def test_variant_scoring_runs_one_masked_pass_per_site_and_one_reference_pass_per_window(monkeypatch):
    from dataset_scripts.variants import AllelePair, Variant
    from modeling_genebert import GeneBertTokenizer
    from modeling_genebert.variants import VariantScorer
    from modeling_genebert.variants.scores import embedding, llr

    torch.manual_seed(0)
    model = GeneBertForPreTraining(_tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)).eval()
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 30))
    pairs = [AllelePair(Variant("chr1", 16, seq[15], alt, id=f"{seq[15]}>{alt}"), seq, seq[:15] + alt + seq[16:], 15, 1, 1)
             for alt in "ACGT" if alt != seq[15]]  # saturation mutagenesis of one base: 3 alternatives
    masked_rows, encoded_rows = [], []
    masked, encode = llr.masked_log_marginals, embedding.encode
    monkeypatch.setattr(llr, "masked_log_marginals", lambda m, t, seqs, *a, **k: masked_rows.append(len(seqs)) or masked(m, t, seqs, *a, **k))
    monkeypatch.setattr(embedding, "encode", lambda e, t, seqs, *a, **k: encoded_rows.append(len(seqs)) or encode(e, t, seqs, *a, **k))
    scorer = VariantScorer(model=model, tokenizer=GeneBertTokenizer(k=3), motifs=False, scores=["llr", "embedding"],
                           strand="forward", precision="fp32")
    together = scorer.score(pairs)
    assert masked_rows == [1]  # one masked pass serves the three alternatives
    assert encoded_rows == [1, 3]  # the shared reference window once, then the three alternative windows
    alone = pd.concat([scorer.score([pair]) for pair in pairs], ignore_index=True)
    np.testing.assert_allclose(together["llr_masked"], alone["llr_masked"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(together["embedding_cosine_distance_mean"], alone["embedding_cosine_distance_mean"],
                               rtol=1e-4, atol=1e-6)


def test_auto_precision_keeps_the_masked_llr_in_fp32_where_bf16_would_be_chosen(monkeypatch):
    from dataset_scripts.variants import AllelePair, Variant
    from modeling_genebert import GeneBertTokenizer
    from modeling_genebert.variants import VariantScorer

    monkeypatch.delenv(precision.CPU_BF16_ENV, raising=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))  # as on a CPU with AMX
    torch.manual_seed(0)
    model = GeneBertForPreTraining(_tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)).eval()
    rng = np.random.default_rng(1)
    pairs = []
    for i in range(4):
        seq = "".join(rng.choice(list("ACGT"), 30))
        alt = "A" if seq[15] != "A" else "G"
        pairs.append(AllelePair(Variant("chr1", 16, seq[15], alt, id=str(i)), seq, seq[:15] + alt + seq[16:], 15, 1, 1))
    frames = {p: VariantScorer(model=model, tokenizer=GeneBertTokenizer(k=3), motifs=False, scores=["llr", "embedding"],
                               precision=p).score(pairs) for p in ("fp32", "auto", "bf16")}
    np.testing.assert_array_equal(frames["auto"]["llr_masked"], frames["fp32"]["llr_masked"])
    assert not np.array_equal(frames["bf16"]["llr_masked"], frames["fp32"]["llr_masked"])
    assert not np.array_equal(frames["auto"]["embedding_cosine_distance_mean"], frames["fp32"]["embedding_cosine_distance_mean"])
