"""Motif collections and their log-odds scoring matrices.

Motifs come from JASPAR through :mod:`pyjaspar` (which ships the JASPAR 2014-2026
releases as SQLite files, so nothing is downloaded) or from a user's motif file in any
format Biopython's :mod:`Bio.motifs` parses (``jaspar``, ``meme``, ``minimal``,
``transfac``, ``pfm``, ``sites``, ...).

Scoring follows Biopython exactly: counts -> ``counts.normalize(pseudocounts)`` (a
position weight matrix) -> ``pwm.log_odds(background)`` (a position-specific scoring
matrix, log2 odds). The scanner in :mod:`.motif_scan` reproduces
``PSSM.calculate`` on these matrices.

Defaults (the paper's setting, section 4.1): JASPAR 2018, CORE collection, vertebrates,
latest version of each matrix only -> 579 motifs. Pseudocounts default to JASPAR's
recommendation (``Bio.motifs.jaspar.calculate_pseudocounts``: sqrt(number of sites) x
background frequency per letter); background defaults to uniform.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

ALPHABET = "ACGT"
DEFAULT_RELEASE = "JASPAR2018"
DEFAULT_COLLECTION = "CORE"
DEFAULT_TAX_GROUP = ("vertebrates",)

# File extensions -> Bio.motifs format names.
_EXT_FORMATS = {
    ".jaspar": "jaspar",
    ".meme": "minimal",
    ".txt": "minimal",
    ".transfac": "transfac",
    ".dat": "transfac",
    ".pfm": "pfm",
}


@dataclass
class MotifSet:
    """An ordered set of motifs with their log-odds matrices.

    Attributes:
        ids: motif identifiers (e.g. JASPAR matrix ids ``MA0004.1``), in order.
        names: motif (TF) names, same order.
        pssms: one ``float64`` array of shape ``(4, width)`` per motif, rows A, C, G, T,
            log2 odds against ``background``.
        background: the background letter frequencies used.
        source: a human-readable description of where the motifs came from.
    """

    ids: list[str]
    names: list[str]
    pssms: list[np.ndarray]
    background: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ALPHABET, 0.25))
    source: str = ""
    pseudocounts: str = ""

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.names) == len(self.pssms)):
            raise ValueError("MotifSet: ids, names and pssms must have the same length")
        if not self.pssms:
            raise ValueError(f"MotifSet from {self.source or 'input'} holds no motifs")
        for mid, m in zip(self.ids, self.pssms):
            if m.ndim != 2 or m.shape[0] != 4 or m.shape[1] < 1:
                raise ValueError(f"motif {mid}: scoring matrix must have shape (4, width), got {m.shape}")
            if not np.all(np.isfinite(m)):
                raise ValueError(
                    f"motif {mid}: log-odds matrix has non-finite entries (a zero probability); "
                    "use pseudocounts > 0"
                )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def widths(self) -> list[int]:
        return [m.shape[1] for m in self.pssms]

    @property
    def labels(self) -> list[str]:
        """``"<id> <name>"`` per motif (unique even when TF names repeat)."""
        return [f"{i} {n}" for i, n in zip(self.ids, self.names)]

    def min_scores(self) -> np.ndarray:
        """Lowest possible score of each motif (sum of column minima)."""
        return np.array([m.min(axis=0).sum() for m in self.pssms])

    def max_scores(self) -> np.ndarray:
        """Highest possible score of each motif (sum of column maxima)."""
        return np.array([m.max(axis=0).sum() for m in self.pssms])

    def to_json(self) -> dict:
        """A JSON-able description (ids, names, widths, background, source)."""
        return {
            "num_tfs": len(self),
            "ids": list(self.ids),
            "names": list(self.names),
            "widths": self.widths,
            "background": dict(self.background),
            "pseudocounts": self.pseudocounts,
            "source": self.source,
        }


class ScoreNull:
    """Exact null distribution of each motif's window score, for p-values and score thresholds.

    The score of one window of width ``w`` is the sum of ``w`` log2-odds entries, one per
    column, each drawn with the letter frequencies of ``background`` (the motif set's own
    background unless given). Its distribution is computed exactly, as FIMO, MOODS and
    TFMPvalue do, by dynamic programming over discretised scores: every matrix entry is
    rounded to a multiple of ``step`` bits, and the distribution of the running sum is
    convolved column by column (4 shifted, weighted copies per column), so a motif costs
    ``w * 4 * (score range / step)`` additions (0.6 s for the 579 JASPAR 2018 motifs at
    0.01 bits). The p-value of an observed score ``s`` is ``P(S >= s)`` for a single
    window on one strand (FIMO's per-site p-value, not corrected for the number of
    windows), read off the survival function with linear interpolation of ``log10 p``
    between grid points. Rounding moves a window's score by at most ``w * step / 2``
    bits (0.1 bits for a 19-column motif at the default step; typically
    ``step * sqrt(w / 12)``, 0.013 bits).

    Example::

        null = ScoreNull(load_jaspar_motifs())
        null.thresholds(1e-4)                 # (M,) log2-odds score with p <= 1e-4
        null.log10_pvalues(scores)            # (n, M) -log10 P(S >= score); 0 for -inf
    """

    def __init__(self, motifs: MotifSet, step: float = 0.01, background: Mapping[str, float] | None = None):
        if not step > 0:
            raise ValueError(f"step must be positive, got {step!r}")
        bg = _normalise_background(background if background is not None else motifs.background)
        probs = np.array([bg[b] for b in ALPHABET])
        self.step = float(step)
        self.background = bg
        starts, sizes, bases, tails = [], [], [], []
        offset = 0
        for pssm in motifs.pssms:
            q = np.rint(pssm / self.step).astype(np.int64)
            low = q.min(axis=0)
            q = q - low
            dist = np.ones(1)
            for j in range(q.shape[1]):
                col = q[:, j]
                new = np.zeros(len(dist) + int(col.max()))
                for b in range(4):
                    new[col[b] : col[b] + len(dist)] += probs[b] * dist
                dist = new
            survival = np.cumsum(dist[::-1])[::-1]  # survival[i] = P(S_grid >= i)
            tails.append(-np.log10(np.clip(survival, 1e-300, 1.0)))
            starts.append(offset)
            sizes.append(len(survival))
            bases.append(int(low.sum()))
            offset += len(survival)
        self._mlog10 = np.concatenate(tails)
        self._start = np.array(starts, dtype=np.int64)
        self._size = np.array(sizes, dtype=np.int64)
        self._base = np.array(bases, dtype=np.float64)

    def __len__(self) -> int:
        return len(self._start)

    def log10_pvalues(self, scores) -> np.ndarray:
        """``-log10 P(S >= score)`` per entry of ``scores`` ``(..., M)`` (motif on the last axis).

        ``-inf`` (no scoreable window) and scores below the motif's minimum give 0 (p = 1);
        scores at or above its maximum give the p-value of the best possible window.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape[-1] != len(self):
            raise ValueError(f"scores must have {len(self)} motifs on the last axis, got shape {scores.shape}")
        with np.errstate(invalid="ignore"):
            x = scores / self.step - self._base
        x = np.where(np.isfinite(x), x, -1.0)
        last = self._size - 1
        x = np.clip(x, 0.0, last.astype(np.float64))
        i0 = np.floor(x).astype(np.int64)
        frac = x - i0
        i1 = np.minimum(i0 + 1, last)
        out = (1 - frac) * self._mlog10[self._start + i0] + frac * self._mlog10[self._start + i1]
        return np.where(np.isneginf(scores), 0.0, out)

    def pvalues(self, scores) -> np.ndarray:
        """``P(S >= score)`` (see :meth:`log10_pvalues`)."""
        return 10.0 ** -self.log10_pvalues(scores)

    def thresholds(self, pvalue: float) -> np.ndarray:
        """Per motif, the lowest log2-odds score whose p-value is at most ``pvalue``
        (``inf`` where not even the best window reaches it)."""
        if not 0.0 < pvalue <= 1.0:
            raise ValueError(f"pvalue must be in (0, 1], got {pvalue!r}")
        need = -np.log10(pvalue) - 1e-12
        out = np.full(len(self), np.inf)
        for m, (start, size) in enumerate(zip(self._start, self._size)):
            tail = self._mlog10[start : start + size]  # increasing in the score
            i = int(np.searchsorted(tail, need, side="left"))
            if i < size:
                out[m] = (i + self._base[m]) * self.step
        return out


