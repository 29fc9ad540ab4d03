"""Issue 32: the batched explain paths give the numbers of the per-item paths they replace, in fp32.

* Integrated Gradients per base: the closed form over k-mer subset sums, many sequences and both strands per
  pass, equals autograd through the 4^k-wide mixture one sequence at a time (the definition);
* ISM: mutant ids from the reference's by changing the k covering tokens equal the tokenizer's ids of the
  mutant strings; pooled, deduplicated ISM equals one forward pass per mutant;
* the classifier's last layer for [CLS] only gives the full model's logits and gradients;
* none of it depends on batch-mates or batch size beyond float rounding.

Speed is measured by ``benchmarks/explain_speed.py``, not here.
"""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from modeling_genebert import GeneBertConfig, GeneBertForSequenceClassification, GeneBertTokenizer
from modeling_genebert.downstream.cls_only import applies, cls_only_last_layer
from modeling_genebert.explain import ExplainedModel, integrated_gradients, saturation_mutagenesis
from modeling_genebert.explain.tokens import KmerIds, class_score, encode_codes

IG = importlib.import_module("modeling_genebert.explain.integrated_gradients")
DATA = Path(__file__).parent / "data"
_RC = str.maketrans("ACGTN", "TGCAN")


def real_sequences(n: int, length: int) -> list[str]:
    """ChIP-seq TF sites of the GUE tf0 dev set (101 bp), cut to ``length`` bases."""
    with open(DATA / "gue_tf0_dev_200.csv", encoding="utf-8") as fh:
        return [row["sequence"][:length] for row, _ in zip(csv.DictReader(fh), range(n))]


def classifier(k: int, layers: int = 2, seed: int = 0, **overrides) -> ExplainedModel:
    torch.manual_seed(seed)
    config = GeneBertConfig.from_preset(
        "tiny", sequence_config=dict(hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=128, kmer=k),
        num_labels=2, id2label={0: "unbound", 1: "bound"}, label2id={"unbound": 0, "bound": 1}, **overrides)
    model = GeneBertForSequenceClassification(config).eval()
    with torch.no_grad():  # weights large enough that the score moves with the bases
        for p in model.parameters():
            p.mul_(8.0 if p.dim() > 1 else 1.0)
    return ExplainedModel(model, GeneBertTokenizer(k=k), ["unbound", "bound"])


@pytest.fixture(scope="module")
def k4():
    return classifier(4)


# ----------------------------------------------------------------------------- Integrated Gradients
@pytest.mark.parametrize("k", [3, 4])
def test_closed_form_ig_equals_autograd_through_the_kmer_mixture(k):
    explained = classifier(k)
    seqs = real_sequences(3, 60)
    seqs[1] = seqs[1][:20] + "N" + seqs[1][21:]  # N: its tokens stay [UNK], its base gets 0
    new = IG._base_ig(explained, seqs, 1, 12, 16, False)
    old = IG._base_ig_reference(explained, seqs, 1, 12)
    for (hyp, bases, score, base_score, gap), (hyp0, bases0, score0, base_score0, gap0) in zip(new, old):
        scale = np.abs(hyp0).max()
        assert scale > 1e-3  # the model responds to the bases, so the comparison means something
        assert np.allclose(hyp, hyp0, atol=1e-5 * scale, rtol=1e-4)
        assert np.allclose(bases, bases0, atol=1e-5 * scale, rtol=1e-4)
        assert score == pytest.approx(score0, abs=1e-5) and base_score == pytest.approx(base_score0, abs=1e-5)
        assert gap == pytest.approx(gap0, abs=1e-4)
    assert new[1][1][20] == 0 and np.all(new[1][0][20] == 0)


def test_ig_does_not_depend_on_batch_mates_or_rows_per_pass(k4, monkeypatch):
    seqs = real_sequences(4, 50) + real_sequences(2, 40)  # two lengths: two groups of passes
    alone = integrated_gradients(k4, seqs[:1], "bound", n_steps=10, strands="both", internal_batch_size=64)
    monkeypatch.setattr(IG, "IG_GROUP", 4)  # sequences pooled 4 at a time: group boundaries inside the input
    mixed = integrated_gradients(k4, seqs, "bound", n_steps=10, strands="both", internal_batch_size=7)
    scale = np.abs(alone.hypothetical[0]).max()
    assert np.allclose(mixed.hypothetical[0], alone.hypothetical[0], atol=1e-5 * scale)
    assert np.allclose(mixed.bases[0], alone.bases[0], atol=1e-5 * scale)
    assert mixed.scores[0] == pytest.approx(alone.scores[0], abs=1e-5)
    assert len(mixed.bases) == 6 and mixed.bases[5].shape == (40,)  # lengths differ: a list, in input order


