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

from modeling_genebert.downstream.cls_only import cls_only_last_layer

from dataset_scripts.sequences import one_hot, reverse_complement

from .loading import check_sequences
from .tokens import BASES, class_score, encode_codes, kmer_lut, to_bases

PATHS = ("bases", "tokens")
DEFAULT_IG_ROWS = 64  # path points per forward/backward pass (tuned with benchmarks/explain_speed.py --ig_rows)
IG_GROUP = 64  # sequences whose path points are pooled (their k-mer tables, ~3 MB each, are held together)


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
    rc = [reverse_complement(s) for s in sequences] if strands == "both" else []
    both = _base_ig(explained, sequences + rc, target, n_steps, internal_batch_size, progress)  # strands share passes
    forward, back = both[:len(sequences)], both[len(sequences):]
    if strands == "both":
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


def ig_path_points(sequences: Sequence[str], n_steps: int, path: str = "bases", strands: str = "forward") -> int:
    """Forward/backward rows :func:`integrated_gradients` runs: per sequence and strand ``n_steps`` + the two ends
    (bases path), or ``n_steps`` (tokens path, forward strand only)."""
    if path == "tokens":
        return len(sequences) * n_steps
    return len(sequences) * (n_steps + 2) * (2 if strands == "both" else 1)


def seconds_per_path_point(explained, sequence: str, target=None, n_steps: int = 50, rows: int = DEFAULT_IG_ROWS,
                           path: str = "bases") -> float:
    """Wall seconds per IG path point, from one timed pass (after an untimed one) of ``rows`` points on ``sequence``
    (bases path) or of one sequence's ``n_steps`` (tokens path): the rate a plan is estimated from."""
    import time

    target = explained.class_index(target)
    sequence = check_sequences([sequence], explained.window)[0]
    def one_pass():
        if path == "tokens":
            _token_ig(explained, [sequence], target, n_steps, 1, None, False)
        else:
            _base_ig(explained, [sequence], target, max(1, rows - 2), rows, False)

    one_pass()  # untimed: first calls of a shape set up kernels
    started = time.perf_counter()
    one_pass()
    return (time.perf_counter() - started) / (n_steps if path == "tokens" else max(rows, 3))


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