def _normalise_background(background) -> dict[str, float]:
    if background is None:
        return dict.fromkeys(ALPHABET, 0.25)
    if isinstance(background, (int, float)):
        gc = float(background)
        if not 0.0 < gc < 1.0:
            raise ValueError(f"background GC fraction must be in (0, 1), got {background!r}")
        return {"A": (1 - gc) / 2, "C": gc / 2, "G": gc / 2, "T": (1 - gc) / 2}
    if isinstance(background, Mapping):
        bg = {k.upper(): float(v) for k, v in background.items()}
        if set(bg) != set(ALPHABET) or any(v <= 0 for v in bg.values()):
            raise ValueError(f"background must give a positive frequency for each of A, C, G, T, got {background!r}")
        total = sum(bg.values())
        return {k: bg[k] / total for k in ALPHABET}
    raise TypeError(f"background must be None, a GC fraction or a dict, got {type(background).__name__}")


def _pseudocounts_for(motif, pseudocounts, background: dict[str, float]):
    if pseudocounts is None or pseudocounts == "jaspar":
        total = float(sum(sum(motif.counts[b]) for b in ALPHABET))
        sq = math.sqrt(total / motif.length)
        return {b: sq * background[b] for b in ALPHABET}
    if isinstance(pseudocounts, Mapping):
        return {k.upper(): float(v) for k, v in pseudocounts.items()}
    return float(pseudocounts)


