"""Explain predictions of fine-tuned GeneBERT classifiers (``genebert-explain``).

One concern per module: ``loading`` (folder -> model, input checks), ``tokens`` (token <-> base
projection, class log-odds), ``ism`` (saturation mutagenesis), ``integrated_gradients`` (captum),
``attention`` (per layer / head, eager during the call), ``motifs`` (TF-MoDISco + Tomtom vs JASPAR),
``region`` (TF attributions over the region matrix), ``plots`` (logomaker / matplotlib), ``report``
(self-contained HTML), ``api`` (:func:`explain`: :class:`ExplainOptions` -> :class:`ExplainResult`, the whole
run), ``cli`` (parse, call, print). Needs the ``explain`` extra: ``pip install "genebert[explain]"``.
"""

from .api import ExplainOptions, ExplainResult, explain
from .attention import AttentionMaps, attention_maps, eager_attention
from .integrated_gradients import IGResult, integrated_gradients
from .ism import ism_contributions, saturation_mutagenesis
from .loading import ExplainedModel, check_sequences, load_classifier, read_sequences, resolve_class
from .tokens import class_score, projection_matrix, to_bases

__all__ = [
    "AttentionMaps", "ExplainOptions", "ExplainResult", "ExplainedModel", "IGResult", "attention_maps", "check_sequences",
    "class_score", "eager_attention", "explain", "integrated_gradients", "ism_contributions", "load_classifier",
    "projection_matrix", "read_sequences", "resolve_class", "saturation_mutagenesis", "to_bases",
]
