"""Wasserstein GANs: the papers' default configurations, schedules, FID early stopping, Lipschitz diagnostics.

- Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN", Algorithm 1: the critic f maximises
  E_x[f(x)] - E_z[f(G(z))] (Eq. 3, the Kantorovich-Rubinstein dual of the Earth-Mover distance)
  over weight-clipped networks; defaults alpha = 5e-5 (RMSProp), c = 0.01, m = 64, n_critic = 5.
- Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1: the same critic
  loss plus lambda * E[(||grad D(x^)||_2 - 1)^2] (Eq. 3); defaults lambda = 10, n_critic = 5,
  Adam alpha = 1e-4, beta1 = 0, beta2 = 0.9.
- Miyato et al. 2018, "Spectral Normalization for GANs", Eq. (8): W / sigma(W), sigma the largest
  singular value estimated by power iteration; :func:`spectral_norms` measures sigma of each layer.

A configuration function returns ``(TrainConfig, kwargs)`` for ``ganlib.train(G, D, data, cfg, **kwargs)``.
The callbacks (:func:`decay_lr`, :func:`linear_lr_decay`, :class:`FIDEarlyStopping`) plug into
``train(callbacks=...)``; :func:`resume_config` builds the config that continues a saved best
checkpoint with new learning rates (report 001: halving both rates from the best epoch and
training 30 more epochs took FID 28 -> 16).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import torch
from torch import nn

from . import losses as L
from . import regularizers as R
from .training import TrainConfig, load_checkpoint, save_checkpoint

# --------------------------------------------------------------------------------------------
# The papers' defaults
# --------------------------------------------------------------------------------------------


def wgan_config(c: float = 0.01, **overrides) -> tuple[TrainConfig, dict]:
    """Return (TrainConfig, train kwargs) of WGAN with weight clipping: RMSProp 5e-5, c=0.01, n_critic=5, batch 64."""
    cfg = dataclasses.replace(TrainConfig(optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, n_critic=5, batch_size=64), **overrides)
    return cfg, dict(d_loss=L.d_loss_wasserstein, g_loss=L.g_loss_wasserstein, d_constraint=R.clip_weights(c))


def wgan_gp_config(gp_weight: float = 10.0, one_sided: bool = False, **overrides) -> tuple[TrainConfig, dict]:
    """Return (TrainConfig, train kwargs) of WGAN-GP: Adam 1e-4, betas (0, 0.9), gp_weight=10, n_critic=5, batch 64."""
    cfg = dataclasses.replace(TrainConfig(optimizer="adam", lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), n_critic=5, batch_size=64), **overrides)
    return cfg, dict(d_loss=L.d_loss_wasserstein, g_loss=L.g_loss_wasserstein, penalty=R.wgan_gp(gp_weight, one_sided=one_sided))


def wgan_sn_config(**overrides) -> tuple[TrainConfig, dict]:
    """Return (TrainConfig, train kwargs) of a Wasserstein critic with spectral norm (build D with spectral_norm=True).

    Same optimiser and n_critic as WGAN-GP, so the two compare on the same budget; the Lipschitz
    bound comes from the architecture, not from a penalty or a constraint.
    """
    cfg = dataclasses.replace(TrainConfig(optimizer="adam", lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), n_critic=5, batch_size=64), **overrides)
    return cfg, dict(d_loss=L.d_loss_wasserstein, g_loss=L.g_loss_wasserstein)


# --------------------------------------------------------------------------------------------
# Learning-rate schedules (training callbacks)
# --------------------------------------------------------------------------------------------


def _set_lr(opt, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def decay_lr(gamma: float, every: int = 1):
    """Return a callback multiplying both optimisers' learning rates by ``gamma`` every ``every`` epochs.

    The rates live in the optimisers' state, so a run resumed from a checkpoint keeps the decayed rates.
    """
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    if every < 1:
        raise ValueError(f"every must be >= 1 epochs, got {every}")

    def callback(state):
        if state.epoch % every == 0:
            for opt in (state.opt_G, state.opt_D):
                for group in opt.param_groups:
                    group["lr"] *= gamma

    return callback


def linear_lr_decay(epochs: int, start_epoch: int = 0, final: float = 0.0):
    """Return a callback setting lr = cfg.lr * (1 - (1 - final) * min(1, (epoch - start_epoch) / epochs)) for G and D.

    Linear decay to ``final`` times the configured rate over ``epochs`` epochs counted from
    ``start_epoch`` (Gulrajani et al. 2017 decay linearly to 0 over training). It depends only on
    the epoch and the config, so it resumes exactly.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if not 0 <= final <= 1:
        raise ValueError(f"final must be a fraction of the configured rate in [0, 1], got {final}")

    def callback(state):
        progress = min(1.0, max(0, state.epoch - start_epoch) / epochs)
        factor = 1 - (1 - final) * progress
        _set_lr(state.opt_G, state.cfg.lr_g * factor)
        _set_lr(state.opt_D, state.cfg.lr_d * factor)

    return callback


