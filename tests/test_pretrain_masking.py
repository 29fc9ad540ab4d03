"""Span masking for overlapping k-mers and the mask-ratio schedule."""

import pytest
import torch

from modeling_genebert.pretraining.callbacks import MaskRatioScheduleCallback
from modeling_genebert.pretraining.masking import apply_mgm_masking, span_mask


def runs(row: torch.Tensor) -> list[tuple[int, int]]:
    """(start, length) of each run of True."""
    found, start = [], None
    for i, value in enumerate(row.tolist() + [False]):
        if value and start is None:
            start = i
        elif not value and start is not None:
            found.append((start, i - start))
            start = None
    return found


def test_span_mask_hits_the_ratio_and_uses_contiguous_spans():
    maskable = torch.ones(256, 500, dtype=torch.bool)
    maskable[:, 0] = maskable[:, -1] = False  # [CLS] / [SEP]
    mask = span_mask(maskable, 0.15, 6, torch.Generator().manual_seed(0))
    assert abs(mask.float().mean().item() - 0.15) < 0.01
    assert not mask[:, 0].any() and not mask[:, -1].any()
    found = [run for row in mask[:32] for run in runs(row)]
    assert found
    # every run is at least k tokens long unless clipped by the final [SEP]
    assert all(length >= 6 for start, length in found if start + length < 499)


def test_span_mask_never_covers_special_or_padding_and_masks_every_row():
    maskable = torch.zeros(4, 40, dtype=torch.bool)
    maskable[:, 1:10] = True  # short sequences, then [SEP] + padding
    mask = span_mask(maskable, 0.05, 6, torch.Generator().manual_seed(1))
    assert not (mask & ~maskable).any()
    assert mask.any(dim=1).all(), "every row needs at least one MGM target"


@pytest.mark.parametrize("ratio", [-0.1, 1.0])
def test_span_mask_rejects_bad_ratio(ratio):
    with pytest.raises(ValueError, match="mask ratio"):
        span_mask(torch.ones(1, 10, dtype=torch.bool), ratio, 6)


def test_80_10_10_replacement_and_labels():
    generator = torch.Generator().manual_seed(2)
    input_ids = torch.randint(5, 4101, (64, 400), generator=generator)
    maskable = torch.ones_like(input_ids, dtype=torch.bool)
    masked, labels = apply_mgm_masking(
        input_ids, maskable, ratio=0.3, span=6, mask_token_id=4, first_kmer_id=5, vocab_size=4101, generator=generator
    )
    target = labels != -100
    assert torch.equal(labels[target], input_ids[target])
    as_mask = (masked == 4) & target
    unchanged = (masked == input_ids) & target
    random = target & ~as_mask & ~unchanged
    n = target.sum().item()
    assert abs(as_mask.sum().item() / n - 0.8) < 0.02
    assert abs(unchanged.sum().item() / n - 0.1) < 0.02  # (random may rarely draw the same id)
    assert abs(random.sum().item() / n - 0.1) < 0.02
    assert (masked[random] >= 5).all()
    assert torch.equal(masked[~target], input_ids[~target])


def test_schedule_switches_for_the_final_sixth():
    class Collator:
        mask_ratio = None

    schedule = MaskRatioScheduleCallback(Collator(), initial=0.15, final=0.20, final_fraction=1 / 6)
    assert schedule.ratio_at(0, 120_000) == 0.15
    assert schedule.ratio_at(99_999, 120_000) == 0.15
    assert schedule.ratio_at(100_000, 120_000) == 0.20
    assert schedule.ratio_at(119_999, 120_000) == 0.20
