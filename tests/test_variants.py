"""Variant-effect scoring: readers (data side), masked marginals, the scores, genebert-score-variants."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from test_model import tiny_config  # noqa: E402

from dataset_scripts.readers import DataFormatError, Genome  # noqa: E402
from dataset_scripts.variants import (  # noqa: E402
    WindowStats,
    genome_windows,
    pair_from_sequences,
    read_allele_table,
    read_paired_fasta,
    read_variant_table,
    read_vcf,
    reverse_complement,
)
from modeling_genebert import GeneBertForPreTraining, GeneBertForSequenceClassification, GeneBertTokenizer  # noqa: E402
from modeling_genebert.variants import (  # noqa: E402
    MotifEffects,
    VariantScorer,
    fill_base,
    masked_log_marginals,
    masked_marginals,
    score_variant_records,
)
from modeling_genebert.variants.cli import main as cli_main  # noqa: E402

DATA = Path(__file__).parent / "data" / "variants"
SOURCE_GENOME = DATA / "genome_piece.fa"


@pytest.fixture(scope="module")
def genome_file(tmp_path_factory):
    """A copy outside the checkout: pyfaidx writes its .fai index beside the FASTA."""
    import shutil

    path = tmp_path_factory.mktemp("genome") / "genome_piece.fa"
    shutil.copy(SOURCE_GENOME, path)
    return path


def _genome_seq() -> str:
    return "".join(line.strip() for line in SOURCE_GENOME.read_text().splitlines()[1:]).upper()


def _vcf_text(records: list[str]) -> str:
    header = ["##fileformat=VCFv4.2", "##contig=<ID=chrT,length=2000>",
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    return "\n".join(header + records) + "\n"


def _records():
    g = _genome_seq()
    other = lambda b: "A" if b != "A" else "C"  # noqa: E731
    return [
        f"chrT\t101\trs1\t{g[100]}\t{other(g[100])}\t.\t.\t.",
        f"chrT\t501\trs2\t{g[500]}\t{other(g[500])},{'G' if g[500] != 'G' else 'T'}\t.\t.\t.",  # multi-allelic
        f"chrT\t801\tdel1\t{g[800:803]}\t{g[800]}\t.\t.\t.",  # 2-base deletion
        f"chrT\t1201\tins1\t{g[1200]}\t{g[1200]}TTA\t.\t.\t.",  # 3-base insertion
        f"chrT\t1996\tend1\t{g[1995]}\t{other(g[1995])}\t.\t.\t.",  # window runs past the end
    ]


@pytest.fixture(scope="module")
def vcf(tmp_path_factory):
    path = tmp_path_factory.mktemp("vcf") / "variants.vcf"
    path.write_text(_vcf_text(_records()))
    return path


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A tiny (k=3) pre-training folder: MGM head + encoder."""
    torch.manual_seed(0)
    model = GeneBertForPreTraining(tiny_config(sequence_config=dict(max_position_embeddings=128))).eval()
    path = tmp_path_factory.mktemp("tiny") / "pretrained"
    model.save_pretrained(path)
    GeneBertTokenizer(k=3).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    torch.manual_seed(1)
    config = tiny_config(sequence_config=dict(max_position_embeddings=128))
    config.num_labels, config.id2label, config.label2id = 2, {0: "K562", 1: "HepG2"}, {"K562": 0, "HepG2": 1}
    model = GeneBertForSequenceClassification(config).eval()
    path = tmp_path_factory.mktemp("tiny") / "classifier"
    model.save_pretrained(path)
    GeneBertTokenizer(k=3).save_pretrained(path)
    (path / "results.json").write_text(json.dumps({"task": "dhs_cell_type", "region_input": False}))
    return path


# --------------------------------------------------------------------------- readers (data side)
def test_vcf_plain_and_bgzipped_multiallelic_split(vcf, tmp_path):
    import pysam

    plain = list(read_vcf(vcf))
    gz = tmp_path / "variants.vcf.gz"
    pysam.tabix_compress(str(vcf), str(gz))
    assert [(v.chrom, v.pos, v.ref, v.alt, v.id) for v in read_vcf(gz)] == [(v.chrom, v.pos, v.ref, v.alt, v.id) for v in plain]
    assert len(plain) == 6  # rs2 split in two
    assert [v.id for v in plain[1:3]] == [f"rs2:{plain[1].alt}", f"rs2:{plain[2].alt}"]
    assert plain[1].pos == plain[2].pos == 501 and plain[1].alt != plain[2].alt
    assert [v.kind for v in plain] == ["snv", "snv", "snv", "indel", "indel", "snv"]
    assert plain[0].origin.endswith("variants.vcf:4")  # 3 header lines, then the first record


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("chrT\t101\t.\tA\tC\t.\t.\t.\n", "not a VCF"),
    (_vcf_text(["chrT\t101\tsv1\tA\t<DEL>\t.\t.\t."]), "variants.vcf:4: field 'ALT': symbolic"),
    (_vcf_text(["chrT\t101\tx\tA\tZ\t.\t.\t."]), "variants.vcf:4: field 'alt': allele must hold only A, C, G, T or N"),
])
def test_vcf_bad_input_is_named(tmp_path, text, message):
    path = tmp_path / "variants.vcf"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=message):
        list(read_vcf(path))