# ----------------------------------------------------------------------------- ISM
def test_mutant_ids_are_the_tokenizers_ids_of_the_mutant_strings():
    tokenizer = GeneBertTokenizer(k=6)
    seq = real_sequences(1, 101)[0]
    seq = seq[:30] + "N" + seq[31:]
    kmer_ids = KmerIds(tokenizer, seq)
    codes = encode_codes(seq)
    pos = np.repeat(np.nonzero(codes < 4)[0], 3)
    base = np.array([[b for b in range(4) if b != c] for c in codes[codes < 4]]).reshape(-1)
    got = kmer_ids.substitutions(pos, base)
    mutants = [seq[:p] + "ACGT"[b] + seq[p + 1:] for p, b in zip(pos, base)]
    expected = np.asarray(tokenizer(mutants)["input_ids"])
    assert got.shape == expected.shape == (3 * 100, 98)
    assert np.array_equal(got, expected)
    changed = (got != kmer_ids.reference_ids).sum(1)
    assert changed.max() == 6 and changed.min() >= 1  # only the k tokens covering the base change


@pytest.mark.parametrize("layers", [2, 1])  # one layer: layer 0 is also the [CLS]-only last layer
def test_pooled_ism_equals_one_forward_pass_per_mutant(k4, layers):
    model = k4 if layers == 2 else classifier(4, layers=1)
    seqs = real_sequences(2, 40)
    delta = saturation_mutagenesis(model, seqs, "bound", strands="both", batch_size=13)
    tok = model.tokenizer

    def score(s: str) -> float:
        with torch.no_grad():
            return class_score(model.model(**tok([s], return_tensors="pt")).logits, 1).item()

    for n, seq in enumerate(seqs):
        ref = (score(seq) + score(seq[::-1].translate(_RC))) / 2
        for i in (0, 17, 39):
            for b, base in enumerate("ACGT"):
                mutant = seq[:i] + base + seq[i + 1:]
                expected = 0.0 if base == seq[i] else (score(mutant) + score(mutant[::-1].translate(_RC))) / 2 - ref
                assert delta[n, i, b] == pytest.approx(expected, abs=1e-5)
    assert np.abs(delta).max() > 1e-2


def test_ism_does_not_depend_on_batch_mates_duplicates_or_batch_size(k4):
    seqs = real_sequences(3, 40)
    palindrome = "ACGTTGCAACGTAAGCTTACGT" + "GAATTC"
    palindrome = palindrome + palindrome[::-1].translate(_RC)  # its reverse complement is itself
    alone = saturation_mutagenesis(k4, seqs[:1], "bound", batch_size=64)[0]
    crowd = saturation_mutagenesis(k4, [seqs[0], palindrome, seqs[0]] + seqs[1:], "bound", batch_size=24, group=3)
    assert np.allclose(crowd[0], alone, atol=1e-5) and np.array_equal(crowd[0], crowd[2])  # a repeat is scored once
    pal = crowd[1]
    assert np.allclose(pal, pal[::-1, ::-1], atol=1e-6)  # both strands of a palindrome: one set of windows


# ----------------------------------------------------------------------------- [CLS]-only last layer
def test_cls_only_last_layer_gives_the_full_models_logits_and_gradients(k4):
    model, tok = k4.model, k4.tokenizer
    assert applies(model)
    enc = tok(real_sequences(3, 60)[:2] + ["ACGTACGTAC" * 3], padding=True, return_tensors="pt")  # with padding
    embeds = model.get_input_embeddings()(enc["input_ids"]).detach().requires_grad_(True)
    full = model(inputs_embeds=embeds, attention_mask=enc["attention_mask"]).logits
    g_full, = torch.autograd.grad(full[:, 1].sum(), embeds)
    with cls_only_last_layer(model):
        fast = model(inputs_embeds=embeds, attention_mask=enc["attention_mask"]).logits
        g_fast, = torch.autograd.grad(fast[:, 1].sum(), embeds)
    assert torch.allclose(fast, full, atol=1e-5) and torch.allclose(g_fast, g_full, atol=1e-5 * g_full.abs().max())
    assert "forward" not in vars(model.genebert.bert.encoder.layer[-1])  # restored
    mean_pooled = classifier(4, classifier_pooling="mean").model
    assert not applies(mean_pooled)  # its logits read every token's last state: left as it is


