"""One training function for every GAN in the course.

Goodfellow et al. 2014, Algorithm 1: for each generator step, ``n_critic`` discriminator steps
on a fresh batch of real data and fresh noise, then one generator step on fresh noise.

Variants differ only in the arguments of :func:`train`:

- the loss pair ``d_loss(real_out, fake_out)`` / ``g_loss(fake_out)`` (``ganlib.losses``);
- ``penalty(D, real, fake)``: a regulariser added to the critic loss in exactly one place,
  already weighted (gradient penalty, R1);
- ``d_constraint(D)``: run after every critic step (weight clipping);
- ``g_step``: a replacement for the generator update, for methods that change the update
  itself (unrolled GAN), with the signature of :func:`generator_step`; a ``g_step`` with a
  ``bind_optimizer(opt_D)`` method is given D's optimiser before training (to unroll D's Adam).

Checkpoints are one dict ``{G, D, opt_G, opt_D, step, epoch, batch, config, rng, history}``
written atomically; resuming from one reproduces the uninterrupted run exactly on CPU.
A non-finite loss stops training with :class:`DivergenceError`, and the checkpoint on disk
(written only from finite states) is the last good one.

:func:`train` reads as the algorithm; the bookkeeping (data order, noise, the loss history,
checkpoints and resume) lives in the small class :class:`_Loop` below it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import losses as L
from .config import atomic_save, default_device, progress_bar
from .data import batches
from .models import load_weights, read_checkpoint


@dataclass
class TrainConfig:
    """Hyperparameters of one run. Defaults are the lab template's (BCE, Adam 2e-4, batch 64, 100 epochs)."""

    epochs: int = 100  # passes over the training data; each critic step consumes one batch
    batch_size: int = 64  # real (and fake) images per step
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator (critic) learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam betas; the template used torch's defaults
    optimizer: str = "adam"  # 'adam' | 'rmsprop' (WGAN) | 'sgd'
    n_critic: int = 1  # discriminator steps per generator step (WGAN: 5)
    z_dim: int = 100  # latent dimension, must match G
    seed: int = 0  # seeds the data order and the noise; the models are seeded by the caller
    device: str | None = None  # None: CUDA if available, else CPU
    max_steps: int | None = None  # stop after this many generator steps (None: run all epochs)
    log_every: int = 50  # generator steps between checks for NaN/inf losses (and progress-bar updates)
    checkpoint_every: int = 1  # epochs between checkpoints, when a checkpoint path is given
    record_grad_norm: bool = False  # also record ||dL_G/dtheta_G|| (to show vanishing gradients)
    progress: bool = True  # show a tqdm progress bar

    def validate(self, n_data: int | None = None) -> None:
        """Raise ValueError naming the field when a hyperparameter is impossible."""
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lr_g > 0 and math.isfinite(self.lr_g), f"lr_g must be a positive number, got {self.lr_g}"),
            (self.lr_d > 0 and math.isfinite(self.lr_d), f"lr_d must be a positive number, got {self.lr_d}"),
            (len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), f"betas must be two numbers in [0, 1), got {self.betas}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.n_critic >= 1 and int(self.n_critic) == self.n_critic, f"n_critic must be an integer >= 1, got {self.n_critic}"),
            (self.z_dim >= 1, f"z_dim must be >= 1, got {self.z_dim}"),
            (self.max_steps is None or self.max_steps >= 1, f"max_steps must be None or >= 1, got {self.max_steps}"),
            (self.log_every >= 1, f"log_every must be >= 1, got {self.log_every}"),
            (self.checkpoint_every >= 1, f"checkpoint_every must be >= 1, got {self.checkpoint_every}"),
        ]
        if n_data is not None:
            checks.append((self.batch_size <= n_data, f"batch_size ({self.batch_size}) is larger than the training data ({n_data} samples): lower batch_size or use more data"))
            checks.append((n_data // self.batch_size >= self.n_critic, f"one epoch holds {n_data // self.batch_size} batches, fewer than n_critic={self.n_critic}: use more data or a smaller batch"))
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


def _adam(params, lr, cfg):
    # The fused kernel updates all parameters in one pass: several times faster than the default
    # implementation on CPU for these 1.5M-parameter MLPs (the update is a large share of a step).
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas), fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch, or a device without the fused kernel
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas))