# --------------------------------------------------------------------------------------------
# FID early stopping, best checkpoint, resume with new learning rates
# --------------------------------------------------------------------------------------------


class FIDEarlyStopping:
    """Training callback: every ``every`` epochs score G with ``evaluate_fn``, keep the best state, stop after ``patience``.

    ``evaluate_fn(G)`` returns a float (lower is better) or a dict with key ``'fid'`` (as
    ``ganlib.metrics.evaluate`` does), so a test can pass a fake sequence of scores. At each new
    best the run is written to ``path`` atomically (a normal ganlib checkpoint, resumable by
    ``train``); ``best_state`` keeps an in-memory copy of G's and D's weights. Training stops once
    ``patience`` consecutive evaluations fail to improve on the best by more than ``min_delta``.

    The checkpoint holds the models, optimisers, counters and history of the best epoch exactly;
    the data order and noise of a run resumed from it are re-seeded from (cfg.seed, epoch), since
    a callback does not see the training loop's random generators.
    """

    def __init__(self, evaluate_fn: Callable, every: int = 1, patience: int = 3, path=None, min_delta: float = 0.0):
        if every < 1:
            raise ValueError(f"every must be >= 1 epochs, got {every}")
        if patience < 1:
            raise ValueError(f"patience must be >= 1 evaluations, got {patience}")
        self.evaluate_fn = evaluate_fn
        self.every = int(every)
        self.patience = int(patience)
        self.path = Path(path) if path is not None else None
        self.min_delta = float(min_delta)
        self.scores: list[dict] = []  # one {'epoch', 'step', 'fid', 'seconds'} per evaluation
        self.best: float = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict | None = None  # {'G': state_dict, 'D': state_dict} at the best epoch
        self.bad_evals = 0
        self.stopped_epoch: int | None = None

    def __call__(self, state) -> bool:
        if state.epoch % self.every != 0:
            return False
        t0 = time.perf_counter()
        was_training = state.G.training
        try:
            result = self.evaluate_fn(state.G)
        finally:
            state.G.train(was_training)
        fid = float(result["fid"] if isinstance(result, dict) else result)
        self.scores.append(dict(epoch=state.epoch, step=state.step, fid=fid, seconds=time.perf_counter() - t0))
        if fid < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_evals = fid, state.epoch, 0
            self.best_state = {k: copy.deepcopy(m.state_dict()) for k, m in (("G", state.G), ("D", state.D))}
            if self.path is not None:
                seed = state.cfg.seed + 1000 * state.epoch
                device = next(state.G.parameters()).device  # train's generators live on the training device
                rng = {
                    "data": torch.Generator(device=device).manual_seed(seed).get_state(),
                    "z": torch.Generator(device=device).manual_seed(seed + 1).get_state(),
                    "torch": torch.get_rng_state(),
                }
                save_checkpoint(self.path, state, 0, rng)
            return False
        self.bad_evals += 1
        if self.bad_evals >= self.patience:
            self.stopped_epoch = state.epoch
            return True
        return False


    def log(self) -> dict:
        """Return the evaluations and the best epoch as plain data (for a JSON record of the run)."""
        return dict(scores=self.scores, best=self.best, best_epoch=self.best_epoch, stopped_epoch=self.stopped_epoch)

    def load_log(self, log: dict) -> None:
        """Restore what :meth:`log` returned (the weights of the best epoch stay in the checkpoint at ``path``)."""
        self.scores, self.best = list(log["scores"]), float(log["best"])
        self.best_epoch, self.stopped_epoch = log["best_epoch"], log["stopped_epoch"]


