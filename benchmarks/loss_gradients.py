"""How hard each pre-training loss pulls on the shared encoder: the figure behind NGSP's slow start.

The three losses share the sequence encoder (``genebert.bert``). Per loss (weighted as the config
weights it), the gradient norm on the shared encoder and on all parameters, one batch of 16 validation
pairs (15% masking), from a fresh tiny model or a saved pre-training folder (``--model``). AdamW
rescales each parameter's step by its own gradient history, so on a shared parameter the loss with the
largest gradient sets the direction of the step; the ratio on the last line says by how much SRM's pull
exceeds NGSP's there.

    python benchmarks/loss_gradients.py [--model FOLDER] [--dataset DIR]

Last line: ``shared-encoder gradient norm: MGM <a>, NGSP <b>, SRM <c> (SRM / NGSP <r>x)``.
"""

import argparse

import torch

from dataset_scripts.pretraining_load import load_pretraining_dataset
from modeling_genebert import GeneBertConfig, GeneBertForPreTraining, GeneBertTokenizer
from modeling_genebert.pretraining.collator import GeneBertPretrainingCollator
from modeling_genebert.pretraining.pretrain import default_dataset

DEFAULT = dict(bases_per_region=50, pairing="contiguous", negatives="shuffled")
LOSSES = (("MGM", "mgm_weight", "mgm_loss"), ("NGSP", "ngsp_weight", "ngsp_loss"), ("SRM", "srm_weight", "srm_loss"))


def _norm(grads) -> float:
    return torch.nn.utils.get_total_norm([g for g in grads if g is not None]).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="saved pre-training folder (default: a fresh tiny model)")
    parser.add_argument("--dataset", default=None, help="pre-training dataset folder (default: mini-atlas, contiguous + shuffled, 50 bp)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows = list(load_pretraining_dataset(args.dataset or default_dataset(**DEFAULT))["validation"])[:16]
    if args.model:
        model = GeneBertForPreTraining.from_pretrained(args.model)
        tokenizer = GeneBertTokenizer.from_pretrained(args.model)
    else:
        model = GeneBertForPreTraining(GeneBertConfig.from_preset("tiny"))
        tokenizer = GeneBertTokenizer(k=6)  # the tiny preset's k
    collator = GeneBertPretrainingCollator(tokenizer, max_length=512, mask_ratio=0.15, seed=0)
    model.train()
    output = model(**collator(rows))
    shared = {id(p) for p in model.genebert.bert.parameters()}
    everything = [p for p in model.parameters() if p.requires_grad]
    figures = {}
    print(f"{'loss':<6}{'weight':>8}{'value':>9}{'shared encoder':>16}{'all parameters':>16}")
    for label, weight_key, loss_key in LOSSES:
        weight, loss = getattr(model.config, weight_key), getattr(output, loss_key)
        if not weight or loss is None:
            continue
        grads = torch.autograd.grad(weight * loss, everything, retain_graph=True, allow_unused=True)
        on_shared = _norm(g for g, p in zip(grads, everything) if id(p) in shared)
        figures[label] = on_shared
        print(f"{label:<6}{weight:>8g}{loss.item():>9.3f}{on_shared:>16.3f}{_norm(grads):>16.3f}")
    ratio = figures.get("SRM", float("nan")) / figures.get("NGSP", float("nan"))
    print("shared-encoder gradient norm: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
          + f" (SRM / NGSP {ratio:.1f}x)")


if __name__ == "__main__":
    main()
