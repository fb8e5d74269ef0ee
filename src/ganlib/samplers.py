"""Samplers that improve a trained generator without retraining it.

Every sampler is a plain function ``f(G, ..., n, seed, ...) -> (samples, stats)`` returning
exactly ``n`` samples (n, *out_shape) and a dict with at least ``acceptance_rate`` (accepted /
proposed), ``generator_calls`` (samples pushed through G by this call, burn-in and fitting
included) and ``wall_time_s``. One-off training (fine-tuning D, training w) is reported by the
function that does it, under the same keys where they apply.

1. Discriminator rejection sampling, Azadi et al. 2019, "Discriminator Rejection Sampling",
   Sec. 3 and Algorithm 1. With the optimal BCE discriminator D*(x) = p_d / (p_d + p_g), its
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

2. Inception-Score rejection (lab report 000): draw batches, keep a batch when its Inception
   Score (Salimans et al. 2016), exp(E_x KL(p(y|x) || p(y))) under an MNIST classifier, passes
   a threshold; :func:`is_rejection_sample`.

3. Latent reweighting, Issenhuth et al. 2022 (WACV), "Latent reweighting, an almost free
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

4. Class-wise latent refit (lab report 002): classify generated samples, keep per class the
   ones most similar to real data (cosine similarity to the nearest real image, batched with
   bounded memory) above a class-specific threshold (a quantile of that class's similarities),
   test each kept latent dimension for normality (Shapiro-Wilk), fit a diagonal Gaussian
   N(mu_c, diag sigma_c^2) per class and sample a class-balanced set from the mixture:
   :func:`fit_classwise_latents`, :func:`classwise_sample`.
"""

from __future__ import annotations

import copy
import dataclasses
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import losses as L
from .config import progress_bar
from .metrics import inception_score
from .images import sample


# ----------------------------------------------------------------------------- helpers


