"""GeneBERT's k-mer tokenizer: raw DNA in, DNABERT-compatible k-mer ids out.

The vocabulary is DNABERT's ([PAD] [UNK] [CLS] [SEP] [MASK], then every k-mer in the
order of ``itertools.product("ATCG", repeat=k)``), so DNABERT checkpoints and vocab
files load unchanged. Strings are turned into ids with numpy (2 bits per base, k-mer
codes built by shifting whole arrays), not a Python loop per k-mer: the pre-training
collator tokenizes every batch on the fly.

This file is exported verbatim as Hub remote code, so it imports nothing of ours.
"""

import itertools
import os
import re

import numpy as np
from transformers import BatchEncoding, PreTrainedTokenizer
from transformers.tokenization_utils_base import PaddingStrategy, TruncationStrategy

VOCAB_FILES_NAMES = {"vocab_file": "vocab.txt"}
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
BASES = "ATCG"  # DNABERT's order: a k-mer's index is its base-4 number with A=0 T=1 C=2 G=3
IUPAC_OTHER = "NRYSWKMBDHVU"  # valid nucleotide codes that are not A/C/G/T -> [UNK] k-mers
_UNKNOWN, _SPACE, _INVALID = 4, 5, 6


def _code_table() -> np.ndarray:
    """byte -> 0..3 for A T C G (any case), 4 other IUPAC code, 5 whitespace, 6 invalid."""
    table = np.full(256, _INVALID, dtype=np.uint8)
    for code, base in enumerate(BASES):
        table[ord(base)] = table[ord(base.lower())] = code
    for char in IUPAC_OTHER:
        table[ord(char)] = table[ord(char.lower())] = _UNKNOWN
    for char in " \t\n\r\v\f":
        table[ord(char)] = _SPACE
    return table


_CODES = _code_table()
_CODE_BYTES = _CODES.tobytes()  # for bytes.translate, several times faster than a numpy gather
_WHITESPACE = re.compile(r"\s")


def _windows(grid: np.ndarray, k: int, combine, memo=None) -> np.ndarray:
    """Combine every k consecutive columns of ``grid`` in O(log k) whole-array steps.

    ``combine(left, right, right_width, width)`` merges a left and a right window; with shifts it
    yields the k-mer code (the 2-bit codes of the k bases), with ``|`` "any base unknown".
    """
    memo = {1: grid} if memo is None else memo
    if k not in memo:
        half = k // 2
        left, right = _windows(grid, half, combine, memo), _windows(grid, k - half, combine, memo)
        n = grid.shape[1] - k + 1
        memo[k] = combine(left[:, :n], right[:, half : half + n], k - half, k)
    return memo[k]


def _shift_or(left, right, right_width, width):
    """k-mer code of a window: the left part's code shifted past the right part's 2-bit codes."""
    dtype = np.uint8 if width <= 4 else np.uint16  # k <= 8 fits 16 bits
    return (left.astype(dtype, copy=False) << (2 * right_width)) | right


def load_vocab(vocab_file: str) -> dict[str, int]:
    """One token per line, id = line number (the BERT / DNABERT vocab.txt format)."""
    with open(vocab_file, encoding="utf-8") as handle:
        return {line.rstrip("\n"): i for i, line in enumerate(handle)}


def kmer_vocab(k: int) -> list[str]:
    """DNABERT's token list for k: the five specials, then all 4**k k-mers."""
    return [*SPECIAL_TOKENS, *("".join(p) for p in itertools.product(BASES, repeat=k))]


