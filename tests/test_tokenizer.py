"""GeneBertTokenizer: DNABERT-identical vocabulary and ids, input rules, decoding."""

import csv
import functools
import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import BertTokenizer, BertTokenizerLegacy

from modeling_genebert import GeneBertTokenizer

DATA = Path(__file__).parent / "data"


def gue(name: str) -> list[str]:
    with open(DATA / name, newline="") as handle:
        return [row["sequence"] for row in csv.DictReader(handle)]


PROMOTERS = gue("gue_prom_core_all_dev_300.csv")  # 70 bp
TF_SITES = gue("gue_tf0_dev_200.csv")  # 101 bp


def seq2kmer(seq: str, k: int) -> str:
    """DNABERT's k-merizer, verbatim in behaviour (motif/motif_utils.py)."""
    return " ".join(seq[x : x + k] for x in range(len(seq) + 1 - k))


@pytest.fixture(scope="module")
def tok():
    return GeneBertTokenizer(k=6)


# ----- vocabulary --------------------------------------------------------------------
def test_vocabulary_is_dnabert_order(tok, tmp_path):
    assert len(tok) == tok.vocab_size == 5 + 4**6 and tok.kmer == 6 and tok.stride == 1
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (path,) = tok.save_vocabulary(str(tmp_path))
    text = Path(path).read_text()
    lines = text.splitlines()
    # positions checked against DNABERT's published bert-config-6/vocab.txt (28,703 bytes)
    assert len(text.encode()) == 28703
    assert [lines[i] for i in (5, 6, 9, 2286, 2287, 2309, 4100)] == [
        "AAAAAA", "AAAAAT", "AAAATA", "CAGCCT", "CAGCCC", "CTAAAA", "GGGGGG",
    ]
    assert lines[5:] == ["".join(p) for p in itertools.product("ATCG", repeat=6)]


def test_dnabert_vocab_file_loads_unchanged():
    path = DATA / "dnabert_vocab_3.txt"  # DNABERT's bert-config-3/vocab.txt, verbatim
    tok = GeneBertTokenizer(vocab_file=str(path))
    assert tok.kmer == 3 and len(tok) == 69
    assert tok.get_vocab() == {t: i for i, t in enumerate(path.read_text().split("\n"))}


@pytest.mark.parametrize("k", range(3, 9))
def test_every_k_generates_its_vocabulary(k):
    tok = GeneBertTokenizer(k=k)
    assert len(tok) == 5 + 4**k
    kmer = "GATTACA"[:k].ljust(k, "G")
    expected = 5 + int(kmer.translate(str.maketrans("ATCG", "0123")), 4)
    assert tok("TT" + kmer, add_special_tokens=False)["input_ids"][2] == expected


def test_bad_construction_arguments(tmp_path):
    with pytest.raises(ValueError, match="between 3 and 8"):
        GeneBertTokenizer(k=2)
    with pytest.raises(ValueError, match="stride must be between 1 and k=6"):
        GeneBertTokenizer(k=6, stride=7)
    with pytest.raises(ValueError, match="contradicts"):
        GeneBertTokenizer(vocab_file=str(DATA / "dnabert_vocab_3.txt"), k=6)
    truncated = tmp_path / "vocab.txt"
    truncated.write_text("\n".join((DATA / "dnabert_vocab_3.txt").read_text().split("\n")[:-1]))
    with pytest.raises(ValueError, match="lacks 1 required tokens"):
        GeneBertTokenizer(vocab_file=str(truncated))


# ----- ids identical to DNABERT's pipeline ---------------------------------------------
@pytest.fixture(scope="module")
def dnabert_tokenizers(tmp_path_factory):
    """DNABERT's way: its vocab.txt in a folder, BertTokenizer without lower-casing."""
    out = {}
    for k in (3, 6):
        folder = tmp_path_factory.mktemp(f"dnabert{k}")
        if k == 3:
            (folder / "vocab.txt").write_bytes((DATA / "dnabert_vocab_3.txt").read_bytes())
        else:
            GeneBertTokenizer(k=6).save_vocabulary(str(folder))
        out[k] = (
            BertTokenizer.from_pretrained(str(folder), do_lower_case=False),
            BertTokenizerLegacy(vocab_file=str(folder / "vocab.txt"), do_lower_case=False),
            GeneBertTokenizer(vocab_file=str(folder / "vocab.txt")),
        )
    return out


