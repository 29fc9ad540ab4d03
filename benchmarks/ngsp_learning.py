"""Does next genome-segment prediction learn? Validation accuracy / ROC-AUC over steps, per NGSP head.

Trains the tiny preset on a pre-training dataset (default: the embedded mini-atlas with contiguous
pairing and shuffled negatives, 10 x 50 bp, built once into the cache) with NGSP alone (or beside MGM
with ``--mgm_weight 1``), constant LR after a 30-step warm-up, and evaluates the validation pairs
(frozen pairing) every 50 steps, once per ``--ngsp_pooling`` value. One thread.

    python benchmarks/ngsp_learning.py [--dataset DIR] [--ngsp_pooling cls segments] [--steps 200]
        [--learning_rate 1e-3] [--mgm_weight 0] [--ngsp_weight 1] [--mask_ratio R]

Last line: ``NGSP validation accuracy after N steps: cls <acc>, segments <acc>``.
"""

import argparse
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from dataset_scripts.pretraining_load import load_pretraining_dataset
from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from modeling_genebert.pretraining.collator import GeneBertPretrainingCollator
from modeling_genebert.pretraining.pretrain import default_dataset

# the folder `genebert-pretrain --default_bases_per_region 50 --default_ngsp_pairing contiguous
# --default_ngsp_negatives shuffled` builds and reuses
DEFAULT = dict(bases_per_region=50, pairing="contiguous", negatives="shuffled")


def evaluate(model, collator, rows, mask_ratio: float) -> tuple[float, float]:
    model.eval()
    probabilities, labels = [], []
    with collator.frozen(123, mask_ratio), torch.no_grad():
        for start in range(0, len(rows), 64):
            batch = collator(rows[start:start + 64])
            batch.pop("region_matrix")
            logits = model(**batch).seq_relationship_logits
            probabilities.append(torch.softmax(logits, -1)[:, 1])
            labels.append(batch["next_sentence_label"])
    p, y = torch.cat(probabilities), torch.cat(labels)
    return ((p > 0.5).long() == y).float().mean().item(), roc_auc_score(y.numpy(), p.numpy())


def train(pooling: str, data, args) -> float:
    torch.manual_seed(0)
    tokenizer = GeneBertTokenizer(k=6)
    mask_ratio = args.mask_ratio if args.mask_ratio is not None else (0.15 if args.mgm_weight else 0.0)
    collator = GeneBertPretrainingCollator(tokenizer, max_length=512, mask_ratio=mask_ratio, seed=0)
    config = GeneBertConfig.from_preset("tiny", ngsp_pooling=pooling, mgm_weight=args.mgm_weight,
                                        ngsp_weight=args.ngsp_weight, srm_weight=0.0)
    model = GeneBertForPreTraining(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 30))
    rows, validation = list(data["train"]), list(data["validation"])[: args.max_eval_samples]
    step, started, accuracy = 0, time.time(), float("nan")
    while step < args.steps:
        order = np.random.default_rng(step).permutation(len(rows))
        for first in range(0, len(rows) - 15, 16):
            batch = collator([rows[j] for j in order[first:first + 16]])
            batch.pop("region_matrix")
            model.train()
            loss = model(**batch).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            if step % 50 == 0 or step == args.steps:
                accuracy, auc = evaluate(model, collator, validation, mask_ratio)
                print(f"{pooling} step {step}: validation accuracy {accuracy:.3f}, ROC-AUC {auc:.3f} "
                      f"({time.time() - started:.0f} s)", flush=True)
            if step >= args.steps:
                break
    return accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default=None, help="pre-training dataset folder (default: mini-atlas, contiguous + shuffled, 50 bp)")
    parser.add_argument("--ngsp_pooling", nargs="+", default=["cls", "segments"], help="NGSP heads to compare")
    parser.add_argument("--steps", type=int, default=200, help="training steps of 16 pairs per head")
    parser.add_argument("--learning_rate", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--mgm_weight", type=float, default=0.0, help="1 = train MGM beside NGSP")
    parser.add_argument("--ngsp_weight", type=float, default=1.0, help="NGSP loss weight (matters beside MGM)")
    parser.add_argument("--mask_ratio", type=float, default=None,
                        help="MGM masking of the inputs (default: 0.15 with --mgm_weight, else 0)")
    parser.add_argument("--max_eval_samples", type=int, default=256, help="validation pairs evaluated")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_pretraining_dataset(args.dataset or default_dataset(**DEFAULT))
    results = {pooling: train(pooling, data, args) for pooling in args.ngsp_pooling}
    print(f"NGSP validation accuracy after {args.steps} steps: "
          + ", ".join(f"{pooling} {accuracy:.3f}" for pooling, accuracy in results.items()))


if __name__ == "__main__":
    main()
