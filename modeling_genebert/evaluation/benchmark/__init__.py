"""Reproducible benchmark runs (``genebert-benchmark``): suites in GUE layout, seeds, arms, published references.

* :mod:`.runner` -- the command and :func:`run_benchmark` (``BenchmarkOptions -> BenchmarkResult``);
* :mod:`.recipes` -- suite discovery and the per-task recipe YAML (``default_recipe.yaml``);
* :mod:`.references` -- published numbers (``references.yaml``);
* :mod:`.linear_baselines` -- the model-free arms: logistic regression on k-mer profiles or motif scores;
* :mod:`.report` -- tables (CSV, markdown), plot, ``model-index`` entries.
"""

from modeling_genebert.evaluation.benchmark.recipes import Recipe, discover_suite
from modeling_genebert.evaluation.benchmark.references import load_references
from modeling_genebert.evaluation.benchmark.runner import ARMS, BenchmarkOptions, BenchmarkResult, main, run_benchmark

__all__ = ["ARMS", "BenchmarkOptions", "BenchmarkResult", "Recipe", "discover_suite", "load_references", "main",
           "run_benchmark"]