@pytest.mark.parametrize("record, message", [
    ("chrT\t20O000\tx\tA\tC\t.\t.\t.", "variants.vcf:5: field 'POS': not a position (a whole number) (value '20O000')"),
    ("chrT\t101\tx\tA", "variants.vcf:5: a VCF record needs 8 tab-separated columns (CHROM, POS, ID, REF, ALT, QUAL, "
                          "FILTER, INFO), this one has 4"),
])
def test_a_malformed_vcf_record_is_one_line_naming_the_line_field_and_value(tmp_path, record, message, capfd):
    path = tmp_path / "variants.vcf"
    path.write_text(_vcf_text(["chrT\t101\tgood\tA\tC\t.\t.\t.", record]))
    with pytest.raises(DataFormatError) as error:
        list(read_vcf(path))
    assert str(error.value) == f"{path.parent}/{message}"
    assert capfd.readouterr().err == ""  # htslib's own note is not printed above our line


def test_variant_table_and_bad_rows(tmp_path):
    good = tmp_path / "v.tsv"
    good.write_text("chrom\tpos\tref\talt\tid\nchrT\t101\tA\tG\tmine\nchrT\t5\ta\tt\t\n")
    rows = list(read_variant_table(good))
    assert [(v.pos, v.ref, v.alt, v.id) for v in rows] == [(101, "A", "G", "mine"), (5, "A", "T", "chrT:5:A>T")]
    bad = tmp_path / "bad.csv"
    bad.write_text("chrom,pos,ref,alt\nchrT,12x,A,G\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:2: field 'pos': not an integer \(value '12x'\)"):
        list(read_variant_table(bad))
    missing = tmp_path / "missing.csv"
    missing.write_text("chrom,position,ref,alt\n")
    with pytest.raises(DataFormatError, match="missing.csv:1: field 'pos': missing column"):
        list(read_variant_table(missing))


def test_allele_table_and_paired_fasta(tmp_path):
    table = tmp_path / "alleles.csv"
    table.write_text("id,ref_sequence,alt_sequence\nsnp,ACGTACGT,ACGAACGT\ndel,ACGTTTACG,ACGTTACG\n")
    snp, deletion = read_allele_table(table)
    assert (snp.offset, snp.variant.ref, snp.variant.alt, snp.is_snv) == (3, "T", "A", True)
    assert (deletion.ref_len, deletion.alt_len, deletion.variant.alt) == (1, 0, "-")
    pairs = list(read_paired_fasta(DATA / "ctcf_binding_24.fa", DATA / "ctcf_nonbinding_24.fa"))
    assert len(pairs) == 24 and all(p.is_snv and p.offset == 49 for p in pairs)  # the published pairs differ at index 49
    short = tmp_path / "short.fa"
    short.write_text(">a\n" + pairs[0].alt_seq + "\n")
    with pytest.raises(DataFormatError, match="short.fa: has only 1 records"):
        list(read_paired_fasta(DATA / "ctcf_binding_24.fa", short))
    bad = tmp_path / "bad.csv"
    bad.write_text("ref_sequence,alt_sequence\nACGT,AC!T\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:2: field 'alt_sequence': not a DNA sequence \(character '!'\)"):
        list(read_allele_table(bad))


def test_genome_windows_centre_ref_check_indels_and_padding(vcf, tmp_path, genome_file):
    g = _genome_seq()
    genome = Genome(genome_file)
    stats = WindowStats()
    pairs = list(genome_windows(read_vcf(vcf), genome, 21, stats=stats))
    first = pairs[0]
    assert first.ref_seq == g[90:111] and first.offset == 10 and first.alt_seq[10] == first.variant.alt
    assert first.alt_seq[:10] + first.alt_seq[11:] == first.ref_seq[:10] + first.ref_seq[11:]
    deletion, insertion, end = pairs[3], pairs[4], pairs[5]
    assert len(deletion.alt_seq) == len(insertion.alt_seq) == 21
    assert deletion.alt_seq == g[790:801] + g[803:813]  # bases pulled in from the right
    assert insertion.alt_seq == (g[1190:1201] + "TTA" + g[1201:1211])[:21]
    assert end.ref_seq == g[1985:2000] + "N" * 6 and end.padded == 6 and stats.padded == 1 and "padded" in end.notes[0]
    bad = tmp_path / "bad.tsv"
    wrong = "A" if g[100] != "A" else "C"
    bad.write_text(f"chrom\tpos\tref\talt\tid\nchrT\t101\t{wrong}\tG\tmyvar\nchrT\t201\t{g[200]}\t{'A' if g[200] != 'A' else 'C'}\tok\n")
    with pytest.raises(DataFormatError, match=r"bad.tsv:2: REF of variant myvar \(chrT:101 .*does not match the genome"):
        list(genome_windows(read_variant_table(bad), genome, 21))
    stats = WindowStats()
    kept = list(genome_windows(read_variant_table(bad), genome, 21, skip_ref_mismatch=True, stats=stats))
    assert [p.variant.id for p in kept] == ["ok"] and stats.ref_mismatch == 1
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text("chrom\tpos\tref\talt\nchr9\t5\tA\tG\n")
    with pytest.raises(DataFormatError, match="unknown.tsv:2: field 'chrom': chromosome missing from the FASTA"):
        list(genome_windows(read_variant_table(unknown), genome, 21))