class _KmerSubsetSums:
    """The k-mer embedding table summed over every subset of a k-mer's positions, for :func:`_base_ig`.

    ``Q_S[u] = sum of E[m] over the k-mers m whose bases at the positions S are u`` (``5^k`` rows in all).
    Every point of the straight-line path is ``X = c0 + c1 * onehot(x)`` per base (``c0 = (1 - alpha) / 4``,
    ``c1 = alpha``), so a token's mixture ``sum_m prod_j X[t + j, m_j] E[m]`` expands into
    ``sum_S c1^|S| c0^(k - |S|) Q_S[x_S]`` and its derivative in ``X[t + j, b]`` into
    ``sum_(S not holding j) c1^|S| c0^(k - 1 - |S|) Q_(S + j)[x_S, b at j]``: both are sums of ``2^k`` gathered
    rows with coefficients that depend only on ``|S|``. The same numbers as autograd through the ``4^k``-wide
    mixture (:class:`_SoftKmers`), for ``2^k / 4^k`` of its cost."""

    def __init__(self, table: torch.Tensor, k: int):
        self.k = k
        sums = {2 ** k - 1: table.detach().double().reshape(*([4] * k), -1)}
        for mask in range(2 ** k - 2, -1, -1):  # each from a superset with one more position: one 4-way sum
            missing = next(i for i in range(k) if not mask >> (k - 1 - i) & 1)
            parent = mask | 1 << (k - 1 - missing)
            dim = sum(1 for i in range(missing) if parent >> (k - 1 - i) & 1)  # the axis of ``missing`` in the parent
            sums[mask] = sums[parent].sum(dim)
        blocks, self.offset, self.weights = [], np.zeros(2 ** k, dtype=np.int64), np.zeros((2 ** k, k), dtype=np.int64)
        self.size = np.array([bin(m).count("1") for m in range(2 ** k)])
        self.block = np.zeros(k + 2, dtype=np.int64)  # rows of the subsets of size r: block[r] .. block[r + 1]
        row = 0
        for mask in sorted(range(2 ** k), key=lambda m: self.size[m]):  # grouped by |S|
            keep = [i for i in range(k) if mask >> (k - 1 - i) & 1]  # bit k-1-i: position i
            blocks.append(sums[mask].reshape(4 ** len(keep), -1))
            self.offset[mask] = row
            for rank, i in enumerate(keep):
                self.weights[mask, i] = 4 ** (len(keep) - 1 - rank)
            row += 4 ** len(keep)
            self.block[len(keep) + 1] = row
        self.rows = torch.cat(blocks).to(table.dtype)  # (5^k, H)
        self.gradient_rows = np.zeros((k, 4, 2 ** (k - 1), k), dtype=np.int64), np.zeros((k, 4, 2 ** (k - 1)), dtype=np.int64)
        for j in range(k):  # row of Q_U[x_(U - j), b at j] = offset[U] + codes @ weights[U] without j + b * weights[U, j]
            masks = np.array([m for m in range(2 ** k) if m >> (k - 1 - j) & 1])
            w = self.weights[masks].copy()
            self.gradient_rows[1][j] = self.offset[masks][None, :] + np.arange(4)[:, None] * w[:, j][None, :]
            w[:, j] = 0
            self.gradient_rows[0][j] = w[None]

    def forward_terms(self, codes: np.ndarray) -> torch.Tensor:
        """``codes`` ``(T, k)`` -> ``F`` ``(T, k + 1, H)``: ``F[t, r] = sum over |S| = r of Q_S[x_S]``."""
        index = torch.from_numpy(codes @ self.weights.T + self.offset)  # (T, 2^k)
        group = torch.from_numpy((self.size[None, :] == np.arange(self.k + 1)[:, None]).astype(np.float32))
        return torch.einsum("rs,tsh->trh", group.to(self.rows.dtype), self.rows[index])

    def gradient(self, codes: np.ndarray, weighted: torch.Tensor) -> torch.Tensor:
        """``(T, k, 4)``: ``sum_(r, h) weighted[t, r, h] * D[t, j, b, r, h]``, the step-weighted gradient of the score
        in ``X[t + j, b]``, with ``D[t, j, b, r] = sum over S not holding j, |S| = r, of Q_(S + j)[x_S, b at j]``.

        ``weighted`` ``(T, k, H)``: per token and ``|S|``, the gradients at the embedding summed over the steps
        with each step's weight and coefficient. Every row of ``Q`` of subsets of size ``r + 1`` is dotted with
        ``weighted[:, r]`` in one matrix product, then the ``k * 4 * 2^(k-1)`` values each token needs are gathered."""
        t = len(codes)
        dots = torch.empty(len(self.rows), t, dtype=weighted.dtype, device=weighted.device)
        for r in range(self.k):
            lo, hi = self.block[r + 1], self.block[r + 2]
            dots[lo:hi] = self.rows[lo:hi] @ weighted[:, r].T
        w, base = self.gradient_rows
        rows = np.einsum("ti,jbni->tjbn", codes, w) + base[None]  # (T, k, 4, 2^(k-1))
        flat = torch.from_numpy(rows * t + np.arange(t)[:, None, None, None]).to(weighted.device)
        return dots.reshape(-1)[flat.reshape(-1)].reshape(rows.shape).sum(-1)


def _base_ig(explained, sequences, target, n_steps, internal_batch_size, progress):
    """Per sequence: (hypothetical ``(L, 4)``, bases ``(L,)``, s(x), s(reference), completeness gap).

    The path points of several sequences go through one forward/backward pass (``internal_batch_size``
    rows, default :data:`DEFAULT_IG_ROWS`; sequences of one token length share passes); the soft k-mer
    embeddings and their derivatives come from :class:`_KmerSubsetSums`, and autograd runs from the
    score to the embeddings only (no weight gradients)."""
    return _PooledBaseIG(explained, target, n_steps, internal_batch_size).run(sequences, progress)