OPTIMIZERS = {
    "adam": _adam,
    "rmsprop": lambda params, lr, cfg: torch.optim.RMSprop(params, lr=lr),
    "sgd": lambda params, lr, cfg: torch.optim.SGD(params, lr=lr),
}


def make_optimizer(params, lr: float, cfg: "TrainConfig") -> torch.optim.Optimizer:
    """Return the optimiser ``cfg.optimizer`` names over ``params`` with learning rate ``lr`` (and ``cfg.betas``)."""
    return OPTIMIZERS[cfg.optimizer](params, lr, cfg)


class DivergenceError(RuntimeError):
    """Raised when a loss becomes NaN or infinite; the message says where the last good checkpoint is."""


@dataclass
class History:
    """The run's losses, one entry per generator step (plain lists, saved in the checkpoint)."""

    step: list = field(default_factory=list)  # generator steps done, 1, 2, ...
    epoch: list = field(default_factory=list)  # epochs done at that step (fractional)
    d_loss: list = field(default_factory=list)  # critic loss, mean of the step's n_critic updates
    g_loss: list = field(default_factory=list)  # generator loss
    g_grad_norm: list = field(default_factory=list)  # ||dL_G/dtheta_G||, with cfg.record_grad_norm

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def means(self, every: int | None = None) -> "History":
        """Return the history averaged over blocks of ``every`` steps (default: about 200 points), for plots."""
        every = every or max(1, len(self.step) // 200)
        if every < 1:
            raise ValueError(f"every must be >= 1 steps, got {every}")

        def blocks(values, reduce):
            return [reduce(values[i:i + every]) for i in range(0, len(values), every)]

        mean = lambda v: sum(v) / len(v)  # noqa: E731
        return History(step=blocks(self.step, max), epoch=blocks(self.epoch, max), d_loss=blocks(self.d_loss, mean),
                       g_loss=blocks(self.g_loss, mean), g_grad_norm=blocks(self.g_grad_norm, mean))


@dataclass
class TrainState:
    """What a callback sees: the models, optimisers, counters and history of the run."""

    G: torch.nn.Module
    D: torch.nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    cfg: TrainConfig
    history: History
    step: int = 0  # generator steps done
    epoch: int = 0  # epochs completed
    checkpoint: Path | None = None
    stop: bool = False  # a callback sets this (or returns True) to end training after this epoch


def discriminator_step(G, D, opt_D, real, z, d_loss,
                       penalty=None, d_constraint=None, joint=True):
    """One critic update on ``real`` (B, ...) and ``G(z)``.

    Returns the detached loss (a scalar tensor).
    """
    with torch.no_grad():
        fake = G(z)
    if joint:  # one pass over real and fake: larger matmuls, same
        # result when D has no batch norm
        out = D(torch.cat([real, fake]))
        real_out, fake_out = out[: len(real)], out[len(real):]
    else:
        real_out, fake_out = D(real), D(fake)
    loss = d_loss(real_out, fake_out)
    if penalty is not None:  # gradient penalty, R1: already weighted
        loss = loss + penalty(D, real, fake)
    opt_D.zero_grad(set_to_none=True)
    loss.backward()
    opt_D.step()
    if d_constraint is not None:  # weight clipping
        d_constraint(D)
    return loss.detach()


def generator_step(G, D, opt_G, z, g_loss, real=None):
    """One generator update on ``G(z)`` against a frozen ``D``.

    Returns the detached loss (a scalar tensor).
    """
    D.requires_grad_(False)  # no weight gradients for D: a third
    try:                     # less work in the backward pass
        loss = g_loss(D(G(z)))
        opt_G.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        D.requires_grad_(True)
    opt_G.step()
    return loss.detach()


def train(
    G: torch.nn.Module,
    D: torch.nn.Module,
    data: torch.Tensor,
    cfg: TrainConfig | None = None,
    d_loss: Callable = L.d_loss_bce,
    g_loss: Callable = L.g_loss_nonsaturating,
    penalty: Callable | None = None,
    d_constraint: Callable | None = None,
    g_step: Callable | None = None,
    callbacks: Sequence[Callable] = (),
    checkpoint: str | os.PathLike | None = None,
    resume: bool = True,
) -> History:
    """Train ``G`` and ``D`` on ``data`` (N, ...) in place; returns the loss history.

    With ``checkpoint`` set, the run is saved there every ``cfg.checkpoint_every`` epochs and at
    the end; if the file exists and ``resume`` is true, training continues from it up to
    ``cfg.epochs`` (so a larger ``cfg.epochs`` trains further, and new learning rates apply).
    """
    cfg = cfg or TrainConfig()
    loop = _Loop(G, D, data, cfg, checkpoint, resume)
    state, g_step = loop.state, g_step or generator_step
    if hasattr(g_step, "bind_optimizer"):  # an unrolled step replays D's own Adam
        g_step.bind_optimizer(state.opt_D)
    with loop:
        for _ in loop.remaining_epochs():
            # Goodfellow et al. 2014, Algorithm 1: n_critic critic updates on
            # fresh real batches and noise, then one generator update.
            for reals in loop.critic_batches():
                d = [discriminator_step(G, D, state.opt_D, real, loop.noise(), d_loss, penalty, d_constraint, loop.joint)
                     for real in reals]
                g = g_step(G, D, state.opt_G, loop.noise(), g_loss, reals[-1])
                loop.record(d, g)  # history, NaN check, progress bar
                if loop.reached_max_steps():
                    return loop.stop_mid_epoch()
            loop.end_epoch(callbacks)  # callbacks, then a checkpoint
            if state.stop:
                break
    return state.history


def _grad_norm(module) -> torch.Tensor:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])) if grads else torch.zeros(())


