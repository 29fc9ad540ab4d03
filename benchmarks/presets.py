"""What each model preset costs on this CPU: the figures behind the `small` preset and the CPU budget.

Per preset: parameters, CPU-seconds of one pre-training step (16 pairs x 512 tokens, MGM + NGSP +
SRM on a [16, 10, 579] region matrix, AdamW) and of one fine-tuning step (32 x 72 tokens, GUE
prom_core_all's 70 bp), then what a 2-CPU-hour budget per task buys: fine-tuning 3 epochs of
prom_core_all (47,356 rows, 10% carved out for selection) and the pre-training steps left over.
CPU time (``time.process_time``) on one thread, the median of a few steps after a warm-up, so another
job on the machine changes the figures less than wall time would.

    python benchmarks/presets.py [--steps 4] [--presets tiny small]

Last line: ``small / tiny pre-training step cost: <ratio>x``.
"""

import argparse
import statistics
import time

import torch
from transformers import BertConfig, BertForSequenceClassification

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining

BUDGET_S = 2 * 3600
PROM_TRAIN_ROWS, EPOCHS, FINETUNE_BATCH = int(47_356 * 0.9), 3, 32


def _median_cpu_seconds(step, steps: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return statistics.median(times)


def pretraining_step_cost(config: GeneBertConfig, steps: int, batch: int = 16, length: int = 512) -> float:
    model = GeneBertForPreTraining(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, config.sequence_config.vocab_size, (batch, length), generator=g)
    types = torch.zeros_like(ids)
    types[:, length // 2:] = 1
    inputs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=types,
                  labels=torch.where(torch.rand(ids.shape, generator=g) < 0.15, ids, -100),
                  next_sentence_label=torch.randint(0, 2, (batch,), generator=g),
                  region_matrix=torch.randn(batch, 10, 579, generator=g) * 8)

    def step():
        model(**inputs).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return _median_cpu_seconds(step, steps)


def finetuning_step_cost(config: GeneBertConfig, steps: int, length: int = 72) -> float:
    model = BertForSequenceClassification(BertConfig(**config.sequence_config.to_dict(), num_labels=2)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, config.sequence_config.vocab_size, (FINETUNE_BATCH, length), generator=g)
    labels = torch.randint(0, 2, (FINETUNE_BATCH,), generator=g)

    def step():
        model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return _median_cpu_seconds(step, steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per measurement (after one warm-up)")
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"], help="presets to measure")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; budget {BUDGET_S / 3600:.0f} CPU-hours per task", flush=True)
    costs = {}
    for name in args.presets:
        config = GeneBertConfig.from_preset(name, region_config=dict(num_tfs=579, regions_per_sample=10))
        params = sum(p.numel() for p in GeneBertForPreTraining(config).parameters())
        pretrain, finetune = pretraining_step_cost(config, args.steps), finetuning_step_cost(config, args.steps)
        finetune_total = EPOCHS * -(-PROM_TRAIN_ROWS // FINETUNE_BATCH) * finetune
        left = max(BUDGET_S - finetune_total, 0)
        costs[name] = pretrain
        print(f"{name}: {params / 1e6:.2f}M parameters; pre-training step {pretrain:.2f} CPU-s; fine-tuning step "
              f"{finetune * 1000:.0f} CPU-ms -> prom_core_all 3 epochs {finetune_total / 60:.0f} CPU-min, leaving "
              f"{left / 60:.0f} CPU-min = {left / pretrain:.0f} pre-training steps within the budget", flush=True)
    if "small" in costs and "tiny" in costs:
        print(f"small / tiny pre-training step cost: {costs['small'] / costs['tiny']:.1f}x")


if __name__ == "__main__":
    main()