def resume_config(best_path, run_path=None, lr_factor: float = 0.5, extra_epochs: int = 30, **overrides) -> TrainConfig:
    """Return the config continuing checkpoint ``best_path`` for ``extra_epochs`` at rates times ``lr_factor``; copy it to ``run_path`` if given.

    The new rates are ``lr_factor`` times the rates in effect at the best epoch (read from the
    saved optimisers, so a decayed rate is halved, not the initial one). Then
    ``train(G, D, data, cfg, checkpoint=run_path, **kwargs)`` resumes from the best epoch (or
    ``train_or_load(..., init_from=best_path)`` does the copy into its own cached path).
    """
    if not lr_factor > 0:
        raise ValueError(f"lr_factor must be > 0, got {lr_factor}")
    if extra_epochs < 1:
        raise ValueError(f"extra_epochs must be >= 1, got {extra_epochs}")
    ckpt = load_checkpoint(best_path)
    saved = dict(ckpt.get("config") or {})
    if not saved:
        raise ValueError(f"{best_path} stores no config; pass a checkpoint written by ganlib.train or FIDEarlyStopping")
    saved["betas"] = tuple(saved["betas"])
    lr_g = ckpt["opt_G"]["param_groups"][0]["lr"] * lr_factor
    lr_d = ckpt["opt_D"]["param_groups"][0]["lr"] * lr_factor
    cfg = dataclasses.replace(TrainConfig(**saved), lr_g=lr_g, lr_d=lr_d, epochs=int(ckpt["epoch"]) + extra_epochs, max_steps=None, **overrides)
    if run_path is not None:
        _atomic_copy(best_path, run_path)
    return cfg


def _atomic_copy(src, dst) -> None:
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


# --------------------------------------------------------------------------------------------
# Lipschitz diagnostics: spectral norms and critic gradient norms
# --------------------------------------------------------------------------------------------


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
    """Return ||grad_x D(x)||_2 for each sample of x (N, ...): (N,)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)
    return grad.flatten(1).norm(dim=1)


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


# --------------------------------------------------------------------------------------------
# Runs for the chapters: build, train (or reload), and measure
# --------------------------------------------------------------------------------------------


def build_models(seed: int = 0, g_norm: str | None = None, spectral_norm: bool = False, z_dim: int = 100):
    """Return (G, D): the lab's MLPs (optionally G with batch/layer norm, D spectrally normalised), initialised from ``seed``."""
    from .models import Discriminator, Generator

    with torch.random.fork_rng(devices=[]):  # seed the initialisation without touching the caller's global RNG
        torch.manual_seed(seed)
        G = Generator(z_dim=z_dim, norm=g_norm)
        D = Discriminator(spectral_norm=spectral_norm)
    return G, D


def run_path(name: str, cfg: TrainConfig, n_data: int, **extra) -> Path:
    """Return the checkpoint path of a run, ``ganlib.config.run_path`` of ``name``, the config, the data size and ``extra``."""
    from .config import run_path as _config_run_path

    return _config_run_path(name, cfg=cfg, n_data=int(n_data), **{k: repr(v) for k, v in extra.items()})


def time_critic_step(G, D, real: torch.Tensor, cfg: TrainConfig, kwargs: dict, repeats: int = 20, warmup: int = 3, seed: int = 0) -> list[float]:
    """Return the wall time in seconds of each of ``repeats`` critic steps (a list) on the fixed batch ``real`` (B, ...).

    Times :func:`ganlib.training.discriminator_step` with the variant's ``penalty`` and
    ``d_constraint`` from ``kwargs`` (e.g. from :func:`wgan_config` / :func:`wgan_gp_config`).
    """
    from .training import _OPTIMIZERS, discriminator_step

    opt_D = _OPTIMIZERS[cfg.optimizer](D.parameters(), cfg.lr_d, cfg)
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
    """Return {name: [median critic-step time in seconds, one per round]} for variants {name: (D, cfg, kwargs)}.

    The variants are timed in interleaved rounds (each round times every variant, on a fresh copy
    of its D), so that load from other processes on a shared machine hits them alike; compare
    per-round ratios and take medians.
    """
    import statistics

    times = {name: [] for name in variants}
    for r in range(rounds):
        for name, (D, cfg, kw) in variants.items():
            ts = time_critic_step(G, copy.deepcopy(D), real, cfg, kw, repeats=steps, warmup=warmup, seed=seed + r)
            times[name].append(statistics.median(ts))
    return times


# --------------------------------------------------------------------------------------------
# Figures and tables
# --------------------------------------------------------------------------------------------


