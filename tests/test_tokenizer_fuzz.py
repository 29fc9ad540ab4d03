"""Property / fuzz tests of GeneBertTokenizer on generated input (issue "Hardening: bad input").

Every test checks the tokenizer against a plain-Python reference of its documented rules
(``tokenization_genebert.py``, ``tests/test_tokenizer.py``):

* whitespace (`` \\t\\n\\r\\v\\f``) is ignored; lower case gives the ids of upper case;
* a k-mer holding an IUPAC code other than A/C/G/T (``NRYSWKMBDHVU``, any case) is ``[UNK]``;
* with stride ``s`` the k-mers start at ``0, s, 2s, ...`` (a tail shorter than a step is
  dropped), so a sequence of ``n`` bases has ``(n - k) // s + 1`` k-mers (0 when ``n < k``),
  plus ``[CLS]`` / ``[SEP]``;
* offsets map each k-mer to the span of its bases in the raw string (blanks included);
* decoding reassembles the bases; a base covered only by ``[UNK]`` k-mers becomes ``N``
  (so ``decode(encode(s)) == s.upper()`` for A/C/G/T input at stride 1);
* any other character raises ``ValueError`` naming the character, its position and the
  sequence (``text``, ``text[3]``, ``text_pair``...);
* padding / truncation follow transformers' own machinery (the oracle: the same k-mer ids
  encoded by transformers' generic path), and ``truncation=True`` bounds the length.

Hypothesis runs derandomized (the same examples in CI every time), without deadline
(the first call of a tokenizer builds its vocabulary).
"""

import functools
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeling_genebert import GeneBertTokenizer
from conftest import fuzz_settings

# generated inputs per test in a full run (reported in the hardening issue); the fast tier runs a quarter of them
EXAMPLES = {
    "test_kmers_offsets_case_and_decode": 150,
    "test_batches_and_pairs_equal_single_encodings": 60,
    "test_padding_and_truncation_match_transformers": 120,
    "test_truncation_bounds_the_length": 60,
    "test_invalid_characters_are_named": 120,
    "test_special_tokens_written_in_the_text": 40,
    "test_huge_inputs": 8,
}


def fuzz(test_name: str, **options):
    return fuzz_settings(EXAMPLES[test_name], **options)


ACGT = "ACGT"
IUPAC_OTHER = "NRYSWKMBDHVU"
SPACE = " \t\n\r\v\f"
VALID = set(ACGT + ACGT.lower() + IUPAC_OTHER + IUPAC_OTHER.lower() + SPACE)
TO_DIGITS = str.maketrans("ATCG", "0123")  # DNABERT's order: id = 5 + base-4 number
PAD, UNK, CLS, SEP, MASK = range(5)
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@functools.cache
def tokenizer(k: int, stride: int = 1, truncation_side: str = "right") -> GeneBertTokenizer:
    return GeneBertTokenizer(k=k, stride=stride, truncation_side=truncation_side)


@functools.cache
def oracle_tokenizer(k: int, stride: int, truncation_side: str) -> GeneBertTokenizer:
    """A separate instance for the oracle (transformers' generic path logs and keeps state)."""
    return GeneBertTokenizer(k=k, stride=stride, truncation_side=truncation_side)


class Ref:
    """The documented tokenization of one raw string, computed base by base."""

    def __init__(self, text: str, k: int, stride: int):
        kept = [(i, c) for i, c in enumerate(text) if c not in SPACE]
        positions = [i for i, _ in kept]
        self.bases = "".join(c for _, c in kept).upper()
        n = len(self.bases)
        count = (n - k) // stride + 1 if n >= k else 0
        starts = [j * stride for j in range(count)]
        self.kmers = [self.bases[s : s + k] for s in starts]
        known = [set(m) <= set(ACGT) for m in self.kmers]
        self.ids = [5 + int(m.translate(TO_DIGITS), 4) if ok else UNK for m, ok in zip(self.kmers, known)]
        self.tokens = [m if ok else "[UNK]" for m, ok in zip(self.kmers, known)]
        self.offsets = [(positions[s], positions[s + k - 1] + 1) for s in starts]
        covered = [False] * ((count - 1) * stride + k if count else 0)
        for s, ok in zip(starts, known):
            if ok:
                covered[s : s + k] = [True] * k
        self.decoded = "".join(b if c else "N" for b, c in zip(self.bases, covered))


