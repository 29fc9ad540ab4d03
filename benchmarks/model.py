"""Training-step throughput: GeneBertForPreTraining vs transformers.BertForPreTraining (same sequence encoder).

One step = forward + backward + AdamW on 512-token samples. GeneBERT also runs its region encoder
and SRM on a [batch, 10, 579] region matrix. These CPUs have fast and slow phases 3-4x apart, so the
two models run interleaved (A B A B ...) in this one process and we report the median of the
per-round ratios. (a) tiny preset + native region encoder; (b) BERT-base + timm swin_tiny at a
native input size that tiles the matrix (12 x 580 for 4-pixel patches).

    python benchmarks/model.py [--rounds 15] [--base-rounds 3] [--skip-base]

Last line: ``pretraining step vs BERT: <ratio>x`` for (a).
"""

import argparse
import statistics
import time

import torch
from transformers import BertConfig, BertForPreTraining

from modeling_genebert import GeneBertConfig, GeneBertForPreTraining

SEQ_LEN, REGIONS, NUM_TFS = 512, 10, 579


def make_batch(batch_size: int, vocab_size: int) -> dict:
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, vocab_size, (batch_size, SEQ_LEN), generator=g)
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, SEQ_LEN // 2 :] = 1
    labels = torch.where(torch.rand(input_ids.shape, generator=g) < 0.15, input_ids, -100)
    return dict(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        token_type_ids=token_type_ids,
        labels=labels,
        next_sentence_label=torch.randint(0, 2, (batch_size,), generator=g),
        region_matrix=torch.randn(batch_size, REGIONS, NUM_TFS, generator=g) * 8,
    )


def stepper(model, batch: dict):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step() -> float:
        start = time.perf_counter()
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    return step


def compare(name: str, config: GeneBertConfig, batch_size: int, rounds: int, warmup: int = 1) -> float:
    torch.manual_seed(0)
    genebert = GeneBertForPreTraining(config)
    bert = BertForPreTraining(BertConfig(**config.sequence_config.to_dict()))
    batch = make_batch(batch_size, config.sequence_config.vocab_size)
    bert_batch = {k: v for k, v in batch.items() if k != "region_matrix"}
    step_genebert, step_bert = stepper(genebert, batch), stepper(bert, bert_batch)
    for _ in range(warmup):
        step_genebert(), step_bert()
    ratios, times_g, times_b = [], [], []
    for i in range(rounds):  # alternate which model goes first so a phase change hits both alike
        if i % 2:
            t_b, t_g = step_bert(), step_genebert()
        else:
            t_g, t_b = step_genebert(), step_bert()
        times_g.append(t_g), times_b.append(t_b), ratios.append(t_b / t_g)
    tokens = batch_size * SEQ_LEN
    ratio = statistics.median(ratios)
    print(
        f"{name}: GeneBERT {tokens / statistics.median(times_g):.0f} tokens/s, "
        f"BERT {tokens / statistics.median(times_b):.0f} tokens/s (median of {rounds} interleaved rounds, "
        f"batch {batch_size} x {SEQ_LEN}); GeneBERT/BERT throughput ratio {ratio:.3f}x "
        f"[per-round {', '.join(f'{r:.2f}' for r in ratios)}]",
        flush=True,
    )
    return ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--base-rounds", type=int, default=3)
    parser.add_argument("--base-batch-size", type=int, default=1)
    parser.add_argument("--skip-base", action="store_true", help="skip (b), BERT-base + swin_tiny (~25 s)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)

    tiny = GeneBertConfig.from_preset("tiny", region_config=dict(num_tfs=NUM_TFS, regions_per_sample=REGIONS))
    ratio_a = compare("(a) tiny + native region encoder", tiny, args.batch_size, args.rounds)
    if not args.skip_base:
        base = GeneBertConfig.from_preset(
            "tiny",
            sequence_config=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                 intermediate_size=3072),
            region_config=dict(encoder="timm",
                               encoder_kwargs=dict(model_name="swin_tiny_patch4_window7_224", input_mode="native"),
                               num_tfs=NUM_TFS, regions_per_sample=REGIONS),
            projection_dim=256,
        )
        ratio_b = compare("(b) BERT-base + swin_tiny (native 12x580)", base, args.base_batch_size, args.base_rounds)
        print(f"BERT-base + swin_tiny pretraining step vs BERT: {ratio_b:.2f}x")
    print(f"pretraining step vs BERT: {ratio_a:.2f}x")


if __name__ == "__main__":
    main()
