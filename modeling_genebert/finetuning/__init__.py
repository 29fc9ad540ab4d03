"""Fine-tuning room: task data -> features -> Trainer -> folder + card, ``genebert-finetune``."""
