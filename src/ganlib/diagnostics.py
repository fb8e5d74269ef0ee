"""Diagnostics of a critic and of a generator's gradient: what the WGAN and vanilla chapters measure.

- Lipschitz probes (Gulrajani et al. 2017, Fig. 1b; Miyato et al. 2018, Eq. 8): the largest
  singular value of each layer (:func:`spectral_norms`), the gradient norm at each layer's input
  (:func:`critic_layer_grad_norms`), ||grad_x D(x)|| (:func:`critic_grad_norm`), the share of
  weights at the clip bound and the critic's gap E[D(real)] - E[D(fake)]; :class:`LipschitzMonitor`
  records them during training.
- Saturation (Goodfellow et al. 2014, Sec. 3): :func:`saturation_curve` trains D alone against a
  frozen G and follows the gradient of the minimax and non-saturating generator losses.
- Cost: :func:`time_critic_step` and :func:`critic_step_times` time one critic update per variant.
"""

from __future__ import annotations

import copy
import statistics
import time

import torch
from torch import nn

from . import losses as L
from .regularizers import input_grad_norm
from .runs import RunSpec, build
from .training import TrainConfig, _grad_norm, discriminator_step, make_optimizer


def _linear_layers(D) -> dict:
    return {name: m for name, m in D.named_modules() if isinstance(m, nn.Linear)}


@torch.no_grad()
def spectral_norms(D) -> dict[str, float]:
    """Return {layer name: largest singular value of its effective weight} for each linear layer of D.

    For a spectrally normalised layer the effective weight is W / sigma_hat(W) with the current
    power-iteration estimate (read in eval mode, so that measuring does not run another iteration).
    """
    layers = _linear_layers(D)
    if not layers:
        raise ValueError("D has no nn.Linear layers to measure")
    was_training = D.training
    D.eval()
    try:
        return {name: float(torch.linalg.matrix_norm(m.weight.detach().float(), ord=2)) for name, m in layers.items()}
    finally:
        D.train(was_training)


def critic_layer_grad_norms(D, x: torch.Tensor) -> dict[str, float]:
    """Return {layer name: mean over samples of ||dD(x)/dh||_2} for the input h of each linear layer (fc1's input is x).

    Backpropagation multiplies by each layer's weight, so under weight clipping these norms shrink
    (c too small: vanishing) or grow (c too large: exploding) geometrically towards the input
    (Gulrajani et al. 2017, Fig. 1b). The norm at fc1 is ||grad_x D(x)||, which a 1-Lipschitz
    critic keeps at most 1. D must not mix samples (no batch norm), so that each sample's gradient is its own.
    """
    layers = _linear_layers(D)
    if not layers:
        raise ValueError("D has no nn.Linear layers to measure")
    inputs, handles = {}, []
    for name, m in layers.items():
        handles.append(m.register_forward_pre_hook(lambda mod, args, name=name: inputs.__setitem__(name, args[0])))
    was_training = D.training
    D.eval()
    try:
        x = x.detach().requires_grad_(True)
        out = D(x)
        names = list(inputs)
        grads = torch.autograd.grad(out.sum(), [inputs[n] for n in names])
    finally:
        for h in handles:
            h.remove()
        D.train(was_training)
    return {n: float(g.flatten(1).norm(dim=1).mean()) for n, g in zip(names, grads)}


def critic_grad_norm(D, x: torch.Tensor) -> torch.Tensor:
    """Return ||grad_x D(x)||_2 for each sample of x (N, ...): (N,), detached."""
    return input_grad_norm(D, x).detach()


@torch.no_grad()
def clipped_fraction(D, c: float) -> float:
    """Return the fraction of D's parameters sitting at the clip bound, |p| = c (a float in [0, 1])."""
    flat = torch.cat([p.detach().flatten().abs() for p in D.parameters()])
    return float((flat >= c * (1 - 1e-6)).float().mean())


@torch.no_grad()
def critic_gap(D, real: torch.Tensor, fake: torch.Tensor) -> float:
    """Return E[D(real)] - E[D(fake)] (a float): the critic's estimate of K * W(P_r, P_g) for a K-Lipschitz D."""
    return float(D(real).mean() - D(fake).mean())


