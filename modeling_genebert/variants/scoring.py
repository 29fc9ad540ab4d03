"""Score allele pairs: zero-shot masked LLR, embedding shift, supervised Δ, motif break / gain.

:class:`VariantScorer` holds the models and turns a list of
:class:`~dataset_scripts.variants.AllelePair` into one DataFrame row per variant;
:func:`score_variant_records` is the one-call Python API for variants in memory (variants + genome, or allele pairs).

Columns (each score is computed only when its model is given):

* ``id chrom pos ref alt kind`` -- the variant (``pos`` 1-based; for sequence pairs ``chrom`` is
  empty and ``pos`` is the 1-based index of the first differing base in the sequences).
* ``llr_masked`` -- zero-shot ``log P(alt) - log P(ref)`` at the variant base from the MGM head
  (:mod:`.marginals`: span of k tokens masked, per-token marginals, mean of log ratios). SNVs
  only: for indels and multi-base substitutions it is NaN (a length change has no single masked
  base to compare; see ``notes``).
* ``embedding_cosine_distance_<pooling>`` -- ``1 - cos`` of the ref and alt sequence embeddings.
* ``delta_logit:<class>``, ``delta_prob:<class>`` -- a fine-tuned classifier's alt - ref outputs.
* ``srm_delta:<cell type>`` -- per cell type of an atlas, the change in cosine similarity between
  the variant window's SRM sequence embedding and that cell type's region-embedding centroid
  (:mod:`.cell_types`; needs a pre-trained model with a region encoder).
* ``motif_significant``, ``motif_max_abs_delta``, ``motif_max_abs_delta_log10p``, ``motif_top`` (e.g.
  ``CTCF_MA0139.1 -6.20 bits, -log10p 7.31 to 2.95, strong``) over the motifs whose site (ref or alt) passes
  ``motif_pvalue``, and ``motif_delta:<NAME_ID>`` / ``motif_delta_log10p:`` / ``motif_ref_log10p:`` /
  ``motif_alt_log10p:`` / ``motif_effect:`` for each motif asked for by name (:mod:`.motif_effects`).
  :mod:`.legend` gives every column's meaning, sign and unit.
* ``notes`` -- padding, cropping, undefined scores.

Strands: with ``strand="both"`` (default) the LLR, the embedding distance and the classifier
logits are computed on the forward windows and on their reverse complements and averaged
(the motif scan always reads both strands).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import warnings
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from dataset_scripts.readers import Genome
from dataset_scripts.sequences import reverse_complement
from dataset_scripts.variants import AllelePair, Variant, WindowStats, genome_windows
from modeling_genebert import GeneBertForMaskedLM, GeneBertForPreTraining, GeneBertModel, GeneBertTokenizer
from modeling_genebert.folder_tokenizer import load_tokenizer
from modeling_genebert.precision import INFERENCE_DEFAULT, inference_precision, resolve_bf16, resolved_precision

from .cell_types import CellTypeMatching
from .embedding import POOLINGS, cosine_distance, encode
from .marginals import log_likelihood_ratio, masked_log_marginals
from .motif_effects import DEFAULT_PVALUE, MotifEffects
from .supervised import SupervisedEffect

STRANDS = ("both", "forward")
SCORES = ("llr", "embedding", "supervised", "cell_type", "motif")


def _complement_base(base: str) -> str:
    """The SNV base on the other strand; anything but A, C, G, T, N (no single base) is ''."""
    return reverse_complement(base) if len(base) == 1 and base in "ACGTN" else ""


def load_zero_shot_model(folder: str | os.PathLike, device: str = "cpu"):
    """``(mlm_or_None, encoder, tokenizer)`` from a GeneBERT folder: the MGM head when the folder has one,
    and a pre-training folder's region encoder and SRM projections (for the cell-type score)."""
    folder = os.fspath(folder)
    config_file = os.path.join(folder, "config.json")
    if not os.path.isfile(config_file):
        raise FileNotFoundError(f"model folder {folder} has no config.json")
    with open(config_file, encoding="utf-8") as fh:
        config = json.load(fh)
    architectures = " ".join(config.get("architectures") or [])
    pretraining = "ForPreTraining" in architectures
    if pretraining and config.get("mgm_weight", 1.0) != 0:  # keeps the SRM parts for the cell-type score
        mlm = GeneBertForPreTraining.from_pretrained(folder).eval().to(device)
        encoder = mlm.genebert
    elif "ForMaskedLM" in architectures:
        mlm = GeneBertForMaskedLM.from_pretrained(folder).eval().to(device)
        encoder = mlm.genebert
    else:
        mlm, encoder = None, GeneBertModel.from_pretrained(folder).eval().to(device)
    return mlm, encoder, load_tokenizer(folder, encoder.config)


