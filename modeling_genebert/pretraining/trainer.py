"""``Trainer`` that logs GeneBERT's loss components and stops on non-finite losses."""

from __future__ import annotations

from collections import defaultdict

import torch
from transformers import Trainer

COMPONENTS = ("mgm_loss", "ngsp_loss", "ngsp_accuracy", "srm_loss", "srm_accuracy")


class NonFiniteLossError(RuntimeError):
    """Raised when a loss component becomes NaN or infinite during training."""


class GeneBertTrainer(Trainer):
    """Adds per-component averages (MGM / NGSP / SRM losses, NGSP and SRM accuracy) to every log line.

    Components are summed on-device between log steps (no host sync per step), averaged
    across processes when logged; training logs get plain names, evaluation logs ``eval_``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._component_sums = {"train": defaultdict(float), "eval": defaultdict(float)}
        self._component_counts = {"train": defaultdict(int), "eval": defaultdict(int)}

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        phase = "train" if model.training else "eval"
        for name in COMPONENTS:
            value = outputs.get(name) if isinstance(outputs, dict) else getattr(outputs, name, None)
            if value is None:
                continue
            value = value.detach().float()
            if phase == "train" and name.endswith("_loss") and not torch.isfinite(value):
                raise NonFiniteLossError(
                    f"non-finite {name.replace('_loss', '').upper()} loss ({value.item()}) at training step "
                    f"{self.state.global_step + 1}; lower the learning rate, enable gradient clipping "
                    f"(max_grad_norm) or check the inputs of this batch"
                )
            self._component_sums[phase][name] = self._component_sums[phase][name] + value
            self._component_counts[phase][name] += 1
        if phase == "train" and not torch.isfinite(loss.detach()):
            raise NonFiniteLossError(f"non-finite total loss at training step {self.state.global_step + 1}")
        return (loss, outputs) if return_outputs else loss

    def _issue_warnings_after_load(self, load_result):
        """A checkpoint stores each tied weight once (the k-mer decoder *is* the embedding matrix), so a resumed run's
        tied keys are not missing: only keys that are really absent are reported (transformers lists them all)."""
        tied = set()
        for target, source in (getattr(self.model, "_tied_weights_keys", None) or {}).items():
            weight = _parameter(self.model, target)
            if weight is not None and weight is _parameter(self.model, source):
                tied.add(target)
        missing = [key for key in load_result.missing_keys if key not in tied]
        super()._issue_warnings_after_load(load_result._replace(missing_keys=missing))

    def log(self, logs, start_time=None):
        if "loss" in logs:
            logs.update(self._drain("train", prefix=""))
        elif "eval_loss" in logs:
            logs.update(self._drain("eval", prefix="eval_"))
        super().log(logs, start_time)

    def _drain(self, phase: str, prefix: str) -> dict[str, float]:
        sums, counts = self._component_sums[phase], self._component_counts[phase]
        means = {}
        for name, total in sums.items():
            mean = torch.as_tensor(total / counts[name], device=self.args.device, dtype=torch.float32)
            if self.args.world_size > 1:
                mean = self.accelerator.reduce(mean, reduction="mean")
            means[prefix + name] = round(mean.item(), 4)
        sums.clear()
        counts.clear()
        return means


def _parameter(model: torch.nn.Module, name: str) -> torch.nn.Parameter | None:
    try:
        return model.get_parameter(name)
    except AttributeError:
        return None
