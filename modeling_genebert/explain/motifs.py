"""Motif discovery across sequences: seqlets -> clustered motifs (TF-MoDISco, ``modisco-lite``) -> named by
Tomtom (``memelite``) against JASPAR 2018 CORE vertebrates (``pyjaspar``, shipped; nothing is downloaded).

Input is what ISM gives: one-hot sequences and hypothetical contributions ``(N, L, 4)``
(:func:`~modeling_genebert.explain.ism.ism_contributions`). Each positive pattern's PPM is trimmed
where its contribution-weighted matrix (CWM) is below ``trim_threshold`` of its peak (as modisco-lite's
report does) and compared with every JASPAR PPM by Tomtom; q-values are Benjamini-Hochberg over the
targets of that query. JASPAR PPMs are recovered from the package's log-odds PSSMs
(``p = background * 2 ** pssm``, renormalised), i.e. the counts with JASPAR's pseudocounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dataset_scripts import load_motifs


@dataclass
class Motif:
    """A discovered motif: trimmed PPM / CWM ``(w, 4)``, its seqlet count and its best JASPAR matches."""

    name: str
    ppm: np.ndarray
    cwm: np.ndarray
    n_seqlets: int
    matches: pd.DataFrame = field(default_factory=pd.DataFrame)
    untrimmed_ppm: np.ndarray | None = None  # TF-MoDISco's pattern before trimming (re-trim without re-clustering)
    untrimmed_cwm: np.ndarray | None = None

    @property
    def best(self) -> dict:
        return self.matches.iloc[0].to_dict() if len(self.matches) else {}


def jaspar_ppms(motifs=None):
    """(ids, names, PPMs ``(4, w)``) of a motif set (default JASPAR 2018 CORE vertebrates, 579 TFs)."""
    motif_set = load_motifs(motifs)
    bg = np.array([motif_set.background[b] for b in "ACGT"])[:, None]
    ppms = []
    for pssm in motif_set.pssms:
        p = bg * np.power(2.0, pssm)
        ppms.append((p / p.sum(0, keepdims=True)).astype(np.float64))
    return list(motif_set.ids), list(motif_set.names), ppms


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out


def tomtom_matches(ppms: list[np.ndarray], motifs=None, top: int = 5) -> list[pd.DataFrame]:
    """Each query PPM ``(w, 4)`` -> its ``top`` JASPAR matches: ``match_name, match_id, p_value, q_value, offset, strand``."""
    from memelite import tomtom  # lazy: memelite is the optional ``explain`` extra

    ids, names, targets = jaspar_ppms(motifs)
    if not ppms:
        return []
    queries = [np.ascontiguousarray(np.asarray(p, dtype=np.float64).T) for p in ppms]
    p_values, scores, offsets, overlaps, strands = tomtom(queries, targets, n_jobs=1)[:5]
    out = []
    for qi in range(len(queries)):
        q = benjamini_hochberg(p_values[qi])
        order = np.argsort(p_values[qi], kind="stable")[:top]
        out.append(pd.DataFrame({
            "match_name": [names[j] for j in order], "match_id": [ids[j] for j in order],
            "p_value": p_values[qi, order], "q_value": q[order],
            "offset": offsets[qi, order].astype(int), "strand": ["-" if strands[qi, j] else "+" for j in order],
        }))
    return out


def _trim(ppm: np.ndarray, cwm: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    score = np.abs(cwm).sum(1)
    keep = np.where(score >= score.max() * threshold)[0]
    return ppm[keep.min(): keep.max() + 1], cwm[keep.min(): keep.max() + 1]


def seqlet_yield(one_hot: np.ndarray, hypothetical: np.ndarray, sliding_window_size: int = 21, flank_size: int = 10,
                 target_seqlet_fdr: float = 0.05) -> dict:
    """The seqlets TF-MoDISco calls before clustering, as its own first step does (same modisco-lite calls):
    ``{"positive": n, "negative": n, "threshold": t}`` (a seqlet is positive when its central window's
    contribution sum exceeds ``t``, negative below ``-t``)."""
    from modiscolite import core
    from modiscolite.extract_seqlets import extract_seqlets

    contrib = np.multiply(one_hot, hypothetical)
    try:
        coords, threshold = extract_seqlets(
            attribution_scores=contrib.sum(axis=2), window_size=sliding_window_size, flank=flank_size,
            suppress=int(0.5 * sliding_window_size) + flank_size, target_fdr=target_seqlet_fdr,
            min_passing_windows_frac=0.03, max_passing_windows_frac=0.2, weak_threshold_for_counting_sign=0.8)
    except (ValueError, IndexError, ZeroDivisionError):
        return {"positive": 0, "negative": 0, "threshold": float("nan")}
    track = core.TrackSet(one_hot=one_hot, contrib_scores=contrib, hypothetical_contribs=hypothetical)
    positive = negative = 0
    for seqlet in track.create_seqlets(coords):
        flank = int(0.5 * (len(seqlet) - sliding_window_size))
        attr = float(np.sum(seqlet.contrib_scores[flank:len(seqlet) - flank]))
        positive += attr > threshold
        negative += attr < -threshold
    return {"positive": int(positive), "negative": int(negative), "threshold": float(threshold)}


def discover_motifs(one_hot: np.ndarray, hypothetical: np.ndarray, motifs=None, trim_threshold: float = 0.3,
                    sliding_window_size: int = 21, flank_size: int = 10, max_seqlets: int = 2000,
                    target_seqlet_fdr: float = 0.05, n_leiden_runs: int = 4, min_metacluster_size: int = 20,
                    final_min_cluster_size: int = 10, top_matches: int = 5, verbose: bool = False,
                    return_yield: bool = False):
    """Seqlets of high contribution, clustered into motifs by TF-MoDISco, each matched against JASPAR.

    ``one_hot`` and ``hypothetical``: ``(N, L, 4)`` (pad shorter sequences with zeros). Returns the
    positive motifs (those that raise the explained class), most seqlets first; an empty list when
    TF-MoDISco finds none (too few sequences or no consistent signal). The seqlet window and flank
    are modisco-lite's own defaults (21, 10): on 500 REST peaks, 15 / 5 gave no cluster at all.
    With ``return_yield``: ``(motifs, yield)``, the yield being :func:`seqlet_yield`'s counts plus
    ``kept`` (seqlets in the returned motifs) and ``motifs``.
    """
    from modiscolite.tfmodisco import TFMoDISco  # lazy: modisco-lite is the optional ``explain`` extra

    one_hot = np.asarray(one_hot, dtype=np.float32)
    hypothetical = np.asarray(hypothetical, dtype=np.float32)
    if one_hot.shape != hypothetical.shape or one_hot.ndim != 3 or one_hot.shape[-1] != 4:
        raise ValueError(f"one_hot {one_hot.shape} and hypothetical {hypothetical.shape} must both be (N, L, 4)")
    try:
        positive, _ = TFMoDISco(
            one_hot=one_hot, hypothetical_contribs=hypothetical, sliding_window_size=sliding_window_size,
            flank_size=flank_size, max_seqlets_per_metacluster=max_seqlets, target_seqlet_fdr=target_seqlet_fdr,
            n_leiden_runs=n_leiden_runs, min_metacluster_size=min_metacluster_size,
            final_min_cluster_size=final_min_cluster_size, verbose=verbose,
        )
    except (ValueError, IndexError, ZeroDivisionError) as error:  # too few seqlets for a metacluster
        if verbose:
            print(f"TF-MoDISco found no motifs: {error}")
        positive = None
    found = []
    for i, pattern in enumerate(positive or []):
        full_ppm, full_cwm = np.asarray(pattern.sequence), np.asarray(pattern.contrib_scores)
        ppm, cwm = _trim(full_ppm, full_cwm, trim_threshold)
        found.append(Motif(f"motif_{i}", ppm, cwm, len(pattern.seqlets), untrimmed_ppm=full_ppm, untrimmed_cwm=full_cwm))
    found.sort(key=lambda m: -m.n_seqlets)
    for i, (motif, matches) in enumerate(zip(found, tomtom_matches([m.ppm for m in found], motifs, top_matches))):
        motif.name, motif.matches = f"motif_{i}", matches
    if return_yield:
        counts = seqlet_yield(one_hot, hypothetical, sliding_window_size, flank_size, target_seqlet_fdr)
        counts.update(kept=int(sum(m.n_seqlets for m in found)), motifs=len(found), sequences=len(one_hot))
        return found, counts
    return found


MATCH_Q = 0.05  # a Tomtom match with a q-value below this names the motif; above it, the name is only the nearest


def motif_table(found: list[Motif], match_q: float = MATCH_Q) -> pd.DataFrame:
    """One row per motif: ``motif, n_seqlets, width, consensus, match_name, match_id, q_value, p_value`` (best Tomtom
    match) and ``significant`` (the best match's q-value is below ``match_q``)."""
    rows = []
    for m in found:
        best = m.best
        q = best.get("q_value")
        rows.append({"motif": m.name, "n_seqlets": m.n_seqlets, "width": len(m.ppm),
                     "consensus": "".join("ACGT"[j] for j in m.ppm.argmax(1)),
                     "match_name": best.get("match_name"), "match_id": best.get("match_id"),
                     "q_value": q, "p_value": best.get("p_value"), "significant": bool(q is not None and q < match_q)})
    return pd.DataFrame(rows, columns=["motif", "n_seqlets", "width", "consensus", "match_name", "match_id", "q_value",
                                       "p_value", "significant"])