def _crop(pair: AllelePair, max_bases: int) -> AllelePair:
    """Cut both windows to ``max_bases`` around the variant (for sequences longer than the model's window)."""
    longest = max(len(pair.ref_seq), len(pair.alt_seq))
    if longest <= max_bases:
        return pair
    change = max(pair.ref_len, pair.alt_len, 1)
    start = max(0, min(pair.offset + change // 2 - max_bases // 2, longest - max_bases))
    start = min(start, pair.offset)
    cropped = AllelePair(pair.variant, pair.ref_seq[start : start + max_bases], pair.alt_seq[start : start + max_bases],
                         pair.offset - start, pair.ref_len, pair.alt_len, pair.padded, list(pair.notes))
    cropped.notes.append(f"cropped to {max_bases} bases around the variant (model window)")
    return cropped


class VariantScorer:
    """Models + settings; :meth:`score` turns allele pairs into a DataFrame (one row per variant).

    Args:
        model: a GeneBERT folder (or a loaded ``GeneBertForMaskedLM`` / ``GeneBertForPreTraining`` /
            ``GeneBertModel``) for the zero-shot LLR (needs the MGM head) and the embedding shift.
        classifier: a fine-tuned ``genebert-finetune`` folder for the supervised Δ.
        motifs: motif spec for :func:`~dataset_scripts.load_motifs` (default JASPAR 2018 CORE
            vertebrates), a ``MotifSet``, a built :class:`~.motif_effects.MotifEffects`, or ``False`` for
            no motif scores.
        atlas: regions x TFs matrices per cell type for the ``cell_type`` score (a pre-training
            dataset folder, a ``.npz`` or a dict; see :mod:`.cell_types`); ``atlas_samples`` caps
            the samples read per cell type.
        scores: which of ``llr, embedding, supervised, cell_type, motif`` to compute (default: all
            that the given models allow).
        precision: ``"fp32"`` (default: the same scores whatever the batch), ``"bf16"``, or ``"auto"`` (bf16
            autocast where the machine has bf16 units, else fp32; the masked LLR stays fp32 under auto: its bf16
            ranking fell short of the accuracy check) (:mod:`modeling_genebert.precision`).
        motif_pvalue: a motif counts for a variant only where its ref or alt site has a p-value at most
            this under the motif's own null score distribution (default 1e-4; :mod:`.motif_effects`).
    """

    def __init__(
        self,
        model=None,
        tokenizer=None,
        classifier=None,
        motifs=None,
        atlas=None,
        atlas_samples: int = 256,
        scores: Sequence[str] | None = None,
        strand: str = "both",
        pooling: str = "mean",
        top_motifs: int = 3,
        report_motifs: Sequence[str] = (),
        motif_pvalue: float = DEFAULT_PVALUE,
        batch_size: int = 32,
        device: str = "cpu",
        precision: str = INFERENCE_DEFAULT,
    ):
        if strand not in STRANDS:
            raise ValueError(f"strand must be one of {STRANDS}, got {strand!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        unknown = [s for s in (scores or ()) if s not in SCORES]
        if unknown:
            raise ValueError(f"unknown score(s) {unknown}; choose from {SCORES}")
        self.strand, self.pooling, self.top_motifs, self.batch_size, self.device = strand, pooling, top_motifs, batch_size, device
        resolve_bf16(precision, device)  # a bad value is an error now, not at the first score() call
        self.precision = precision
        self.mlm = self.encoder = None
        if isinstance(model, (str, os.PathLike)):
            self.mlm, self.encoder, loaded_tok = load_zero_shot_model(model, device)
            tokenizer = tokenizer or loaded_tok
        elif model is not None:
            model = model.eval()
            self.mlm = model if (hasattr(model, "cls") and getattr(model.config, "mgm_weight", 1.0) != 0) else None
            self.encoder = getattr(model, "genebert", model)
            tokenizer = tokenizer or GeneBertTokenizer(k=self.encoder.config.sequence_config.kmer)
        self.tokenizer = tokenizer
        self.supervised = None
        if isinstance(classifier, (str, os.PathLike)):
            self.supervised = SupervisedEffect(classifier, device)
        elif classifier is not None:
            self.supervised = classifier
        wanted = set(scores) if scores else set(SCORES)
        if scores:
            if "llr" in wanted and self.mlm is None:
                raise ValueError("score 'llr' needs a model with an MGM head (a pre-training or masked-LM folder)")
            if "embedding" in wanted and self.encoder is None:
                raise ValueError("score 'embedding' needs a model (--model_name_or_path)")
            if "supervised" in wanted and self.supervised is None:
                raise ValueError("score 'supervised' needs a fine-tuned classifier (--classifier)")
            if "cell_type" in wanted and (atlas is None or self.encoder is None):
                raise ValueError("score 'cell_type' needs a pre-trained model (--model_name_or_path) and an atlas (--atlas)")
            if "motif" in wanted and motifs is False:
                raise ValueError("score 'motif' needs motifs")
        self.do_llr = "llr" in wanted and self.mlm is not None
        self.do_embedding = "embedding" in wanted and self.encoder is not None
        self.do_supervised = "supervised" in wanted and self.supervised is not None
        if atlas is not None and self.encoder is None:
            raise ValueError("an atlas needs a pre-trained model (--model_name_or_path) to embed its regions")
        self.cell_type = (CellTypeMatching(self.encoder, atlas, max_samples=atlas_samples, batch_size=batch_size)
                          if "cell_type" in wanted and atlas is not None else None)
        if "motif" not in wanted or motifs is False:
            self.motif_effects = None
        elif isinstance(motifs, MotifEffects):  # built once, reused (its own p-value threshold)
            self.motif_effects = motifs
        else:
            self.motif_effects = MotifEffects(motifs, device, pvalue=motif_pvalue)
        self.report = [(m, self.motif_effects.index(m)) for m in report_motifs] if self.motif_effects and report_motifs else []
        if report_motifs and not self.motif_effects:
            raise ValueError("--report_motifs needs motif scoring")
        if not (self.do_llr or self.do_embedding or self.do_supervised or self.cell_type or self.motif_effects):
            raise ValueError("nothing to score: give a model, a classifier or motifs")

    # -- capacity ---------------------------------------------------------------------
    def max_bases(self) -> int | None:
        """Longest window (bases) every model here reads whole: positions - 2 specials + k - 1."""
        limits = []
        for m, tok in ((self.encoder, self.tokenizer), (self.supervised.model if self.supervised else None,
                                                          self.supervised.tokenizer if self.supervised else None)):
            if m is not None:
                limits.append(m.config.sequence_config.max_position_embeddings - 2 + tok.kmer - 1)
        return min(limits) if limits else None

    def info(self) -> dict:
        return {
            "scores": [s for s, on in (("llr", self.do_llr), ("embedding", self.do_embedding),
                                       ("supervised", self.do_supervised), ("cell_type", self.cell_type is not None),
                                       ("motif", self.motif_effects is not None)) if on],
            "strand": self.strand, "pooling": self.pooling, "top_motifs": self.top_motifs,
            "precision": resolved_precision(self.precision, self.device),
            "report_motifs": [m for m, _ in self.report],
            "classes": self.supervised.labels if self.supervised else [],
            "cell_types": self.cell_type.info() if self.cell_type else None,
            **(self.motif_effects.info([j for _, j in self.report]) if self.motif_effects else {}),
        }

    # -- scoring ----------------------------------------------------------------------
    def _strands(self, pairs: list[AllelePair]):
        """[(ref_seqs, alt_seqs, offsets_for_snv, ref_bases, alt_bases)] for forward (and reverse)."""
        fwd = ([p.ref_seq for p in pairs], [p.alt_seq for p in pairs], [p.offset for p in pairs],
               [p.ref_seq[p.offset] if p.is_snv else "" for p in pairs], [p.alt_seq[p.offset] if p.is_snv else "" for p in pairs])
        out = [fwd]
        if self.strand == "both":
            out.append(([reverse_complement(s) for s in fwd[0]], [reverse_complement(s) for s in fwd[1]],
                        [len(p.ref_seq) - 1 - p.offset for p in pairs],
                        [_complement_base(b) for b in fwd[3]], [_complement_base(b) for b in fwd[4]]))
        return out

    def score(self, pairs: Sequence[AllelePair]) -> pd.DataFrame:
        """One row per pair (see the module docstring for the columns)."""
        with torch.no_grad(), inference_precision(self.precision, self.device):
            return self._score(pairs)

    def _score(self, pairs: Sequence[AllelePair]) -> pd.DataFrame:
        limit = self.max_bases()
        pairs = [_crop(p, limit) if limit else p for p in pairs]
        n = len(pairs)
        v: list[Variant] = [p.variant for p in pairs]
        columns: dict[str, object] = {
            "id": [x.id for x in v], "chrom": [x.chrom for x in v], "pos": np.array([x.pos for x in v], dtype=np.int64),
            "ref": [x.ref for x in v], "alt": [x.alt for x in v],
            "kind": ["snv" if p.is_snv else ("mnv" if p.ref_len == p.alt_len else "indel") for p in pairs],
        }
        notes = [list(p.notes) for p in pairs]
        strands = self._strands(pairs)
        if self.do_llr:
            snv = [i for i, p in enumerate(pairs) if p.is_snv and p.ref_seq[p.offset] in "ACGT" and p.alt_seq[p.offset] in "ACGT"]
            llr = np.full((len(strands), n), np.nan)
            for s, (ref_seqs, _, offsets, ref_b, alt_b) in enumerate(strands):
                if snv and self.precision == "auto":
                    # measured (benchmarks/bf16_accuracy.py): bf16 LLRs rank Kircher MPRA variants with Spearman
                    # 0.987 against fp32, below the 0.99 asked; "auto" keeps them in fp32, "bf16" forces it
                    llr_precision = torch.autocast(torch.device(self.device).type, enabled=False)
                else:
                    llr_precision = contextlib.nullcontext()
                if snv:
                    # one masked pass per (window, position): the alternatives at one site share it
                    sites: dict[tuple[str, int], int] = {}
                    site_of = [sites.setdefault((ref_seqs[i], offsets[i]), len(sites)) for i in snv]
                    with llr_precision:
                        lm = masked_log_marginals(self.mlm, self.tokenizer, [seq for seq, _ in sites], [at for _, at in sites],
                                                  batch_size=self.batch_size)
                    llr[s, snv] = log_likelihood_ratio(lm[site_of], [ref_b[i] for i in snv], [alt_b[i] for i in snv])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (indels) stay NaN
                columns["llr_masked"] = np.nanmean(llr, axis=0)
            for i, p in enumerate(pairs):
                if not p.is_snv:
                    notes[i].append("llr_masked undefined for indels / multi-base substitutions (NaN)")
        if self.do_embedding or self.cell_type is not None:  # one pass per allele serves both scores
            dist, shift = np.zeros(n), {}
            for ref_seqs, alt_seqs, *_ in strands:
                # one pass per distinct reference window: variants of one site share it
                windows: dict[str, int] = {}
                window_of = np.array([windows.setdefault(seq, len(windows)) for seq in ref_seqs], dtype=np.int64)
                unique = list(windows)
                encoded = [encode(self.encoder, self.tokenizer, unique[lo : lo + self.batch_size], self.pooling)
                           for lo in range(0, len(unique), self.batch_size)]
                all_ref_pooled = torch.cat([pooled for pooled, _ in encoded]) if encoded else None
                all_ref_srm = torch.cat([srm for _, srm in encoded]) if encoded and encoded[0][1] is not None else None
                for lo in range(0, n, self.batch_size):
                    rows = torch.from_numpy(window_of[lo : lo + self.batch_size])
                    ref_pooled = all_ref_pooled[rows]
                    ref_srm = all_ref_srm[rows] if all_ref_srm is not None else None
                    alt_pooled, alt_srm = encode(self.encoder, self.tokenizer, alt_seqs[lo : lo + self.batch_size], self.pooling)
                    dist[lo : lo + len(ref_pooled)] += cosine_distance(ref_pooled, alt_pooled) / len(strands)
                    if self.cell_type is not None:
                        for name, values in self.cell_type.columns(ref_srm, alt_srm).items():
                            shift.setdefault(name, np.zeros(n))[lo : lo + len(values)] += values / len(strands)
            if self.do_embedding:
                columns[f"embedding_cosine_distance_{self.pooling}"] = dist
        if self.do_supervised:
            ref_logits = alt_logits = 0
            for ref_seqs, alt_seqs, *_ in strands:
                r = torch.cat([self.supervised.logits(ref_seqs[lo : lo + self.batch_size]) for lo in range(0, n, self.batch_size)]) if n else torch.zeros(0, len(self.supervised.labels))
                a = torch.cat([self.supervised.logits(alt_seqs[lo : lo + self.batch_size]) for lo in range(0, n, self.batch_size)]) if n else torch.zeros(0, len(self.supervised.labels))
                ref_logits, alt_logits = ref_logits + r / len(strands), alt_logits + a / len(strands)
            columns.update(self.supervised.columns(ref_logits, alt_logits))
        if self.cell_type is not None:
            columns.update(shift or {f"srm_delta:{name}": np.zeros(0) for name in self.cell_type.cell_types})
        if self.motif_effects is not None:
            step = max(self.batch_size, 64)
            parts = [self.motif_effects.calls([p.ref_seq for p in chunk], [p.alt_seq for p in chunk], [p.offset for p in chunk],
                                              [p.ref_len for p in chunk], [p.alt_len for p in chunk])
                     for chunk in (pairs[lo : lo + step] for lo in range(0, max(n, 1), step))]
            columns.update(self.motif_effects.columns(MotifEffects.concat(parts), self.top_motifs, [j for _, j in self.report]))
        columns["notes"] = ["; ".join(x) for x in notes]
        return pd.DataFrame(columns)


def iter_pairs(variants: Iterable, genome=None, window: int = 200, skip_ref_mismatch: bool = False,
               stats: WindowStats | None = None) -> Iterable[AllelePair]:
    """Allele pairs from :class:`Variant` records (+ genome) or from pairs as they are."""
    it = iter(variants)
    first = next(it, None)
    if first is None:
        return iter(())
    chained = itertools.chain([first], it)
    if isinstance(first, AllelePair):
        return chained
    if genome is None:
        raise ValueError("variants with coordinates need a genome FASTA (genome=...)")
    genome = genome if isinstance(genome, Genome) else Genome(genome)
    return genome_windows(chained, genome, window, skip_ref_mismatch, stats)


def score_variant_records(model=None, variants: Iterable = (), genome=None, window: int = 200, classifier=None,
                          skip_ref_mismatch: bool = False, **options) -> pd.DataFrame:
    """Variants in memory -> a DataFrame with one row per variant (files -> files: :func:`.api.score_variants`).

    ``variants``: :class:`~dataset_scripts.variants.Variant` records (needs ``genome``, a FASTA path
    or :class:`~dataset_scripts.readers.Genome`) or :class:`~dataset_scripts.variants.AllelePair`\\ s;
    ``options`` go to :class:`VariantScorer` (``motifs``, ``scores``, ``strand``, ``pooling``, ...).
    """
    scorer = model if isinstance(model, VariantScorer) else VariantScorer(model, classifier=classifier, **options)
    pairs = list(iter_pairs(variants, genome, window, skip_ref_mismatch))
    frames = [scorer.score(pairs[lo : lo + 1024]) for lo in range(0, len(pairs), 1024)]
    return pd.concat(frames, ignore_index=True) if frames else scorer.score([])


__all__ = ["SCORES", "STRANDS", "VariantScorer", "iter_pairs", "load_zero_shot_model", "score_variant_records"]
