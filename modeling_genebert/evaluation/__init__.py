"""Evaluation room: metrics, embeddings (``genebert-embed``) and the paper's analyses (``genebert-analysis``)."""
