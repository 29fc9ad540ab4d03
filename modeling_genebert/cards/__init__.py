"""Model cards: the shared renderer, the pre-training card and the fine-tuning card."""