def pssm_from_motif(motif, pseudocounts="jaspar", background=None) -> np.ndarray:
    """Log2-odds matrix ``(4, width)`` (rows A, C, G, T) of a Biopython motif.

    Args:
        motif: a :class:`Bio.motifs.Motif` with ``counts``.
        pseudocounts: ``"jaspar"`` (default: sqrt(sites) x background per letter),
            a number added to every count, or a per-letter dict.
        background: ``None`` (uniform), a GC fraction, or a dict of letter frequencies.
    """
    bg = _normalise_background(background)
    pc = _pseudocounts_for(motif, pseudocounts, bg)
    pwm = motif.counts.normalize(pseudocounts=pc)
    pssm = pwm.log_odds(bg)
    return np.array([list(pssm[b]) for b in ALPHABET], dtype=np.float64)


def _motif_id_name(m, i: int) -> tuple[str, str]:
    """(id, name) of a Biopython motif from any parser (JASPAR, MEME, TRANSFAC, ...)."""
    tf = m.get if isinstance(m, dict) else (lambda key, default=None: default)  # TRANSFAC motifs are dicts
    mid = getattr(m, "matrix_id", None) or tf("AC") or tf("ID") or getattr(m, "name", None) or f"motif_{i}"
    name = (
        (getattr(m, "name", None) if getattr(m, "matrix_id", None) else None)
        or getattr(m, "alt_id", None)  # MEME: MOTIF <id> <alt_id>
        or tf("ID")
        or tf("NA")
        or getattr(m, "name", None)
        or mid
    )
    return str(mid), str(name)


def motif_set_from_bio(motifs: Sequence, pseudocounts="jaspar", background=None, source: str = "") -> MotifSet:
    """Build a :class:`MotifSet` from Biopython motif objects (order kept)."""
    bg = _normalise_background(background)
    ids, names, pssms = [], [], []
    for i, m in enumerate(motifs):
        if set(m.alphabet) != set(ALPHABET):
            raise ValueError(f"motif {getattr(m, 'matrix_id', None) or m.name or i}: alphabet must be ACGT, got {m.alphabet!r}")
        mid, name = _motif_id_name(m, i)
        ids.append(str(mid))
        names.append(str(name))
        pssms.append(pssm_from_motif(m, pseudocounts, bg))
    pc_desc = pseudocounts if isinstance(pseudocounts, str) else repr(pseudocounts)
    return MotifSet(ids, names, pssms, background=bg, source=source, pseudocounts=pc_desc)


def jaspar_releases() -> list[str]:
    """The JASPAR releases pyjaspar ships offline (e.g. ``['JASPAR2026', ..., 'JASPAR2014']``)."""
    from pyjaspar import jaspardb

    return list(jaspardb().get_releases())


