"""Full Trainer pre-training step, collator included: GeneBERT vs BertForPreTraining.

GeneBERT: tiny preset, ``GeneBertPretrainingCollator`` (pairing + tokenizing + span
masking on the fly) and all three losses. Baseline: ``transformers.BertForPreTraining``
with the same sequence encoder, fed by ``DataCollatorForLanguageModeling`` on the same
pairs (pre-tokenized, as stock BERT pipelines do). Both run interleaved in one process
(these CPUs have fast and slow phases); the per-round ratio's median is printed last.

    python benchmarks/pretrain.py [--rounds 4] [--steps 12] [--batch 16]
"""

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import torch
from datasets import Dataset
from transformers import (
    BertConfig,
    BertForPreTraining,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.utils import logging as hf_logging

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from dataset_scripts.pretraining_build import build_default_pretraining_dataset
from dataset_scripts.pretraining_load import load_pretraining_dataset
from modeling_genebert.pretraining.collator import GeneBertPretrainingCollator
from modeling_genebert.pretraining.trainer import GeneBertTrainer


class StepClock(TrainerCallback):
    """Wall time between consecutive step ends: data loading + collation + fwd/bwd/update."""

    def __init__(self, skip: int = 2):
        self.skip, self.ends = skip, []

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())

    def seconds_per_step(self) -> float:
        times = np.diff(self.ends[self.skip :])
        return float(np.median(times))


def args_for(output_dir: str, steps: int, batch: int) -> TrainingArguments:
    return TrainingArguments(
        output_dir=output_dir, max_steps=steps, per_device_train_batch_size=batch, learning_rate=1e-4,
        save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
        remove_unused_columns=False, use_cpu=True, seed=0,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--dataset", default=os.path.expanduser("~/.cache/genebert/default-mini-atlas"))
    opts = parser.parse_args()
    hf_logging.set_verbosity_error()

    if not os.path.exists(opts.dataset):
        build_default_pretraining_dataset(opts.dataset)
    train = load_pretraining_dataset(opts.dataset)["train"]
    regions, num_tfs = train.features["region_matrix"].shape
    config = GeneBertConfig.from_preset("tiny", region_config=dict(num_tfs=num_tfs, regions_per_sample=regions))
    tokenizer = GeneBertTokenizer(k=config.sequence_config.kmer)

    # the baseline's data: the same "is next" pairs, tokenized once up front
    half = regions // 2
    a = ["".join(s[:half]) for s in train["sequences"]]
    b = ["".join(s[half:]) for s in train["sequences"]]
    encoded = tokenizer(a, b, truncation=True, max_length=512)
    bert_data = Dataset.from_dict({
        "input_ids": encoded["input_ids"], "token_type_ids": encoded["token_type_ids"],
        "next_sentence_label": [0] * len(a),
    })
    tokens_per_sample = float(np.mean([len(ids) for ids in encoded["input_ids"]]))
    seq = config.sequence_config
    bert_config = BertConfig(
        vocab_size=seq.vocab_size, hidden_size=seq.hidden_size, num_hidden_layers=seq.num_hidden_layers,
        num_attention_heads=seq.num_attention_heads, intermediate_size=seq.intermediate_size,
        max_position_embeddings=seq.max_position_embeddings,
    )
    torch.manual_seed(0)
    genebert, bert = GeneBertForPreTraining(config), BertForPreTraining(bert_config)

    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(opts.rounds):
            timings = {}
            for name in ("genebert", "bert"):
                clock = StepClock()
                if name == "genebert":
                    collator = GeneBertPretrainingCollator(tokenizer, seed=round_index)
                    trainer = GeneBertTrainer(model=genebert, args=args_for(tmp, opts.steps, opts.batch),
                                              train_dataset=train, data_collator=collator, callbacks=[clock])
                else:
                    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, pad_to_multiple_of=8)
                    trainer = Trainer(model=bert, args=args_for(tmp, opts.steps, opts.batch),
                                      train_dataset=bert_data, data_collator=collator, callbacks=[clock])
                trainer.train()
                timings[name] = clock.seconds_per_step()
            ratio = timings["bert"] / timings["genebert"]
            ratios.append(ratio)
            print(
                f"round {round_index}: GeneBERT {opts.batch / timings['genebert']:.1f} samples/s "
                f"({opts.batch * tokens_per_sample / timings['genebert']:.0f} tokens/s) | "
                f"BERT {opts.batch / timings['bert']:.1f} samples/s "
                f"({opts.batch * tokens_per_sample / timings['bert']:.0f} tokens/s) | ratio {ratio:.2f}",
                flush=True,
            )
    print(f"tokens per sample: {tokens_per_sample:.0f}; batch {opts.batch}; {opts.steps} steps per round")
    print(f"pretraining trainer step vs BERT: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
