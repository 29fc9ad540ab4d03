"""Run `genebert-pretrain` under `accelerate launch`, then record a digest of this rank's weights."""

import hashlib
import json
import sys
from pathlib import Path

import torch
from transformers import TrainerCallback

from modeling_genebert.pretraining import pretrain


class DigestCallback(TrainerCallback):
    def on_train_end(self, args, state, control, model=None, **kwargs):
        digest = hashlib.sha256()
        # parameters only: BatchNorm running statistics are per-process by design (DDP broadcasts
        # rank 0's buffers at each forward, then every rank updates them with its own batch)
        for name, tensor in sorted(model.named_parameters()):
            digest.update(name.encode())
            digest.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
        record = {"world_size": args.world_size, "global_step": state.global_step, "digest": digest.hexdigest()}
        (Path(args.output_dir) / f"rank{args.process_index}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    pretrain.pretrain(*pretrain.parse_args(sys.argv[1:]), callbacks=[DigestCallback()])
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()  # as genebert-pretrain does: a clean exit for every rank