@pytest.mark.parametrize("k", [3, 6])
def test_ids_identical_to_dnabert_on_gue(dnabert_tokenizers, k):
    fast, slow, ours = dnabert_tokenizers[k]
    seqs = PROMOTERS[:150] + TF_SITES[:100]
    kmerized = [seq2kmer(s, k) for s in seqs]
    mine = ours(seqs, padding=True, return_tensors="pt")
    theirs = fast(kmerized, padding=True, return_tensors="pt")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert mine[key].equal(theirs[key]), key
    assert [ours(s)["input_ids"] for s in seqs[:40]] == [slow(t)["input_ids"] for t in kmerized[:40]]
    assert (mine["input_ids"] != ours.unk_token_id).all()  # real sequences, no N: no [UNK]


def test_pairs_identical_to_dnabert(dnabert_tokenizers):
    fast, _, ours = dnabert_tokenizers[6]
    a, b = PROMOTERS[:64], TF_SITES[:64]
    mine = ours(a, b, padding=True, return_tensors="pt")
    theirs = fast([seq2kmer(s, 6) for s in a], [seq2kmer(s, 6) for s in b], padding=True, return_tensors="pt")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert mine[key].equal(theirs[key]), key


# ----- input rules -------------------------------------------------------------------
def test_lower_case_and_whitespace(tok):
    seq = TF_SITES[0]
    reference = tok(seq)["input_ids"]
    soft_masked = seq[:40] + seq[40:80].lower() + seq[80:]
    wrapped = "\n".join(soft_masked[i : i + 30] for i in range(0, len(seq), 30)) + "\n"
    assert tok(soft_masked)["input_ids"] == reference
    assert tok(" \t" + wrapped)["input_ids"] == reference


def test_iupac_kmers_become_unk(tok):
    seq = PROMOTERS[0][:20]
    for code in "NnRYSWKMBDHVU":
        ids = tok(seq[:10] + code + seq[11:], add_special_tokens=False)["input_ids"]
        assert ids[5:11] == [tok.unk_token_id] * 6  # the six 6-mers holding position 10
        assert ids[:5] == tok(seq, add_special_tokens=False)["input_ids"][:5]
        assert ids[11:] == tok(seq, add_special_tokens=False)["input_ids"][11:]


@pytest.mark.parametrize(
    "text, char, position",
    [("ACGTX", "X", 4), ("acg-t", "-", 3), ("ACG\u00e9T", "\u00e9", 3), ("AC\u2603", "\u2603", 2), ("A.C", ".", 1)],
)
def test_invalid_characters_are_named(tok, text, char, position):
    with pytest.raises(ValueError, match=rf"invalid character {char!r} at position {position}\b"):
        tok(text)
    with pytest.raises(ValueError, match=rf"invalid character {char!r} at position {position} of text\b"):
        tok(text)


def test_invalid_character_names_its_sequence_in_a_batch(tok):
    with pytest.raises(ValueError, match=r"invalid character '>' at position 0 of text\[2\]"):
        tok([PROMOTERS[0], PROMOTERS[1], ">chr1\nACGT"])
    with pytest.raises(ValueError, match=r"'1' at position 4 of text_pair\[0\]"):
        tok(["ACGTACGT"], ["ACGT1"])
    with pytest.raises(ValueError, match="'\u00dc' at position 1 of text_pair:"):
        tok("ACGT", "A\u00dc")


def test_special_tokens_written_in_the_text(tok):
    """As transformers tokenizers do (the fill-mask pipeline relies on it): DNA on each side is
    k-merized on its own, the token keeps its id and its span."""
    a, b = PROMOTERS[0][:20], PROMOTERS[0][20:40]
    enc = tok(a + "[MASK]" + b, return_offsets_mapping=True)
    assert enc["input_ids"] == [2, *tok(a, add_special_tokens=False)["input_ids"], tok.mask_token_id,
                                *tok(b, add_special_tokens=False)["input_ids"], 3]
    assert enc["offset_mapping"][16] == (20, 26) and enc["offset_mapping"][17] == (26, 32)
    with pytest.raises(ValueError, match=r"invalid character '\[' at position 26 of text\[1\]"):
        tok([a, a + "[MASK][MAS"])