def _device_of(module) -> torch.device:
    try:
        return next(module.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _check_n(n):
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer number of samples, got {n}")


def _z_dim(G) -> int:
    z_dim = getattr(G, "z_dim", None)
    if z_dim is None:
        raise ValueError("G must have an attribute z_dim (a ganlib Generator, or a callable z -> samples with .z_dim)")
    return int(z_dim)


def _latents(gen: torch.Generator, n: int, z_dim: int) -> torch.Tensor:
    """Draw z ~ N(0, I) on the CPU from ``gen`` (so results do not depend on the device)."""
    return torch.randn(n, z_dim, generator=gen)


def _generate(G, z: torch.Tensor) -> torch.Tensor:
    """G(z) for given latents (n, z_dim), through ``ganlib.sample`` (eval mode, no gradients)."""
    return sample(G, z.shape[0], z=z, batch_size=z.shape[0])


@torch.no_grad()
def _scores(D, x: torch.Tensor) -> torch.Tensor:
    was_training = getattr(D, "training", False)
    if isinstance(D, nn.Module):
        D.eval()
    try:
        return D(x.to(_device_of(D))).reshape(-1).float().cpu()
    finally:
        if isinstance(D, nn.Module):
            D.train(was_training)


def _first(chunks, k):
    """Concatenate a list of tensors and keep the first k rows (None when k = 0 or nothing was kept)."""
    return torch.cat(chunks)[:k] if k > 0 and chunks else None


def _stats(accepted, proposed, generator_calls, t0, **extra) -> dict:
    stats = {
        "acceptance_rate": accepted / max(proposed, 1),
        "generator_calls": int(generator_calls),
        "wall_time_s": time.perf_counter() - t0,
        "n_proposed": int(proposed),
        "n_accepted": int(accepted),
    }
    stats.update(extra)
    return stats


# ------------------------------------------------------------- 1. discriminator rejection


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
    kept, n_kept, proposed = [], 0, 0
    probs_seen, rejected = [], []
    bar = progress_bar(total=n, desc="DRS", unit="sample", enabled=progress)
    while n_kept < n:
        if proposed >= max_proposals:
            bar.close()
            raise RuntimeError(f"DRS accepted only {n_kept} of {proposed} proposals: lower gamma or target a higher acceptance rate")
        x = _generate(G, _latents(gen, batch_size, z_dim))
        logits = _scores(D, x)
        # Algorithm 1 raises D~_M when a larger logit appears; cummax does that sample by sample
        running_max = torch.cummax(torch.cat([torch.tensor([max_logit]), logits]), 0).values[1:]
        max_logit = float(running_max[-1])
        p = drs_acceptance_prob(logits, running_max, gamma, eps)
        accept = torch.rand(batch_size, generator=gen) < p
        probs_seen.append(p)
        if sum(r.shape[0] for r in rejected) < keep_rejected:
            rejected.append(x[~accept.to(x.device)][:keep_rejected])
        take = x[accept.to(x.device)][: n - n_kept]
        kept.append(take)
        n_kept += take.shape[0]
        # count proposals up to the n-th acceptance, so the acceptance rate is not biased by the last batch
        proposed += batch_size if n_kept < n else int(torch.nonzero(accept)[take.shape[0] - 1]) + 1
        bar.update(take.shape[0])
    bar.close()
    probs = torch.cat(probs_seen)
    return torch.cat(kept), _stats(n, proposed, burn_in + len(probs_seen) * batch_size, t0, gamma=float(gamma),
                                   max_logit=max_logit, burn_in=burn_in, mean_accept_prob=float(probs.mean()),
                                   rejected=_first(rejected, keep_rejected))


# ------------------------------------------------------------ 2. Inception-Score rejection


def batch_inception_score(probs: torch.Tensor) -> float:
    """Return the Inception Score of one batch of class probabilities (N, C): ``ganlib.metrics.inception_score``
    with one split, a float in [1, C]."""
    return inception_score(probs, splits=1)["is_mean"]


def _default_classifier():
    try:
        from .features import class_probs
    except ImportError as err:
        raise ImportError("no classifier given and ganlib.features (the evaluation suite) is not installed: "
                          "pass classifier=callable images -> probabilities (N, 10)") from err
    return class_probs


def is_threshold(G, classifier: Callable | None = None, target_acceptance: float = 0.5, n_batches: int = 50,
                 batch_size: int = 100, seed: int = 0) -> tuple[float, torch.Tensor]:
    """Return the IS threshold that ``target_acceptance`` of burn-in batches pass, and the burn-in scores (n_batches,)."""
    if not 0 < target_acceptance <= 1:
        raise ValueError(f"target_acceptance must be in (0, 1], got {target_acceptance}")
    classifier = classifier or _default_classifier()
    gen = torch.Generator().manual_seed(seed)
    scores = torch.tensor([batch_inception_score(classifier(_generate(G, _latents(gen, batch_size, _z_dim(G)))))
                           for _ in range(n_batches)])
    return float(torch.quantile(scores.double(), 1 - target_acceptance)), scores


def is_rejection_sample(G, n: int, threshold: float, seed: int = 0, classifier: Callable | None = None,
                        batch_size: int = 100, max_proposals: int | None = None, keep_rejected: int = 0, progress: bool = True):
    """Return ``n`` samples (n, *out_shape) from batches of ``batch_size`` whose Inception Score is >= ``threshold``, and stats.

    ``classifier`` maps images (B, ...) to class probabilities (B, C); default
    ``ganlib.features.class_probs``. The last accepted batch is cut to make exactly ``n``.
    """
    _check_n(n)
    classifier = classifier or _default_classifier()
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    max_proposals = max_proposals or 1000 * n + 100_000
    kept, n_kept, proposed, accepted_batches, scores, rejected = [], 0, 0, 0, [], []
    bar = progress_bar(total=n, desc="IS rejection", unit="sample", enabled=progress)
    while n_kept < n:
        if proposed * batch_size >= max_proposals:
            bar.close()
            raise RuntimeError(f"only {accepted_batches} of {proposed} batches passed IS >= {threshold}: lower the threshold")
        x = _generate(G, _latents(gen, batch_size, _z_dim(G)))
        score = batch_inception_score(classifier(x))
        scores.append(score)
        proposed += 1
        if score >= threshold:
            accepted_batches += 1
            take = x[: n - n_kept]
            kept.append(take)
            n_kept += take.shape[0]
            bar.update(take.shape[0])
        elif sum(r.shape[0] for r in rejected) < keep_rejected:
            rejected.append(x[:keep_rejected])
    bar.close()
    return torch.cat(kept), _stats(accepted_batches, proposed, proposed * batch_size, t0, threshold=float(threshold),
                                   mean_batch_is=float(np.mean(scores)), batch_size=batch_size,
                                   rejected=_first(rejected, keep_rejected))


# --------------------------------------------------------------- 3. latent reweighting


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


# ------------------------------------------------------------- 4. class-wise latent refit


@torch.no_grad()
def nearest_real_cosine(fake: torch.Tensor, real: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """Return, for each fake (N, ...), the cosine similarity to its nearest real image (M, ...): (N,).

    Computed ``chunk`` fakes at a time, so memory is chunk x M similarities, not N x M.
    """
    r = F.normalize(real.reshape(real.shape[0], -1).float(), dim=1)
    out = []
    for i in range(0, fake.shape[0], chunk):
        f = F.normalize(fake[i:i + chunk].reshape(min(chunk, fake.shape[0] - i), -1).float().to(r.device), dim=1)
        out.append((f @ r.T).max(1).values.cpu())
    return torch.cat(out)


def fit_classwise_latents(G, real: torch.Tensor, classifier: Callable | None = None, n_fit: int = 20_000,
                          keep_fraction: float = 0.5, n_classes: int = 10, seed: int = 0, alpha: float = 0.05,
                          batch_size: int = 1000, min_per_class: int = 20, keep_examples: int = 0, progress: bool = True) -> dict:
    """Return a per-class diagonal Gaussian fit of the latents of the most real-like samples of each class.

    The dict holds ``mu`` and ``sigma`` (n_classes, z_dim), ``shapiro_p`` (n_classes, z_dim)
    Shapiro-Wilk p-values, ``normal_fraction`` (dims not rejected at ``alpha``), ``kept``
    (n_classes,) latents kept, ``thresholds`` (n_classes,) similarity thresholds, and
    ``generator_calls``, ``acceptance_rate``, ``wall_time_s`` of the fit. A class with fewer
    than ``min_per_class`` kept latents falls back to the prior N(0, I) (listed in ``fallback``).
    With ``keep_examples`` > 0, ``examples_kept`` / ``examples_rejected`` hold that many images.
    """
    from scipy.stats import shapiro

    if not 0 < keep_fraction <= 1:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    classifier = classifier or _default_classifier()
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    z_dim = _z_dim(G)
    z = _latents(gen, n_fit, z_dim)
    labels, sims, examples = [], [], []
    for i in progress_bar(range(0, n_fit, batch_size), desc="classify + similarity", enabled=progress):
        x = _generate(G, z[i:i + batch_size])
        labels.append(classifier(x).argmax(1).cpu())
        sims.append(nearest_real_cosine(x, real))
        if sum(e.shape[0] for e in examples) < 4 * keep_examples:
            examples.append(x.cpu())
    labels, sims = torch.cat(labels), torch.cat(sims)
    mu, sigma = torch.zeros(n_classes, z_dim), torch.ones(n_classes, z_dim)
    pvals = torch.full((n_classes, z_dim), float("nan"))
    kept, thresholds, fallback = torch.zeros(n_classes, dtype=torch.long), torch.full((n_classes,), float("nan")), []
    rng = np.random.default_rng(seed)
    for c in range(n_classes):
        in_c = labels == c
        if int(in_c.sum()) == 0:
            fallback.append(c)
            continue
        thresholds[c] = torch.quantile(sims[in_c], 1 - keep_fraction)  # a threshold per class: classes differ in typical similarity
        z_c = z[in_c & (sims >= thresholds[c])]
        kept[c] = z_c.shape[0]
        if z_c.shape[0] < min_per_class:
            fallback.append(c)
            continue
        mu[c], sigma[c] = z_c.mean(0), z_c.std(0)
        sub = z_c.numpy()[rng.permutation(z_c.shape[0])[:5000]]  # Shapiro-Wilk's p-value is valid up to N = 5000
        pvals[c] = torch.tensor([shapiro(sub[:, j]).pvalue for j in range(z_dim)])
    if fallback:
        warnings.warn(f"classes {fallback} kept fewer than {min_per_class} latents and are sampled from the prior N(0, I): "
                      "the class-wise sample is not class-balanced (is G covering these classes? raise n_fit)", stacklevel=2)
    tested = pvals[~torch.isnan(pvals)]
    keep_mask = sims >= thresholds.nan_to_num(float("inf"))[labels]
    ex = torch.cat(examples) if examples else None
    m = ex.shape[0] if ex is not None else 0
    return {"examples_kept": ex[keep_mask[:m]][:keep_examples] if keep_examples else None,
            "examples_rejected": ex[~keep_mask[:m]][:keep_examples] if keep_examples else None,"mu": mu, "sigma": sigma, "shapiro_p": pvals, "kept": kept, "thresholds": thresholds, "fallback": fallback,
            "normal_fraction": float((tested > alpha).float().mean()) if tested.numel() else float("nan"),
            "class_counts": torch.bincount(labels, minlength=n_classes), "generator_calls": n_fit,
            "acceptance_rate": int(kept.sum()) / n_fit, "wall_time_s": time.perf_counter() - t0}


def classwise_sample(G, fit: dict, n: int, seed: int = 0, batch_size: int = 1000, progress: bool = True):
    """Return ``n`` samples (n, *out_shape), class-balanced from the per-class Gaussians of ``fit``, shuffled, and stats.

    Class c gets n // C samples (the first n % C classes one more). ``generator_calls`` counts
    this call's n plus the fit's (``fit_generator_calls``); the acceptance rate is the fit's.
    """
    _check_n(n)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    mu, sigma = fit["mu"], fit["sigma"]
    n_classes = mu.shape[0]
    counts = [n // n_classes + (1 if c < n % n_classes else 0) for c in range(n_classes)]
    z = torch.cat([mu[c] + sigma[c] * _latents(gen, counts[c], mu.shape[1]) for c in range(n_classes)])
    z = z[torch.randperm(n, generator=gen)]
    x = torch.cat([_generate(G, z[i:i + batch_size]) for i in progress_bar(range(0, n, batch_size), desc="class-wise refit",
                                                                       enabled=progress)])
    stats = _stats(int(fit["kept"].sum()), fit["generator_calls"], n + fit["generator_calls"], t0,
                   sample_generator_calls=n, fit_generator_calls=fit["generator_calls"], normal_fraction=fit["normal_fraction"])
    stats["wall_time_s"] += fit["wall_time_s"]
    stats["sample_wall_time_s"] = time.perf_counter() - t0
    return x, stats


# ------------------------------------------------------------------ all four, for the book


@dataclass(frozen=True)
class SamplerSettings:
    """The settings of every sampler, for :func:`apply_samplers` (``from_preset`` reads the samplers preset)."""

    drs_acceptance: float = 0.3  # DRS: gamma is set so that this share of the burn-in is accepted
    finetune_steps: int = 300  # DRS: BCE steps on D with G frozen
    burn_in: int = 10_000  # DRS and latent rejection: burn-in samples
    is_acceptance: float = 0.5  # IS rejection: the threshold passes this share of burn-in batches
    is_batch_size: int = 100  # IS rejection: samples per scored batch
    is_burn_in_batches: int = 50  # IS rejection: batches scored to set the threshold
    w_cap: float = 3.0  # latent reweighting: weight cap m (latent rejection keeps about 1/m)
    w_steps: int = 1000  # latent reweighting: training steps of w(z)
    w_pool: int = 20_000  # latent reweighting: latents in the training pool
    ascent_steps: int = 10  # latent ascent: gradient steps on z
    ascent_step_size: float = 0.05
    keep_fraction: float = 0.5  # class-wise refit: share of each class kept by similarity
    n_fit: int = 20_000  # class-wise refit: generated samples classified
    keep_rejected: int = 32  # examples of rejected samples kept for the figures

    @classmethod
    def from_preset(cls, settings) -> "SamplerSettings":
        """Return the settings of a resolved ``ganlib.preset('samplers', ...)`` (keys it lacks keep their defaults)."""
        return cls(**{f.name: settings[f.name] for f in dataclasses.fields(cls) if f.name in settings})


@dataclass
class SamplerResult:
    """What a sampler returns in :func:`apply_samplers`; unpacks as ``samples, stats, setup``."""

    samples: torch.Tensor  # (n, ...) accepted samples
    stats: dict  # acceptance_rate, generator_calls, wall_time_s, ...; 'rejected' (or 'before'/'after') examples
    setup: dict  # the one-off cost before sampling: generator_calls, wall_time_s, and what the sampler fitted

    def __iter__(self):
        return iter((self.samples, self.stats, self.setup))


def apply_samplers(G, D, real: torch.Tensor, n: int, seed: int = 0, settings: SamplerSettings = SamplerSettings(),
                   classifier: Callable | None = None, wasserstein: bool = False, progress: bool = True) -> dict:
    """Run every sampler on one (G, D) pair with ``settings``; returns ``{name: SamplerResult}``.

    ``setup`` holds the one-off cost (generator calls and seconds) of what the sampler needs
    before sampling: D fine-tuning, critic calibration, w training, IS threshold, class-wise fit.
    ``real`` (N, ...) is the training data (fine-tuning D, nearest-real similarity). With
    ``wasserstein`` set, D is a critic: DRS is run twice, on the BCE-fine-tuned critic and on a
    logistic calibration of the frozen critic; latent reweighting uses the raw critic scores.
    """
    classifier = classifier or _default_classifier()
    c = settings
    t0 = time.perf_counter()
    x = sample(G, n, seed=seed)
    out = {"plain": SamplerResult(x, _stats(n, n, n, t0), {"generator_calls": 0, "wall_time_s": 0.0})}

    t0 = time.perf_counter()
    D_ft, _ = finetune_discriminator(G, D, real, steps=c.finetune_steps, seed=seed, progress=progress)
    setup = {"generator_calls": c.finetune_steps * 64, "wall_time_s": time.perf_counter() - t0}
    x, st = drs_sample(G, D_ft, n, seed=seed, target_acceptance=c.drs_acceptance, burn_in=c.burn_in,
                       keep_rejected=c.keep_rejected, progress=progress)
    out["DRS (BCE fine-tuned D)" if wasserstein else "DRS"] = SamplerResult(x, st, setup)
    if wasserstein:
        t0 = time.perf_counter()
        D_cal, _ = calibrate_critic(G, D, real, seed=seed)
        setup = {"generator_calls": min(5000, real.shape[0]), "wall_time_s": time.perf_counter() - t0}
        x, st = drs_sample(G, D_cal, n, seed=seed, target_acceptance=c.drs_acceptance, burn_in=c.burn_in,
                           keep_rejected=c.keep_rejected, progress=progress)
        out["DRS (calibrated critic)"] = SamplerResult(x, st, setup)

    t0 = time.perf_counter()
    threshold, _ = is_threshold(G, classifier, c.is_acceptance, n_batches=c.is_burn_in_batches, batch_size=c.is_batch_size, seed=seed + 1)
    setup = {"generator_calls": c.is_burn_in_batches * c.is_batch_size, "wall_time_s": time.perf_counter() - t0}
    x, st = is_rejection_sample(G, n, threshold, seed=seed, classifier=classifier, batch_size=c.is_batch_size,
                                keep_rejected=c.keep_rejected, progress=progress)
    out["IS rejection"] = SamplerResult(x, st, setup)

    w_net, w_stats = train_latent_weights(G, D, seed=seed, n_latents=c.w_pool, steps=c.w_steps, m=c.w_cap, progress=progress)
    setup = {k: w_stats[k] for k in ("generator_calls", "wall_time_s", "mean_weight", "max_weight", "score_weight_corr")}
    out["latent rejection"] = SamplerResult(*latent_rejection_sample(G, w_net, n, seed=seed, burn_in=c.burn_in, keep_rejected=c.keep_rejected,
                                                        progress=progress), setup)
    x, st = latent_ascent_sample(G, w_net, n, seed=seed, steps=c.ascent_steps, step_size=c.ascent_step_size, progress=progress)
    st["before"] = latent_ascent_sample(G, w_net, c.keep_rejected or 1, seed=seed, steps=0, progress=False)[0]
    st["after"] = x[:c.keep_rejected or 1]
    out["latent ascent"] = SamplerResult(x, st, setup)

    fit = fit_classwise_latents(G, real, classifier, n_fit=c.n_fit, keep_fraction=c.keep_fraction, seed=seed,
                                keep_examples=c.keep_rejected, progress=progress)
    x, st = classwise_sample(G, fit, n, seed=seed, progress=progress)
    st["wall_time_s"], st["generator_calls"] = st["sample_wall_time_s"], st["sample_generator_calls"]  # the fit is one-off
    st["rejected"], st["fit"] = fit["examples_rejected"], fit
    out["class-wise refit"] = SamplerResult(x, st, {"generator_calls": fit["generator_calls"], "wall_time_s": fit["wall_time_s"],
                                       "normal_fraction": fit["normal_fraction"]})
    return out


def results_rows(results: dict, evaluate: Callable, label: str = "") -> list[dict]:
    """Return one table row (dict) per sampler: ``evaluate(samples)``'s metrics plus cost per 10,000 accepted samples."""
    rows = []
    for name, (x, stats, setup) in results.items():
        scale = 10_000 / x.shape[0]
        row = {"model": label, "sampler": name, **{k: v for k, v in evaluate(x).items() if k in
                                                   ("fid", "precision", "recall", "density", "coverage")}}
        row.update({"acceptance": stats["acceptance_rate"], "G calls / 10k": stats["generator_calls"] * scale,
                    "s / 10k": stats["wall_time_s"] * scale, "setup G calls": setup["generator_calls"],
                    "setup s": setup["wall_time_s"]})
        rows.append(row)
    return rows


QUALITY_KEYS = ("model", "sampler", "fid", "precision", "recall", "density", "coverage")
COST_KEYS = ("model", "sampler", "acceptance", "G calls / 10k", "s / 10k", "setup G calls", "setup s")


def __getattr__(name):
    """``show_accepted_rejected`` moved to ganlib.plots (method modules hold only their method); kept one release."""
    if name == "show_accepted_rejected":
        import warnings

        from . import plots

        warnings.warn("ganlib.samplers.show_accepted_rejected moved to ganlib.plots", DeprecationWarning, stacklevel=2)
        return plots.show_accepted_rejected
    raise AttributeError(f"module 'ganlib.samplers' has no attribute {name!r}")