class GeneBertTokenizer(PreTrainedTokenizer):
    """Overlapping (or strided) k-mer tokenizer over raw DNA, with DNABERT's vocabulary.

    Args:
        vocab_file: a DNABERT-style ``vocab.txt``; k is inferred from its k-mers. Without it
            the vocabulary for ``k`` is generated.
        k: k-mer length, 3 to 8 (default 6). Stored as the attribute ``kmer``.
        stride: bases between the starts of consecutive k-mers, 1 (overlapping, DNABERT) to
            k (non-overlapping, like the Nucleotide Transformer). A tail shorter than a
            full step is dropped. Not to be confused with the call-time ``stride`` keyword,
            which keeps its transformers meaning (overflow window, in tokens).
        model_max_length: default 512, BERT's position limit.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(self, vocab_file=None, k=None, stride=1, model_max_length=512, **kwargs):
        if vocab_file is not None:
            self.vocab = load_vocab(vocab_file)
            lengths = {len(t) for t in self.vocab if set(t) <= set(BASES)}
            if len(lengths) != 1:
                raise ValueError(f"{vocab_file} does not hold k-mers of one length (found lengths {sorted(lengths)})")
            inferred = lengths.pop()
            if k is not None and k != inferred:
                raise ValueError(f"k={k} contradicts the {inferred}-mers of {vocab_file}")
            k = inferred
        k = 6 if k is None else k
        if not 3 <= k <= 8:
            raise ValueError(f"k must be between 3 and 8, got {k}")
        if not 1 <= stride <= k:
            raise ValueError(f"stride must be between 1 and k={k}, got {stride}")
        if vocab_file is None:
            self.vocab = {token: i for i, token in enumerate(kmer_vocab(k))}
        self.kmer, self.stride = k, stride
        self.ids_to_tokens = {i: token for token, i in self.vocab.items()}
        required = kmer_vocab(k)
        missing = [t for t in required if t not in self.vocab]
        if missing:
            raise ValueError(f"the vocabulary lacks {len(missing)} required tokens, e.g. {missing[:3]}")
        # k-mer code (base-4 number, ATCG order) -> id; the identity + 5 for DNABERT's files
        self._kmer_ids = np.array([self.vocab[t] for t in required[5:]], dtype=np.int32)
        self._canonical = bool((self._kmer_ids == np.arange(5, 5 + 4**k)).all())
        for name, token in zip(("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"), SPECIAL_TOKENS):
            kwargs.setdefault(name, token)  # already there when reloaded from tokenizer_config.json
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        super().__init__(k=k, stride=stride, model_max_length=model_max_length, **kwargs)

    # ----- vocabulary ---------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return {**self.vocab, **self.added_tokens_encoder}

    def _convert_token_to_id(self, token: str) -> int:
        return self.vocab.get(token, self.vocab[str(self.unk_token)])

    def _convert_id_to_token(self, index: int) -> str:
        return self.ids_to_tokens.get(index, str(self.unk_token))

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        name = (filename_prefix + "-" if filename_prefix else "") + VOCAB_FILES_NAMES["vocab_file"]
        path = os.path.join(save_directory, name) if os.path.isdir(save_directory) else save_directory
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(token + "\n" for token, _ in sorted(self.vocab.items(), key=lambda kv: kv[1]))
        return (path,)

    def save_pretrained(self, save_directory, *args, **kwargs) -> tuple[str, ...]:
        """As transformers saves, but return only the files written (no ``added_tokens.json`` that is not there)."""
        return tuple(f for f in super().save_pretrained(save_directory, *args, **kwargs) if os.path.exists(f))

    # ----- special-token layout (BERT's: [CLS] A [SEP] B [SEP]) -------------------------
    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 3 if pair else 2

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        cls, sep = [self.cls_token_id], [self.sep_token_id]
        return cls + token_ids_0 + sep + (token_ids_1 + sep if token_ids_1 is not None else [])

    def create_token_type_ids_from_sequences(self, token_ids_0, token_ids_1=None):
        first = [0] * (len(token_ids_0) + 2)
        return first + ([1] * (len(token_ids_1) + 1) if token_ids_1 is not None else [])

    def get_special_tokens_mask(self, token_ids_0, token_ids_1=None, already_has_special_tokens=False):
        if already_has_special_tokens:
            special = {self.cls_token_id, self.sep_token_id, self.pad_token_id}
            return [int(i in special) for i in token_ids_0]
        mask = [1] + [0] * len(token_ids_0) + [1]
        return mask + ([0] * len(token_ids_1) + [1] if token_ids_1 is not None else [])

    # ----- DNA -> ids ------------------------------------------------------------------
    def _tokenize(self, text: str, **kwargs) -> list[str]:
        """k-mer strings of one raw sequence ([UNK] for k-mers with N / IUPAC codes)."""
        ids, counts, _ = self._kmer_grid([text])
        return [self.ids_to_tokens[i] for i in ids[0, : counts[0]].tolist()]

    def _codes(self, texts: list[str], name: str = "sequence") -> tuple[np.ndarray, np.ndarray, list | None]:
        """2-bit (+ flag) codes of a batch as a (batch, longest) uint8 grid, whitespace removed.

        Returns the grid, the per-row base counts and, only if some row held whitespace,
        per-row maps from kept base to its index in the original string (for offsets).
        """
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        width = int(lengths.max(initial=0))
        padded = texts if (lengths == width).all() else [t.ljust(width, "A") for t in texts]
        try:
            raw = "".join(padded).encode("ascii")
        except UnicodeEncodeError:
            raise self._invalid(texts, name) from None
        grid = np.frombuffer(raw.translate(_CODE_BYTES), dtype=np.uint8).reshape(len(texts), width)
        if width == 0 or grid.max() <= 3:
            return grid, lengths, None
        if (grid == _INVALID).any():
            raise self._invalid(texts, name)
        spaced = np.flatnonzero((grid == _SPACE).any(axis=1))
        if not len(spaced):
            return grid, lengths, None
        position_maps = [None] * len(texts)
        for row in spaced.tolist():
            position_maps[row] = np.array([m.start() for m in re.finditer(r"\S", texts[row])], dtype=np.int64)
        compact = [_WHITESPACE.sub("", t) if m is not None else t for t, m in zip(texts, position_maps)]
        grid, lengths, _ = self._codes(compact)
        return grid, lengths, position_maps

    @staticmethod
    def _invalid(texts: list[str], name: str) -> ValueError:
        """The error naming the first bad character; ``name`` is e.g. "text" or "text_pair[{}]"."""
        row, position, char = next(
            (row, position, char)
            for row, text in enumerate(texts)
            for position, char in enumerate(text)
            if ord(char) > 255 or _CODES[ord(char)] == _INVALID
        )
        return ValueError(
            f"invalid character {char!r} at position {position} of {name.format(row)}: DNA input may hold "
            f"only nucleotide codes (ACGT, IUPAC {IUPAC_OTHER}, any case) and whitespace"
        )

    def _kmer_grid(self, texts: list[str], name: str = "sequence") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """ids of every k-mer token per row (batch, max tokens), token counts, and base spans.

        Spans (batch, max tokens, 2) are returned only when whitespace was removed (then
        they map back to the original strings); otherwise token j spans
        ``[j * stride, j * stride + k)``.
        """
        k, stride = self.kmer, self.stride
        try:
            grid, lengths, position_maps = self._codes(texts, name)
        except ValueError:
            if not any("[" in t for t in texts) or not self.added_tokens_encoder:
                raise
            return self._kmer_grid_with_tokens(texts, name)
        counts = np.where(lengths >= k, (lengths - k) // stride + 1, 0)
        if grid.shape[1] < k:
            return np.zeros((len(texts), 0), dtype=np.int32), counts, None
        unknown = grid >= 4
        has_unknown = unknown.any()
        codes = _windows(grid & 3 if has_unknown else grid, k, _shift_or)[:, ::stride]
        ids = np.add(codes, 5, dtype=np.int32) if self._canonical else self._kmer_ids[codes]  # int32: less to move
        if has_unknown:
            bad = _windows(unknown, k, lambda left, right, *_: left | right)[:, ::stride]
            ids[bad] = self.unk_token_id
        spans = None
        if position_maps is not None:
            spans = self._default_spans(len(texts), ids.shape[1]).copy()
            for row, positions in enumerate(position_maps):
                if positions is not None and counts[row]:
                    starts = np.arange(counts[row]) * stride
                    spans[row, : counts[row], 0] = positions[starts]
                    spans[row, : counts[row], 1] = positions[starts + k - 1] + 1
        return ids, counts, spans

    def _kmer_grid_with_tokens(self, texts: list[str], name: str):
        """``_kmer_grid`` for text holding special / added tokens, e.g. "ACGTAC[MASK]GGTA" (fill-mask).

        The DNA on each side of a token is k-merized on its own; the token keeps its id.
        """
        pattern = re.compile("|".join(map(re.escape, sorted(self.added_tokens_encoder, key=len, reverse=True))))
        self._codes([pattern.sub(lambda m: "N" * len(m.group()), t) for t in texts], name)  # other bad characters
        rows = []
        for text in texts:
            ids, spans, at = [], [], 0
            for match in [*pattern.finditer(text), None]:
                end = len(text) if match is None else match.start()
                if end > at:
                    chunk_ids, n, chunk_spans = self._kmer_grid([text[at:end]], name)
                    chunk_spans = self._default_spans(1, n[0]) if chunk_spans is None else chunk_spans
                    ids += chunk_ids[0, : n[0]].tolist()
                    spans += (chunk_spans[0, : n[0]] + at).tolist()
                if match is not None:
                    ids.append(self.added_tokens_encoder[match.group()])
                    spans.append([match.start(), match.end()])
                    at = match.end()
            rows.append((ids, spans))
        counts = np.array([len(ids) for ids, _ in rows], dtype=np.int64)
        grid = np.zeros((len(texts), int(counts.max(initial=0))), dtype=np.int32)
        span_grid = np.zeros((*grid.shape, 2), dtype=np.int64)
        for row, (ids, spans) in enumerate(rows):
            grid[row, : len(ids)] = ids
            span_grid[row, : len(ids)] = np.reshape(spans, (-1, 2))
        return grid, counts, span_grid

    def _encode_plus(self, text, text_pair=None, **kwargs) -> BatchEncoding:
        """Vectorized path for raw DNA strings; anything else goes through transformers' own."""
        batched = isinstance(text, (list, tuple))
        texts = list(text) if batched else [text]
        pairs = None if text_pair is None else (list(text_pair) if batched else [text_pair])
        if batched and pairs is None and texts and all(isinstance(t, tuple) and len(t) == 2 for t in texts):
            texts, pairs = [t[0] for t in texts], [t[1] for t in texts]  # [(A, B), ...]
        raw_dna = all(isinstance(t, str) for t in texts) and (pairs is None or all(isinstance(t, str) for t in pairs))
        if not raw_dna or kwargs.get("is_split_into_words") or kwargs.get("return_overflowing_tokens"):
            if kwargs.pop("return_offsets_mapping", False):
                raise NotImplementedError("offsets are returned only for raw DNA strings")
            return super()._encode_plus(text, text_pair=text_pair, **kwargs)
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"got {len(texts)} first sequences but {len(pairs)} second sequences")
        return self._encode_dna(texts, pairs, batched, **kwargs)

    def _encode_dna(
        self,
        texts,
        pairs,
        batched,
        add_special_tokens=True,
        padding_strategy=PaddingStrategy.DO_NOT_PAD,
        truncation_strategy=TruncationStrategy.DO_NOT_TRUNCATE,
        max_length=None,
        pad_to_multiple_of=None,
        padding_side=None,
        return_tensors=None,
        return_token_type_ids=None,
        return_attention_mask=None,
        return_special_tokens_mask=False,
        return_offsets_mapping=False,
        return_length=False,
        verbose=True,
        **_,
    ) -> BatchEncoding:
        suffix = "[{}]" if batched else ""  # error messages name e.g. text_pair[3]
        segments = [self._kmer_grid(texts, "text" + suffix)]
        if pairs is not None:
            segments.append(self._kmer_grid(pairs, "text_pair" + suffix))
        counts = [c for _, c, _ in segments]
        counts = self._truncated_counts(counts, add_special_tokens, truncation_strategy, max_length)
        batch, extra = len(texts), int(add_special_tokens)
        totals = sum(counts) + extra * (1 + len(segments))  # [CLS] A [SEP] (B [SEP])
        if truncation_strategy == TruncationStrategy.DO_NOT_TRUNCATE and max_length is None and batch:
            self._eventual_warn_about_too_long_sequence(range(int(totals.max())), max_length, verbose)
        # padded length per row; rows that truncation could not shorten enough stay longer
        # (then the batch is ragged, as with transformers' own pad())
        target = {PaddingStrategy.LONGEST: int(totals.max(initial=0)), PaddingStrategy.MAX_LENGTH: max_length}
        target = target.get(padding_strategy) or 0
        if target and pad_to_multiple_of:
            target = -(-target // pad_to_multiple_of) * pad_to_multiple_of
        lengths = np.maximum(totals, target)
        width = int(lengths.max(initial=0))
        left = (padding_side or self.padding_side) == "left"
        first = width - totals if left else np.zeros(batch, dtype=np.int64)
        end = first + totals
        row_start = width - lengths if left else first

        input_ids = np.empty((batch, width), dtype=np.int64)
        self._fill(input_ids, self.pad_token_id, 0, first)
        self._fill(input_ids, self.pad_token_id, end, width)
        offsets = np.zeros((batch, width, 2), dtype=np.int64) if return_offsets_mapping else None
        start, spans_at = first + extra, []
        if add_special_tokens:
            self._fill(input_ids, self.cls_token_id, first, first + 1)
        for (ids, full, spans), n in zip(segments, counts):
            skip = full - n if self.truncation_side == "left" else None
            self._place(input_ids, ids, n, start, skip)
            if offsets is not None:
                spans = self._default_spans(batch, ids.shape[1]) if spans is None else spans
                self._place(offsets, spans, n, start, skip)
            spans_at.append((start, start + n))
            start = start + n
            if add_special_tokens:
                self._fill(input_ids, self.sep_token_id, start, start + 1)
                start = start + 1

        data = {"input_ids": input_ids}
        if return_token_type_ids if return_token_type_ids is not None else "token_type_ids" in self.model_input_names:
            data["token_type_ids"] = np.zeros((batch, width), dtype=np.int64)
            if len(segments) == 2:
                self._fill(data["token_type_ids"], 1, spans_at[1][0], end)
        if return_attention_mask if return_attention_mask is not None else "attention_mask" in self.model_input_names:
            data["attention_mask"] = np.zeros((batch, width), dtype=np.int64)
            self._fill(data["attention_mask"], 1, first, end)
        if return_special_tokens_mask:  # 1 for [CLS]/[SEP] and, as transformers' pad() does, padding
            data["special_tokens_mask"] = np.ones((batch, width), dtype=np.int64)
            for lo, hi in spans_at:
                self._fill(data["special_tokens_mask"], 0, lo, hi)
        if offsets is not None:
            data["offset_mapping"] = offsets
        return self._finish(data, row_start, lengths, totals, return_tensors, return_length, batched)

    def _truncated_counts(self, counts, add_special_tokens, strategy, max_length):
        """Tokens kept per segment, by the same rules as ``PythonBackend.truncate_sequences``."""
        if strategy == TruncationStrategy.DO_NOT_TRUNCATE or not max_length:  # 0 truncates nothing there either
            return counts
        budget = max_length - (self.num_special_tokens_to_add(len(counts) == 2) if add_special_tokens else 0)
        if len(counts) == 1 or strategy == TruncationStrategy.ONLY_FIRST:
            a = np.clip(budget - (counts[1] if len(counts) == 2 else 0), 0, counts[0])
            return [a, *counts[1:]]
        a, b = counts
        if strategy == TruncationStrategy.ONLY_SECOND:
            return [a, np.clip(budget - a, 0, b)]
        remove = np.maximum(a + b - budget, 0)  # longest_first: trim the longer, then both evenly
        first_remove = np.minimum(np.abs(b - a), remove)
        second = remove - first_remove
        a_remove = np.where(a > b, first_remove + second // 2, second // 2)
        # max_length below the special tokens asks to remove more than there is: both end empty
        return [np.maximum(a - a_remove, 0), np.maximum(b - (remove - a_remove), 0)]

    def _default_spans(self, batch, n_tokens):
        """(batch, n_tokens, 2) base spans of the k-mers of whitespace-free strings."""
        starts = np.arange(n_tokens) * self.stride
        return np.broadcast_to(np.stack([starts, starts + self.kmer], axis=-1), (batch, n_tokens, 2))

    @staticmethod
    def _fill(out, value, lo, hi):
        """out[r, lo[r]:hi[r]] = value for every row r (lo / hi: arrays or ints)."""
        lo, hi = np.broadcast_to(lo, out.shape[:1]), np.broadcast_to(hi, out.shape[:1])
        if not len(out):
            return
        if (lo == lo[0]).all() and (hi == hi[0]).all():
            out[:, lo[0] : hi[0]] = value
        else:
            columns = np.arange(out.shape[1])
            out[(columns >= lo[:, None]) & (columns < hi[:, None])] = value

    @staticmethod
    def _place(out, values, n, start, skip=None):
        """out[r, start[r] : start[r] + n[r]] = values[r, skip[r] : skip[r] + n[r]] for every row r."""
        if not len(n):
            return
        if (n == n[0]).all() and (start == start[0]).all() and (skip is None or (skip == skip[0]).all()):
            s, o = int(start[0]), 0 if skip is None else int(skip[0])
            out[:, s : s + int(n[0])] = values[:, o : o + int(n[0])]
            return
        rows, cols = np.nonzero(np.arange(values.shape[1]) < n[:, None])
        out[rows, start[rows] + cols] = values[rows, cols if skip is None else cols + skip[rows]]

    def _finish(self, data, row_start, lengths, totals, return_tensors, return_length, batched):
        """Ragged lists when rows differ in length, the requested tensor type, transformers' conventions."""
        if len(lengths) and (lengths != data["input_ids"].shape[1]).any():
            rows = list(zip(row_start, lengths))
            data = {key: [v[f : f + n].tolist() for v, (f, n) in zip(value, rows)] for key, value in data.items()}
        elif return_tensors is None:
            data = {key: value.tolist() for key, value in data.items()}
        if isinstance(data.get("offset_mapping"), list):  # (start, end) tuples, as fast tokenizers give
            data["offset_mapping"] = [list(map(tuple, row)) for row in data["offset_mapping"]]
        if return_length:
            data["length"] = totals.tolist() if isinstance(data["input_ids"], list) else totals
        if not batched and return_tensors is None:
            data = {key: value[0] for key, value in data.items()}
        if isinstance(data["input_ids"], list):  # ragged: transformers converts, or says why it cannot
            return BatchEncoding(data, tensor_type=return_tensors)
        if return_tensors == "pt":
            import torch

            data = {key: torch.from_numpy(value) for key, value in data.items()}
        return BatchEncoding(data, tensor_type=None if return_tensors in ("pt", "np") else return_tensors)

    # ----- ids -> DNA ------------------------------------------------------------------
    def _decode(self, token_ids, skip_special_tokens=False, **kwargs) -> str:
        """DNA pieces; special tokens are dropped only after reassembly, so segments stay apart."""
        tokens = self.convert_ids_to_tokens(token_ids)
        words = self._words([tokens] if isinstance(tokens, str) else tokens)
        if skip_special_tokens:
            words = [w for w in words if w not in self.all_special_tokens]
        return " ".join(words)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(self._words(tokens))

    def _words(self, tokens: list[str]) -> list[str]:
        """Reassemble DNA from runs of k-mer tokens; bases covered only by [UNK]/[MASK] become N.

        Other tokens ([CLS], [SEP], [PAD], added tokens) separate the runs and stay words,
        so a decoded pair reads ``[CLS] AAC... [SEP] GTT... [SEP]``.
        """
        words, piece = [], []
        unknown = {str(self.unk_token), str(self.mask_token)}
        for token in tokens:
            if token in unknown or (token in self.vocab and token not in SPECIAL_TOKENS):
                piece.append(token)
                continue
            if piece:
                words.append(self._reassemble(piece, unknown))
                piece = []
            words.append(token)
        if piece:
            words.append(self._reassemble(piece, unknown))
        return words

    def _reassemble(self, kmers: list[str], unknown: set[str]) -> str:
        """DNA of a run of k-mers. The run is cut wherever two neighbouring known k-mers disagree on
        their overlap (they were not tokenized from one stretch, e.g. the DNA on either side of a
        [MASK] in "ACGT...[MASK]ACGT..." after fill-mask put a k-mer there); each piece is reassembled
        on its own and the pieces are joined, so no input base is lost and the filled k-mer appears whole.
        """
        k, stride = self.kmer, self.stride
        pieces, start = [], 0
        for j in range(1, len(kmers)):
            a, b = kmers[j - 1], kmers[j]
            if a not in unknown and b not in unknown and a[stride:] != b[: k - stride]:
                pieces.append(kmers[start:j])
                start = j
        pieces.append(kmers[start:])
        return "".join(self._reassemble_chain(piece, unknown) for piece in pieces)

    def _reassemble_chain(self, kmers: list[str], unknown: set[str]) -> str:
        k, stride = self.kmer, self.stride
        bases = ["N"] * ((len(kmers) - 1) * stride + k)
        for j in reversed(range(len(kmers))):  # earlier k-mers win where they overlap
            if kmers[j] not in unknown:
                bases[j * stride : j * stride + k] = kmers[j]
        return "".join(bases)


__all__ = ["GeneBertTokenizer"]
