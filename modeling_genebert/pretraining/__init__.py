"""Pre-training room: collator (pairing, span masking), Trainer, schedule callbacks, ``genebert-pretrain``."""
