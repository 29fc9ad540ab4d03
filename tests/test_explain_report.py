"""Issue 22 item 6: an explain report a biologist can read.

Per-base IG is signed and local (no plateau from overlapping k-mers); the report names model, class
and input, has a legend, and shows true labels and quality; logo letters keep their shape (the T's
crossbar is a bar, not a block); the seqlet yield is reported; IG and ISM windows are compared.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("captum")
pytest.importorskip("logomaker")

from modeling_genebert import GeneBertForSequenceClassification, GeneBertTokenizer  # noqa: E402
from modeling_genebert.explain import ExplainedModel, integrated_gradients  # noqa: E402
from modeling_genebert.explain.agreement import chance_overlap, top_window_overlap  # noqa: E402
from modeling_genebert.explain.cli import main as explain_main  # noqa: E402
from dataset_scripts.sequences import one_hot  # noqa: E402
from test_explain import K, MOTIF, MotifCounter, random_dna, tiny_config  # noqa: E402

ANTI = "TTTTT"


@pytest.fixture(scope="module")
def tokenizer():
    return GeneBertTokenizer(k=K)


def plateau_counter(tokenizer):
    """'bound' logit = 0.1 per k-mer token (any k-mer beats [PAD]) + 1 per MOTIF k-mer - 1 per TTT.

    That is what trained models look like to token IG against [PAD]: every token gains, so summed over
    the k tokens covering each base the logo is a positive plateau along the whole sequence."""
    model = MotifCounter(tokenizer)
    vocab = tokenizer.get_vocab()
    with torch.no_grad():
        model.embed.weight += 0.1
        model.embed.weight[vocab["TTT"]] = -1.0
        for special in tokenizer.all_special_ids:
            model.embed.weight[special] = 0.0
    return ExplainedModel(model, tokenizer, ["unbound", "bound"])


def planted():
    seq = random_dna(1, 40, seed=5, alphabet="CG")[0]
    return seq[:5] + MOTIF + seq[12:25] + ANTI + seq[30:]  # motif at 5-11, anti-motif at 25-29


# ----------------------------------------------------------------------------- per-base IG
def test_per_base_ig_is_signed_and_local_where_token_ig_is_a_plateau(tokenizer):
    explained, seq = plateau_counter(tokenizer), planted()
    background = np.r_[0:3, 14:23, 32:40]  # bases more than k-1 from either site

    ig = integrated_gradients(explained, [seq], "bound", n_steps=16)
    bases = ig.bases[0]
    assert ig.hypothetical.shape == (1, 40, 4)
    assert bases[6:11].min() > 0.5  # the motif's core raises the score ...
    assert bases[25:30].max() < -0.3  # ... the anti-motif lowers it (signed) ...
    assert np.abs(bases[background]).max() < 0.15 * bases.max()  # ... and elsewhere there is next to nothing (local)
    assert bases.sum() == pytest.approx(ig.scores[0] - ig.baseline_scores[0], abs=1e-4)  # completeness
    assert np.allclose((ig.hypothetical[0] * one_hot(seq)).sum(-1), bases, atol=1e-5)  # TF-MoDISco's contributions

    old = integrated_gradients(explained, [seq], "bound", n_steps=16, path="tokens").bases[0]
    assert old[14:23].min() > 0.25 and old[background].min() > 0  # the old projection: a positive plateau everywhere


def test_per_base_ig_both_strands_is_strand_symmetric_and_complete():
    torch.manual_seed(0)
    tok = GeneBertTokenizer(k=K)
    explained = ExplainedModel(GeneBertForSequenceClassification(tiny_config()).eval(), tok, ["unbound", "bound"])
    seq = random_dna(1, 24, seed=2)[0]
    rc = seq[::-1].translate(str.maketrans("ACGT", "TGCA"))
    ig = integrated_gradients(explained, [seq, rc], "bound", n_steps=12, strands="both")
    assert np.allclose(ig.bases[0], ig.bases[1][::-1], atol=1e-6)
    assert np.allclose(ig.hypothetical[0], ig.hypothetical[1][::-1, ::-1], atol=1e-6)
    span = np.abs(ig.scores - ig.baseline_scores).max()
    assert np.abs(ig.delta).max() < 1e-6 + 1e-3 * span


def test_per_base_ig_leaves_n_bases_at_zero(tokenizer):
    explained = plateau_counter(tokenizer)
    seq = planted()
    seq = seq[:20] + "N" + seq[21:]
    bases = integrated_gradients(explained, [seq], "bound", n_steps=8).bases[0]
    assert bases[20] == 0 and bases[6:11].min() > 0.5


def test_top_window_overlap_and_chance():
    a = np.zeros((3, 101))
    b = np.zeros((3, 101))
    a[:, 40:50] = 1
    b[0, 42:52] = 1  # overlaps
    b[1, 80:90] = 1  # does not
    b[2, 45:55] = 1  # overlaps
    out = top_window_overlap(a, b, width=10)
    assert out["overlap_share"] == pytest.approx(2 / 3)
    assert out["chance_overlap"] == pytest.approx(chance_overlap(101, 10))
    assert 0.19 < chance_overlap(101, 10) < 0.21


# ----------------------------------------------------------------------------- glyphs
def _t_crossbar_to_stem(png) -> float:
    import matplotlib.image as mpimg

    img = mpimg.imread(png)[..., :3]
    red = (img[..., 0] > 0.6) & (img[..., 1] < 0.35) & (img[..., 2] < 0.35)  # only T glyphs are red
    rows, cols = np.where(red.any(1))[0], np.where(red.any(0))[0]
    box = red[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    widths = box.sum(1)
    crossbar_rows = int((widths >= 0.6 * box.shape[1]).sum())
    stem = float(np.median(widths[len(widths) // 2:]))
    return crossbar_rows / stem


def test_logo_t_keeps_its_shape(tmp_path):
    """A full-height T in a 101-bp attribution logo: its crossbar must stay a bar. The old logo stretched
    each letter into a box 10x taller than wide: crossbar 18 px thick over a 2-px stem (ratio 9);
    an undistorted DejaVu Sans Bold T has about 0.6."""
    from modeling_genebert.explain import plots

    seq = "A" * 50 + "T" + "A" * 50
    values = np.zeros(101)
    values[50] = 1.0
    path = plots.attribution_logo(values, seq, tmp_path / "t.png", "one T")
    assert _t_crossbar_to_stem(path) < 3.0


@pytest.mark.slow
def test_motif_logo_t_keeps_its_shape(tmp_path):
    from modeling_genebert.explain import plots
    from modeling_genebert.explain.motifs import Motif

    ppm = np.full((12, 4), 0.01)
    ppm[:, 0] = 0.97
    ppm[6] = [0.01, 0.01, 0.01, 0.97]
    cwm = ppm * 0.0
    cwm[6, 3] = 1.0
    path = plots.motif_logo_pair(Motif("m", ppm, cwm, 20), None, tmp_path / "m.png")
    assert _t_crossbar_to_stem(path) < 3.0


# ----------------------------------------------------------------------------- the report
@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("report") / "rest-clf"
    GeneBertForSequenceClassification(tiny_config()).eval().save_pretrained(path)
    GeneBertTokenizer(k=K).save_pretrained(path)
    return path


@pytest.mark.slow
def test_report_names_model_class_and_input_has_a_legend_and_the_quality(classifier_folder, tmp_path):
    from modeling_genebert.downstream.metrics import classification_metrics

    seqs = random_dna(8, 40, seed=9)
    labels = ["bound", "unbound", "1", "0", "bound", "unbound", "bound", "0"]
    inp = tmp_path / "peaks_test.csv"
    inp.write_text("name,sequence,label\n" + "".join(f"r{i},{s},{y}\n" for i, (s, y) in enumerate(zip(seqs, labels))))
    out = tmp_path / "report"
    assert explain_main(["--model_name_or_path", str(classifier_folder), "--input", str(inp), "--output_dir", str(out),
                         "--class_name", "bound", "--attribute_label", "bound", "--motifs", "none", "--ig_steps", "8",
                         "--logos", "1", "--no_progress"]) == 0
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    title = "GeneBERT explanation: class &#x27;bound&#x27; of model rest-clf on peaks_test.csv"
    assert f"<h1>{title}</h1>" in html
    assert md.startswith("# GeneBERT explanation: class 'bound' of model rest-clf on peaks_test.csv")
    for text in (html, md):
        assert "How to read this report" in text
        assert "ISM (in-silico saturation mutagenesis)" in text and "IG (Integrated Gradients, per base)" in text
        assert "Positive" in text and "negative" in text  # what the sign means
        assert "Model quality on these 8 sequences" in text and "true_label" in text
        assert "Do IG and ISM point at the same bases?" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sequences"] == 4  # only the 'bound' rows are attributed ...
    table = (out / "sequences.tsv").read_text().splitlines()
    assert len(table) == 5 and all("\tbound\t" in row for row in table[1:])
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0])  # ... quality is measured on all 8
    clf = GeneBertForSequenceClassification.from_pretrained(classifier_folder).eval()
    with torch.no_grad():
        enc = GeneBertTokenizer.from_pretrained(classifier_folder)(seqs, return_tensors="pt", padding=True)
        probs = clf(**enc).logits.softmax(-1).numpy()
    expected = classification_metrics(y, probs)
    for name in ("accuracy", "roc_auc", "mcc"):
        assert summary["quality"][name] == pytest.approx(expected[name], abs=1e-6)
    assert 0 <= summary["ig_ism_agreement"]["overlap_share"] <= 1


@pytest.mark.slow
def test_report_without_labels_says_how_to_get_the_quality(classifier_folder, tmp_path, capsys):
    inp = tmp_path / "peaks.fa"
    inp.write_text("".join(f">p{i}\n{s}\n" for i, s in enumerate(random_dna(3, 40, seed=3))))
    out = tmp_path / "r"
    assert explain_main(["--model_name_or_path", str(classifier_folder), "--input", str(inp), "--output_dir", str(out),
                         "--methods", "ism", "--motifs", "none", "--logos", "1", "--no_progress"]) == 0
    html = (out / "report.html").read_text()
    assert "on peaks.fa</h1>" in html and "No true labels in the input" in html
    assert "IG (Integrated Gradients" not in html  # the legend lists the methods that ran


def test_bad_labels_are_one_error_line(classifier_folder, tmp_path, capsys):
    inp = tmp_path / "bad.tsv"
    inp.write_text("sequence\tlabel\n" + "ACGTACGTAC\tbound\nACGTACGTAA\tenhancer\n")
    cases = [(["--input", str(inp)], f"{inp}:3: label 'enhancer' is not a class of the model"),
             (["--input", str(tmp_path / "x.fa"), "--attribute_label", "bound"], "--attribute_label needs a 'label' column")]
    (tmp_path / "x.fa").write_text(">a\nACGTACGT\n")
    capsys.readouterr()
    for argv, message in cases:
        assert explain_main(["--model_name_or_path", str(classifier_folder), "--output_dir", str(tmp_path / "o")] + argv) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("error: ") and message in err, (message, err)


# ----------------------------------------------------------------------------- seqlet yield
@pytest.mark.slow
def test_seqlet_yield_is_counted_and_reported(classifier_folder, tmp_path):
    from modeling_genebert.explain.motifs import jaspar_ppms, seqlet_yield

    ids, names, ppms = jaspar_ppms()
    rest = ppms[names.index("REST")]
    rng = np.random.default_rng(0)
    seqs, hyp = [], []
    for s in random_dna(200, 80, seed=11):
        at = int(rng.integers(10, 50))
        site = "".join(rng.choice(list("ACGT"), p=rest[:, j]) for j in range(rest.shape[1]))
        seqs.append(s[:at] + site + s[at + len(site):])
        h = rng.normal(0, 0.05, (80, 4)).astype(np.float32)
        h[at:at + len(site)] += (np.log2(rest.T * 4 + 1e-3) * 0.5).astype(np.float32)
        hyp.append(h - h.mean(1, keepdims=True))
    counts = seqlet_yield(np.stack([one_hot(s) for s in seqs]), np.stack(hyp))
    assert counts["positive"] >= 100 and counts["threshold"] > 0

    inp = tmp_path / "p.fa"
    inp.write_text("".join(f">p{i}\n{s}\n" for i, s in enumerate(random_dna(6, 40, seed=4))))
    out = tmp_path / "r"
    assert explain_main(["--model_name_or_path", str(classifier_folder), "--input", str(inp), "--output_dir", str(out),
                         "--methods", "ism", "--strands", "forward", "--logos", "0", "--no_progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"positive", "negative", "kept", "motifs", "sequences"} <= set(summary["seqlet_yield"])
    assert "Seqlet yield (TF-MoDISco)" in (out / "report.html").read_text()
