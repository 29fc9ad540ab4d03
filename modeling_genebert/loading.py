"""Load policy of GeneBERT models: transformers' loader, with GeneBERT's own account of what did not load.

* A damaged weights file is an error that names it (safetensors alone says "incomplete
  metadata"), and non-finite weights are rejected by name.
* Head differences that moving between GeneBERT heads always causes (pre-training heads
  dropped, a new task head, SRM parts a task model has no use for) are one line, not
  transformers' table of UNEXPECTED / MISSING keys; that table goes to debug level.
  A missing sequence-encoder weight is still a loud warning naming the weights.
* Weights load as float32 unless the caller asks for a ``dtype``: a release stored in bf16 to halve its
  download is trained and run in float32 like every other GeneBERT model (transformers 5 would keep
  the stored dtype); ``dtype="auto"`` keeps it.
* Loading and saving a folder of a few MB draw no progress bars ("Loading weights",
  "Writing model shards" on every call were noise); long work keeps its bars.

This file is exported as Hub remote code with modeling_genebert.py: it imports torch, safetensors
(for its error type) and transformers.
"""

import contextlib
import logging as pylogging
from collections.abc import Callable

import torch
from safetensors import SafetensorError
from transformers import PreTrainedModel
from transformers.utils import logging

logger = logging.get_logger(__name__)


@contextlib.contextmanager
def no_progress_bars():
    """transformers' progress bars off for the block, then as they were."""
    were_on = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if were_on:
            logging.enable_progress_bar()


def from_pretrained_with_report(load: Callable, source, *args, **kwargs):
    """Run ``load`` (transformers' ``from_pretrained`` of a GeneBERT class) on ``source`` under the policy above."""
    want_info = kwargs.pop("output_loading_info", False)
    if kwargs.get("dtype") is None and kwargs.get("torch_dtype") is None:
        kwargs["dtype"] = torch.float32
    capture = _LoadReportCapture()
    transformers_logger = logging.get_logger("transformers.modeling_utils")
    transformers_logger.addFilter(capture)
    try:
        with no_progress_bars():
            model, info = load(source, *args, output_loading_info=True, **kwargs)
    except SafetensorError as error:
        raise OSError(
            f"{source}: model.safetensors is truncated or corrupted ({error}); save or download the folder again"
        ) from error
    finally:
        transformers_logger.removeFilter(capture)
    for report in capture.reports:
        logger.debug(report)
    check_finite_weights(model.state_dict(), str(source))
    _summarise_loading(model, str(source), info)
    return (model, info) if want_info else model


def check_finite_weights(state: dict[str, torch.Tensor], source: str) -> None:
    """Reject NaN / inf weights by name (a damaged file can load without any other error)."""
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{source}: weight {name!r} contains NaN or inf; the weights file is corrupted")


class _LoadReportCapture(pylogging.Filter):
    """Holds back transformers' LOAD REPORT (re-logged at debug level by ``from_pretrained_with_report``)."""

    def __init__(self):
        super().__init__()
        self.reports: list[str] = []

    def filter(self, record: pylogging.LogRecord) -> bool:
        message = record.getMessage()
        if "LOAD REPORT" in message:
            self.reports.append(message)
            return False
        return True


# keys that differ between GeneBERT heads by design: prefix -> what it means
_HEAD_PARTS = {
    "cls.": "pre-training heads (MGM / NGSP)",
    "classifier.": "classification head",
    "region_wide.": "wide region read-out",
    "genebert.region_encoder.": "region encoder",
    "genebert.sequence_projection.": "SRM projections",
    "genebert.region_projection.": "SRM projections",
    "genebert.logit_scale": "SRM temperature",
    "genebert.bert.pooler.": "[CLS] pooler",
    "ngsp_pooler.": "NGSP segment pooler",
}


def _head_part(key: str) -> str | None:
    return next((part for prefix, part in _HEAD_PARTS.items() if key.startswith(prefix)), None)


def _summarise_loading(model: PreTrainedModel, source: str, info: dict) -> None:
    """One line for expected head differences; a loud warning for anything else that did not load."""
    missing, unexpected = list(info.get("missing_keys", ())), list(info.get("unexpected_keys", ()))
    new = sorted({_head_part(k) for k in missing if _head_part(k)})
    dropped = sorted({_head_part(k) for k in unexpected if _head_part(k)} - set(new))
    other_missing = [k for k in missing if not _head_part(k)]
    other_unexpected = [k for k in unexpected if not _head_part(k)]
    if other_missing:
        logger.warning(
            f"{type(model).__name__} from {source}: {len(other_missing)} encoder weight(s) missing from the checkpoint "
            f"and randomly initialised: {other_missing}"
        )
    if other_unexpected:
        logger.warning(f"{type(model).__name__} from {source}: checkpoint weights not used: {other_unexpected}")
    if new or dropped:
        parts = []
        if new:
            parts.append("new " + ", ".join(new) + " initialised")
        if dropped:
            parts.append(", ".join(dropped) + " dropped")
        logger.warning(f"{type(model).__name__} from {source}: " + "; ".join(parts) + " (expected when changing heads)")


__all__ = ["check_finite_weights", "from_pretrained_with_report"]
