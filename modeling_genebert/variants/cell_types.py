"""Cell-type score from sequence-region matching (SRM): how a variant moves the sequence towards or
away from each cell type's accessible regions, as the pre-trained model sees them.

Pre-training aligned two views of the same DNA in one embedding space: the sequence encoder's
``sequence_embeds`` and the region encoder's ``region_embeds`` (CLIP-style, cosine). An atlas
gives, per cell type, region matrices (regions x TFs, the motif scans of that cell type's
accessible regions); their region embeddings, averaged and re-normalised, are the cell type's
*centroid*. For a variant, ``srm_delta:<cell type> = cos(alt, centroid) - cos(ref, centroid)``
with ``ref``/``alt`` the sequence embeddings of the two alleles' windows. Positive: the alt
allele looks more like that cell type's accessible DNA. Only differences between cell types
carry cell-type information; a shift common to all is an overall change of "accessible-likeness".

Atlas sources (:func:`read_atlas`):

* a pre-training dataset folder (``genebert-build-pretraining`` output: ``cell_type`` and
  ``region_matrix`` columns, every split);
* a ``.npz`` file with one array per cell type, ``[regions, num_tfs]`` (cut into samples of the
  model's ``regions_per_sample`` consecutive rows) or ``[samples, rows, num_tfs]``;
* in Python, a dict of the same arrays.

The matrices must be scanned with the motif set the model was pre-trained on (same TF order);
the TF count is checked, the order cannot be.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dataset_scripts.pretraining_load import load_pretraining_dataset

from .embedding import encode


def _as_samples(name: str, array: np.ndarray, rows: int, num_tfs: int) -> np.ndarray:
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 2:
        if array.shape[0] < rows:
            raise ValueError(f"atlas cell type {name!r}: {array.shape[0]} regions, fewer than one sample of {rows}")
        usable = array.shape[0] - array.shape[0] % rows
        array = array[:usable].reshape(-1, rows, array.shape[1])
    if array.ndim != 3:
        raise ValueError(f"atlas cell type {name!r}: expected [regions, TFs] or [samples, rows, TFs], got shape {array.shape}")
    if array.shape[-1] != num_tfs:
        raise ValueError(f"atlas cell type {name!r}: matrices have {array.shape[-1]} TF columns, the model's region "
                         f"encoder reads {num_tfs} (scan the atlas with the motif set the model was pre-trained on)")
    if not np.isfinite(array).all():
        raise ValueError(f"atlas cell type {name!r}: the matrices hold NaN or infinite values")
    return array


def read_atlas(source, num_tfs: int, regions_per_sample: int, max_samples: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    """``{cell type: float32 [samples, rows, num_tfs]}``, at most ``max_samples`` per cell type (seeded draw)."""
    rng = np.random.default_rng(seed)

    def cap(array: np.ndarray) -> np.ndarray:
        if len(array) <= max_samples:
            return array
        return array[np.sort(rng.choice(len(array), max_samples, replace=False))]

    if isinstance(source, Mapping):
        arrays = dict(source)
    else:
        path = os.fspath(source)
        if os.path.isdir(path):
            return _read_pretraining_folder(path, num_tfs, max_samples, rng)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"atlas {path} does not exist (give a pre-training dataset folder or a .npz file)")
        if not path.endswith(".npz"):
            raise ValueError(f"atlas {path}: expected a pre-training dataset folder or a .npz file of per-cell-type matrices")
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    if not arrays:
        raise ValueError("the atlas holds no cell types")
    return {str(name): cap(_as_samples(str(name), array, regions_per_sample, num_tfs)) for name, array in sorted(arrays.items())}


def _read_pretraining_folder(path: str, num_tfs: int, max_samples: int, rng) -> dict[str, np.ndarray]:
    from datasets import concatenate_datasets  # lazy: `datasets` costs start-up to every scoring run without an atlas

    splits = load_pretraining_dataset(path)
    data = concatenate_datasets([splits[name].select_columns(["cell_type", "region_matrix"]) for name in sorted(splits)])
    cell_types = np.asarray(data["cell_type"])
    out = {}
    for name in sorted(set(cell_types.tolist())):
        index = np.flatnonzero(cell_types == name)
        if len(index) > max_samples:
            index = np.sort(rng.choice(index, max_samples, replace=False))
        matrices = np.stack([np.asarray(m, dtype=np.float32) for m in data.select(index.tolist())["region_matrix"]])
        out[name] = _as_samples(name, matrices, matrices.shape[1], num_tfs)
    if not out:
        raise ValueError(f"atlas {path} holds no samples")
    return out


class CellTypeMatching:
    """Per-cell-type centroids of region embeddings; :meth:`columns` gives the ``srm_delta:<cell type>`` scores.

    Args:
        encoder: a ``GeneBertModel`` with the SRM parts (region encoder and projections), i.e.
            the ``.genebert`` of a pre-trained ``GeneBertForPreTraining``.
        atlas: see the module docstring.
        max_samples: samples (groups of ``regions_per_sample`` regions) per cell type.
    """

    def __init__(self, encoder, atlas, max_samples: int = 256, batch_size: int = 64, seed: int = 0):
        if getattr(encoder, "region_encoder", None) is None:
            raise ValueError("the cell-type score needs a pre-trained GeneBERT with sequence-region matching "
                             "(a region encoder and SRM projections); this model has none")
        region_config = encoder.config.region_config
        self.encoder = encoder
        self.atlas_source = atlas if isinstance(atlas, (str, os.PathLike)) else "in-memory"
        matrices = read_atlas(atlas, region_config.num_tfs, region_config.regions_per_sample, max_samples, seed)
        self.cell_types = list(matrices)
        self.samples = {name: len(m) for name, m in matrices.items()}
        device = next(encoder.parameters()).device
        centroids = []
        with torch.no_grad():
            for name in self.cell_types:
                embeds = []
                for lo in range(0, len(matrices[name]), batch_size):
                    batch = torch.as_tensor(matrices[name][lo : lo + batch_size], device=device)
                    _, pooled = encoder.region_encoder(batch)
                    embeds.append(F.normalize(encoder.region_projection(pooled), dim=-1).float().cpu())
                centroids.append(F.normalize(torch.cat(embeds).mean(0), dim=-1))
        self.centroids = torch.stack(centroids)  # [cell types, projection_dim]

    def columns(self, ref_embeds: torch.Tensor, alt_embeds: torch.Tensor) -> dict[str, np.ndarray]:
        """``srm_delta:<cell type>`` = cos(alt, centroid) - cos(ref, centroid); inputs are L2-normalised ``sequence_embeds``."""
        delta = (alt_embeds.float() - ref_embeds.float()) @ self.centroids.t()
        return {f"srm_delta:{name}": delta[:, j].double().numpy() for j, name in enumerate(self.cell_types)}

    def info(self) -> dict:
        return {"atlas": str(self.atlas_source), "samples_per_cell_type": self.samples}


def sequence_embeds(encoder, tokenizer, sequences: Sequence[str]) -> torch.Tensor:
    """L2-normalised SRM ``sequence_embeds`` ``[n, projection_dim]`` (the pooling the model was pre-trained with)."""
    return encode(encoder, tokenizer, sequences)[1]


__all__ = ["CellTypeMatching", "read_atlas", "sequence_embeds"]