# ----------------------------------------------------------------------------- the plan, the ETA, the report (issue 29 item 9)
@pytest.fixture(scope="module")
def k4_folder(tmp_path_factory, k4):
    path = tmp_path_factory.mktemp("explain_plan") / "clf"
    k4.model.save_pretrained(path)
    k4.tokenizer.save_pretrained(path)
    return path


def test_explain_prints_a_plan_before_the_work_and_bars_with_an_eta(k4_folder, tmp_path, capsys):
    import re

    from modeling_genebert.explain.cli import main as explain_main

    seqs = real_sequences(3, 40)
    seqs[2] = seqs[2][:30]
    (tmp_path / "in.fa").write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    code = explain_main(["--model_name_or_path", str(k4_folder), "--input", str(tmp_path / "in.fa"), "--motifs", "none",
                         "--logos", "0", "--ig_steps", "6", "--batch_size", "16", "--precision", "fp32",
                         "--output_dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0
    plan = [line for line in err.splitlines() if line.startswith("plan: ")]
    assert len(plan) == 1, err
    windows = (3 * 40 + 1) * 2 * 2 + (3 * 30 + 1) * 2  # per sequence and strand: 3 per base + the reference
    assert f"plan: 3 sequences of 30-40 bp; ISM {windows:,} windows (both strands)" in plan[0]
    assert "IG 48 path points (6 steps, bases path, both strands)" in plan[0]  # 3 sequences x 2 strands x (6 + 2)
    minutes = float(re.search(r"estimated ([\d.]+) minutes", plan[0]).group(1))
    assert 0 <= minutes < 5
    assert err.index("plan: ") < err.index("ISM windows:")  # the plan comes before the work
    for bar in ("ISM windows", "integrated gradients (path points)"):  # total known: tqdm shows elapsed<remaining
        assert re.search(re.escape(bar) + r": 100%.*\[\d\d:\d\d<\d\d:\d\d", err), bar
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["plan"] == {"sequences": 3, "ism_windows": windows, "ig_path_points": 48}
    assert "## Sequences (all 3)" in (tmp_path / "out" / "report.md").read_text()


def test_the_report_says_where_it_truncates_the_sequence_table():
    import pandas as pd

    from modeling_genebert.explain.api import REPORT_ROWS, sequences_section

    heading, shown = sequences_section(pd.DataFrame({"name": [f"s{i}" for i in range(300)]}))
    assert REPORT_ROWS == 200 and heading == "Sequences (first 200 of 300; all 300 are in sequences.tsv)" and len(shown) == 200
    heading, shown = sequences_section(pd.DataFrame({"name": [f"s{i}" for i in range(200)]}))
    assert heading == "Sequences (all 200)" and len(shown) == 200


def test_motif_matches_above_the_q_threshold_are_shown_apart():
    import pandas as pd

    from modeling_genebert.explain.api import motif_sections
    from modeling_genebert.explain.motifs import Motif, motif_table

    def motif(name, q):
        ppm = np.eye(4)[[0, 1, 2, 3, 0, 1]]
        matches = pd.DataFrame({"match_name": [f"TF_{name}"], "match_id": ["MA0000.1"], "p_value": [q / 10], "q_value": [q],
                                "offset": [0], "strand": ["+"]})
        return Motif(name, ppm, ppm, 12, matches)

    table = motif_table([motif("a", 1e-6), motif("b", 0.06), motif("c", 0.19)])
    assert table["significant"].tolist() == [True, False, False]
    sections = motif_sections(table)
    assert [h for h, _ in sections] == [
        "Discovered motifs (TF-MoDISco) and their Tomtom matches in JASPAR 2018: significant matches (q < 0.05)",
        "Motifs without a significant JASPAR match (best q >= 0.05: the name is only the nearest motif)"]
    assert sections[0][1]["motif"].tolist() == ["a"] and sections[1][1]["motif"].tolist() == ["b", "c"]
    only_weak = motif_sections(table.iloc[1:])
    assert only_weak[0][1] == "No discovered motif has a JASPAR match with q < 0.05."
