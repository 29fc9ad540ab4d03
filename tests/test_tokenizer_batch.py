"""The vectorized batch / pair path against transformers' own per-sequence machinery.

transformers' ``PythonBackend`` handles token-id input itself (``prepare_for_model`` per
row, ``truncate_sequences``, then ``pad``), so encoding the same k-mer ids that way is
the oracle for padding, truncation, token types and special-token masks.
"""

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import DataCollatorForLanguageModeling
from transformers.testing_utils import CaptureLogger
from transformers.utils import logging

from modeling_genebert import GeneBertTokenizer

DATA = Path(__file__).parent / "data"
with open(DATA / "gue_tf0_dev_200.csv", newline="") as _handle:
    TF_SITES = [row["sequence"] for row in csv.DictReader(_handle)]
_lengths = np.random.default_rng(0).integers(6, 102, size=(24, 2))  # >= 1 k-mer: the oracle rejects []
SEGMENT_A = [s[:n] for s, n in zip(TF_SITES[:24], _lengths[:, 0])]  # ragged: 6..101 bp
SEGMENT_B = [s[:n] for s, n in zip(TF_SITES[24:48], _lengths[:, 1])]


@pytest.fixture(scope="module")
def tok():
    return GeneBertTokenizer(k=6)


def oracle(tok, a, b, **kwargs):
    """transformers' generic path on the same k-mer ids (token-id input bypasses ours)."""
    ids_a = [tok(s, add_special_tokens=False)["input_ids"] for s in a]
    ids_b = None if b is None else [tok(s, add_special_tokens=False)["input_ids"] for s in b]
    return tok(ids_a, ids_b, **kwargs)


KEYS = ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask")


@pytest.mark.parametrize(
    "pair, truncation, max_length, padding",
    [
        *itertools.product(
            [True], ["longest_first", "only_first", "only_second"], [20, 64, 150], [True, "max_length"]
        ),
        *itertools.product([False], [True], [20, 64], [True, "max_length", False]),
        (True, False, None, True),
        (True, False, None, False),
    ],
)
def test_matches_transformers_machinery(tok, pair, truncation, max_length, padding):
    b = SEGMENT_B if pair else None
    kwargs = dict(truncation=truncation, max_length=max_length, padding=padding, return_special_tokens_mask=True)
    mine, ref = tok(SEGMENT_A, b, **kwargs), oracle(tok, SEGMENT_A, b, **kwargs)
    for key in KEYS:
        assert mine[key] == ref[key], key


@pytest.mark.parametrize("padding_side, truncation_side", list(itertools.product(["left", "right"], repeat=2)))
def test_sides_and_multiple_of(padding_side, truncation_side):
    tok = GeneBertTokenizer(k=5, padding_side=padding_side, truncation_side=truncation_side)
    kwargs = dict(truncation=True, max_length=61, padding=True, pad_to_multiple_of=None,
                  return_special_tokens_mask=True)
    for extra in ({}, {"pad_to_multiple_of": 8, "max_length": 64}):
        mine = tok(SEGMENT_A, SEGMENT_B, **{**kwargs, **extra})
        ref = oracle(tok, SEGMENT_A, SEGMENT_B, **{**kwargs, **extra})
        for key in KEYS:
            assert mine[key] == ref[key], (key, extra)


def test_collator_call(tok):
    """The pre-training collator's call: equal to the oracle, as torch int64 tensors."""
    a, b = TF_SITES[:16] * 3, TF_SITES[16:32] * 3
    for truncation in ("longest_first", "only_second"):
        kwargs = dict(padding="max_length", truncation=truncation, max_length=128, return_special_tokens_mask=True)
        mine = tok(a, b, return_tensors="pt", **kwargs)
        ref = oracle(tok, a, b, return_tensors="pt", **kwargs)
        assert mine["input_ids"].shape == (48, 128) and mine["input_ids"].dtype == torch.int64
        for key in KEYS:
            assert mine[key].equal(ref[key]), key
    # 101 bp each: longest_first trims both segments evenly (62 k-mers each)
    enc = tok(a[:1], b[:1], truncation=True, max_length=127)
    assert enc["token_type_ids"][0].count(0) == 64 and enc["token_type_ids"][0].count(1) == 63


