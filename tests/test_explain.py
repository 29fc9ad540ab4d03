"""genebert-explain: ISM, Integrated Gradients, attention, motifs (TF-MoDISco + Tomtom), region-side TF attributions."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("captum")

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertForSequenceClassification, GeneBertTokenizer  # noqa: E402
from modeling_genebert.explain import (  # noqa: E402
    ExplainedModel, attention_maps, check_sequences, integrated_gradients, ism_contributions,
    projection_matrix, saturation_mutagenesis, to_bases,
)
from modeling_genebert.explain.cli import main as explain_main  # noqa: E402
from modeling_genebert.explain.tokens import class_score  # noqa: E402

K = 3
MOTIF = "GATTACA"


def tiny_config(**overrides) -> GeneBertConfig:
    config = GeneBertConfig.from_preset(
        "tiny",
        sequence_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                             max_position_embeddings=64, kmer=K),
        region_config=dict(num_tfs=579, regions_per_sample=1, hidden_size=32, num_attention_heads=2, intermediate_size=64),
        projection_dim=16, num_labels=2, id2label={0: "unbound", 1: "bound"}, label2id={"unbound": 0, "bound": 1},
        **overrides,
    )
    return config


def random_dna(n: int, length: int, seed: int = 0, alphabet: str = "ACGT") -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(alphabet), length)) for _ in range(n)]


class MotifCounter(nn.Module):
    """A stand-in classifier whose 'bound' logit is the number of k-mer tokens of MOTIF in the input (linear, exact)."""

    def __init__(self, tokenizer, motif: str = MOTIF, window: int = 62):
        super().__init__()
        vocab = tokenizer.get_vocab()
        self.embed = nn.Embedding(len(vocab), 1)
        with torch.no_grad():
            self.embed.weight.zero_()
            for i in range(len(motif) - K + 1):
                self.embed.weight[vocab[motif[i:i + K]]] = 1.0
        self.config = SimpleNamespace(sequence_config=SimpleNamespace(max_position_embeddings=window),
                                      classifier_region_fusion=False)

    def get_input_embeddings(self):
        return self.embed

    def forward(self, input_ids, attention_mask=None, region_matrix=None, **kwargs):
        x = self.embed(input_ids)[..., 0]
        if attention_mask is not None:
            x = x * attention_mask
        bound = x.sum(-1)
        return SimpleNamespace(logits=torch.stack([torch.zeros_like(bound), bound], -1))


class TFReader(nn.Module):
    """A stand-in region-input classifier whose 'bound' logit is the region-matrix column of one TF."""

    def __init__(self, column: int):
        super().__init__()
        self.column = column
        self.w = nn.Parameter(torch.ones(1))
        self.config = SimpleNamespace(sequence_config=SimpleNamespace(max_position_embeddings=62),
                                      classifier_region_fusion=True)

    def forward(self, input_ids, attention_mask=None, region_matrix=None, **kwargs):
        bound = self.w * region_matrix[:, :, self.column].sum(1)
        return SimpleNamespace(logits=torch.stack([torch.zeros_like(bound), bound], -1))


@pytest.fixture(scope="module")
def tokenizer():
    return GeneBertTokenizer(k=K)


@pytest.fixture(scope="module")
def genebert(tokenizer):
    torch.manual_seed(0)
    return ExplainedModel(GeneBertForSequenceClassification(tiny_config()).eval(), tokenizer, ["unbound", "bound"])


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory, genebert):
    path = tmp_path_factory.mktemp("explain") / "clf"
    genebert.model.save_pretrained(path)
    genebert.tokenizer.save_pretrained(path)
    return path


# ----------------------------------------------------------------------------- projection
def test_projection_sums_the_k_tokens_covering_each_base(tokenizer):
    enc = tokenizer("ACGTA", return_offsets_mapping=True)
    offsets = enc["offset_mapping"]  # [CLS] ACG CGT GTA [SEP]
    P = projection_matrix(offsets, 5)
    assert P.sum(1).tolist() == [1, 2, 3, 2, 1]  # interior bases are covered by k = 3 tokens
    bases = to_bases(np.array([100.0, 1, 10, 1000, 7]), offsets, 5)  # [CLS]/[SEP] values are dropped
    assert bases.tolist() == [1, 11, 1011, 1010, 1000]


# ----------------------------------------------------------------------------- ISM
def test_ism_puts_the_attribution_on_the_planted_motif(tokenizer):
    explained = ExplainedModel(MotifCounter(tokenizer), tokenizer, ["unbound", "bound"])
    seq = random_dna(1, 40, seed=3, alphabet="CG")[0]  # no k-mer of the motif outside it
    seq = seq[:15] + MOTIF + seq[22:]
    delta = saturation_mutagenesis(explained, [seq], "bound", strands="forward")
    assert delta.shape == (1, 40, 4)
    contribution, hyp = ism_contributions(delta[0], seq)
    top = set(np.argsort(-contribution)[:len(MOTIF)])
    assert top == set(range(15, 22))
    # mutating the motif's middle base breaks all k = 3 motif k-mers covering it
    assert delta[0, 18].min() == pytest.approx(-3.0)
    assert np.allclose(hyp.sum(1), 0, atol=1e-5)


@pytest.mark.slow
def test_batched_ism_equals_one_forward_per_mutant(genebert, tokenizer):
    seq = random_dna(1, 20, seed=1)[0]
    delta = saturation_mutagenesis(genebert, [seq], 1, strands="both")[0]
    with torch.no_grad():
        def score(s):
            enc = tokenizer([s], return_tensors="pt")
            return class_score(genebert.model(**enc).logits, 1).item()

        rc = lambda s: s[::-1].translate(str.maketrans("ACGT", "TGCA"))  # noqa: E731
        ref = (score(seq) + score(rc(seq))) / 2
        for i in (0, 7, 19):
            for b, base in enumerate("ACGT"):
                if base != seq[i]:
                    mutant = seq[:i] + base + seq[i + 1:]
                    assert delta[i, b] == pytest.approx((score(mutant) + score(rc(mutant))) / 2 - ref, abs=1e-4)
                else:
                    assert delta[i, b] == 0


def test_ism_strands_both_is_strand_symmetric(genebert):
    seq = random_dna(1, 24, seed=2)[0]
    rc = seq[::-1].translate(str.maketrans("ACGT", "TGCA"))
    d, d_rc = saturation_mutagenesis(genebert, [seq, rc], "bound")
    assert np.allclose(d, d_rc[::-1, ::-1], atol=1e-4)


# ----------------------------------------------------------------------------- IG
@pytest.mark.slow
def test_integrated_gradients_completeness(genebert):
    seqs = random_dna(3, 30, seed=4)
    bases = integrated_gradients(genebert, seqs, "bound", n_steps=32)  # per-base path: bases sum to s(x) - s(reference)
    assert bases.bases.shape == (3, 30) and bases.hypothetical.shape == (3, 30, 4)
    span = np.abs(bases.scores - bases.baseline_scores).max()
    assert np.allclose(bases.bases.sum(1), bases.scores - bases.baseline_scores, atol=1e-6 + 1e-3 * span)
    result = integrated_gradients(genebert, seqs, "bound", n_steps=64, path="tokens")
    assert result.bases.shape == (3, 30)
    total = np.array([t.sum() for t in result.tokens])
    assert np.allclose(total, result.scores - result.baseline_scores, atol=2e-3 + 0.02 * np.abs(total).max())
    assert np.abs(result.delta).max() < 2e-3 + 0.02 * np.abs(total).max()
    # projection: bases sum k times the content tokens (first / last k-1 bases fewer)
    assert np.allclose(result.bases[0], to_bases(result.tokens[0], GeneBertTokenizer(k=K)(seqs[0], return_offsets_mapping=True)["offset_mapping"], 30))


def test_integrated_gradients_finds_the_planted_motif(tokenizer):
    explained = ExplainedModel(MotifCounter(tokenizer), tokenizer, ["unbound", "bound"])
    seq = random_dna(1, 40, seed=5, alphabet="CG")[0]
    seq = seq[:5] + MOTIF + seq[12:]
    for path in ("bases", "tokens"):
        result = integrated_gradients(explained, [seq], "bound", n_steps=8, path=path)
        assert set(np.argsort(-result.bases[0])[:len(MOTIF)]) == set(range(5, 12))
        total = result.bases[0].sum() if path == "bases" else result.tokens[0].sum()
        gap = 0.02 * abs(float(total)) if path == "bases" else 1e-4  # bases: 8 quadrature steps, exact only for tokens
        assert result.scores[0] - result.baseline_scores[0] == pytest.approx(total, abs=gap)


# ----------------------------------------------------------------------------- attention
def test_attention_maps_switch_to_eager_and_restore_sdpa(genebert):
    model = genebert.model
    assert model.config._attn_implementation == "sdpa"
    maps = attention_maps(genebert, "ACGTACGTTTGACCA")
    assert maps.tokens.shape == (2, 2, 15, 15)  # 13 k-mers + [CLS] + [SEP]
    assert maps.bases.shape == (2, 2, 15, 15) and maps.cls_to_bases.shape == (2, 2, 15)
    assert np.allclose(maps.tokens.sum(-1), 1, atol=1e-5)  # rows of softmax attention
    # [CLS] -> bases: each base sums the k tokens covering it, so the total is k x (attention to k-mers)
    assert np.allclose(maps.cls_to_bases.sum(-1), 3 * maps.tokens[:, :, 0, 1:-1].sum(-1), atol=1e-5)
    assert model.config._attn_implementation == "sdpa"
    assert model.genebert.bert.config._attn_implementation == "sdpa"


def test_attention_restores_even_when_the_call_fails(genebert):
    with pytest.raises(ValueError, match="non-DNA"):
        attention_maps(genebert, "ACGTXX")
    assert genebert.model.config._attn_implementation == "sdpa"


# ----------------------------------------------------------------------------- region side
@pytest.mark.slow
def test_tf_attribution_ranks_the_tf_the_model_reads(tokenizer):
    from modeling_genebert.explain.region import tf_attributions
    from modeling_genebert.downstream.region_input import RegionMatrixBuilder

    builder = RegionMatrixBuilder(None, rows=1)
    column = builder.motif_set.names.index("FOXA1")
    explained = ExplainedModel(TFReader(column), tokenizer, ["unbound", "bound"], builder)
    seqs = [s[:20] + "TGTTTACTTAGC" + s[32:] for s in random_dna(4, 50, seed=6)]
    table, per_sequence = tf_attributions(explained, seqs, "bound", n_steps=8)
    assert per_sequence.shape == (4, 579)
    assert table.iloc[0]["tf"] == "FOXA1" and table.iloc[0]["motif_id"].startswith("MA0148")
    assert (per_sequence[:, column] > 0).all()  # the FOXA1 site scores above the shuffled baseline
    others = np.delete(per_sequence, column, axis=1)
    assert np.abs(others).max() < 1e-6


def test_tf_attribution_needs_a_region_model(genebert):
    from modeling_genebert.explain.region import tf_attributions

    with pytest.raises(ValueError, match="no region input"):
        tf_attributions(genebert, ["ACGTACGT"])


# ----------------------------------------------------------------------------- input checks
def test_bad_sequences_and_classes_are_clear_errors(genebert):
    with pytest.raises(ValueError, match="empty"):
        check_sequences([])
    with pytest.raises(ValueError, match=r"seq 2: non-DNA characters 'JX'"):
        check_sequences(["ACGT", "ACJX"], names=["seq 1", "seq 2"])
    with pytest.raises(ValueError, match="longer than the model's window of 64 bases"):
        check_sequences(["A" * 65], 64)
    assert genebert.window == 64  # 62 k-mers of 3 bases + [CLS] + [SEP]
    with pytest.raises(ValueError, match=r"class 'enhancer' does not exist; the model's classes are \['unbound', 'bound'\]"):
        genebert.class_index("enhancer")
    assert genebert.class_index("bound") == 1 and genebert.class_index("0") == 0 and genebert.class_index(None) == 1


def _fasta(path, seqs):
    path.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    return path


def test_cli_bad_input_exits_2_with_a_message(classifier_folder, tmp_path, capsys):
    good = _fasta(tmp_path / "good.fa", random_dna(2, 30))
    pre = tmp_path / "pretrain"
    GeneBertForPreTraining(tiny_config()).save_pretrained(pre)
    GeneBertTokenizer(k=K).save_pretrained(pre)
    (tmp_path / "empty.fa").write_text("")
    cases = [
        (["--model_name_or_path", str(pre), "--input", str(good)], "not a fine-tuned classifier"),
        (["--model_name_or_path", str(classifier_folder), "--input", str(_fasta(tmp_path / "long.fa", ["A" * 100]))],
         "s0: 100 bases is longer than the model's window of 64 bases"),
        (["--model_name_or_path", str(classifier_folder), "--input", str(_fasta(tmp_path / "bad.fa", ["ACGU"]))],
         "bad.fa:2: field 'sequence': not a DNA sequence (character 'U') (only A, C, G, T, N are allowed)"),
        (["--model_name_or_path", str(classifier_folder), "--input", str(tmp_path / "empty.fa")], "empty input file"),
        (["--model_name_or_path", str(classifier_folder), "--input", str(good), "--class_name", "enhancer"],
         "class 'enhancer' does not exist"),
        (["--model_name_or_path", str(classifier_folder), "--input", str(good), "--methods", "shap"], "--methods 'shap'"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert explain_main(argv + ["--output_dir", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("error: ") and message in err, (message, err)


def test_the_command_line_is_the_explain_options(capsys):
    from modeling_genebert.explain import ExplainOptions
    from modeling_genebert.explain.cli import build_parser

    required = ["--model_name_or_path", "m", "--input", "s.fa", "--output_dir", "o"]
    (options,) = build_parser().parse_options(required + [
        "--class_name", "bound", "--methods", "ism", "--strands", "forward", "--ig_steps", "8", "--motifs", "none",
        "--attention", "--region_baseline", "zeros", "--max_sequences", "3"])
    assert options == ExplainOptions(model_name_or_path="m", input="s.fa", output_dir="o", class_name="bound", methods="ism",
                                     strands="forward", ig_steps=8, motifs="none", attention=True, region_baseline="zeros",
                                     max_sequences=3)
    (defaults,) = build_parser().parse_options(required)
    assert defaults == ExplainOptions(model_name_or_path="m", input="s.fa", output_dir="o")
    assert (defaults.methods, defaults.strands, defaults.ig_steps, defaults.motifs, defaults.attention) == ("ism,ig", "both", 50, "ism", False)
    with pytest.raises(SystemExit) as exit:
        explain_main(required + ["--region_baseline", "ones"])
    assert exit.value.code == 2 and "error: argument --region_baseline: invalid choice: 'ones'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_writes_arrays_pictures_and_a_self_contained_report(classifier_folder, tmp_path):
    inp = tmp_path / "seqs.csv"
    inp.write_text("name,sequence\n" + "".join(f"r{i},{s}\n" for i, s in enumerate(random_dna(3, 40, seed=9))))
    out = tmp_path / "report"
    assert explain_main(["--model_name_or_path", str(classifier_folder), "--input", str(inp), "--output_dir", str(out),
                         "--motifs", "none", "--attention", "--ig_steps", "8", "--logos", "2", "--no_progress"]) == 0
    assert np.load(out / "ism_delta.npy").shape == (3, 40, 4)
    assert np.load(out / "ig_attributions.npy").shape == (3, 40)
    assert np.load(out / "attention.npy").shape == (2, 2, 40, 40)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5 and "src=\"logo_" not in html  # 2+2 logos + attention, embedded
    assert (out / "logo_ism_0.png").stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["class"] == "bound" and summary["sequences"] == 3


def test_explain_returns_what_the_command_writes(classifier_folder, tmp_path):
    from modeling_genebert.explain import ExplainOptions, ExplainResult, explain

    inp = tmp_path / "seqs.csv"
    inp.write_text("name,sequence,label\n" + "".join(f"r{i},{s},{i % 2}\n" for i, s in enumerate(random_dna(4, 30, seed=3))))
    options = dict(model_name_or_path=str(classifier_folder), input=str(inp), methods="ism", motifs="none", logos=0,
                   no_progress=True)
    result = explain(ExplainOptions(**options, output_dir=str(tmp_path / "api"), attribute_label="bound"))
    assert isinstance(result, ExplainResult) and result.class_name == "bound" and result.sequences == 2
    assert result.to_dict() == json.loads((result.output_dir / "summary.json").read_text())
    assert result.quality["sequences"] == 4 and result.ig_path is None and "ig_path" not in result.to_dict()
    assert np.load(result.output_dir / result.files["ism_delta"]).shape == (2, 30, 4)
    assert explain_main(["--model_name_or_path", str(classifier_folder), "--input", str(inp), "--methods", "ism",
                         "--motifs", "none", "--logos", "0", "--attribute_label", "bound", "--no_progress",
                         "--output_dir", str(tmp_path / "cli")]) == 0
    written = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert written["report"] == str(tmp_path / "cli" / "report.html") and result.report == tmp_path / "api" / "report.html"
    assert {k: v for k, v in written.items() if k != "report"} == {k: v for k, v in result.to_dict().items() if k != "report"}
    np.testing.assert_array_equal(np.load(tmp_path / "cli" / "ism_delta.npy"), np.load(tmp_path / "api" / "ism_delta.npy"))


def test_explain_bad_options_raise_naming_the_option(tmp_path, capsys):
    from modeling_genebert.explain import ExplainOptions, explain

    options = dict(model_name_or_path="no-model", input="no-input.fa", output_dir=str(tmp_path / "o"))
    with pytest.raises(ValueError, match="--motifs ig needs that method in --methods 'ism'"):
        explain(ExplainOptions(**options, methods="ism", motifs="ig"))
    with pytest.raises(ValueError, match="--flank_size must be at least 1, got 0"):
        explain(ExplainOptions(**options, flank_size=0))
    assert explain_main(["--model_name_or_path", "no-model", "--input", "no-input.fa", "--output_dir", str(tmp_path / "o"),
                         "--flank_size", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --flank_size must be at least 1, got 0")


def test_explain_takes_pathlib_paths(classifier_folder, tmp_path):
    from modeling_genebert.explain import ExplainOptions, explain

    inp = tmp_path / "seqs.fa"
    inp.write_text(">s0\n" + random_dna(1, 30, seed=4)[0] + "\n")
    result = explain(ExplainOptions(model_name_or_path=classifier_folder, input=inp, output_dir=tmp_path / "out",
                                    methods="ism", motifs="none", logos=0, no_progress=True))
    assert result.report == tmp_path / "out" / "report.html" and result.sequences == 1
    assert result.to_dict() == json.loads((tmp_path / "out" / "summary.json").read_text())
    assert result.model == str(classifier_folder) and result.input == str(inp)


@pytest.mark.slow
def test_motif_discovery_names_a_planted_jaspar_motif():
    """Seqlets with a planted REST-like site cluster into one motif that Tomtom names REST (MA0138) with q < 0.05."""
    from dataset_scripts.sequences import one_hot
    from modeling_genebert.explain.motifs import discover_motifs, jaspar_ppms, motif_table

    ids, names, ppms = jaspar_ppms()
    rest = ppms[names.index("REST")]  # (4, 21)
    rng = np.random.default_rng(0)
    seqs, hyp = [], []
    for s in random_dna(300, 80, seed=11):
        site = "".join(rng.choice(list("ACGT"), p=rest[:, j]) for j in range(rest.shape[1]))
        at = int(rng.integers(10, 50))
        s = s[:at] + site + s[at + len(site):]
        h = rng.normal(0, 0.05, (80, 4)).astype(np.float32)
        h[at:at + len(site)] += (np.log2(rest.T * 4 + 1e-3) * 0.5).astype(np.float32)  # hypothetical = log-odds
        seqs.append(s)
        hyp.append(h - h.mean(1, keepdims=True))
    oh = np.stack([one_hot(s) for s in seqs])
    found = discover_motifs(oh, np.stack(hyp))
    table = motif_table(found)
    assert len(table) >= 1
    assert table.iloc[0]["match_name"] == "REST" and table.iloc[0]["match_id"].startswith("MA0138")
    assert table.iloc[0]["q_value"] < 0.05 and table.iloc[0]["n_seqlets"] >= 10  # measured: q 6.6e-15, 14 seqlets


@pytest.mark.slow
def test_region_input_folder_reloads_its_region_builder_and_explains_both_sides(tmp_path, tokenizer):
    from modeling_genebert.explain import load_classifier
    from modeling_genebert.explain.region import tf_attributions

    torch.manual_seed(0)
    folder = tmp_path / "region_clf"
    GeneBertForSequenceClassification(tiny_config(classifier_region_fusion=True)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "results.json").write_text(json.dumps({"region_input": {
        "motifs": "JASPAR2018 collection=CORE tax_group=vertebrates all_versions=False (pyjaspar)",
        "rows": 1, "num_tfs": 579, "aggregation": "max"}}))
    clf = load_classifier(folder)
    assert clf.region_builder is not None and clf.region_builder.num_tfs == 579
    seqs = random_dna(2, 40, seed=12)
    table, per_sequence = tf_attributions(clf, seqs, "bound", n_steps=8)
    assert per_sequence.shape == (2, 579) and list(table.columns) == ["tf", "motif_id", "attribution", "mean_abs_attribution", "rank"]
    assert np.isfinite(per_sequence).all() and np.abs(per_sequence).sum() > 0
    assert integrated_gradients(clf, seqs, "bound", n_steps=8).bases.shape == (2, 40)
    assert saturation_mutagenesis(clf, seqs[:1], "bound", strands="forward").shape == (1, 40, 4)
