"""What every use of a model on sequences shares, below the rooms that use it (fine-tuning,
prediction, evaluation, variants, explain): task metrics, long sequences cut into windows, and
the region matrix a sequence gets from motif scanning. Imports nothing of ours above the data side."""
