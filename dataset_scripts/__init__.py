"""Builders that turn genomics files (FASTA, peaks, motifs) into HF datasets.

Installed as ``modeling_genebert.dataset_scripts``. Imports the tokenizer at most, never models.
"""
