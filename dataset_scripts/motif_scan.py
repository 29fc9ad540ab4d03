"""Vectorized PWM scanning over one-hot DNA (a convolution, done as table look-ups), both strands.

The same code runs on CPU and GPU (pass ``device``). Scores are the log2-odds sums of
:mod:`.motifs` matrices and equal Biopython's ``PSSM.calculate`` at every position
(float32 arithmetic; agreement to 1e-4 is tested on real sequences). torch is imported
only when a :class:`MotifScanner` is built or used, so importing this module stays light.

How windows are scored
----------------------
* A sequence is one-hot encoded over A, C, G, T (case-insensitive, so soft-masked
  lower case scores like upper case). Every other IUPAC code (N, R, Y, ...) marks the
  base as *unknown*.
* **A window that contains an unknown base gets no score**: it is excluded from every
  aggregation, exactly as Biopython returns ``nan`` there (its score is ``-inf``
  inside the scanner).
* Windows that run past the end of a sequence do not exist (Biopython scores
  ``len(seq) - width + 1`` positions per strand).
* Reverse strand: the reverse-complemented matrix is scanned over the forward
  sequence, which equals scanning the matrix over the reverse complement.
* A region with **no** scoreable window for a motif (all windows hold N, or the
  sequence is shorter than the motif) gets ``fill_value`` for that motif: by default
  the motif's lowest possible score (``"min"``), so the matrix stays finite.

Aggregations per (sequence, motif), over positions and (by default) both strands
-------------------------------------------------------------------------------
* ``"max"`` (default, the paper's TF-binding vector): best log-odds score.
* ``"mean"``: mean log-odds score over scoreable windows.
* ``"logsumexp"``: ``log2(sum_windows 2**score)``, a soft maximum: the log of the
  summed odds ratio, i.e. a total-affinity score that grows with several sites.
* ``"count"``: number of windows scoring at least ``threshold``; a float threshold
  ``t`` in [0, 1] is relative (``min + t * (max - min)`` of the motif's possible
  scores, default 0.8 as in common scanners); pass ``absolute_threshold=True`` to
  use log-odds units instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from .motifs import MotifSet

if TYPE_CHECKING:  # torch is imported where a scanner is built, so the data side imports light
    import torch

AGGREGATIONS = ("max", "mean", "logsumexp", "count")
_UNKNOWN = 4

# byte -> code: ACGT (any case) -> 0..3, other IUPAC nucleotide codes -> 4, else 255
_CODE = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
for _b in "NRYSWKMBDHVU-.":
    _CODE[ord(_b)] = _UNKNOWN
    _CODE[ord(_b.lower())] = _UNKNOWN
# U (RNA) is not scored as T on purpose: motif scanning is on DNA.


def encode(sequences: Sequence[str], length: int | None = None) -> np.ndarray:
    """Integer codes ``(n, length)`` (uint8): A,C,G,T -> 0..3, other IUPAC / padding -> 4.

    Raises ``ValueError`` naming the sequence index, position and character for anything
    that is not a nucleotide code.
    """
    n = len(sequences)
    if length is None:
        length = max((len(s) for s in sequences), default=0)
    out = np.full((n, length), _UNKNOWN, dtype=np.uint8)
    for i, s in enumerate(sequences):
        raw = np.frombuffer(s.encode("latin-1", errors="replace"), dtype=np.uint8)
        codes = _CODE[raw]
        if (codes == 255).any():
            j = int(np.argmax(codes == 255))
            raise ValueError(f"sequence {i}: character {s[j]!r} at position {j} is not a nucleotide code")
        out[i, : len(codes)] = codes[:length]
    return out


class MotifScanner:
    """Scan DNA sequences with a :class:`~.motifs.MotifSet`.

    Args:
        motifs: the motif set (its order is the output column order).
        device: torch device (``"cpu"``, ``"cuda"``, ...); the same code runs on both.
        both_strands: score the reverse strand too (default ``True``).

    Implementation: a log-odds matrix of width ``w`` is cut into chunks of
    ``CHUNK`` (3) columns; each chunk is tabulated for all 5**3 words over
    {A, C, G, T, unknown}, so the score of a window is the sum of ``ceil(w / 3)``
    table rows, computed for all motifs and both strands at once by
    ``torch.nn.functional.embedding_bag(mode="sum")`` -- the convolution of one-hot DNA
    with the matrices, without multiplying the zeros of the one-hot code. An unknown
    base (N, other IUPAC codes, the padding past a sequence's end) contributes
    ``-inf`` in every column a motif has and 0 in the zero-padding beyond its width,
    so windows holding one score ``-inf`` and never count, with no masking pass.

    Example::

        scanner = MotifScanner(load_jaspar_motifs())
        matrix = scanner.scan(["ACGT...", ...])          # (n, 579) max log-odds
    """

    CHUNK = 3
    BATCH_ELEMENTS = 32_000_000  # default batch: (batch, L, 2M) scores (128 MB) indexed at once, aggregated by tiles
    TILE_ELEMENTS = 1_000_000  # scores aggregated at once on a CPU (4 MB, so that they stay in the cache)

    def __init__(self, motifs: MotifSet, device: str | torch.device = "cpu", both_strands: bool = True,
                 num_proc: int = 1):
        import torch

        if num_proc < 1:
            raise ValueError(f"num_proc must be at least 1, got {num_proc}")
        self.num_proc = num_proc
        self._pool = None
        self.motifs = motifs
        self.device = torch.device(device)
        self.both_strands = both_strands
        widths = motifs.widths
        m = len(motifs)
        self.max_width = max(widths)
        k = self.CHUNK
        self.n_chunks = -(-self.max_width // k)
        span = self.n_chunks * k
        n_out = 2 * m if both_strands else m
        # w[out, letter, column]: letters A C G T + unknown (-inf inside the motif, 0 beyond it)
        w = np.zeros((n_out, 5, span), dtype=np.float64)
        for i, p in enumerate(motifs.pssms):
            wd = p.shape[1]
            w[i, :4, :wd] = p
            w[i, 4, :wd] = -np.inf
            if both_strands:  # reverse complement: column j <- wd-1-j, A<->T, C<->G
                w[m + i, :4, :wd] = p[::-1, ::-1]
                w[m + i, 4, :wd] = -np.inf
        # table[c * 5**k + word, out] = sum_j w[out, letter_j(word), k*c + j]
        words = np.arange(5**k)
        letters = np.stack([(words // 5 ** (k - 1 - j)) % 5 for j in range(k)])  # (k, 5**k)
        table = np.zeros((self.n_chunks, 5**k, n_out))
        for c in range(self.n_chunks):
            for j in range(k):
                table[c] += w[:, letters[j], k * c + j].T
        self.table = torch.as_tensor(table.reshape(-1, n_out), dtype=torch.float32, device=self.device)
        self.min_scores = torch.as_tensor(motifs.min_scores(), dtype=torch.float64)
        self.max_scores = torch.as_tensor(motifs.max_scores(), dtype=torch.float64)

    @property
    def num_motifs(self) -> int:
        return len(self.motifs)

    # -- core -----------------------------------------------------------------------
    def position_scores(self, sequences: Sequence[str], length: int | None = None) -> torch.Tensor:
        """Per-position scores ``(n, L, strands * M)`` (float32); unscoreable windows are ``-inf``.

        Column ``k`` is motif ``k`` on the forward strand, ``M + k`` the reverse strand.
        Position ``p`` is the window starting at base ``p`` (Biopython's indexing for both
        strands); ``L`` is the longest sequence (or ``length``).
        """
        return self._scores(self._chunk_words(sequences, length))

    def _chunk_words(self, sequences: Sequence[str], length: int | None = None) -> torch.Tensor:
        """``(n, L, chunks)``: the rows of :attr:`table` whose sum is each window's scores."""
        import torch

        codes_np = encode(sequences, length)
        n, L = codes_np.shape
        k, nc = self.CHUNK, self.n_chunks
        span = nc * k
        codes = np.full((n, L + span), _UNKNOWN, dtype=np.int64)
        codes[:, :L] = codes_np
        codes = torch.from_numpy(codes).to(self.device)
        word = codes[:, : L + span - k + 1]
        for j in range(1, k):
            word = word * 5 + codes[:, j : L + span - k + 1 + j]
        return torch.stack([word[:, k * q : k * q + L] + q * 5**k for q in range(nc)], dim=-1)

    def _scores(self, words: torch.Tensor) -> torch.Tensor:
        import torch

        n, L, nc = words.shape
        with torch.no_grad():
            s = torch.nn.functional.embedding_bag(words.reshape(-1, nc), self.table, mode="sum")
        return s.view(n, L, self.table.shape[1])

    def _tile(self, length: int) -> int:
        """How many sequences are scored and aggregated at once: on a CPU about ``TILE_ELEMENTS``
        scores, so that they are still in the cache when they are aggregated (5x the rate of one
        batch-sized tensor on an AMD EPYC Zen 5); on a GPU the whole batch."""
        if self.device.type != "cpu":
            return 1 << 30
        return max(1, self.TILE_ELEMENTS // (self.table.shape[1] * max(length, 1)))

    def scan(
        self,
        sequences: Sequence[str],
        aggregation: str = "max",
        batch_size: int | None = None,
        fill_value: float | str = "min",
        threshold: float = 0.8,
        absolute_threshold: bool = False,
        per_strand: bool = False,
    ) -> np.ndarray:
        """Aggregate scores per sequence and motif: ``float32`` array ``(n, M)``, or ``(n, 2, M)``
        (forward strand, then reverse) with ``per_strand``, which keeps the strand a site lies on.

        See the module docstring for ``aggregation`` (``max``/``mean``/``logsumexp``/
        ``count``) and ``fill_value`` (``"min"`` = the motif's lowest possible score, or
        a number) for sequences without any scoreable window.
        """
        import torch

        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        if per_strand and not self.both_strands:
            raise ValueError("per_strand needs a scanner built with both_strands=True")
        sequences = list(sequences)
        n = len(sequences)
        m = self.num_motifs
        strands = 2 if per_strand else 1
        out = np.empty((n, strands, m), dtype=np.float32)
        if n == 0:
            return out.reshape(n, m) if strands == 1 else out
        if batch_size is None:
            # keep the (batch, L, 2M) score tensor around 128 MB
            longest = max(max(len(x) for x in sequences), 1)
            batch_size = max(1, int(self.BATCH_ELEMENTS // (self.table.shape[1] * longest)))
        if fill_value == "min":
            fill = self.min_scores.to(torch.float32)
        else:
            fill = torch.full((m,), float(fill_value))
        if aggregation == "count":
            thr = threshold if absolute_threshold else self.min_scores + threshold * (self.max_scores - self.min_scores)
            thr = torch.as_tensor(thr, dtype=torch.float32, device=self.device).reshape(-1)
            thr = thr.expand(m) if thr.numel() == 1 else thr
        if self.num_proc > 1 and self.device.type == "cpu" and n > batch_size:
            options = dict(aggregation=aggregation, batch_size=batch_size, fill_value=fill_value, threshold=threshold,
                           absolute_threshold=absolute_threshold, per_strand=per_strand)
            return self._scan_in_processes(sequences, batch_size, options)
        for lo in range(0, n, batch_size):
            batch = sequences[lo : lo + batch_size]
            # at least one (unscoreable) position, so a batch of empty sequences gets fill_value
            words = self._chunk_words(batch, length=max(1, max(map(len, batch))))
            tile = self._tile(words.shape[1])
            for start in range(0, words.shape[0], tile):
                s = self._scores(words[start : start + tile])  # (b, L, S*M)
                b, length = s.shape[:2]
                if per_strand:  # each strand its own "sequence": (b * 2, L, M)
                    s = s.view(b, length, 2, m).transpose(1, 2).reshape(b * 2, length, m)
                else:
                    s = s.view(b, -1, m)  # strands folded into the position axis
                agg, any_valid = self._aggregate(s, aggregation, thr if aggregation == "count" else None)
                agg = agg.float().cpu()
                if aggregation != "count":
                    agg = torch.where(any_valid.cpu(), agg, fill[None, :])
                out[lo + start : lo + start + b] = agg.view(b, strands, m).numpy()
        return out.reshape(n, m) if strands == 1 else out

    @staticmethod
    def _aggregate(s: torch.Tensor, aggregation: str, threshold: torch.Tensor | None):
        """``(aggregate, whether any window was scoreable)`` per sequence and motif of scores ``(b, positions, M)``."""
        import torch

        if aggregation == "max":
            agg = s.amax(dim=1)
            return agg, torch.isfinite(agg)
        valid = torch.isfinite(s)
        any_valid = valid.any(dim=1)
        if aggregation == "mean":
            return torch.where(valid, s, 0.0).sum(1) / valid.sum(1).clamp(min=1), any_valid
        if aggregation == "logsumexp":
            ln2 = float(np.log(2.0))
            return torch.logsumexp(s * ln2, dim=1) / ln2, any_valid
        return (s >= threshold[None, None, :]).sum(1).float(), any_valid  # count

    def _scan_in_processes(self, sequences: list[str], batch_size: int, options: dict) -> np.ndarray:
        """Whole batches scanned in ``num_proc`` worker processes: each sequence meets the same batch
        (and padding) as in one process, so the output is byte-identical."""
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(self.num_proc, mp_context=multiprocessing.get_context(method),
                                             initializer=_start_worker, initargs=(self,))
        batches_per_task = max(1, -(-len(sequences) // batch_size) // (4 * self.num_proc))
        step = batches_per_task * batch_size
        chunks = [sequences[lo : lo + step] for lo in range(0, len(sequences), step)]
        return np.concatenate(list(self._pool.map(_scan_in_worker, chunks, [options] * len(chunks))))

    def close(self) -> None:
        """Stop the worker processes of ``num_proc > 1`` (also done when the scanner is collected)."""
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown()
            self._pool = None

    def __getstate__(self):  # a spawned worker gets the tables, not the pool
        state = dict(self.__dict__)
        state.update(_pool=None, num_proc=1)
        return state

    def __del__(self):
        self.close()


_WORKER_SCANNER: MotifScanner | None = None


def _start_worker(scanner: MotifScanner) -> None:
    import torch

    global _WORKER_SCANNER
    torch.set_num_threads(1)  # one process per core
    _WORKER_SCANNER = scanner.__class__.__new__(scanner.__class__)
    _WORKER_SCANNER.__dict__.update(scanner.__getstate__())


def _scan_in_worker(sequences: list[str], options: dict) -> np.ndarray:
    return _WORKER_SCANNER.scan(sequences, **options)


def scan_sequences(sequences: Sequence[str], motifs: MotifSet, aggregation: str = "max", device="cpu", **kwargs) -> np.ndarray:
    """One-call helper: ``MotifScanner(motifs, device).scan(sequences, aggregation, **kwargs)``."""
    return MotifScanner(motifs, device=device).scan(list(sequences), aggregation=aggregation, **kwargs)


__all__: Iterable[str] = ["AGGREGATIONS", "MotifScanner", "encode", "scan_sequences"]