def _has_batchnorm(module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())


def _finite_params(*modules) -> bool:
    return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())


class _Loop:
    """The bookkeeping of :func:`train`: data order and noise from seeded generators, the loss
    history (checked for NaN/inf every ``log_every`` steps), the progress bar, callbacks,
    checkpoints and resume, so that the training function reads as the algorithm.

    Exact resume rests on three things saved in the checkpoint: the data-order generator's state
    at the start of the current epoch with the index of the next batch, the noise generator's
    state, and torch's global RNG (which a penalty's interpolation weights use).
    """

    def __init__(self, G, D, data, cfg, checkpoint, resume):
        cfg.validate(n_data=data.shape[0] if isinstance(data, torch.Tensor) else None)
        _check_shapes(G, D, data, cfg)
        device = default_device(cfg.device)
        G.to(device).train()
        D.to(device).train()
        self.data, self.cfg, self.device = data.to(device), cfg, device
        opt_G, opt_D = make_optimizer(G.parameters(), cfg.lr_g, cfg), make_optimizer(D.parameters(), cfg.lr_d, cfg)
        self.state = TrainState(G, D, opt_G, opt_D, cfg, History(), checkpoint=Path(checkpoint).expanduser() if checkpoint else None)
        self.joint = not _has_batchnorm(D)
        self.data_gen = torch.Generator(device=device).manual_seed(cfg.seed)
        self.z_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
        self.n_batches = data.shape[0] // cfg.batch_size
        self.batch = 0  # index of the next batch of the current epoch
        self.last_good = None  # generator step of the last checkpoint written
        self.pending = []  # (d losses, g loss, grad norm) of steps not yet in the history
        self.stopped_by = None  # the name of the callback that stopped the run
        if self.state.checkpoint is not None and resume and self.state.checkpoint.exists():
            self._restore(load_checkpoint(self.state.checkpoint))
        steps = self.n_batches // cfg.n_critic * cfg.epochs
        total = steps if cfg.max_steps is None else min(cfg.max_steps, steps)
        self.bar = progress_bar(total=total, initial=min(self.state.step, total), enabled=cfg.progress, desc="train", unit="step")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()

    def remaining_epochs(self) -> range:
        """The epochs left to train (none once ``max_steps`` is reached)."""
        return range(0) if self.reached_max_steps() else range(self.state.epoch, self.cfg.epochs)

    def noise(self) -> torch.Tensor:
        """Fresh latents (batch_size, z_dim) from the run's noise generator."""
        return torch.randn(self.cfg.batch_size, self.cfg.z_dim, generator=self.z_gen, device=self.device)

    def critic_batches(self):
        """Yield the epoch's real batches (``ganlib.data.batches``) in groups of ``n_critic``, from where a
        resumed run stopped. A last group that is not full is left out: Algorithm 1 takes n_critic batches a step.
        """
        self.epoch_rng = self.data_gen.get_state()  # a run stopped inside this epoch replays its order
        shuffled = batches(self.data, self.cfg.batch_size, self.data_gen)
        groups = zip(*[shuffled] * self.cfg.n_critic)  # consecutive groups of n_critic batches
        for group in itertools.islice(groups, self.batch // self.cfg.n_critic, None):
            self.batch += self.cfg.n_critic
            yield list(group)

    def record(self, d_losses, g_loss) -> None:
        """Count a generator step; every ``log_every`` steps, move its losses into the history."""
        state = self.state
        grad = _grad_norm(state.G) if self.cfg.record_grad_norm else None
        state.step += 1
        self.pending.append((state.step, state.epoch + self.batch / self.n_batches, torch.stack(d_losses).mean(), g_loss, grad))
        self.bar.update(1)
        if state.step % self.cfg.log_every == 0:
            self.flush()

    def flush(self) -> None:
        """Move the pending losses into the history; raise :class:`DivergenceError` on a NaN or inf."""
        if not self.pending:
            return
        steps, epochs, d, g, grad = zip(*self.pending)
        self.pending = []
        d, g = torch.stack(d).tolist(), torch.stack(g).tolist()
        grad = torch.stack(grad).tolist() if self.cfg.record_grad_norm else []
        bad = next((i for i, v in enumerate(zip(d, g)) if not all(map(math.isfinite, v))), None)
        if bad is not None:
            where = (f"the last good checkpoint is {self.state.checkpoint} (step {self.last_good})" if self.last_good is not None
                     else "no checkpoint was written yet (pass checkpoint= to keep one)")
            raise DivergenceError(
                f"training diverged at generator step {steps[bad]} (epoch {self.state.epoch + 1}): D loss {d[bad]}, "
                f"G loss {g[bad]}. Training stopped; {where}. Try lower learning rates, a smaller penalty weight, "
                "or a different loss.")
        h = self.state.history
        h.step += steps
        h.epoch += epochs
        h.d_loss += d
        h.g_loss += g
        h.g_grad_norm += grad
        self.bar.set_postfix(d_loss=f"{d[-1]:.3f}", g_loss=f"{g[-1]:.3f}")

    def reached_max_steps(self) -> bool:
        return self.cfg.max_steps is not None and self.state.step >= self.cfg.max_steps

    def end_epoch(self, callbacks) -> None:
        """Close an epoch: history, callbacks (one may stop the run), then a checkpoint when one is due."""
        state, cfg = self.state, self.cfg
        self.flush()
        state.epoch += 1
        self.batch = 0
        for cb in callbacks:
            # only an explicit stop stops: True, or state.stop = True (a plotting call's return value,
            # e.g. matplotlib's list of lines, must not end a run)
            if (cb(state) is True or state.stop) and self.stopped_by is None:
                self.stopped_by = getattr(cb, "__name__", type(cb).__name__)
                print(f"training stopped by the callback {self.stopped_by} after epoch {state.epoch} "
                      f"(generator step {state.step})")
                state.stop = True
        if state.epoch % cfg.checkpoint_every == 0 or state.epoch == cfg.epochs or state.stop:
            self.save(self.data_gen.get_state())

    def stop_mid_epoch(self) -> History:
        """End a run at ``max_steps`` inside an epoch: save where the next batch starts; returns the history."""
        self.flush()
        self.save(self.epoch_rng)
        return self.state.history

    def save(self, data_rng) -> None:
        """Checkpoint the run (only a finite one: the file on disk stays the last good state)."""
        if self.state.checkpoint is None or not _finite_params(self.state.G, self.state.D):
            return
        rng = {"data": data_rng.cpu(), "z": self.z_gen.get_state().cpu(), "torch": torch.get_rng_state()}
        save_checkpoint(self.state.checkpoint, self.state, self.batch, rng)
        self.last_good = self.state.step

    def _restore(self, ckpt) -> None:
        state = self.state
        load_weights(state.G, ckpt["G"])
        load_weights(state.D, ckpt["D"])
        saved_cfg = ckpt.get("config") or {}
        if any(saved_cfg.get(k, getattr(self.cfg, k)) != getattr(self.cfg, k) for k in ("batch_size", "n_critic")):
            raise ValueError("cannot resume with a different batch_size or n_critic than the checkpoint's; "
                             "start a new run (another checkpoint path)")
        state.opt_G.load_state_dict(ckpt["opt_G"])
        state.opt_D.load_state_dict(ckpt["opt_D"])
        # New learning rates in the config win (report 001 resumed its best epoch with halved rates).
        for opt, key in ((state.opt_G, "lr_g"), (state.opt_D, "lr_d")):
            if saved_cfg.get(key) != getattr(self.cfg, key):
                for group in opt.param_groups:
                    group["lr"] = getattr(self.cfg, key)
        state.step, state.epoch, self.batch = int(ckpt["step"]), int(ckpt["epoch"]), int(ckpt["batch"])
        state.history = History(**ckpt["history"])
        self.last_good = state.step
        self.data_gen.set_state(ckpt["rng"]["data"].to(self.data_gen.get_state().device))
        self.z_gen.set_state(ckpt["rng"]["z"].to(self.z_gen.get_state().device))
        torch.set_rng_state(ckpt["rng"]["torch"])


def save_checkpoint(path, state: TrainState, batch: int, rng: dict) -> Path:
    """Write the run's state to ``path`` atomically; returns the path."""
    ckpt = {
        "G": state.G.state_dict(),
        "D": state.D.state_dict(),
        "G_arch": getattr(state.G, "arch", None),
        "D_arch": getattr(state.D, "arch", None),
        "opt_G": state.opt_G.state_dict(),
        "opt_D": state.opt_D.state_dict(),
        "step": state.step,
        "epoch": state.epoch,
        "batch": batch,
        "config": dataclasses.asdict(state.cfg),
        "rng": rng,
        "history": state.history.as_dict(),
    }
    return atomic_save(ckpt, path)


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; raises ValueError if it is not one."""
    ckpt = read_checkpoint(path)
    required = {"G", "D", "opt_G", "opt_D", "step", "epoch", "batch", "rng", "history"}
    if not isinstance(ckpt, dict) or not required <= set(ckpt):
        raise ValueError(f"{path} is not a ganlib training checkpoint (needs keys {sorted(required)}); delete it or pass another path")
    return ckpt


def _check_shapes(G, D, data, cfg):
    if not isinstance(data, torch.Tensor) or data.dim() < 2:
        raise ValueError("data must be a tensor (N, ...) of training samples, e.g. from ganlib.load_mnist")
    if not bool(torch.isfinite(data).all()):
        raise ValueError("data contains NaN or inf values")
    in_shape = getattr(D, "in_shape", None)
    if in_shape is not None and tuple(data.shape[1:]) != tuple(in_shape):
        raise ValueError(f"data samples have shape {tuple(data.shape[1:])} but D expects {tuple(in_shape)}")
    out_shape = getattr(G, "out_shape", None)
    if out_shape is not None and tuple(data.shape[1:]) != tuple(out_shape):
        raise ValueError(f"G produces samples of shape {tuple(out_shape)} but the data has {tuple(data.shape[1:])}")
    if getattr(G, "z_dim", cfg.z_dim) != cfg.z_dim:
        raise ValueError(f"cfg.z_dim={cfg.z_dim} but G takes z of dimension {G.z_dim}")