# --------------------------------------------------------------------------- masked marginals
def _reference_log_marginals(model, tok, seq, pos):
    """By hand: mask the k tokens covering ``pos``, marginalise each onto the base (ACGT order)."""
    k = tok.kmer
    enc = tok(seq, return_tensors="pt")
    ids = enc["input_ids"].clone()
    covering = [j for j in range(pos - k + 1, pos + 1) if 0 <= j <= len(seq) - k]
    for j in covering:
        ids[0, j + 1] = tok.mask_token_id
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=enc["attention_mask"]).prediction_logits[0]
    vocab = tok.get_vocab()
    kmers = [t for t in vocab if len(t) == k and set(t) <= set("ACGT")]
    out = {}
    for j in covering:
        probs = torch.softmax(logits[j + 1, [vocab[t] for t in kmers]], -1)
        out[pos - j] = [float(sum(p for t, p in zip(kmers, probs) if t[pos - j] == b).log()) for b in "ACGT"]
    return out


def test_masked_marginals_match_a_hand_computation(tiny_folder):
    model = GeneBertForPreTraining.from_pretrained(tiny_folder).eval()
    tok = GeneBertTokenizer.from_pretrained(tiny_folder)
    seqs, positions = ["ACGTAGGCTTACGATCGATCG", "GGCATTACAGT", "ACGTACGTAC"], [12, 0, 9]
    log_m = masked_log_marginals(model, tok, seqs, positions)
    assert log_m.shape == (3, 3, 4)
    for r, (s, p) in enumerate(zip(seqs, positions)):
        expected = _reference_log_marginals(model, tok, s, p)
        for offset in range(3):
            if offset in expected:
                np.testing.assert_allclose(log_m[r, offset], expected[offset], rtol=1e-4, atol=1e-5)
            else:  # positions 0 and len-1 are covered by one token only
                assert np.isnan(log_m[r, offset]).all()
    probs = masked_marginals(model, tok, seqs, positions)
    assert probs.shape == (3, 4)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-9)
    mean = np.nanmean(log_m, axis=1)
    np.testing.assert_allclose(np.log(probs[:, 1] / probs[:, 0]), mean[:, 1] - mean[:, 0], rtol=1e-6)  # product of experts


def test_masked_marginals_follow_a_biased_head(tiny_folder):
    """A head that always predicts the 3-mer GGG puts (almost) all mass on G at every base."""
    model = GeneBertForPreTraining.from_pretrained(tiny_folder).eval()
    tok = GeneBertTokenizer.from_pretrained(tiny_folder)
    with torch.no_grad():
        model.cls.predictions.bias[tok.convert_tokens_to_ids("GGG")] += 40.0
    probs = masked_marginals(model, tok, ["ACGTACGTACGTAC"] * 3, [0, 6, 13])
    np.testing.assert_allclose(probs[:, 2], 1.0, atol=1e-6)
    best = fill_base(model, tok, "ACGTACGTACGTAC", 6)
    assert best[0]["base"] == "G" and best[0]["sequence"] == "ACGTACGTACGTAC"[:6] + "G" + "ACGTACGTACGTAC"[7:]
    assert [len(b["sequence"]) for b in best] == [14] * 4


def test_fill_mask_pipeline_returns_full_length_sequences(tmp_path):
    """The issue's example: every base of the input survives in each answer, and the filled k-mer appears whole."""
    from transformers import pipeline

    from modeling_genebert import GeneBertForMaskedLM

    torch.manual_seed(0)
    GeneBertForMaskedLM(tiny_config(sequence_config=dict(kmer=6, vocab_size=5 + 4**6))).save_pretrained(tmp_path)
    tok = GeneBertTokenizer(k=6)
    tok.save_pretrained(tmp_path)
    left, right = "ACGTAGGCTTAC", "ATCGATCG"
    for p in pipeline("fill-mask", model=str(tmp_path))(left + "[MASK]" + right, top_k=5):
        assert p["sequence"].startswith(left) and p["sequence"].endswith(right) and p["token_str"] in p["sequence"], p
    ids = tok(left + "[MASK]" + right)["input_ids"]
    filled = lambda kmer: tok.decode([kmer if i == tok.mask_token_id else i for i in ids], skip_special_tokens=True)  # noqa: E731
    assert filled(tok.convert_tokens_to_ids("GGGGGG")) == left + "GGGGGG" + right  # a k-mer: k bases
    assert filled(tok.convert_tokens_to_ids("CTTACA")) == left + "A" + right  # continues the left k-mers by one base


