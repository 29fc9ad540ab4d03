"""Integrated Gradients of the class log-odds, attributed to single bases (default) or to k-mer tokens.

**Why not tokens.** Every base sits in ``k`` overlapping k-mer tokens. IG over the token embeddings
(``path="tokens"``, captum's ``LayerIntegratedGradients`` from an all-``[PAD]`` baseline) gives each
token the credit for being *some* k-mer rather than padding; summing the ``k`` tokens that cover a
base then smears that credit over ``2k - 1`` bases. On trained models nearly every token gains
against ``[PAD]``, so base logos become all-positive plateaus across the whole sequence.

**Per-base path (default, ``path="bases"``).** The k-mer embedding is made a differentiable function
of the per-base one-hot matrix ``X`` ``(L, 4)``: the embedding of the token starting at ``t`` is
``sum over all 4^k k-mers m of prod_j X[t + j, m_j] * E[m]``. On a one-hot ``X`` the product is 1 for
the observed k-mer and 0 for all others, so the model sees exactly its usual input; in between it
sees a mixture of k-mer embeddings. IG runs along the straight line from the reference ``X'`` = 0.25
everywhere (every k-mer equally likely: the embedding is the mean k-mer embedding) to ``X``, with
Gauss-Legendre steps placed where the score changes (:func:`_path_steps`), and gives ``(X - X') * mean gradient`` per base and channel. A base's
attribution is the sum over its 4 channels, ``g_obs - mean_b g_b``: how much the observed base beats
the average base at that position, through all ``k`` tokens that cover it at once. It is signed
(a base that works against the class is negative) and local (a base that could be any other base
without changing the score gets 0, even when its tokens score high against ``[PAD]``), and the
centred per-channel values ``g_b - mean_b g_b`` are TF-MoDISco's hypothetical contributions, the same
form ISM gives (:func:`~modeling_genebert.explain.ism.ism_contributions`). At the sequence itself
``g_b - g_obs`` is the first-order estimate of ISM's substitution effect, which is why the two agree.
Completeness holds per sequence: ``sum(bases) = s(x) - s(reference)`` (``delta`` is the gap).

Alternatives considered: input-x-gradient at ``X`` alone (one step) is this method's first
integration point and misses saturation; distributing a token's attribution to the base that
distinguishes it needs a per-token reference k-mer that overlapping tokens do not agree on.

Bases that are N keep their ``[UNK]`` tokens fixed and get 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .loading import check_sequences, one_hot
from .tokens import BASES, class_score, to_bases

PATHS = ("bases", "tokens")


@dataclass
class IGResult:
    """``bases``: ``(N, L)`` (or a list when lengths differ); ``hypothetical``: ``(N, L, 4)`` centred per-channel
    attributions (``path="bases"``; TF-MoDISco's input), ``None`` for tokens; ``tokens``: per-sequence token
    attributions ``[CLS] ... [SEP]`` (``path="tokens"`` only, else empty); ``delta``: completeness gap ``(N,)``;
    ``scores`` / ``baseline_scores``: ``s(x)``, ``s(reference)``."""

    bases: object
    tokens: list
    delta: np.ndarray
    scores: np.ndarray
    baseline_scores: np.ndarray
    hypothetical: object = None
    path: str = "bases"
    strands: str = "forward"
    info: dict = field(default_factory=dict)


def integrated_gradients(explained, sequences: Sequence[str], target=None, n_steps: int = 50, batch_size: int = 32,
                         internal_batch_size: int | None = None, progress: bool = False, path: str = "bases",
                         strands: str = "forward") -> IGResult:
    """Integrated Gradients of the class log-odds; ``path="bases"`` (default): per-base, signed, from an
    all-0.25 one-hot reference through a differentiable k-mer embedding (see the module docstring);
    ``path="tokens"``: the older token-embedding IG against ``[PAD]``, projected to bases by summing the
    ``k`` covering tokens. ``strands="both"`` averages the forward attributions with the reverse
    complement's, mapped back (bases path only)."""
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    if strands not in ("both", "forward"):
        raise ValueError(f"strands must be 'both' or 'forward', got {strands!r}")
    if path == "tokens":
        if strands != "forward":
            raise ValueError("strands='both' needs path='bases'")
        return _token_ig(explained, sequences, target, n_steps, batch_size, internal_batch_size, progress)
    target = explained.class_index(target)
    sequences = check_sequences(sequences, explained.window)
    forward = _base_ig(explained, sequences, target, n_steps, internal_batch_size, progress)
    if strands == "both":
        rc = [s[::-1].translate(_COMPLEMENT) for s in sequences]
        back = _base_ig(explained, rc, target, n_steps, internal_batch_size, progress)
        merged = []
        for f, r in zip(forward, back):
            hyp = (f[0] + r[0][::-1, ::-1]) / 2  # position i of the rc is L-1-i; channel b is 3-b
            merged.append((hyp, (f[1] + r[1][::-1]) / 2, (f[2] + r[2]) / 2, (f[3] + r[3]) / 2, (f[4] + r[4]) / 2))
        forward = merged
    same = len({len(s) for s in sequences}) == 1
    hyp = [m[0] for m in forward]
    bases = [m[1] for m in forward]
    return IGResult(np.stack(bases) if same else bases, [], np.array([m[4] for m in forward], dtype=np.float32),
                    np.array([m[2] for m in forward], dtype=np.float32),
                    np.array([m[3] for m in forward], dtype=np.float32),
                    np.stack(hyp) if same else hyp, "bases", strands)


_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


class _SoftKmers:
    """Differentiable k-mer embedding of a (soft) one-hot ``(B, L, 4)`` for one reference sequence's token layout."""

    def __init__(self, tokenizer, embedding_weight: torch.Tensor, sequence: str):
        enc = tokenizer(sequence, return_offsets_mapping=True)
        self.ids = torch.tensor(enc["input_ids"], dtype=torch.long)
        offsets = [tuple(o) for o in enc["offset_mapping"]]
        content = [t for t, (a, b) in enumerate(offsets) if b > a]
        self.k = int(tokenizer.kmer)
        starts = torch.tensor([offsets[t][0] for t in content], dtype=torch.long)
        self.gather = starts[:, None] + torch.arange(self.k)[None, :]  # (T_content, k)
        has_n = torch.tensor([("N" in sequence[a:b]) for a, b in (offsets[t] for t in content)], dtype=torch.bool)
        self.soft = torch.tensor(content, dtype=torch.long)[~has_n]  # token positions computed from X
        self.gather = self.gather[~has_n]
        vocab = tokenizer.get_vocab()
        unk = tokenizer.unk_token_id
        lut = torch.tensor([vocab.get("".join(m), unk) for m in product(BASES, repeat=self.k)], dtype=torch.long)
        self.table = embedding_weight.detach()[lut]  # (4^k, H), row order = base-4 number, first base most significant

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, L, 4)`` -> embeddings of the soft tokens ``(B, T_soft, H)``."""
        windows = x[:, self.gather]  # (B, T, k, 4)
        mix = windows[:, :, 0]
        for j in range(1, self.k):
            mix = (mix[..., :, None] * windows[:, :, j, None, :]).flatten(-2)  # (B, T, 4^(j+1))
        return mix @ self.table


def _path_steps(n_steps: int, k: int):
    """Where on the straight line (``alpha``) to take the gradients, and each one's weight in the integral.

    Along the line the observed k-mer's weight in each token's mixture is ``(0.25 + 0.75 alpha)^k``, so
    the model sees almost only the mean embedding until ``alpha`` nears 1 and then changes quickly
    (for k = 6 the class log-odds moves from 5% to 95% of its change between alpha 0.6 and 0.8).
    The line integral is taken in the variable ``u`` in which that weight grows linearly,
    ``alpha(u) = ((4^-k + u (1 - 4^-k))^(1/k) - 0.25) / 0.75``, with Gauss-Legendre nodes in ``u``;
    this re-parametrises the same straight-line path (the same IG), it only puts the steps where
    the score changes."""
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    u, w = (nodes + 1) / 2, weights / 2
    low = 0.25 ** k
    inner = low + u * (1 - low)
    alpha = (inner ** (1 / k) - 0.25) / 0.75
    dalpha = inner ** (1 / k - 1) * (1 - low) / (0.75 * k)
    return alpha, w * dalpha


def _base_ig(explained, sequences, target, n_steps, internal_batch_size, progress):
    """Per sequence: (hypothetical ``(L, 4)``, bases ``(L,)``, s(x), s(reference), completeness gap)."""
    model, tok = explained.model, explained.tokenizer
    device = next(model.parameters()).device
    embedding = model.get_input_embeddings()
    alphas, weights = _path_steps(n_steps, int(tok.kmer))
    chunk = max(1, internal_batch_size or n_steps)
    out = []
    state = {}

    def hook(module, inputs, output):
        if "emb" not in state:
            return output
        output = output.clone()
        output[:, state["positions"]] = state["emb"].to(output.dtype)
        return output

    handle = embedding.register_forward_hook(hook)
    try:
        for s in tqdm(sequences, desc="integrated gradients (bases)", disable=not progress):
            soft = _SoftKmers(tok, embedding.weight, s)
            soft.table = soft.table.to(device)
            x = torch.from_numpy(one_hot(s)).to(device)
            known = (x.sum(-1, keepdim=True) > 0).float()
            ref = known.expand_as(x) * 0.25
            region = explained.region_matrix([s])
            region = region.to(device) if region is not None else None
            ids = soft.ids.to(device)[None]

            def score(points: torch.Tensor) -> torch.Tensor:
                state["emb"], state["positions"] = soft(points), soft.soft.to(device)
                b = len(points)
                kwargs = {}
                if region is not None:
                    kwargs["region_matrix"] = region.expand(b, *region.shape[-2:])
                logits = model(input_ids=ids.expand(b, -1), attention_mask=torch.ones_like(ids).expand(b, -1), **kwargs).logits
                return class_score(logits, target)

            grad = torch.zeros_like(x)
            for a in range(0, n_steps, chunk):
                al = torch.tensor(alphas[a:a + chunk], dtype=x.dtype, device=device)[:, None, None]
                points = (ref + al * (x - ref)).detach().requires_grad_(True)
                g, = torch.autograd.grad(score(points).sum(), points)
                w = torch.tensor(weights[a:a + chunk], dtype=x.dtype, device=device)[:, None, None]
                grad += (g * w).sum(0)
            with torch.no_grad():
                ends = score(torch.stack([x, ref])).cpu().numpy()
            grad = grad * known
            attr = ((x - ref) * grad).sum(-1)  # = g_obs - mean_b g_b for A/C/G/T bases
            hyp = (grad - grad.mean(-1, keepdim=True)) * known
            bases = attr.detach().cpu().numpy().astype(np.float32)
            out.append((hyp.detach().cpu().numpy().astype(np.float32), bases, float(ends[0]), float(ends[1]),
                        float(bases.sum() - (ends[0] - ends[1]))))
    finally:
        handle.remove()
        state.clear()
    return out


def _token_ig(explained, sequences, target, n_steps, batch_size, internal_batch_size, progress) -> IGResult:
    """Integrated Gradients of the class log-odds w.r.t. the k-mer embeddings, projected to bases (the older path)."""
    from captum.attr import LayerIntegratedGradients  # lazy: captum is the optional ``explain`` extra

    target = explained.class_index(target)
    sequences = check_sequences(sequences, explained.window)
    model, tok = explained.model, explained.tokenizer
    device = next(model.parameters()).device
    embeddings = model.get_input_embeddings()

    def forward(input_ids, attention_mask, region_matrix=None):
        # captum expands the additional arguments (mask, region matrix) along the batch with the inputs
        return class_score(model(input_ids=input_ids, attention_mask=attention_mask, region_matrix=region_matrix).logits, target)

    lig = LayerIntegratedGradients(forward, embeddings)
    bases, tokens, deltas, scores, base_scores = [], [], [], [], []
    for a in tqdm(range(0, len(sequences), batch_size), desc="integrated gradients", disable=not progress):
        chunk = sequences[a:a + batch_size]
        enc = tok(chunk, padding=True, return_tensors="pt", return_offsets_mapping=True)
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        special = torch.tensor([[o[1] <= o[0] for o in row] for row in enc["offset_mapping"].tolist()], device=device)
        baseline = torch.where(special, ids, torch.full_like(ids, tok.pad_token_id))
        region = explained.region_matrix(chunk)
        region = region.to(device) if region is not None else None
        attr, delta = lig.attribute(ids, baselines=baseline, additional_forward_args=(mask, region), n_steps=n_steps,
                                    internal_batch_size=internal_batch_size or len(chunk) * n_steps,
                                    return_convergence_delta=True)
        token_attr = attr.sum(-1).detach().cpu().numpy() * mask.cpu().numpy()
        with torch.no_grad():
            scores.append(forward(ids, mask, region).cpu().numpy())
            base_scores.append(forward(baseline, mask, region).cpu().numpy())
        deltas.append(delta.detach().cpu().numpy())
        for row, (s, offsets) in enumerate(zip(chunk, enc["offset_mapping"].tolist())):
            n = int(mask[row].sum())
            tokens.append(token_attr[row, :n])
            bases.append(to_bases(token_attr[row, :n], offsets[:n], len(s)).astype(np.float32))
    same = len({len(s) for s in sequences}) == 1
    return IGResult(np.stack(bases) if same else bases, tokens, np.concatenate(deltas),
                    np.concatenate(scores), np.concatenate(base_scores), None, "tokens", "forward")