def test_short_and_empty_sequences(tok):
    assert tok("ACGTA")["input_ids"] == [2, 3]  # fewer than k bases: no k-mer
    assert tok("")["input_ids"] == [2, 3]
    assert tok([])["input_ids"] == []
    assert tok(["", "ACGTAC"], padding=True)["input_ids"] == [[2, 3, 0], [2, 727, 3]]


def test_stride_k_gives_non_overlapping_kmers():
    tok = GeneBertTokenizer(k=6, stride=6)
    seq = PROMOTERS[0]  # 70 bp: 11 whole 6-mers, 4 bases left over
    enc = tok(seq, add_special_tokens=False, return_offsets_mapping=True)
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == [seq[i : i + 6] for i in range(0, 66, 6)]
    assert enc["offset_mapping"] == [(i, i + 6) for i in range(0, 66, 6)]
    assert tok.decode(enc["input_ids"]) == seq[:66]
    strided = GeneBertTokenizer(k=4, stride=2)
    assert strided.convert_ids_to_tokens(strided("ACGTACGTA", add_special_tokens=False)["input_ids"]) == [
        "ACGT", "GTAC", "ACGT",
    ]


# ----- decoding ------------------------------------------------------------------------
def test_decode_round_trip_on_real_sequences(tok):
    enc = tok(PROMOTERS + TF_SITES, padding=True)
    assert tok.batch_decode(enc["input_ids"], skip_special_tokens=True) == PROMOTERS + TF_SITES
    assert tok.decode(enc["input_ids"][0]) == f"[CLS] {PROMOTERS[0]} [SEP]" + " [PAD]" * (101 - 70)


def test_decode_pairs_and_unknown_bases(tok):
    a, b = PROMOTERS[0], "acgtNNacgtac"
    ids = tok(a, b)["input_ids"]
    assert tok.decode(ids) == f"[CLS] {a} [SEP] NNNNNNACGTAC [SEP]"
    assert tok.decode(ids, skip_special_tokens=True) == f"{a} NNNNNNACGTAC"
    masked = list(tok(a, add_special_tokens=False)["input_ids"])
    masked[10:16] = [tok.mask_token_id] * 6  # a k-span mask hides exactly base 15
    assert tok.decode(masked) == a[:15] + "N" + a[16:]


def test_convert_ids_to_tokens_gives_kmers(tok):
    ids = tok(PROMOTERS[1])["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", *seq2kmer(PROMOTERS[1], 6).split(), "[SEP]"]
    assert tok.tokenize("ACGTACN") == ["ACGTAC", "[UNK]"]


# ----- properties ------------------------------------------------------------------------
dna = st.text(alphabet="ACGTacgtN \n", max_size=60)


@functools.cache
def tokenizer_for(k: int) -> GeneBertTokenizer:
    return GeneBertTokenizer(k=k)


@settings(max_examples=150, deadline=None)
@given(seqs=st.lists(dna, min_size=1, max_size=5), k=st.integers(3, 8))
def test_property_ids_offsets_and_decode(seqs, k):
    tok = tokenizer_for(k)
    enc = tok(seqs, add_special_tokens=False, return_offsets_mapping=True)
    for text, ids, spans in zip(seqs, enc["input_ids"], enc["offset_mapping"]):
        clean = "".join(text.split()).upper()
        kmers = seq2kmer(clean, k).split()
        assert tok.convert_ids_to_tokens(ids) == [m if "N" not in m else "[UNK]" for m in kmers]
        for kmer, (start, end) in zip(kmers, spans):
            assert "".join(text[start:end].split()).upper() == kmer
        if ids:
            covered = [any("N" not in kmers[j] for j in range(max(0, i - k + 1), min(i + 1, len(kmers))))
                       for i in range(len(clean))]
            assert tok.decode(ids) == "".join(c if ok else "N" for c, ok in zip(clean, covered))
