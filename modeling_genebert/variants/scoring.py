"""Score allele pairs with the registered variant scores (:mod:`.scores`).

:class:`VariantScorer` holds the models and turns a list of
:class:`~dataset_scripts.variants.AllelePair` into one DataFrame row per variant;
:func:`score_variant_records` is the one-call Python API for variants in memory (variants + genome, or allele pairs).

Columns: ``id chrom pos ref alt kind`` -- the variant (``pos`` 1-based; for sequence pairs ``chrom`` is
empty and ``pos`` is the 1-based index of the first differing base in the sequences); then the
columns of each registered score the run computes, in registration order (built-ins: ``llr_masked``,
``embedding_cosine_distance_<pooling>``, ``delta_logit:<class>`` / ``delta_prob:<class>``,
``srm_delta:<cell type>``, ``motif_*``; a score is computed only when the run has what it needs);
``notes`` last (padding, cropping, undefined scores). :mod:`.legend` gives every column's meaning,
sign and unit, from the same declarations.

Strands: with ``strand="both"`` (default) the LLR, the embedding distance and the classifier
logits are computed on the forward windows and on their reverse complements and averaged
(the motif scan always reads both strands).
"""

from __future__ import annotations

import itertools
import json
import os
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
from .embedding import POOLINGS
from .motif_effects import DEFAULT_PVALUE, MotifEffects
from .scores import VariantBatch, get_scores, list_scores
from .supervised import SupervisedEffect

STRANDS = ("both", "forward")


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
        scores: names of registered scores to compute (:mod:`.scores`; built-ins ``llr, embedding,
            supervised, cell_type, motif``); default: every one the given models allow.
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
        get_scores(scores or ())  # an unknown name is an error listing the registered ones
        wanted = [score for score in get_scores(list_scores()) if not scores or score.name in scores]
        self.strand, self.pooling, self.top_motifs, self.batch_size, self.device = strand, pooling, top_motifs, batch_size, device
        resolve_bf16(precision, device)  # a bad value is an error now, not at the first score() call
        self.precision = precision
        self._load_models(model, tokenizer, classifier)
        # which of the registry's NEEDS this run was given
        given = {"mlm": self.mlm is not None, "model": self.encoder is not None, "srm": self.encoder is not None,
                 "classifier": self.supervised is not None, "atlas": atlas is not None, "motifs": motifs is not False}
        for score in wanted if scores else ():  # scores asked for by name must be computable
            if not all(given[need] for need in score.needs):
                raise ValueError(score.needs_text())
        if atlas is not None and self.encoder is None:
            raise ValueError("an atlas needs a pre-trained model (--model_name_or_path) to embed its regions")
        needed = {need for score in wanted for need in score.needs}  # atlas and motifs are loaded only when needed
        self.cell_type = (CellTypeMatching(self.encoder, atlas, max_samples=atlas_samples, batch_size=batch_size)
                          if "atlas" in needed and atlas is not None else None)
        if "motifs" not in needed or motifs is False:
            self.motif_effects = None
        elif isinstance(motifs, MotifEffects):  # built once, reused (its own p-value threshold)
            self.motif_effects = motifs
        else:
            self.motif_effects = MotifEffects(motifs, device, pvalue=motif_pvalue)
        self.report = [(m, self.motif_effects.index(m)) for m in report_motifs] if self.motif_effects and report_motifs else []
        if report_motifs and not self.motif_effects:
            raise ValueError("--report_motifs needs motif scoring")
        self.active_scores = [score for score in wanted if all(given[need] for need in score.needs)]
        if not self.active_scores:
            raise ValueError("nothing to score: give a model, a classifier or motifs")

    def _load_models(self, model, tokenizer, classifier) -> None:
        """``mlm`` (None without an MGM head), ``encoder`` and ``tokenizer`` from ``model``; ``supervised`` from ``classifier``."""
        self.mlm = self.encoder = None
        if isinstance(model, (str, os.PathLike)):
            self.mlm, self.encoder, loaded_tok = load_zero_shot_model(model, self.device)
            tokenizer = tokenizer or loaded_tok
        elif model is not None:
            model = model.eval()
            self.mlm = model if (hasattr(model, "cls") and getattr(model.config, "mgm_weight", 1.0) != 0) else None
            self.encoder = getattr(model, "genebert", model)
            tokenizer = tokenizer or GeneBertTokenizer(k=self.encoder.config.sequence_config.kmer)
        self.tokenizer = tokenizer
        self.supervised = None
        if isinstance(classifier, (str, os.PathLike)):
            self.supervised = SupervisedEffect(classifier, self.device)
        elif classifier is not None:
            self.supervised = classifier

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
            "scores": [score.name for score in self.active_scores],
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
        v: list[Variant] = [p.variant for p in pairs]
        columns: dict[str, object] = {
            "id": [x.id for x in v], "chrom": [x.chrom for x in v], "pos": np.array([x.pos for x in v], dtype=np.int64),
            "ref": [x.ref for x in v], "alt": [x.alt for x in v],
            "kind": ["snv" if p.is_snv else ("mnv" if p.ref_len == p.alt_len else "indel") for p in pairs],
        }
        batch = VariantBatch(pairs, self._strands(pairs), [list(p.notes) for p in pairs])
        for score in self.active_scores:  # registration order: the column order
            columns.update(score.compute(self, batch))
        columns["notes"] = ["; ".join(x) for x in batch.notes]
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


__all__ = ["STRANDS", "VariantScorer", "iter_pairs", "load_zero_shot_model", "score_variant_records"]