def test_tuple_pairs_single_inputs_and_tensor_types(tok):
    a, b = TF_SITES[0], TF_SITES[1]
    assert tok([(a, b)])["input_ids"] == tok([a], [b])["input_ids"]
    single = tok(a, b, return_tensors="pt")
    assert single["input_ids"].shape == (1, 96 + 96 + 3)
    assert single["input_ids"][0].tolist() == tok(a, b)["input_ids"]
    as_np = tok([a, b[:50]], padding=True, return_tensors="np", return_length=True)
    assert isinstance(as_np["input_ids"], np.ndarray) and as_np["input_ids"].shape == (2, 98)
    assert as_np["length"].tolist() == [98, 47]
    with pytest.raises(ValueError, match="Unable to create tensor"):
        tok([a, b[:50]], return_tensors="pt")  # ragged without padding, as transformers says
    assert tok.encode(a)[:3] == tok(a)["input_ids"][:3]
    no_extras = tok([a], return_token_type_ids=False, return_attention_mask=False)
    assert set(no_extras) == {"input_ids"}


def test_offsets_point_into_the_raw_strings(tok):
    a = "acgT\nACGTAC GTN\n"
    b = TF_SITES[2][:20]
    enc = tok([a, b], [b, a], padding=True, return_offsets_mapping=True, return_tensors="pt")
    offsets, types = enc["offset_mapping"], enc["token_type_ids"]
    for row, (first, second) in enumerate([(a, b), (b, a)]):
        tokens = tok.convert_ids_to_tokens(enc["input_ids"][row].tolist())
        for token, (start, end), segment in zip(tokens, offsets[row].tolist(), types[row].tolist()):
            raw = (first, second)[segment]
            if token in ("[CLS]", "[SEP]", "[PAD]"):
                assert (start, end) == (0, 0)
            elif token != "[UNK]":
                assert "".join(raw[start:end].split()).upper() == token
    assert tok(a, return_offsets_mapping=True, add_special_tokens=False)["offset_mapping"] == [
        (0, 7), (1, 8), (2, 9), (3, 10), (5, 11), (6, 13), (7, 14), (8, 15),  # spans include the skipped blanks
    ]


def test_too_long_input_warns_or_truncates():
    tok = GeneBertTokenizer(k=6)
    long_seq = "".join(TF_SITES[:6])  # 606 bp -> 601 k-mers
    logger = logging.get_logger("transformers.tokenization_utils_base")
    with CaptureLogger(logger) as captured:
        assert len(tok(long_seq)["input_ids"]) == 603  # kept whole, never re-chunked
    assert "longer than the specified maximum sequence length for this model (603 > 512)" in captured.out
    truncated = tok(long_seq, truncation=True)["input_ids"]
    assert len(truncated) == 512 and truncated[-1] == tok.sep_token_id
    assert truncated[1:-1] == tok(long_seq, add_special_tokens=False)["input_ids"][:510]


def test_overflow_and_pretokenized_inputs_fall_back_to_transformers(tok):
    seq = TF_SITES[3]
    enc = tok(seq, truncation=True, max_length=40, stride=4, return_overflowing_tokens=True)
    assert len(enc["input_ids"]) == 40 and len(enc["overflowing_tokens"]) == 96 - 38 + 4
    kmers = tok.tokenize(seq)
    assert tok(kmers, is_split_into_words=True)["input_ids"] == tok(seq)["input_ids"]  # pre-tokenized k-mers
    assert tok(kmers[:2])["input_ids"] == [[2, i, 3] for i in tok(seq)["input_ids"][1:3]]  # else: a batch


def test_mlm_collator_accepts_the_output(tok):
    features = [tok(s) for s in TF_SITES[:8]]
    batch = DataCollatorForLanguageModeling(tok, mlm_probability=0.15)(features)
    assert batch["input_ids"].shape == batch["labels"].shape == (8, 98)
    assert (batch["labels"][:, [0, -1]] == -100).all()  # [CLS] / [SEP] are never masked