def dna_text(max_size=120, whitespace=True, min_size=0):
    """Raw DNA: mostly A/C/G/T, both cases, some IUPAC codes and (optionally) blanks / newlines."""
    alphabet = list(ACGT * 6 + ACGT.lower() * 3 + "Nn" + IUPAC_OTHER + IUPAC_OTHER.lower())
    if whitespace:
        alphabet += list(SPACE) + ["\n"] * 2
    return st.text(alphabet=st.sampled_from(alphabet), min_size=min_size, max_size=max_size)


kmer_and_stride = st.integers(3, 8).flatmap(lambda k: st.tuples(st.just(k), st.integers(1, k)))


# ----- single sequences: ids, offsets, case, decode ------------------------------------------
@fuzz("test_kmers_offsets_case_and_decode")
@given(text=dna_text(), ks=kmer_and_stride)
def test_kmers_offsets_case_and_decode(text, ks):
    k, stride = ks
    tok, ref = tokenizer(k, stride), Ref(text, k, stride)
    enc = tok(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    n = len(ref.ids)
    assert enc["input_ids"] == [CLS, *ref.ids, SEP]
    assert all(0 <= i < tok.vocab_size for i in enc["input_ids"])
    assert enc["attention_mask"] == [1] * (n + 2) and enc["token_type_ids"] == [0] * (n + 2)
    assert enc["special_tokens_mask"] == [1, *[0] * n, 1]
    assert enc["offset_mapping"] == [(0, 0), *ref.offsets, (0, 0)]
    for kmer, (start, end) in zip(ref.kmers, ref.offsets):  # the span holds exactly the k-mer's bases
        assert "".join(c for c in text[start:end] if c not in SPACE).upper() == kmer
    if stride == 1 and len(ref.bases) >= k:
        assert n == len(ref.bases) - k + 1
    # lower case (soft-masking) and upper case give the same ids
    assert tok(text.upper())["input_ids"] == tok(text.lower())["input_ids"] == enc["input_ids"]
    assert tok.tokenize(text) == ref.tokens == tok.convert_ids_to_tokens(ref.ids)
    # decoding: bases back, upper case, N where only [UNK] covered a base, tail past the last k-mer dropped
    assert tok.decode(ref.ids) == ref.decoded
    assert tok.decode(enc["input_ids"], skip_special_tokens=True) == ref.decoded
    assert tok.decode(enc["input_ids"]) == (f"[CLS] {ref.decoded} [SEP]" if n else "[CLS] [SEP]")
    if stride == 1 and n and set(ref.bases) <= set(ACGT):
        assert ref.decoded == ref.bases  # the documented round trip: decode(encode(s)) == s.upper()


# ----- batches and pairs -----------------------------------------------------------------------
@fuzz("test_batches_and_pairs_equal_single_encodings")
@given(
    texts=st.lists(dna_text(max_size=60), min_size=1, max_size=4),
    second=st.lists(dna_text(max_size=60), min_size=4, max_size=4),
    pair=st.booleans(),
    ks=kmer_and_stride,
)
def test_batches_and_pairs_equal_single_encodings(texts, second, pair, ks):
    k, stride = ks
    tok = tokenizer(k, stride)
    pairs = second[: len(texts)] if pair else None
    enc = tok(texts, pairs, padding=True, return_offsets_mapping=True, return_special_tokens_mask=True)
    rows = []
    for i, text in enumerate(texts):
        a = Ref(text, k, stride)
        ids, types, offsets = [CLS, *a.ids, SEP], [0] * (len(a.ids) + 2), [(0, 0), *a.offsets, (0, 0)]
        special = [1, *[0] * len(a.ids), 1]
        if pair:
            b = Ref(pairs[i], k, stride)
            ids += [*b.ids, SEP]
            types += [1] * (len(b.ids) + 1)
            offsets += [*b.offsets, (0, 0)]
            special += [*[0] * len(b.ids), 1]
        rows.append((ids, types, offsets, special))
        single = tok(text, pairs[i] if pair else None, return_offsets_mapping=True)
        assert single["input_ids"] == ids and single["token_type_ids"] == types and single["offset_mapping"] == offsets
    width = max(len(r[0]) for r in rows)
    for row, (ids, types, offsets, special) in enumerate(rows):
        pad = width - len(ids)
        assert enc["input_ids"][row] == ids + [PAD] * pad
        assert enc["token_type_ids"][row] == types + [0] * pad
        assert enc["attention_mask"][row] == [1] * len(ids) + [0] * pad
        assert enc["offset_mapping"][row] == offsets + [(0, 0)] * pad
        assert enc["special_tokens_mask"][row] == special + [1] * pad  # padding counts as special, as in transformers
    as_np = tok(texts, pairs, padding=True, return_tensors="np")
    assert isinstance(as_np["input_ids"], np.ndarray) and as_np["input_ids"].tolist() == enc["input_ids"]


# ----- padding / truncation against transformers' own machinery ------------------------------------
def segment(k: int):
    """Raw DNA with at least one k-mer (transformers' generic path gives [] for an empty id list), blanks inserted."""
    blanks = st.lists(st.tuples(st.integers(0, 80), st.sampled_from(SPACE)), max_size=3)

    def insert(bases, spaces):
        for at, blank in sorted(spaces, reverse=True):
            bases = bases[:at] + blank + bases[at:]
        return bases

    return st.builds(insert, dna_text(max_size=80, whitespace=False, min_size=k), blanks)


@st.composite
def call_options(draw):
    k, stride = draw(kmer_and_stride)
    batch = draw(st.integers(1, 3))
    a = draw(st.lists(segment(k), min_size=batch, max_size=batch))
    b = draw(st.one_of(st.none(), st.lists(segment(k), min_size=batch, max_size=batch)))
    strategies = [False, True, "longest_first", "only_first"] + (["only_second"] if b is not None else [])
    kwargs = dict(
        truncation=draw(st.sampled_from(strategies)),
        max_length=draw(st.one_of(st.none(), st.integers(0, 4), st.integers(0, 90))),  # <= 3: below the special tokens
        padding=draw(st.sampled_from([False, True, "longest", "max_length"])),
        pad_to_multiple_of=draw(st.one_of(st.none(), st.integers(1, 8))),
        padding_side=draw(st.sampled_from(["right", "left"])),
        return_special_tokens_mask=True,
    )
    if kwargs["padding"] == "max_length" and kwargs["max_length"] is None:
        kwargs["max_length"] = draw(st.integers(1, 90))  # else it pads to 512
    return k, stride, draw(st.sampled_from(["right", "left"])), a, b, kwargs


@fuzz("test_padding_and_truncation_match_transformers")
@given(options=call_options())
@pytest.mark.filterwarnings("ignore:`max_length` is ignored when `padding`=`True`")  # a combination we generate on purpose
def test_padding_and_truncation_match_transformers(options):
    """Our vectorized path == transformers' ``prepare_for_model`` / ``truncate_sequences`` / ``pad`` on the same ids."""
    k, stride, truncation_side, a, b, kwargs = options
    tok, oracle = tokenizer(k, stride, truncation_side), oracle_tokenizer(k, stride, truncation_side)
    ids_a = [Ref(t, k, stride).ids for t in a]
    ids_b = None if b is None else [Ref(t, k, stride).ids for t in b]
    try:
        ref = oracle(ids_a, ids_b, **kwargs)
    except ValueError as e:  # transformers' own argument checks (e.g. max_length not a multiple of pad_to_multiple_of)
        with pytest.raises(ValueError, match=re.escape(str(e))):
            tok(a, b, **kwargs)
        return
    mine = tok(a, b, **kwargs)
    for key in ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"):
        assert mine[key] == ref[key], key


@fuzz("test_truncation_bounds_the_length")
@given(
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(0, 3000),
    max_length=st.integers(3, 700),
    ks=kmer_and_stride,
    truncation_side=st.sampled_from(["right", "left"]),
    pair=st.booleans(),
)
def test_truncation_bounds_the_length(seed, length, max_length, ks, truncation_side, pair):
    k, stride = ks
    rng = np.random.default_rng(seed)
    text = "".join(rng.choice(list("ACGTacgtN"), size=length, p=[0.2] * 4 + [0.045] * 4 + [0.02]))
    other = text[: length // 3] if pair else None
    tok = tokenizer(k, stride, truncation_side)
    ref = Ref(text, k, stride)
    enc = tok(text, other, truncation=True, max_length=max_length, return_offsets_mapping=True)
    full = len(tok(text, other)["input_ids"])
    assert len(enc["input_ids"]) == min(full, max_length)  # bounded, and nothing lost when it fits
    assert len(enc["offset_mapping"]) == len(enc["input_ids"])
    if not pair:
        kept = len(enc["input_ids"]) - 2
        chosen = slice(0, kept) if truncation_side == "right" else slice(len(ref.ids) - kept, len(ref.ids))
        assert enc["input_ids"] == [CLS, *ref.ids[chosen], SEP]
        assert enc["offset_mapping"][1:-1] == ref.offsets[chosen]
    padded = tok([text], None if other is None else [other], truncation=True, max_length=max_length, padding="max_length")
    assert len(padded["input_ids"][0]) == max_length


# ----- characters that are not DNA --------------------------------------------------------------
junk = st.characters().filter(lambda c: c not in VALID)  # any code point, surrogates and controls included


@fuzz("test_invalid_characters_are_named")
@given(
    prefix=dna_text(max_size=40),
    bad=junk,
    suffix=st.text(max_size=20).filter(lambda s: "]" not in s),  # no "[MASK]" can form around the bad character
    batch=st.integers(0, 3),
    row=st.integers(0, 3),
    in_pair=st.booleans(),
    k=st.integers(3, 8),
)
def test_invalid_characters_are_named(prefix, bad, suffix, batch, row, in_pair, k):
    """The first character that is not a nucleotide code or blank is named with its position."""
    tok = tokenizer(k)
    text = prefix + bad + suffix  # the suffix may hold more junk: the first bad character is reported
    position = len(prefix)
    clean = "ACGTN" * 3
    if batch == 0:  # a single sequence (or pair)
        name = "text_pair" if in_pair else "text"
        args = (clean, text) if in_pair else (text,)
    else:
        row = min(row, batch - 1)
        column = [clean] * batch
        column[row] = text
        name = f"text_pair[{row}]" if in_pair else f"text[{row}]"
        args = ([clean] * batch, column) if in_pair else (column,)
    with pytest.raises(ValueError) as info:
        tok(*args)
    assert f"invalid character {bad!r} at position {position} of {name}:" in str(info.value)


@fuzz("test_special_tokens_written_in_the_text")
@given(
    parts=st.lists(dna_text(max_size=30), min_size=1, max_size=4),
    specials=st.lists(st.sampled_from(SPECIALS), min_size=3, max_size=3),
    k=st.integers(3, 6),
)
def test_special_tokens_written_in_the_text(parts, specials, k):
    """``"ACGT[MASK]GGTA"``: DNA on each side is k-merized on its own, the token keeps its id and span."""
    tok = tokenizer(k)
    text, ids, offsets = "", [], []
    for i, part in enumerate(parts):
        ref = Ref(part, k, 1)
        ids += ref.ids
        offsets += [(s + len(text), e + len(text)) for s, e in ref.offsets]
        text += part
        if i < len(parts) - 1:
            token = specials[i % len(specials)]
            ids.append(SPECIALS.index(token))
            offsets.append((len(text), len(text) + len(token)))
            text += token
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    assert enc["input_ids"] == ids
    assert enc["offset_mapping"] == offsets


# ----- huge inputs -------------------------------------------------------------------------------
@fuzz("test_huge_inputs")
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(20_000, 120_000), ks=kmer_and_stride, wrap=st.sampled_from([0, 60, 80]))
def test_huge_inputs(seed, length, ks, wrap):
    """A chromosome-sized piece (FASTA-wrapped or not): every k-mer, offset and base comes back."""
    k, stride = ks
    rng = np.random.default_rng(seed)
    bases = rng.choice(list("ACGTacgtN"), size=length, p=[0.24] * 4 + [0.01] * 4 + [0.0])
    bases[rng.integers(0, length, size=length // 5000)] = "N"  # a few assembly gaps
    text = "".join(bases)
    if wrap:
        text = "\n".join(text[i : i + wrap] for i in range(0, len(text), wrap)) + "\n"
    tok, ref = tokenizer(k, stride), Ref(text, k, stride)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    assert enc["input_ids"] == ref.ids and enc["offset_mapping"] == ref.offsets
    assert tok.decode(enc["input_ids"]) == ref.decoded
    batch = tok([text, text[: length // 2]], truncation=True, max_length=512, padding=True, return_tensors="np")
    assert batch["input_ids"].shape == (2, 512)
    assert batch["input_ids"][0, 1:-1].tolist() == ref.ids[:510]


def test_example_budget_is_recorded():
    """Every fuzz test of this module has its entry in EXAMPLES (reported in the hardening issue)."""
    names = {n for n, f in globals().items() if n.startswith("test_") and hasattr(f, "hypothesis")}
    assert names == set(EXAMPLES)