def plot_layer_grad_norms(curves: dict, title: str = "Critic gradient norm per layer", ax=None):
    """Plot {label: {layer: norm}} as lines over the layers, input to output, log scale; returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, norms in curves.items():
        names = list(norms)
        ax.plot(range(1, len(names) + 1), [norms[n] for n in names], marker="o", label=str(label))
        ax.set_xticks(range(1, len(names) + 1), [f"input of {n}" for n in names])
    ax.set_yscale("log")
    ax.set_xlabel("critic layer (input side left, output side right)")
    ax.set_ylabel("mean ||dD/dh|| (log scale)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_critic_estimate(histories: dict, title: str = "Critic's estimate of the Wasserstein distance", ax=None, smooth: int = 1):
    """Plot -(critic loss) = E[D(real)] - E[D(fake)] (+ penalty, if any) against generator steps for {label: History}; returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for label, h in histories.items():
        h = h if isinstance(h, dict) else h.as_dict()
        y = torch.tensor([-v for v in h["d_loss"]], dtype=torch.float64)
        if smooth > 1 and len(y) >= smooth:
            y = torch.nn.functional.avg_pool1d(y[None, None], smooth, stride=1)[0, 0]
            steps = h["step"][smooth - 1:]
        else:
            steps = h["step"]
        ax.plot(steps, y.tolist(), label=str(label))
    ax.set_xlabel("generator step")
    ax.set_ylabel("-(critic loss)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_fid_curve(scores: list, title: str = "FID during training", ax=None, best_epoch: int | None = None, label: str | None = None):
    """Plot FID against epoch from ``FIDEarlyStopping.scores``, marking the best epoch; returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([s["epoch"] for s in scores], [s["fid"] for s in scores], marker="o", label=label)
    if best_epoch is not None:
        ax.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch {best_epoch}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("FID (lower is better)")
    ax.set_title(title)
    ax.legend()
    return ax


def results_table(results: dict, keys=("fid", "precision", "recall", "coverage"), extra: dict | None = None) -> str:
    """Return a Markdown table with one row per {variant: metrics dict} and one column per key (plus ``extra`` columns)."""
    from .metrics import results_table as table

    return table(results, keys=keys, extra=extra, label="variant")


def train_or_load(name: str, G, D, data: torch.Tensor, cfg: TrainConfig, kwargs: dict, callbacks=(), init_from=None, **key):
    """Train ``G``, ``D`` with ``train(..., checkpoint=path)`` or, if the finished run is cached, load it; returns (History, path).

    ``path`` is :func:`run_path` of ``name``, the config, the data size and ``key``: ``name`` (and
    ``key``) must identify what the config does not (the clip value, the penalty weight, the
    architecture). A finished run leaves ``path`` plus ``path.done.json`` holding the callbacks'
    logs (those with ``log()``/``load_log()``), so that a rerun of a chapter reloads the same
    weights, history, FID curve and diagnostics instead of training again; an interrupted run
    resumes from its last checkpoint. ``init_from``: a checkpoint to start from (copied to ``path``
    first), e.g. the best epoch of an earlier run with :func:`resume_config`'s new learning rates.
    """
    from .models import load_weights
    from .training import History, train

    if init_from is not None:
        key["init_from"] = Path(init_from).name
    path = run_path(name, cfg, int(data.shape[0]), **key)
    done = path.with_name(path.name + ".done.json")
    if path.exists() and done.exists():
        ckpt = load_checkpoint(path)
        load_weights(G, ckpt["G"])
        load_weights(D, ckpt["D"])
        for cb, log in zip(callbacks, json.loads(done.read_text())):
            if log is not None and hasattr(cb, "load_log"):
                cb.load_log(log)
        return History(**ckpt["history"]), path
    if init_from is not None and not path.exists():
        _atomic_copy(init_from, path)
    # the penalty's interpolation weights come from torch's global RNG: seed it from the config
    # (a resumed run restores it from the checkpoint) so that a chapter's result does not depend on
    # what ran before it in the kernel, and leave the caller's global RNG untouched
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(cfg.seed)
        history = train(G, D, data, cfg, callbacks=callbacks, checkpoint=path, **kwargs)
    logs = [cb.log() if hasattr(cb, "log") else None for cb in callbacks]
    tmp = done.with_name(done.name + ".tmp")
    tmp.write_text(json.dumps(logs))
    os.replace(tmp, done)
    return history, path