class LipschitzMonitor:
    """Training callback recording, every ``every`` epochs, the critic's layer gradient norms, spectral norms and gap.

    ``real`` (B, ...) is a fixed batch and ``z`` (B, z_dim) fixed noise, so that successive
    records compare the same samples. ``records`` holds one dict per evaluation.
    """

    def __init__(self, real: torch.Tensor, z: torch.Tensor, every: int = 1):
        self.real, self.z, self.every = real, z, int(every)
        self.records: list[dict] = []

    def __call__(self, state) -> bool:
        if state.epoch % self.every:
            return False
        device = next(state.D.parameters()).device
        real = self.real.to(device)
        with torch.no_grad():
            was = state.G.training
            state.G.eval()
            fake = state.G(self.z.to(device))
            state.G.train(was)
        self.records.append(dict(
            epoch=state.epoch, step=state.step,
            grad_real=critic_layer_grad_norms(state.D, real), grad_fake=critic_layer_grad_norms(state.D, fake),
            sigma=spectral_norms(state.D), gap=critic_gap(state.D, real, fake),
        ))
        return False


    def log(self) -> list:
        """Return the records (plain data, for a JSON record of the run)."""
        return self.records

    def load_log(self, log: list) -> None:
        """Restore what :meth:`log` returned."""
        self.records = list(log)


def saturation_curve(G, D, real: torch.Tensor, steps: int = 200, every: int = 10, lr: float = 2e-4, batch_size: int = 64, seed: int = 0) -> dict:
    """Train D alone against a frozen G and record, every ``every`` steps, the mean D(G(z)) and
    ||grad_theta_G|| of the minimax and non-saturating generator losses; returns lists under
    ``step``, ``d_fake``, ``minimax``, ``non-saturating`` (Goodfellow et al. 2014, Sec. 3)."""
    device = next(D.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    z_eval = torch.randn(256, G.z_dim, generator=gen).to(device)
    opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    out = {"step": [], "d_fake": [], "minimax": [], "non-saturating": []}
    for step in range(steps + 1):
        if step % every == 0:
            with torch.no_grad():
                out["d_fake"].append(torch.sigmoid(D(G(z_eval))).mean().item())
            out["step"].append(step)
            for name, g_loss in (("minimax", L.g_loss_minimax), ("non-saturating", L.g_loss_nonsaturating)):
                G.zero_grad(set_to_none=True)
                g_loss(D(G(z_eval))).backward()
                out[name].append(_grad_norm(G).item())
            G.zero_grad(set_to_none=True)
        idx = torch.randint(0, real.shape[0], (batch_size,), generator=gen).to(real.device)
        z = torch.randn(batch_size, G.z_dim, generator=gen).to(device)
        discriminator_step(G, D, opt_D, real[idx], z, L.d_loss_bce)
    return out


def time_critic_step(G, D, real: torch.Tensor, cfg: TrainConfig, kwargs: dict, repeats: int = 20, warmup: int = 3, seed: int = 0) -> list[float]:
    """Return the wall time in seconds of each of ``repeats`` critic steps (a list) on the fixed batch ``real`` (B, ...).

    Times :func:`ganlib.training.discriminator_step` with the variant's ``penalty`` and
    ``d_constraint`` from ``kwargs`` (e.g. ``Method(...).train_kwargs()``).
    """
    opt_D = make_optimizer(D.parameters(), cfg.lr_d, cfg)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(real.shape[0], G.z_dim, generator=gen).to(real.device)
    args = (kwargs["d_loss"], kwargs.get("penalty"), kwargs.get("d_constraint"))
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        discriminator_step(G, D, opt_D, real, z, *args)
        if real.is_cuda:
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def critic_step_times(G, variants: dict, real: torch.Tensor, rounds: int = 5, steps: int = 10, warmup: int = 2, seed: int = 0) -> dict:
    """Return {name: [median critic-step time in seconds, one per round]} for variants {name: RunSpec} (its D
    built by ``ganlib.runs.build``) or {name: (D, cfg, kwargs)}.

    The variants are timed in interleaved rounds (each round times every variant, on a fresh copy
    of its D), so that load from other processes on a shared machine hits them alike; compare
    per-round ratios and take medians.
    """
    variants = {name: (build(v)[1], v.cfg, v.method.train_kwargs()) if isinstance(v, RunSpec) else v
                for name, v in variants.items()}
    times = {name: [] for name in variants}
    for r in range(rounds):
        for name, (D, cfg, kw) in variants.items():
            ts = time_critic_step(G, copy.deepcopy(D), real, cfg, kw, repeats=steps, warmup=warmup, seed=seed + r)
            times[name].append(statistics.median(ts))
    return times