# --------------------------------------------------------------------------- scores
@pytest.mark.slow
def test_scores_per_variant_and_strand_averaging(tiny_folder, classifier_folder):
    pairs = list(read_paired_fasta(DATA / "ctcf_binding_24.fa", DATA / "ctcf_nonbinding_24.fa"))[:6]
    both = score_variant_records(tiny_folder, pairs, classifier=classifier_folder, report_motifs=["MA0139.1"])
    forward = score_variant_records(tiny_folder, pairs, classifier=classifier_folder, strand="forward", motifs=False)
    assert list(both.columns) == [
        "id", "chrom", "pos", "ref", "alt", "kind", "llr_masked", "embedding_cosine_distance_mean",
        "delta_logit:K562", "delta_logit:HepG2", "delta_prob:K562", "delta_prob:HepG2",
        "motif_significant", "motif_max_abs_delta", "motif_max_abs_delta_log10p", "motif_top",
        "motif_delta:CTCF_MA0139.1", "motif_delta_log10p:CTCF_MA0139.1", "motif_ref_log10p:CTCF_MA0139.1",
        "motif_alt_log10p:CTCF_MA0139.1", "motif_effect:CTCF_MA0139.1", "notes"]
    assert len(both) == 6 and (both["pos"] == 50).all() and (both["kind"] == "snv").all()
    # reverse strand by hand: complement alleles at the mirrored position
    model = GeneBertForPreTraining.from_pretrained(tiny_folder).eval()
    tok = GeneBertTokenizer.from_pretrained(tiny_folder)
    rc = [reverse_complement(p.ref_seq) for p in pairs]
    lm = masked_log_marginals(model, tok, rc, [len(p.ref_seq) - 1 - p.offset for p in pairs])
    comp = {"A": 0, "C": 1, "G": 2, "T": 3}
    rev = [np.nanmean(lm[i, :, 3 - comp[p.variant.alt]] - lm[i, :, 3 - comp[p.variant.ref]]) for i, p in enumerate(pairs)]
    np.testing.assert_allclose(both["llr_masked"], (forward["llr_masked"] + np.array(rev)) / 2, rtol=1e-6, atol=1e-9)
    # supervised Δ: alt - ref of the classifier's own logits (forward strand)
    clf = GeneBertForSequenceClassification.from_pretrained(classifier_folder).eval()
    with torch.no_grad():
        ref = clf(**tok([p.ref_seq for p in pairs], return_tensors="pt")).logits
        alt = clf(**tok([p.alt_seq for p in pairs], return_tensors="pt")).logits
    np.testing.assert_allclose(forward["delta_logit:HepG2"], (alt - ref)[:, 1].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(forward["delta_prob:K562"] + forward["delta_prob:HepG2"], 0.0, atol=1e-6)
    assert (forward["embedding_cosine_distance_mean"] > 0).all() and "motif_top" not in forward
    listed = both["motif_top"][both["motif_significant"] > 0]
    assert len(listed) and listed.str.contains(r"^\S+_MA\d{4}\.\d [+-]\d+\.\d\d bits, -log10p ", regex=True).all()


@pytest.mark.slow
def test_supervised_region_input_model_sees_the_alt_scan(tmp_path):
    """A --region_input classifier: each allele's region matrix is rescanned, as fine-tuning built it."""
    from modeling_genebert.downstream.region_input import RegionMatrixBuilder
    from modeling_genebert.variants.supervised import SupervisedEffect

    torch.manual_seed(2)
    config = tiny_config(sequence_config=dict(max_position_embeddings=128), region_config=dict(num_tfs=579, regions_per_sample=1))
    config.classifier_region_fusion, config.num_labels = True, 2
    GeneBertForSequenceClassification(config).eval().save_pretrained(tmp_path)
    GeneBertTokenizer(k=3).save_pretrained(tmp_path)
    info = {"motifs": "JASPAR2018 CORE vertebrates", "rows": 1, "num_tfs": 579, "aggregation": "max"}
    (tmp_path / "results.json").write_text(json.dumps({"task": "promoter", "region_input": info}))
    effect = SupervisedEffect(tmp_path)
    assert effect.region_builder is not None and effect.region_builder.num_tfs == 579
    pairs = list(read_paired_fasta(DATA / "ctcf_binding_24.fa", DATA / "ctcf_nonbinding_24.fa"))[:4]
    seqs = [p.alt_seq for p in pairs]
    model = GeneBertForSequenceClassification.from_pretrained(tmp_path).eval()
    tok = GeneBertTokenizer(k=3)
    with torch.no_grad():
        expected = model(**tok(seqs, return_tensors="pt"), region_matrix=torch.as_tensor(RegionMatrixBuilder(None, 1)(seqs))).logits
        blind = model(**tok(seqs, return_tensors="pt")).logits
    torch.testing.assert_close(effect.logits(seqs), expected)
    assert not torch.allclose(expected, blind)  # the region branch matters
    frame = score_variant_records(None, pairs, classifier=tmp_path, motifs=False, strand="forward")
    assert list(frame.columns[6:10]) == ["delta_logit:LABEL_0", "delta_logit:LABEL_1", "delta_prob:LABEL_0", "delta_prob:LABEL_1"]


def test_indel_llr_is_nan_with_a_note(tiny_folder):
    pairs = [pair_from_sequences("ACGTTTACGGATCCA", "ACGTTACGGATCCA", "del"),
             pair_from_sequences("ACGTTTACGGATCCA", "ACGTTTACCGATCCA", "snv")]
    frame = score_variant_records(tiny_folder, pairs, motifs=False)
    assert np.isnan(frame.loc[0, "llr_masked"]) and "undefined for indels" in frame.loc[0, "notes"]
    assert np.isfinite(frame.loc[1, "llr_masked"]) and frame.loc[1, "notes"] == ""
    assert frame["kind"].tolist() == ["indel", "snv"]


def test_motif_delta_breaks_a_ctcf_site(jaspar2018_vertebrates):
    effects = MotifEffects(jaspar2018_vertebrates)
    j = effects.index("MA0139.1")
    site = "CCGCGNGGNGGCAG".replace("N", "A")  # close to the CTCF consensus
    flank = "ATATATATATATATATATAT"
    ref = flank + site + flank
    alt = ref[:20 + 5] + "T" + ref[20 + 6:]  # a core G of the site
    delta = effects.deltas([ref], [alt], [25], [1], [1])
    direct = effects.scanner.scan([alt])[0, j] - effects.scanner.scan([ref])[0, j]
    assert delta[0, j] < -3 and delta[0, j] == pytest.approx(direct, abs=1e-4)


# --------------------------------------------------------------------------- the command line
def test_cli_vcf_genome_outputs_and_table(vcf, tiny_folder, tmp_path, capsys, genome_file):
    out = tmp_path / "scores"
    code = cli_main(["--vcf", str(vcf), "--genome", str(genome_file), "--model_name_or_path", str(tiny_folder),
                     "--window", "41", "--output", str(out), "--no_progress", "--report_motifs", "CTCF"])
    assert code == 0
    frame = pd.read_parquet(tmp_path / "scores.parquet")
    tsv = pd.read_csv(tmp_path / "scores.tsv", sep="\t", keep_default_na=False, comment="#")
    assert len(frame) == len(tsv) == 6 and frame["id"].tolist() == tsv["id"].tolist()
    assert frame["kind"].tolist() == ["snv", "snv", "snv", "indel", "indel", "snv"]
    assert np.isnan(frame["llr_masked"][3:5]).all() and np.isfinite(frame["llr_masked"][[0, 1, 2, 5]]).all()
    assert "padded" in frame["notes"][5]
    summary = json.loads((tmp_path / "scores.summary.json").read_text())
    assert summary["rows"] == 6 and summary["padded_past_chromosome_end"] == 1
    # the legend covers every column: summary.json, the TSV's header comments (in column order)
    assert list(summary["legend"]) == list(frame.columns)
    assert all(d["meaning"] != "no legend entry" for d in summary["legend"].values())
    comments = [line for line in (tmp_path / "scores.tsv").read_text().splitlines() if line.startswith("# ")]
    assert [line[2:].split(": ")[0] for line in comments] == list(frame.columns)
    assert set(summary["support"]) == {"llr", "embedding", "motif"} and "pretraining_summary.json" in summary["support"]["llr"]["this_run"]
    stdout = capsys.readouterr().out
    assert "rs1" in stdout and "scored 6 variants" in stdout and not (tmp_path / "scores.parts").exists()


# --------------------------------------------------------------------------- the Python API under the command line
def test_score_variants_returns_what_the_command_writes_and_leaves_logging_alone(classifier_folder, tmp_path, monkeypatch):
    import logging

    from modeling_genebert.variants import ScoreVariantsOptions, ScoreVariantsResult, score_variants

    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ref_sequence,alt_sequence,id\nACGTACGTACGTACGTACGT,ACGTACGTAGGTACGTACGT,v1\n"
                     "TTGACCATGCAATGCAGGTA,TTGACCATGCTATGCAGGTA,v2\n")
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a fresh interpreter: a basicConfig call would add one
    options = ScoreVariantsOptions(alleles=str(pairs), classifier=str(classifier_folder), no_motifs=True,
                                   output=str(tmp_path / "api"), no_progress=True)
    result = score_variants(options)
    assert root.handlers == []  # library code leaves logging to its caller
    assert isinstance(result, ScoreVariantsResult) and result.rows == 2 and result.input == "alleles"
    assert result.to_dict() == json.loads(result.summary_json.read_text())
    assert options.window is None  # the caller's options are not changed (the run resolves its own copy)
    frame = pd.read_parquet(result.parquet)
    assert frame["id"].tolist() == ["v1", "v2"] and result.scorer["classes"] == ["K562", "HepG2"]
    # the command writes the same numbers
    assert cli_main(["--alleles", str(pairs), "--classifier", str(classifier_folder), "--no_motifs",
                     "--output", str(tmp_path / "cli"), "--no_progress"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cli.parquet"), frame)
    written = json.loads((tmp_path / "cli.summary.json").read_text())
    assert {k: v for k, v in written.items() if k not in ("output", "seconds", "variants_per_second")} == {
        k: v for k, v in result.to_dict().items() if k not in ("output", "seconds", "variants_per_second")}


def test_score_variants_bad_options_raise_naming_the_option(tmp_path, capsys):
    from modeling_genebert.variants import ScoreVariantsOptions, score_variants

    with pytest.raises(ValueError, match="--chunk_size must be at least 1, got 0"):
        score_variants(ScoreVariantsOptions(alleles="pairs.csv", output=str(tmp_path / "o"), chunk_size=0))
    with pytest.raises(ValueError, match="--motif_pvalue must be between 0 and 1, got 2"):
        score_variants(ScoreVariantsOptions(alleles="pairs.csv", output=str(tmp_path / "o"), motif_pvalue=2))
    assert cli_main(["--alleles", "pairs.csv", "--chunk_size", "0", "--output", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: --chunk_size must be at least 1, got 0")


def test_score_variants_takes_pathlib_paths(classifier_folder, tmp_path):
    from modeling_genebert.variants import ScoreVariantsOptions, score_variants

    pairs = tmp_path / "pairs.csv"
    pairs.write_text("ref_sequence,alt_sequence\nACGTACGTACGTACGTACGT,ACGTACGTAGGTACGTACGT\n")
    options = ScoreVariantsOptions(alleles=pairs, classifier=classifier_folder, no_motifs=True, output=tmp_path / "out",
                                   no_progress=True)
    assert options.output == str(tmp_path / "out") and options.alleles == str(pairs)  # kept as str from here on
    result = score_variants(options)
    assert result.parquet == tmp_path / "out.parquet" and result.rows == 1
    assert json.loads((tmp_path / "out.summary.json").read_text()) == result.to_dict()


@pytest.mark.slow
def test_cli_bad_input_exits_2_naming_the_variant(tiny_folder, tmp_path, capsys, genome_file):
    g = _genome_seq()
    table = tmp_path / "v.csv"
    wrong = "A" if g[100] != "A" else "C"
    table.write_text(f"chrom,pos,ref,alt,id\nchrT,101,{wrong},G,bad1\nchrT,201,{g[200]},{'A' if g[200] != 'A' else 'C'},good\n")
    args = ["--variants", str(table), "--genome", str(genome_file), "--model_name_or_path", str(tiny_folder),
            "--window", "31", "--no_progress"]
    assert cli_main(args + ["--output", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "bad1" in err and "--skip_ref_mismatch" in err and "Traceback" not in err
    assert not (tmp_path / "a.parquet").exists()
    assert cli_main(args + ["--output", str(tmp_path / "b"), "--skip_ref_mismatch"]) == 0
    assert pd.read_parquet(tmp_path / "b.parquet")["id"].tolist() == ["good"]
    assert "skipped 1 variants" in capsys.readouterr().out
    empty = tmp_path / "empty.vcf"
    empty.write_text(_vcf_text([]))
    assert cli_main(["--vcf", str(empty), "--genome", str(genome_file), "--no_motifs", "--model_name_or_path", str(tiny_folder),
                     "--output", str(tmp_path / "c"), "--no_progress"]) == 2
    assert "no variants" in capsys.readouterr().err and not (tmp_path / "c.parquet").exists()
    assert cli_main(["--vcf", str(empty), "--output", str(tmp_path / "d")]) == 2
    assert "needs --genome" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_resumes_after_a_kill(tiny_folder, tmp_path, monkeypatch, capsys):
    args = ["--ref_fasta", str(DATA / "ctcf_binding_24.fa"), "--alt_fasta", str(DATA / "ctcf_nonbinding_24.fa"),
            "--model_name_or_path", str(tiny_folder), "--chunk_size", "8", "--no_motifs", "--no_progress"]
    assert cli_main(args + ["--output", str(tmp_path / "clean")]) == 0
    clean = pd.read_parquet(tmp_path / "clean.parquet")
    original, calls = VariantScorer.score, []

    def dies_on_second_chunk(self, pairs):
        calls.append(len(pairs))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return original(self, pairs)

    monkeypatch.setattr(VariantScorer, "score", dies_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        cli_main(args + ["--output", str(tmp_path / "run")])
    assert not (tmp_path / "run.parquet").exists() and len(list((tmp_path / "run.parts").glob("part-*.parquet"))) == 1
    monkeypatch.setattr(VariantScorer, "score", original)
    assert cli_main(args + ["--output", str(tmp_path / "run")]) == 0
    summary = json.loads((tmp_path / "run.summary.json").read_text())
    assert summary["resumed_from_earlier_run"] == 8 and summary["scored_now"] == 16
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "run.parquet"), clean)
    # a finished run is not replaced; an interrupted one with other settings refuses to mix parts
    assert cli_main(args + ["--output", str(tmp_path / "run")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    for suffix in (".parquet", ".tsv", ".summary.json"):
        (tmp_path / f"run{suffix}").unlink()
    (tmp_path / "run.parts").mkdir()
    (tmp_path / "run.parts" / "run.json").write_text("{}")
    assert cli_main(args + ["--output", str(tmp_path / "run"), "--strand", "forward"]) == 2
    assert "other settings" in capsys.readouterr().err


# --------------------------------------------------------------------------- cell-type score (SRM)
def _atlas(num_tfs: int, seed: int = 0) -> dict:
    """Two cell types whose region matrices differ in scale, so their centroids differ."""
    g = np.random.default_rng(seed)
    return {"K562": g.normal(0, 1, (40, num_tfs)).astype(np.float32),
            "HepG2": g.normal(2, 3, (30, num_tfs)).astype(np.float32)}


def test_cell_type_score_is_the_change_in_similarity_to_each_centroid(tiny_folder):
    from modeling_genebert.variants.cell_types import sequence_embeds

    model = GeneBertForPreTraining.from_pretrained(tiny_folder).eval()
    tok = GeneBertTokenizer.from_pretrained(tiny_folder)
    atlas = _atlas(model.config.region_config.num_tfs)
    pairs = list(read_paired_fasta(DATA / "ctcf_binding_24.fa", DATA / "ctcf_nonbinding_24.fa"))[:5]
    frame = score_variant_records(tiny_folder, pairs, atlas=atlas, scores=["cell_type"], strand="forward", batch_size=2)
    assert [c for c in frame.columns if c.startswith("srm_delta")] == ["srm_delta:HepG2", "srm_delta:K562"]
    # by hand: R=10 consecutive rows per sample -> region embeddings -> normalised mean per cell type
    enc = model.genebert
    with torch.no_grad():
        for name in ("HepG2", "K562"):
            samples = torch.as_tensor(atlas[name][: len(atlas[name]) // 10 * 10].reshape(-1, 10, atlas[name].shape[1]))
            centroid = torch.nn.functional.normalize(
                torch.nn.functional.normalize(enc.region_projection(enc.region_encoder(samples)[1]), dim=-1).mean(0), dim=0)
            ref = sequence_embeds(enc, tok, [p.ref_seq for p in pairs])
            alt = sequence_embeds(enc, tok, [p.alt_seq for p in pairs])
            np.testing.assert_allclose(frame[f"srm_delta:{name}"], ((alt - ref) @ centroid).numpy(), rtol=1e-4, atol=1e-6)
    assert frame["srm_delta:HepG2"].abs().max() > 0 and not np.allclose(frame["srm_delta:HepG2"], frame["srm_delta:K562"])
    # both strands: the mean of the forward and the reverse-complement deltas
    both = score_variant_records(tiny_folder, pairs, atlas=atlas, scores=["cell_type"])
    rc = [pair_from_sequences(reverse_complement(p.ref_seq), reverse_complement(p.alt_seq), p.variant.id) for p in pairs]
    reverse = score_variant_records(tiny_folder, rc, atlas=atlas, scores=["cell_type"], strand="forward")
    np.testing.assert_allclose(both["srm_delta:K562"], (frame["srm_delta:K562"] + reverse["srm_delta:K562"]) / 2, rtol=1e-4, atol=1e-7)


def test_cell_type_atlas_from_a_pretraining_folder_and_npz(tmp_path):
    from dataset_scripts import build_pretraining_dataset
    from modeling_genebert.variants.cell_types import read_atlas

    pieces = tmp_path / "genome.fa"
    pieces.write_text((Path(__file__).parent / "data" / "dataset_scripts" / "genome_pieces.fa").read_text())
    motifs = Path(__file__).parent / "data" / "dataset_scripts" / "three_motifs.jaspar"
    beds = {}
    for name, offset in (("A", 100), ("B", 5)):
        bed = tmp_path / f"{name}.bed"
        bed.write_text("".join(f"piece1\t{offset + 150 * i}\t{offset + 150 * i + 60}\n" for i in range(12)))
        beds[name] = str(bed)
    build_pretraining_dataset(tmp_path / "atlas", peaks=beds, genome=str(pieces), motifs=str(motifs), regions_per_sample=4,
                              bases_per_region=30, progress=False)
    atlas = read_atlas(tmp_path / "atlas", num_tfs=3, regions_per_sample=4)
    assert sorted(atlas) == ["A", "B"] and atlas["A"].shape == (3, 4, 3) and atlas["A"].dtype == np.float32
    assert len(read_atlas(tmp_path / "atlas", num_tfs=3, regions_per_sample=4, max_samples=2)["A"]) == 2
    with pytest.raises(ValueError, match="3 TF columns, the model's region encoder reads 16"):
        read_atlas(tmp_path / "atlas", num_tfs=16, regions_per_sample=4)
    np.savez(tmp_path / "atlas.npz", K562=np.ones((9, 3), np.float32), HepG2=np.zeros((2, 4, 3), np.float32))
    npz = read_atlas(tmp_path / "atlas.npz", num_tfs=3, regions_per_sample=4)
    assert npz["K562"].shape == (2, 4, 3) and npz["HepG2"].shape == (2, 4, 3)  # 9 rows -> 2 samples of 4 (1 left over)
    with pytest.raises(ValueError, match="'K562': 2 regions, fewer than one sample of 4"):
        read_atlas({"K562": np.ones((2, 3))}, num_tfs=3, regions_per_sample=4)
    with pytest.raises(ValueError, match="NaN"):
        read_atlas({"K562": np.full((4, 3), np.nan)}, num_tfs=3, regions_per_sample=4)
    with pytest.raises(ValueError, match="expected a pre-training dataset folder or a .npz"):
        read_atlas(str(motifs), num_tfs=3, regions_per_sample=4)


def test_cell_type_score_needs_srm_parts(tmp_path, classifier_folder, tiny_folder, capsys):
    from modeling_genebert import GeneBertForMaskedLM

    torch.manual_seed(0)
    GeneBertForMaskedLM(tiny_config(sequence_config=dict(max_position_embeddings=128))).save_pretrained(tmp_path / "mlm")
    with pytest.raises(ValueError, match="needs a pre-trained GeneBERT with sequence-region matching"):
        VariantScorer(tmp_path / "mlm", atlas=_atlas(16), motifs=False)
    with pytest.raises(ValueError, match="score 'cell_type' needs a pre-trained model .* and an atlas"):
        VariantScorer(tiny_folder, scores=["cell_type"], motifs=False)
    args = ["--ref_fasta", str(DATA / "ctcf_binding_24.fa"), "--alt_fasta", str(DATA / "ctcf_nonbinding_24.fa"),
            "--model_name_or_path", str(tiny_folder), "--no_motifs", "--no_progress", "--output", str(tmp_path / "o")]
    assert cli_main(args + ["--atlas", str(tmp_path / "missing")]) == 2
    assert "--atlas" in capsys.readouterr().err and not (tmp_path / "o.parquet").exists()
    np.savez(tmp_path / "atlas.npz", **_atlas(16))
    assert cli_main(args + ["--atlas", str(tmp_path / "atlas.npz"), "--scores", "cell_type", "--chunk_size", "10"]) == 0
    frame = pd.read_parquet(tmp_path / "o.parquet")
    assert len(frame) == 24 and {"srm_delta:K562", "srm_delta:HepG2"} <= set(frame.columns)
    summary = json.loads((tmp_path / "o.summary.json").read_text())
    assert summary["scores"] == ["cell_type"] and summary["cell_types"]["samples_per_cell_type"] == {"HepG2": 3, "K562": 4}


@pytest.mark.slow
def test_accelerate_launch_shards_and_merges(tiny_folder, tmp_path):
    """Two CPU processes (torchrun, as `accelerate launch` starts them on GPUs) score alternate chunks; the merged
    table equals one process's."""
    import subprocess

    args = ["--ref_fasta", str(DATA / "ctcf_binding_24.fa"), "--alt_fasta", str(DATA / "ctcf_nonbinding_24.fa"),
            "--model_name_or_path", str(tiny_folder), "--chunk_size", "5", "--no_motifs", "--no_progress"]
    assert cli_main(args + ["--output", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "-m", "modeling_genebert.variants.cli", *args, "--output", str(tmp_path / "two")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "two.summary.json").read_text())
    assert summary["processes"] == 2 and summary["rows"] == 24 and summary["scored_now"] == 24
    assert not (tmp_path / "two.parts").exists()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "two.parquet"), pd.read_parquet(tmp_path / "one.parquet"),
                                  rtol=1e-5)
