"""Discriminator rejection sampling (Azadi et al. 2019, "Discriminator Rejection Sampling", Sec. 3
and Algorithm 1). With the optimal BCE discriminator D*(x) = p_d / (p_d + p_g), its
logit is the log density ratio, D~(x) = log p_d(x) / p_g(x). Rejection sampling from p_g
accepts x with probability p_d(x) / (M p_g(x)) = exp(D~(x) - D~_M), D~_M = max D~. The
paper estimates D~_M on a burn-in set (and raises it when a larger logit is seen), and
accepts with probability sigmoid(F),

    F(x) = D~(x) - D~_M - log(1 - exp(D~(x) - D~_M - eps)) - gamma.            (Eq. 8)

With gamma = 0 and eps -> 0, sigmoid(F) = exp(D~ - D~_M): exact rejection sampling.
gamma > 0 lowers every acceptance probability (a precision/recall knob); :func:`drs_gamma`
picks it for a target acceptance rate on the burn-in set. The logits must be a density
ratio: :func:`finetune_discriminator` keeps training D with BCE against a frozen G first
(the paper's step 1). A WGAN critic's scores are *not* a log density ratio (they are a
1-Lipschitz potential, defined up to a constant and scale), so DRS on raw critic scores
is not rejection sampling from anything. For a WGAN critic, either fine-tune it with BCE
(:func:`finetune_discriminator` works on any network with scalar output) or fit a logistic
calibration a f(x) + b on the frozen critic (:func:`calibrate_critic`), which is a density
ratio only to the extent that log p_d / p_g is affine in the critic's score.
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

from .. import losses as L
from ..config import progress_bar
from ._common import check_budget, _check_n, _device_of, _first, _generate, _latents, _scores, _stats, _z_dim


def finetune_discriminator(G, D, real: torch.Tensor, steps: int = 500, batch_size: int = 64, lr: float = 2e-4,
                           seed: int = 0, progress: bool = True):
    """Return a copy of ``D`` trained further with BCE on ``real`` (N, ...) vs G(z), G frozen, and its loss history (list).

    Azadi et al. 2019, Sec. 3.1: the discriminator of a trained GAN is not optimal for the
    final G; a few more BCE steps with G fixed bring its logit closer to log p_d / p_g.
    Works on any network with a scalar output, including a WGAN critic (which it turns into a
    classifier; that is the point).
    """
    if steps < 1 or batch_size < 1 or batch_size > real.shape[0]:
        raise ValueError(f"need steps >= 1 and 1 <= batch_size <= len(real) ({real.shape[0]}), got steps={steps}, batch_size={batch_size}")
    if getattr(D, "pack", 1) > 1:
        raise ValueError(f"this discriminator is a PacGAN one (pack={D.pack}): it judges packs of samples and cannot score "
                         "one sample; fine-tune a plain ganlib.Discriminator of the same data shape instead")
    D = copy.deepcopy(D)
    device = _device_of(D)
    D.train()
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    z_dim = _z_dim(G)
    history = []
    for _ in progress_bar(range(steps), desc="fine-tune D", enabled=progress):
        idx = torch.randint(real.shape[0], (batch_size,), generator=gen)
        fake = _generate(G, _latents(gen, batch_size, z_dim))
        out = D(torch.cat([real[idx].to(device), fake.to(device)]))
        loss = L.d_loss_bce(out[:batch_size], out[batch_size:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    return D.eval(), history


class CalibratedCritic(nn.Module):
    """Logits a * f(x) + b (N,) of a frozen critic f, fitted with BCE (logistic / Platt calibration)."""

    def __init__(self, critic: nn.Module):
        super().__init__()
        self.critic = critic.requires_grad_(False)
        self.a = nn.Parameter(torch.ones(()))
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.a * self.critic(x).reshape(-1) + self.b


def calibrate_critic(G, critic, real: torch.Tensor, n: int = 5000, steps: int = 500, lr: float = 0.05, seed: int = 0):
    """Return a :class:`CalibratedCritic` whose logits a f(x) + b separate ``real`` from G(z) under BCE, and the final loss."""
    gen = torch.Generator().manual_seed(seed)
    n = min(n, real.shape[0])
    idx = torch.randperm(real.shape[0], generator=gen)[:n]
    fake = _generate(G, _latents(gen, n, _z_dim(G)))
    model = CalibratedCritic(copy.deepcopy(critic).eval())
    s_real, s_fake = _scores(critic, real[idx]), _scores(critic, fake)
    # fit on standardised scores (well conditioned), then fold the standardisation into a, b
    mu, sd = torch.cat([s_real, s_fake]).mean(), torch.cat([s_real, s_fake]).std().clamp_min(1e-8)
    a, b = torch.zeros((), requires_grad=True), torch.zeros((), requires_grad=True)
    opt = torch.optim.LBFGS([a, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")
    u_real, u_fake = (s_real - mu) / sd, (s_fake - mu) / sd

    def closure():
        opt.zero_grad()
        loss = L.d_loss_bce(a * u_real + b, a * u_fake + b)
        loss.backward()
        return loss

    loss = opt.step(closure)
    with torch.no_grad():
        model.a.copy_(a / sd)
        model.b.copy_(b - a * mu / sd)
    return model.to(_device_of(critic)).eval(), float(loss.detach())


def drs_acceptance_prob(logits, max_logit, gamma=0.0, eps=1e-6):
    """Return sigmoid(F) of Azadi et al. 2019, Eq. 8, for D's logits (N,)
    given their maximum D~_M and the shift gamma: (N,) in [0, 1]."""
    # D~_M is raised to any larger logit before this is used
    d = (logits - max_logit).clamp(max=0.0)
    # F = d - log(1 - exp(d - eps)) - gamma; log(1 - exp(.)) computed
    # stably as log(-expm1(.))
    f = d - torch.log(-torch.expm1(d - eps)) - gamma
    return torch.sigmoid(f)


def drs_gamma(logits: torch.Tensor, max_logit=None, target_acceptance: float = 0.5, eps: float = 1e-6) -> float:
    """Return the gamma whose mean acceptance probability on burn-in logits (N,) equals ``target_acceptance`` (bisection)."""
    if not 0 < target_acceptance < 1:
        raise ValueError(f"target_acceptance must be in (0, 1), got {target_acceptance}")
    logits = logits.double()
    max_logit = float(logits.max()) if max_logit is None else float(max_logit)
    lo, hi = -60.0, 60.0  # mean acceptance decreases monotonically in gamma
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if float(drs_acceptance_prob(logits, max_logit, mid, eps).mean()) > target_acceptance:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def drs_sample(G, D, n: int, seed: int = 0, gamma: float | None = 0.0, target_acceptance: float | None = None,
               burn_in: int = 10_000, batch_size: int = 1000, eps: float = 1e-6, max_proposals: int | None = None,
               keep_rejected: int = 0, progress: bool = True):
    """Return ``n`` samples (n, *out_shape) accepted by discriminator rejection sampling, and stats.

    ``D`` returns logits (N,) estimating log p_d / p_g (see :func:`finetune_discriminator`,
    :func:`calibrate_critic`). ``gamma`` shifts F (0: exact rejection sampling); with
    ``target_acceptance`` set, gamma is chosen on the burn-in by :func:`drs_gamma` instead.
    D~_M starts as the burn-in maximum and is raised, sample by sample, when exceeded.
    ``keep_rejected`` > 0 keeps that many rejected samples in ``stats['rejected']`` (for figures).
    """
    _check_n(n)
    if burn_in < 1:
        raise ValueError(f"burn_in must be >= 1 sample, got {burn_in}")
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    z_dim = _z_dim(G)
    burn_logits = torch.cat([_scores(D, _generate(G, _latents(gen, min(batch_size, burn_in - i), z_dim)))
                             for i in range(0, burn_in, batch_size)])
    max_logit = float(burn_logits.max())
    if target_acceptance is not None:
        gamma = drs_gamma(burn_logits, max_logit, target_acceptance, eps)
    elif gamma is None:
        raise ValueError("give gamma (0 for exact rejection sampling) or target_acceptance")
    max_proposals = max_proposals or 1000 * n + 100_000
    advice = "Lower gamma, or pass target_acceptance (e.g. 0.1) to choose gamma on the burn-in"
    # The burn-in's mean acceptance probability predicts the rate (D~_M only grows, so it is optimistic):
    # a request that cannot finish within max_proposals fails here, before the first proposal.
    check_budget("DRS", n, 0, 0, float(drs_acceptance_prob(burn_logits, max_logit, gamma, eps).mean()), max_proposals, advice)
    kept, n_kept, proposed = [], 0, 0
    probs_seen, rejected, prob_sum = [], [], 0.0
    with progress_bar(total=n, desc="DRS", unit="sample", enabled=progress) as bar:
        while n_kept < n:
            if probs_seen:  # the mean acceptance probability so far predicts the rest
                check_budget("DRS", n, n_kept, proposed, prob_sum / (len(probs_seen) * batch_size), max_proposals, advice)
            x = _generate(G, _latents(gen, batch_size, z_dim))
            logits = _scores(D, x)
            # Algorithm 1 raises D~_M when a larger logit appears; cummax does that sample by sample
            running_max = torch.cummax(torch.cat([torch.tensor([max_logit]), logits]), 0).values[1:]
            max_logit = float(running_max[-1])
            p = drs_acceptance_prob(logits, running_max, gamma, eps)
            accept = torch.rand(batch_size, generator=gen) < p
            probs_seen.append(p)
            prob_sum += float(p.sum())
            if sum(r.shape[0] for r in rejected) < keep_rejected:
                rejected.append(x[~accept.to(x.device)][:keep_rejected])
            take = x[accept.to(x.device)][: n - n_kept]
            kept.append(take)
            n_kept += take.shape[0]
            # count proposals up to the n-th acceptance, so the acceptance rate is not biased by the last batch
            proposed += batch_size if n_kept < n else int(torch.nonzero(accept)[take.shape[0] - 1]) + 1
            bar.update(take.shape[0])
    probs = torch.cat(probs_seen)
    return torch.cat(kept), _stats(n, proposed, burn_in + len(probs_seen) * batch_size, t0, gamma=float(gamma),
                                   max_logit=max_logit, burn_in=burn_in, mean_accept_prob=float(probs.mean()),
                                   rejected=_first(rejected, keep_rejected))