class _PooledBaseIG:
    """The state of :func:`_base_ig`: the path's coefficients, the k-mer subset sums, and the hook that puts each
    pass's soft embeddings in place of the embedding layer's output."""

    def __init__(self, explained, target, n_steps, internal_batch_size):
        self.explained, self.target = explained, target
        self.model, self.tok = explained.model, explained.tokenizer
        self.device = next(self.model.parameters()).device
        self.embedding = self.model.get_input_embeddings()
        k = self.k = int(self.tok.kmer)
        alphas, weights = _path_steps(n_steps, k)
        # two more rows per sequence, weight 0: alpha 1 is the sequence itself, alpha 0 the reference
        alphas, weights = np.concatenate([alphas, [1.0, 0.0]]), np.concatenate([weights, [0.0, 0.0]])
        c0, c1 = torch.tensor((1 - alphas) / 4), torch.tensor(alphas)
        powers = torch.arange(k + 1, dtype=torch.float64)
        self.coef_f = (c1[:, None] ** powers * c0[:, None] ** (k - powers)).float()  # (steps, k+1): c1^r c0^(k-r)
        self.coef_g = (c1[:, None] ** powers[:k] * c0[:, None] ** (k - 1 - powers[:k])
                       * torch.tensor(weights)[:, None]).float()
        self.sums = _KmerSubsetSums(self.embedding.weight.detach().float()[torch.from_numpy(kmer_lut(self.tok))], k)
        self.sums.rows = self.sums.rows.to(self.device)
        self.rows_per_pass = max(1, internal_batch_size or DEFAULT_IG_ROWS)
        self.steps = len(alphas)
        self.state = {}

    def hook(self, module, inputs, output):
        if "emb" not in self.state:
            return output
        return torch.where(self.state["mask"][..., None], self.state["emb"].to(output.dtype), output)

    def layout(self, s: str) -> dict:
        """A sequence's token ids, which tokens are soft (no N), their k-mer codes and forward terms, its region matrix."""
        enc = self.tok(s, return_offsets_mapping=True)
        offsets = [tuple(o) for o in enc["offset_mapping"]]
        soft = np.array([b > a and "N" not in s[a:b] for a, b in offsets])
        starts = np.array([a for a, _ in offsets])[soft]
        codes = encode_codes(s)[starts[:, None] + np.arange(self.k)]
        region = self.explained.region_matrix([s])
        return {"ids": torch.tensor(enc["input_ids"]), "soft": torch.from_numpy(soft), "starts": starts, "codes": codes,
                "F": self.sums.forward_terms(codes).float().to(self.device),
                "region": region.to(self.device) if region is not None else None}

    def run(self, sequences, progress) -> list:
        self.bar = tqdm(total=len(sequences) * self.steps, desc="integrated gradients (path points)", unit="point",
                        disable=not progress)
        handle = self.embedding.register_forward_hook(self.hook)
        out = []
        try:  # groups of sequences: the per-sequence tables of a group are all that is held at a time
            with cls_only_last_layer(self.model):  # the same scores, the last layer for [CLS] only
                for g in range(0, len(sequences), IG_GROUP):
                    out += self.explain_group(sequences[g:g + IG_GROUP])
        finally:
            handle.remove()
            self.state.clear()
            self.bar.close()
        return out

    def explain_group(self, sequences: list[str]) -> list:
        layouts = [self.layout(s) for s in sequences]
        hidden = self.embedding.weight.shape[1]
        accumulated = [torch.zeros(int(lay["soft"].sum()), self.k, hidden, device=self.device) for lay in layouts]
        ends = np.zeros((len(sequences), 2))
        by_length: dict[int, list[int]] = {}
        for i, lay in enumerate(layouts):
            by_length.setdefault(len(lay["ids"]), []).append(i)
        work = [(i, a) for group in by_length.values() for i in group for a in range(self.steps)]
        lo = 0
        while lo < len(work):  # one pass: up to rows_per_pass path points of sequences of one token length
            length = len(layouts[work[lo][0]]["ids"])
            hi = lo
            while hi < len(work) and hi - lo < self.rows_per_pass and len(layouts[work[hi][0]]["ids"]) == length:
                hi += 1
            self.one_pass(work[lo:hi], layouts, accumulated, ends)
            self.bar.update(hi - lo)
            lo = hi
        return [self.finish(s, lay, accumulated[i], ends[i]) for i, (s, lay) in enumerate(zip(sequences, layouts))]

    def one_pass(self, chunk, layouts, accumulated, ends) -> None:
        """Forward and input-gradient backward of the path points ``chunk`` ((sequence, step) pairs); each sequence's
        step-weighted embedding gradients go to ``accumulated``, its scores at the two ends to ``ends``."""
        device, length = self.device, len(layouts[chunk[0][0]]["ids"])
        seqs = list(dict.fromkeys(i for i, _ in chunk))
        steps_of = {i: [a for j, a in chunk if j == i] for i in seqs}
        parts = []
        for i in seqs:
            lay = layouts[i]
            with torch.autocast(device.type, enabled=False):  # the k-mer algebra stays fp32 under an outer autocast
                soft_emb = torch.einsum("nr,trh->nth", self.coef_f[torch.tensor(steps_of[i])].to(device), lay["F"])
            full = torch.zeros(len(steps_of[i]), length, soft_emb.shape[-1], device=device)
            full[:, lay["soft"].to(device)] = soft_emb
            parts.append(full)
        emb = torch.cat(parts).requires_grad_(True)
        rows = [i for i, _ in chunk]
        ids = torch.stack([layouts[i]["ids"] for i in rows]).to(device)
        self.state["emb"], self.state["mask"] = emb, torch.stack([layouts[i]["soft"] for i in rows]).to(device)
        kwargs = {}
        if layouts[rows[0]]["region"] is not None:
            kwargs["region_matrix"] = torch.cat([layouts[i]["region"] for i in rows])
        score = class_score(self.model(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs).logits, self.target)
        g_emb, = torch.autograd.grad(score.sum(), emb)
        self.state.clear()
        score = score.detach().cpu().numpy()
        at = 0
        for i in seqs:
            n = len(steps_of[i])
            g = g_emb[at:at + n][:, layouts[i]["soft"].to(device)].float()  # (n, T_soft, H)
            with torch.autocast(device.type, enabled=False):
                accumulated[i] += torch.einsum("nth,nr->trh", g, self.coef_g[torch.tensor(steps_of[i])].to(device))
            for a, value in zip(steps_of[i], score[at:at + n]):
                if a >= self.steps - 2:
                    ends[i, a - (self.steps - 2)] = value
            at += n

    def finish(self, s: str, lay: dict, accumulated: torch.Tensor, ends: np.ndarray) -> tuple:
        """One sequence's per-base gradient from its tokens' accumulated gradients; its attributions and gap."""
        x = torch.from_numpy(one_hot(s)).to(self.device)
        known = (x.sum(-1, keepdim=True) > 0).float()
        ref = known.expand_as(x) * 0.25
        grad = torch.zeros_like(x)
        starts = torch.from_numpy(lay["starts"]).to(self.device)
        with torch.autocast(self.device.type, enabled=False):
            per_token = self.sums.gradient(lay["codes"], accumulated)  # (T_soft, k, 4)
        for j in range(self.k):
            grad.index_add_(0, starts + j, per_token[:, j])
        grad = grad * known
        attr = ((x - ref) * grad).sum(-1)
        hyp = (grad - grad.mean(-1, keepdim=True)) * known
        bases = attr.detach().cpu().numpy().astype(np.float32)
        return (hyp.detach().cpu().numpy().astype(np.float32), bases, float(ends[0]), float(ends[1]),
                float(bases.sum() - (ends[0] - ends[1])))


def _base_ig_reference(explained, sequences, target, n_steps, internal_batch_size=None, progress=False):
    """The definition, by autograd through :class:`_SoftKmers` (a ``4^k``-wide mixture per token and step), one
    sequence at a time: what :func:`_base_ig` computes in closed form. Kept for the tests and
    ``benchmarks/explain_speed.py``. Per sequence: (hypothetical ``(L, 4)``, bases ``(L,)``, s(x), s(reference), gap)."""
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
