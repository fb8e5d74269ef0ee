"""Latent reweighting, Issenhuth et al. 2022 (WACV), "Latent reweighting, an almost free
improvement for GANs". A small network w_phi(z) >= 0 reweights the prior gamma(z) so that
G#(w gamma) is closer (in Wasserstein-1) to the data than G#gamma. With a critic D held
fixed, the dual of W1 gives (E_data[D] is constant in phi) the loss

    L(phi) = - E_{z~gamma}[ w_phi(z) D^(G(z)) ]
             + lambda_1 ( E_{z~gamma}[w_phi(z)] - 1 )^2                         (normalisation)
             + lambda_2 E_{z~gamma}[ max(0, w_phi(z) - m)^2 ]                    (regularisation)

where D^ is the critic score standardised on the latent pool (why: the critic's scale is
arbitrary, and lambda_1, lambda_2 must mean the same for every critic). The normalisation
term makes w a density ratio (E w = 1); the regulariser caps the weights near m, which
stops w from collapsing onto the single best z and sets the acceptance rate of latent
rejection to about E[w] / m = 1 / m. This is our reading of the paper's objective, written
from memory of it; the paper also updates the critic against the reweighted generator
(a min-max), which here is not done: the critic stays frozen, so with the cap the optimum
puts w = m on the best 1/m of the latents by critic score and w = 0 elsewhere.
Two samplers use w: rejection in latent space, accept z with probability w(z) / max w
(:func:`latent_rejection_sample`; only accepted z go through G: the "almost free" part), and
latent gradient ascent z <- z + eta grad_z w(z) for a few steps before one G call
(:func:`latent_ascent_sample`).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from ..config import progress_bar
from ._common import _check_n, _first, _generate, _latents, _scores, _stats, _z_dim


class LatentWeightNet(nn.Module):
    """w_phi(z): (N, z_dim) -> importance weights (N,) >= 0 (an MLP with a softplus output)."""

    def __init__(self, z_dim: int, hidden=(128, 128)):
        super().__init__()
        dims = [int(z_dim), *hidden, 1]
        layers = []
        for i in range(len(dims) - 1):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                layers.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*layers)
        self.z_dim = int(z_dim)

    def forward(self, z):
        return F.softplus(self.net(z)).squeeze(1)


def latent_weight_loss(w: torch.Tensor, scores: torch.Tensor, m: float = 3.0, lambda_norm: float = 50.0,
                       lambda_reg: float = 10.0) -> torch.Tensor:
    """Return -E[w D^] + lambda_norm (E[w] - 1)^2 + lambda_reg E[max(0, w - m)^2] for weights and scores (N,): scalar."""
    return (-(w * scores).mean() + lambda_norm * (w.mean() - 1).pow(2)
            + lambda_reg * F.relu(w - m).pow(2).mean())


def train_latent_weights(G, D, seed: int = 0, n_latents: int = 20_000, steps: int = 2000, batch_size: int = 512,
                         lr: float = 1e-3, m: float = 3.0, lambda_norm: float = 50.0, lambda_reg: float = 10.0,
                         hidden=(128, 128), progress: bool = True):
    """Return a trained :class:`LatentWeightNet` w(z) against the frozen critic ``D``, and stats (history, generator calls).

    The critic's scores on a pool of ``n_latents`` latents are computed once (G and D frozen)
    and standardised; w is trained on minibatches of that pool with :func:`latent_weight_loss`.
    ``m`` caps the weights (latent rejection then accepts about 1/m of the proposals).
    """
    if m <= 1:
        raise ValueError(f"the weight cap m must be > 1 (E[w] = 1), got {m}")
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    z_dim = _z_dim(G)
    z_pool = _latents(gen, n_latents, z_dim)
    scores = torch.cat([_scores(D, _generate(G, z_pool[i:i + 1000])) for i in range(0, n_latents, 1000)])
    scores = (scores - scores.mean()) / scores.std().clamp_min(1e-8)
    torch.manual_seed(seed)  # nn.Linear init reads the global RNG; seed it here, explicitly
    w_net = LatentWeightNet(z_dim, hidden)
    opt = torch.optim.Adam(w_net.parameters(), lr=lr)
    history = []
    for step in progress_bar(range(steps), desc="train w(z)", enabled=progress):
        idx = torch.randint(n_latents, (batch_size,), generator=gen)
        loss = latent_weight_loss(w_net(z_pool[idx]), scores[idx], m, lambda_norm, lambda_reg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    w_net.eval().requires_grad_(False)
    with torch.no_grad():
        w_pool = w_net(z_pool)
    return w_net, {"generator_calls": n_latents, "wall_time_s": time.perf_counter() - t0, "history": history,
                   "mean_weight": float(w_pool.mean()), "max_weight": float(w_pool.max()),
                   "score_weight_corr": float(torch.corrcoef(torch.stack([w_pool, scores]))[0, 1])}


def latent_rejection_sample(G, w_net, n: int, seed: int = 0, burn_in: int = 10_000, batch_size: int = 1000,
                            max_proposals: int | None = None, keep_rejected: int = 0, progress: bool = True):
    """Return ``n`` samples G(z) (n, *out_shape) with z accepted with probability w(z) / max w, and stats.

    max w is estimated on ``burn_in`` prior latents (w only: no generator call) and raised when
    exceeded; only accepted latents go through G, so ``generator_calls`` equals ``n`` (the
    ``keep_rejected`` rejected latents shown in figures are generated on top, uncounted).
    """
    _check_n(n)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    z_dim = w_net.z_dim
    with torch.no_grad():
        w_max = float(w_net(_latents(gen, burn_in, z_dim)).max())
        max_proposals = max_proposals or 1000 * n + 100_000
        kept, n_kept, proposed, rejected = [], 0, 0, []
        while n_kept < n:
            if proposed >= max_proposals:
                raise RuntimeError(f"latent rejection accepted {n_kept} of {proposed}: is w(z) near 0 everywhere?")
            z = _latents(gen, batch_size, z_dim)
            w = w_net(z)
            running = torch.cummax(torch.cat([torch.tensor([w_max]), w]), 0).values[1:]
            w_max = float(running[-1])
            accept = torch.rand(batch_size, generator=gen) < w / running
            if sum(r.shape[0] for r in rejected) < keep_rejected:
                rejected.append(z[~accept][:keep_rejected])
            take = z[accept][: n - n_kept]
            kept.append(take)
            n_kept += take.shape[0]
            proposed += batch_size if n_kept < n else int(torch.nonzero(accept)[take.shape[0] - 1]) + 1
    z = torch.cat(kept)
    x = torch.cat([_generate(G, z[i:i + batch_size]) for i in progress_bar(range(0, n, batch_size), desc="latent rejection",
                                                                       enabled=progress)])
    stats = _stats(n, proposed, n, t0, w_max=w_max, w_evaluations=burn_in + proposed)
    z_rej = _first(rejected, keep_rejected)
    stats["rejected"] = _generate(G, z_rej) if z_rej is not None else None
    return x, stats


def latent_ascent_sample(G, w_net, n: int, seed: int = 0, steps: int = 10, step_size: float = 0.05,
                         batch_size: int = 1000, progress: bool = True):
    """Return ``n`` samples G(z_K) (n, *out_shape) after K steps z <- z + eta grad_z w(z) from z ~ N(0, I), and stats.

    Every proposal is kept (acceptance rate 1) and G runs once per sample; the cost is
    ``steps`` forward and backward passes of the small w network.
    """
    _check_n(n)
    if steps < 0 or step_size < 0:
        raise ValueError(f"steps and step_size must be >= 0, got {steps}, {step_size}")
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    z = _latents(gen, n, w_net.z_dim)
    w_before = w_net(z).detach()
    for _ in range(steps):
        z = z.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(w_net(z).sum(), z)
        z = z + step_size * grad
    z = z.detach()
    w_after = w_net(z).detach()
    x = torch.cat([_generate(G, z[i:i + batch_size]) for i in progress_bar(range(0, n, batch_size), desc="latent ascent",
                                                                       enabled=progress)])
    return x, _stats(n, n, n, t0, mean_w_before=float(w_before.mean()), mean_w_after=float(w_after.mean()))