def fetch_jaspar_bio_motifs(
    release: str = DEFAULT_RELEASE,
    collection: str | Sequence[str] = DEFAULT_COLLECTION,
    tax_group: str | Sequence[str] | None = DEFAULT_TAX_GROUP,
    all_versions: bool = False,
    **filters,
) -> list:
    """Biopython motifs from the offline JASPAR database in :mod:`pyjaspar`.

    ``filters`` are passed on to ``jaspardb.fetch_motifs`` (``tf_name``, ``species``,
    ``data_type``, ...). Motifs are returned sorted by matrix id so the TF order is
    reproducible.
    """
    from pyjaspar import jaspardb

    releases = jaspar_releases()
    if release not in releases:
        raise ValueError(f"unknown JASPAR release {release!r}; pyjaspar ships {releases}")
    if isinstance(tax_group, str):
        tax_group = [tax_group]
    db = jaspardb(release=release)
    motifs = db.fetch_motifs(
        collection=collection,
        tax_group=list(tax_group) if tax_group else None,
        all_versions=all_versions,
        **filters,
    )
    motifs = sorted(motifs, key=lambda m: m.matrix_id)
    if not motifs:
        raise ValueError(
            f"no JASPAR motifs for release={release!r} collection={collection!r} tax_group={tax_group!r} {filters or ''}"
        )
    return motifs


def load_jaspar_motifs(
    release: str = DEFAULT_RELEASE,
    collection: str | Sequence[str] = DEFAULT_COLLECTION,
    tax_group: str | Sequence[str] | None = DEFAULT_TAX_GROUP,
    all_versions: bool = False,
    pseudocounts="jaspar",
    background=None,
    **filters,
) -> MotifSet:
    """JASPAR motifs as a :class:`MotifSet` (default: the paper's 579 JASPAR 2018 CORE vertebrates)."""
    motifs = fetch_jaspar_bio_motifs(release, collection, tax_group, all_versions, **filters)
    tg = ",".join(tax_group) if isinstance(tax_group, (list, tuple)) else tax_group
    source = f"{release} collection={collection} tax_group={tg} all_versions={all_versions} (pyjaspar)"
    return motif_set_from_bio(motifs, pseudocounts, background, source=source)


def read_motif_file(path: str | os.PathLike, fmt: str | None = None, pseudocounts="jaspar", background=None) -> MotifSet:
    """Read a user's motif file with :func:`Bio.motifs.parse`.

    Args:
        path: the file.
        fmt: a Bio.motifs format (``jaspar``, ``minimal`` (MEME), ``meme``, ``transfac``,
            ``pfm``, ...). Guessed from the extension when omitted (``.jaspar``,
            ``.meme``/``.txt`` -> minimal MEME, ``.transfac``/``.dat``, ``.pfm``).
    """
    from Bio import motifs as bio_motifs

    path = os.fspath(path)
    if fmt is None:
        ext = os.path.splitext(path)[1].lower()
        fmt = _EXT_FORMATS.get(ext)
        if fmt is None:
            raise ValueError(f"{path}: cannot guess the motif format from extension {ext!r}; pass fmt=")
    try:
        with open(path) as fh:
            parsed = list(bio_motifs.parse(fh, fmt))
    except FileNotFoundError:
        raise
    except Exception as e:  # Biopython raises assorted errors on malformed files
        raise ValueError(f"{path}: could not parse as {fmt!r} motif file: {e}") from e
    if not parsed:
        raise ValueError(f"{path}: no motifs found (format {fmt!r})")
    return motif_set_from_bio(parsed, pseudocounts, background, source=f"{os.path.basename(path)} ({fmt})")


def load_motifs(spec: str | os.PathLike | MotifSet | None = None, **options) -> MotifSet:
    """Resolve a motif specification.

    ``spec`` is a :class:`MotifSet` (returned as is), ``None`` (JASPAR 2018 CORE
    vertebrates), a JASPAR release name such as ``"JASPAR2024"``, or a path to a motif
    file. ``options`` go to :func:`load_jaspar_motifs` / :func:`read_motif_file`.
    """
    if isinstance(spec, MotifSet):
        return spec
    if spec is None:
        return load_jaspar_motifs(**options)
    spec_s = os.fspath(spec)
    if spec_s.upper().startswith("JASPAR") and not os.path.exists(spec_s):
        return load_jaspar_motifs(release=spec_s, **options)
    if not os.path.exists(spec_s):
        raise FileNotFoundError(f"motif file {spec_s} does not exist (and is not a JASPAR release name)")
    return read_motif_file(spec_s, **options)


__all__: Iterable[str] = [
    "MotifSet",
    "ScoreNull",
    "fetch_jaspar_bio_motifs",
    "jaspar_releases",
    "load_jaspar_motifs",
    "load_motifs",
    "motif_set_from_bio",
    "pssm_from_motif",
    "read_motif_file",
]
