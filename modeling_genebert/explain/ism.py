"""In-silico saturation mutagenesis: every single-base substitution (3 per base), batched, both strands.

``delta[n, i, b] = s(x with base b at i) - s(x)`` where ``s`` is the class log-odds
(:func:`~modeling_genebert.explain.tokens.class_score`); with ``strands="both"``, ``s`` is the mean of the
forward sequence's score and its reverse complement's. ``delta`` is 0 at the observed base and at N.
Mutant token ids are computed from the reference's by changing only the k tokens covering the substituted
base (checked against the tokenizer for each reference); the mutants of several sequences are pooled,
deduplicated and scored ``batch_size`` windows per forward pass.

For a model with region input the region matrix is held at the reference sequence's (mutants are not
re-scanned): the attribution is that of the sequence given its region evidence.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from dataset_scripts.sequences import one_hot

from .loading import check_sequences
from .tokens import KmerIds, encode_codes, reverse_complement_codes, score_ids


def _substitutions(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference codes ``[L]`` -> (positions ``[M]``, bases ``[M]``) of its 3 x (non-N bases) single-base mutants."""
    pos = np.repeat(np.nonzero(codes < 4)[0], 3)
    others = np.array([[b for b in range(4) if b != c] for c in range(4)])
    base = others[codes[pos[::3]]].reshape(-1) if len(pos) else np.zeros(0, dtype=np.int64)
    return pos.astype(np.int64), base.astype(np.int64)


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct rows of ``rows`` ``[N, T]``, where each row is among them)."""
    rows = np.ascontiguousarray(rows)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))[:, 0]
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)


class _FirstLayerReuse:
    """The first layer's query, key and value projections of a mutant window are its reference's except at the
    (at most k) tokens the substitution changed: within the block, layer 0's ``query`` / ``key`` / ``value``
    take the reference's projections and compute only a k-token span per row (``set_batch`` says which
    reference and span each row of the next batch has). The same numbers as the full projections up to float
    rounding; applies to GeneBERT classifiers (a model without ``genebert.bert`` runs unchanged)."""

    def __init__(self, model, k: int):
        bert = getattr(getattr(model, "genebert", None), "bert", None)
        self.on = bert is not None
        self.k, self.bert = k, bert
        self.batch = None

    def __enter__(self):
        if self.on:
            attention = self.bert.encoder.layer[0].attention.self
            self.linears = [attention.query, attention.key, attention.value]
            for index, linear in enumerate(self.linears):
                linear.forward = self._projection(linear, index)
        return self

    def __exit__(self, *exc):
        if self.on:
            for linear in self.linears:
                del linear.forward
        self.batch = None

    def set_references(self, reference_ids: np.ndarray) -> None:
        """``[R, T]`` reference rows: their layer-0 projections, computed once."""
        if not self.on:
            return
        ids = torch.from_numpy(reference_ids).to(self.bert.device)
        with torch.no_grad():
            x = self.bert.embeddings(input_ids=ids)
            self.references = [type(linear).forward(linear, x) for linear in self.linears]

    def set_batch(self, reference_of_row: np.ndarray, span_start: np.ndarray) -> None:
        self.batch = (torch.from_numpy(reference_of_row), torch.from_numpy(span_start)) if self.on else None

    def _projection(self, linear, index: int):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if self.batch is None or x.shape[0] != len(self.batch[0]) or x.shape[1] != self.references[index].shape[1]:
                # another batch, or a [CLS]-only query (a one-layer model under cls_only_last_layer): as is
                return type(linear).forward(linear, x)
            rows, start = self.batch
            out = self.references[index][rows.to(x.device)]  # (B, T, H): the references' projections
            span = (start[:, None] + torch.arange(self.k)[None, :]).to(x.device)  # (B, k) token positions
            b = torch.arange(len(rows), device=x.device)[:, None]
            out[b, span] = type(linear).forward(linear, x[b, span])
            return out

        return forward


def _spans(rows: np.ndarray, reference_rows: np.ndarray, k: int) -> np.ndarray | None:
    """Start of the k-token span holding every token where each row differs from its reference (None if one does not fit)."""
    differs = rows != reference_rows
    first = np.where(differs.any(1), differs.argmax(1), 0)
    last = np.where(differs.any(1), rows.shape[1] - 1 - differs[:, ::-1].argmax(1), 0)
    if (last - first >= k).any() or rows.shape[1] < k:
        return None
    return np.minimum(first, rows.shape[1] - k)


DEFAULT_GROUP = 16  # sequences whose mutants are pooled, deduplicated and scored in shared batches


def saturation_mutagenesis(explained, sequences: Sequence[str], target=None, strands: str = "both",
                           batch_size: int = 64, progress: bool = False, group: int = DEFAULT_GROUP):
    """All 3L single mutants of each sequence -> ``delta`` ``(N, L, 4)`` (a list of ``(L, 4)`` when lengths differ).

    ``explained``: an :class:`~modeling_genebert.explain.loading.ExplainedModel`; ``target``: class name or id
    (default: the last class); ``strands``: ``"both"`` (mean of forward and reverse-complement scores) or ``"forward"``.

    The mutants of ``group`` sequences (both strands) are pooled: their token ids come from each reference's
    ids by changing only the ``k`` tokens that cover the substituted base (:meth:`KmerIds.substitutions`),
    identical windows (repeated sequences, a palindrome's two strands) are scored once, and sequences of one
    length share full batches of ``batch_size`` windows. fp32 scores of a window do not depend on its
    batch-mates beyond float rounding (tested to 1e-5 of a log-odds).
    """
    if strands not in ("both", "forward"):
        raise ValueError(f"strands must be 'both' or 'forward', got {strands!r}")
    target = explained.class_index(target)
    sequences = check_sequences(sequences, explained.window)
    model, tokenizer = explained.model, explained.tokenizer
    n_strands = 2 if strands == "both" else 1
    total = sum(3 * sum(c != "N" for c in s) + 1 for s in sequences) * n_strands
    bar = tqdm(total=total, desc="ISM windows", unit="window", disable=not progress)
    region_input = bool(getattr(model.config, "classifier_region_fusion", False))
    out: list = [None] * len(sequences)
    by_length: dict[int, list[int]] = {}
    for i, s in enumerate(sequences):
        by_length.setdefault(len(s), []).append(i)
    for members in by_length.values():
        for g in range(0, len(members), max(1, group)):
            chosen = members[g:g + max(1, group)]
            blocks, owners, layout, references = [], [], [], []
            for i in chosen:
                s = sequences[i]
                codes = encode_codes(s)
                pos, base = _substitutions(codes)
                strand_rows = []
                for strand in range(n_strands):
                    if strand == 0:
                        kmer_ids = KmerIds(tokenizer, s)
                        p, b = pos, base
                    else:
                        rc = reverse_complement_codes(codes)
                        kmer_ids = KmerIds(tokenizer, "".join("ACGTN"[c] for c in rc))
                        p, b = len(s) - 1 - pos, 3 - base
                    ids = np.concatenate([kmer_ids.reference_ids[None], kmer_ids.substitutions(p, b)])
                    strand_rows.append((sum(len(x) for x in blocks), len(ids)))
                    blocks.append(ids)
                    owners.append(np.full(len(ids), i, dtype=np.int64))
                    references.append(np.full(len(ids), len(references), dtype=np.int64))
                layout.append((i, pos, base, strand_rows))
            rows, owner = np.concatenate(blocks), np.concatenate(owners)
            # a region-input model reads each sequence's own region matrix: windows are shared within a sequence only
            keyed = np.concatenate([owner[:, None], rows], axis=1) if region_input else rows
            unique, where = _unique_rows(keyed)
            reference_of = np.concatenate(references)
            first = np.zeros(len(unique), dtype=np.int64)
            first[where[::-1]] = np.arange(len(where))[::-1]  # a row of keyed behind each unique row
            reference_rows = np.stack([block[0] for block in blocks])
            if region_input:
                unique_owner, unique = unique[:, 0], unique[:, 1:]
                regions = torch.cat([explained.region_matrix([sequences[i]]) for i in unique_owner.tolist()])
            else:
                regions = None
            scale, done = len(rows) / max(1, len(unique)), [0, bar.n]

            def advance(n):
                done[0] += n
                bar.update(int(done[1] + round(done[0] * scale)) - bar.n)

            unique_reference = reference_of[first]
            starts = _spans(unique, reference_rows[unique_reference], int(tokenizer.kmer))
            with _FirstLayerReuse(model, int(tokenizer.kmer)) as reuse:
                if starts is not None:
                    reuse.set_references(reference_rows)

                def before_batch(lo, hi):
                    if starts is not None:
                        reuse.set_batch(unique_reference[lo:hi], starts[lo:hi])

                scores = score_ids(model, unique, target, batch_size, regions, advance, before_batch)[where]
            for i, pos, base, strand_rows in layout:
                per_strand = [scores[a:a + n] for a, n in strand_rows]
                mean = sum(per_strand) / len(per_strand)
                delta = np.zeros((len(sequences[i]), 4), dtype=np.float32)
                delta[pos, base] = mean[1:] - mean[0]
                out[i] = delta
    bar.close()
    return np.stack(out) if len(by_length) == 1 else out


def ism_windows(sequences: Sequence[str], strands: str = "both") -> int:
    """Windows :func:`saturation_mutagenesis` scores at most: per sequence and strand, 3 per A/C/G/T base + the reference."""
    return sum(3 * (len(s) - s.upper().count("N")) + 1 for s in sequences) * (2 if strands == "both" else 1)


def seconds_per_window(explained, sequence: str, target=None, batch_size: int = 64) -> float:
    """Wall seconds per ISM window, from one timed pass of ``batch_size`` mutants of ``sequence`` (after an
    untimed one), in the precision context the caller holds: the rate a plan is estimated from."""
    import time

    target = explained.class_index(target)
    sequence = check_sequences([sequence], explained.window)[0]
    pos, base = _substitutions(encode_codes(sequence))
    take = np.resize(np.arange(len(pos)), max(1, batch_size))
    ids = KmerIds(explained.tokenizer, sequence).substitutions(pos[take], base[take])
    region = explained.region_matrix([sequence])
    score_ids(explained.model, ids, target, len(ids), region)  # warm-up: first calls of a shape set up kernels
    started = time.perf_counter()
    score_ids(explained.model, ids, target, len(ids), region)
    return (time.perf_counter() - started) / len(ids)


def ism_contributions(delta: np.ndarray, sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """ISM deltas ``(L, 4)`` -> (per-base contribution ``(L,)``, hypothetical contributions ``(L, 4)``).

    Hypothetical contributions are the deltas centred per position (``delta - mean over the 4 bases``),
    the form TF-MoDISco takes; the observed base's contribution is its entry there, i.e. minus the
    sum of its three substitution effects / 4 (positive when mutating the base away lowers the score).
    """
    delta = np.asarray(delta, dtype=np.float32)
    hyp = delta - delta.mean(axis=-1, keepdims=True)
    contribution = (hyp * one_hot(sequence)).sum(-1)
    return contribution, hyp
