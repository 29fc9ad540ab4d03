"""Trainer callbacks for GeneBERT pre-training."""

from __future__ import annotations

from transformers import TrainerCallback


class MaskRatioScheduleCallback(TrainerCallback):
    """The paper's MGM schedule: ``initial`` ratio, then ``final`` for the last ``final_fraction`` of steps.

    Paper: 15% for the first 100k of 120k steps, 20% for the last 20k (final_fraction = 1/6).
    It sets ``collator.mask_ratio`` before each step, so the collator must run in the
    training process (``dataloader_num_workers=0``, the default).
    """

    def __init__(self, collator, initial: float = 0.15, final: float = 0.20, final_fraction: float = 1 / 6):
        if not 0.0 <= final_fraction <= 1.0:
            raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")
        self.collator = collator
        self.initial, self.final, self.final_fraction = initial, final, final_fraction

    def ratio_at(self, step: int, max_steps: int) -> float:
        switch = max_steps * (1.0 - self.final_fraction)
        return self.final if max_steps > 0 and step >= switch else self.initial

    def on_train_begin(self, args, state, control, **kwargs):
        if args.dataloader_num_workers > 0:
            raise ValueError(
                "MaskRatioScheduleCallback changes the collator in the training process; "
                "use dataloader_num_workers=0 or disable the schedule (final ratio = initial ratio)"
            )
        self.collator.mask_ratio = self.ratio_at(state.global_step, state.max_steps)

    def on_step_begin(self, args, state, control, **kwargs):
        self.collator.mask_ratio = self.ratio_at(state.global_step, state.max_steps)


class StopAtStepCallback(TrainerCallback):
    """End a run at ``step`` with a checkpoint, its learning-rate schedule still that of ``max_steps``:
    a long pre-training runs in slices (``--stop_at_step``), each resumed with ``--resume_from_checkpoint auto``."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_save = True
            control.should_training_stop = True
