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
import inspect
import itertools
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import losses as L
from .config import atomic_save, default_device, progress_bar
from .data import batches
from .images import check_pixel_range
from .models import describe_checkpoint, load_weights, read_checkpoint


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
        """Raise TypeError/ValueError naming the field when a hyperparameter has the wrong type or is impossible."""
        for name in ("epochs", "batch_size", "n_critic", "z_dim", "seed", "log_every", "checkpoint_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"{name} must be an integer, got {v!r} ({type(v).__name__})")
        for name in ("lr_g", "lr_d"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{name} must be a number such as 2e-4, got {v!r} ({type(v).__name__}): write {name}=2e-4, without quotes")
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2 or not all(
                isinstance(b, numbers.Real) and not isinstance(b, bool) for b in self.betas):
            raise TypeError(f"betas must be two numbers such as (0.5, 0.999), got {self.betas!r}")
        if self.max_steps is not None and (isinstance(self.max_steps, bool) or not isinstance(self.max_steps, numbers.Integral)):
            raise TypeError(f"max_steps must be None or an integer, got {self.max_steps!r}")
        checks = [  # each a (condition, message) pair, evaluated in order
            lambda: (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            lambda: (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            lambda: (self.lr_g > 0 and math.isfinite(self.lr_g), f"lr_g must be a positive number, got {self.lr_g}"),
            lambda: (self.lr_d > 0 and math.isfinite(self.lr_d), f"lr_d must be a positive number, got {self.lr_d}"),
            lambda: (all(0 <= b < 1 for b in self.betas), f"betas must be two numbers in [0, 1), got {self.betas}"),
            lambda: (self.optimizer in OPTIMIZERS, f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}"),
            lambda: (self.n_critic >= 1, f"n_critic must be an integer >= 1, got {self.n_critic}"),
            lambda: (self.z_dim >= 1, f"z_dim must be >= 1, got {self.z_dim}"),
            lambda: (self.max_steps is None or self.max_steps >= 1, f"max_steps must be None or >= 1, got {self.max_steps}"),
            lambda: (self.log_every >= 1, f"log_every must be >= 1, got {self.log_every}"),
            lambda: (self.checkpoint_every >= 1, f"checkpoint_every must be >= 1, got {self.checkpoint_every}"),
        ]
        if n_data is not None:
            checks.append(lambda: (self.batch_size <= n_data, f"batch_size ({self.batch_size}) is larger than the training data ({n_data} samples): lower batch_size or use more data"))
            checks.append(lambda: (n_data // self.batch_size >= self.n_critic, f"one epoch holds {n_data // self.batch_size} batches, fewer than n_critic={self.n_critic}: use more data or a smaller batch"))
        for check in checks:
            ok, message = check()
            if not ok:
                raise ValueError(message)

    @classmethod
    def coerce(cls, cfg) -> "TrainConfig":
        """Return ``cfg`` as a TrainConfig: None gives the defaults, a dict its fields (unknown keys raise)."""
        if cfg is None:
            return cls()
        if isinstance(cfg, cls):
            return cfg
        if isinstance(cfg, dict):
            unknown = sorted(set(cfg) - {f.name for f in dataclasses.fields(cls)})
            if unknown:
                raise TypeError(f"unknown TrainConfig field(s) {unknown}; the fields are {[f.name for f in dataclasses.fields(cls)]}")
            return cls(**cfg)
        raise TypeError(f"cfg must be a ganlib.TrainConfig (or a dict of its fields), got {type(cfg).__name__}")


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
    """Raised when training diverges (a NaN/inf loss, or a runaway run); the message says where the last good checkpoint is."""


# A run that has "exploded" is finite but absurd. Over the 21 runs of the book at cpu scale (124 to
# 2,340 generator steps; losses of every method) the largest |loss| was 1.5e6 (an MD-GAN likelihood
# loss) and the largest |weight| 3.8, while Adam at lr 1e3 moves every weight by ~1e3 per step
# (past 1e4 in a few steps) and drives the losses to 1e20. The limits sit far from both.
LOSS_LIMIT = 1e10
WEIGHT_LIMIT = 1e4
RESUME_FIXED = ("batch_size", "n_critic", "seed", "optimizer", "z_dim")  # settings a resumed run cannot change


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
    cfg = TrainConfig.coerce(cfg)
    _check_losses(d_loss, g_loss)
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


def _largest_weight(*modules) -> float:
    """The largest |parameter| of the modules (inf if any is NaN)."""
    m = max((float(p.detach().abs().max().nan_to_num(float("inf"))) for mod in modules for p in mod.parameters() if p.numel()), default=0.0)
    return m


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
        ckpt = _check_checkpoint_path(self.state.checkpoint, resume)  # before any training
        if ckpt is not None:
            self._restore(ckpt)
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
            self._diverged(f"training diverged at generator step {steps[bad]} (epoch {self.state.epoch + 1}): "
                           f"D loss {d[bad]}, G loss {g[bad]}")
        big = next((i for i, v in enumerate(zip(d, g)) if max(map(abs, v)) > LOSS_LIMIT), None)
        weight = _largest_weight(self.state.G, self.state.D)
        if big is not None or weight > WEIGHT_LIMIT:
            at = steps[big] if big is not None else steps[-1]
            self._diverged(
                f"training ran away at generator step {at} (epoch {self.state.epoch + 1}): "
                + (f"D loss {d[big]:.3g}, G loss {g[big]:.3g} (the limit is {LOSS_LIMIT:.0e}), " if big is not None else "")
                + f"largest weight {weight:.3g} (the limit is {WEIGHT_LIMIT:.0e}); learning rates lr_g={self.cfg.lr_g}, lr_d={self.cfg.lr_d}")
        h = self.state.history
        h.step += steps
        h.epoch += epochs
        h.d_loss += d
        h.g_loss += g
        h.g_grad_norm += grad
        self.bar.set_postfix(d_loss=f"{d[-1]:.3f}", g_loss=f"{g[-1]:.3f}")

    def _diverged(self, what: str):
        where = (f"the last good checkpoint {self.state.checkpoint} (step {self.last_good}) is kept unchanged" if self.last_good is not None
                 else "no checkpoint was written yet (pass checkpoint= to keep one)")
        raise DivergenceError(f"{what}. Training stopped; {where}. Try lower learning rates, a smaller penalty weight, or a different loss.")

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
        # What defines the run's trajectory cannot change on resume: the data order and noise come
        # from the checkpoint's generators (seed), the optimiser state is the saved optimiser's.
        fixed = _differences(saved_cfg, self.cfg, RESUME_FIXED)
        if fixed:
            raise ValueError(
                f"cannot resume {os.fspath(state.checkpoint)!r} with other settings than it was trained with ({'; '.join(fixed)}): "
                "these define the run and cannot be changed midway. Use the checkpoint's values, or start a new run "
                "(another checkpoint path, or resume=False to train this one from scratch)")
        state.opt_G.load_state_dict(ckpt["opt_G"])
        state.opt_D.load_state_dict(ckpt["opt_D"])
        # New learning rates and Adam betas in the config apply from here on (report 001 resumed its
        # best epoch with halved rates); the checkpoint then records the values in use.
        changed = _differences(saved_cfg, self.cfg, ("lr_g", "lr_d", "betas"))
        for opt, key in ((state.opt_G, "lr_g"), (state.opt_D, "lr_d")):
            for group in opt.param_groups:
                group["lr"] = getattr(self.cfg, key)
                if "betas" in group:
                    group["betas"] = tuple(self.cfg.betas)
        if changed:
            print(f"resuming at generator step {int(ckpt['step'])} with new settings: {'; '.join(changed)}")
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
    """Read a checkpoint written by :func:`save_checkpoint`; raises ValueError saying what the file is if it is not one."""
    ckpt = read_checkpoint(path)
    required = {"G", "D", "opt_G", "opt_D", "step", "epoch", "batch", "rng", "history"}
    if not isinstance(ckpt, dict) or not required <= set(ckpt):
        raise ValueError(f"{os.fspath(path)!r} is not a ganlib training checkpoint: it is {describe_checkpoint(ckpt)}")
    return ckpt


def _positional_arity(fn) -> tuple[int, int] | None:
    """(required, accepted) positional parameters of ``fn``, or None when it cannot be told."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return sum(p.default is p.empty for p in pos), 10**6
    return sum(p.default is p.empty for p in pos), len(pos)


def _check_losses(d_loss, g_loss) -> None:
    """Raise TypeError unless d_loss takes (real_out, fake_out) and g_loss takes (fake_out)."""
    for name, fn in (("d_loss", d_loss), ("g_loss", g_loss)):
        if not callable(fn):
            raise TypeError(f"{name} must be a function such as ganlib.losses.{name}_bce, got {type(fn).__name__}")
    d, g = _positional_arity(d_loss), _positional_arity(g_loss)
    d_ok = d is None or d[0] <= 2 <= d[1]
    g_ok = g is None or g[0] <= 1 <= g[1]
    if d_ok and g_ok:
        return
    if not d_ok and not g_ok:
        raise TypeError(
            "d_loss and g_loss look swapped: d_loss must take (real_out, fake_out) and g_loss (fake_out), e.g. "
            "d_loss=ganlib.losses.d_loss_bce, g_loss=ganlib.losses.g_loss_nonsaturating")
    which, takes = ("d_loss", "(real_out, fake_out)") if not d_ok else ("g_loss", "(fake_out)")
    raise TypeError(f"{which} must take {takes}: got {getattr(d_loss if not d_ok else g_loss, '__name__', '?')}, which takes another number of arguments")


def _check_shapes(G, D, data, cfg):
    if not isinstance(data, torch.Tensor) or data.dim() < 2:
        raise ValueError("data must be a tensor (N, ...) of training samples, e.g. from ganlib.load_mnist")
    if not data.is_floating_point():
        raise TypeError(f"data has dtype {data.dtype}: ganlib trains on float32 samples; convert 0..255 pixels with x.float() / 127.5 - 1")
    model_dtype = next((p.dtype for p in G.parameters()), torch.float32)
    if data.dtype != model_dtype:
        raise TypeError(f"data has dtype {data.dtype} but the models are {model_dtype}: pass data.to({model_dtype}) (e.g. data.float())")
    if not bool(torch.isfinite(data).all()):
        raise ValueError("data contains NaN or inf values")
    if data.dim() >= 3 or data.shape[1] == 784:  # images (N, C, H, W) or flat MNIST: ganlib's [-1, 1] convention
        check_pixel_range(data, "data")
    in_shape = getattr(D, "in_shape", None)
    if in_shape is not None and tuple(data.shape[1:]) != tuple(in_shape):
        raise ValueError(f"data samples have shape {tuple(data.shape[1:])} but D expects {tuple(in_shape)}")
    out_shape = getattr(G, "out_shape", None)
    if out_shape is not None and tuple(data.shape[1:]) != tuple(out_shape):
        raise ValueError(f"G produces samples of shape {tuple(out_shape)} but the data has {tuple(data.shape[1:])}")
    if getattr(G, "z_dim", cfg.z_dim) != cfg.z_dim:
        raise ValueError(f"cfg.z_dim={cfg.z_dim} but G takes z of dimension {G.z_dim}")


def _check_checkpoint_path(path: Path | None, resume: bool) -> dict | None:
    """Check a checkpoint path before any training; return the checkpoint to resume from, if any.

    A folder, an unwritable place, or an existing file that is not a ganlib training checkpoint
    raise at once (never after an epoch has trained), and no file that ganlib did not write is
    ever overwritten.
    """
    if path is None:
        return None
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint={os.fspath(path)!r} is a folder: give a file path inside it, e.g. {os.fspath(path / 'run.pt')!r}")
    parent = path.parent
    existing = next((q for q in (parent, *parent.parents) if q.exists()), None)
    if existing is not None and not existing.is_dir():
        raise NotADirectoryError(f"cannot write the checkpoint {os.fspath(path)!r}: {os.fspath(existing)!r} is a file, not a folder")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write the checkpoint {os.fspath(path)!r}: {os.fspath(existing)!r} is not writable; choose another folder")
    if not path.exists():
        return None
    try:
        ckpt = load_checkpoint(path)
    except ValueError as err:
        raise ValueError(f"{err}. ganlib does not overwrite a file it did not write: pass another checkpoint path") from None
    return ckpt if resume else None


def _differences(saved: dict, cfg: TrainConfig, fields) -> list[str]:
    def norm(v):
        return list(v) if isinstance(v, (tuple, list)) else v
    return [f"{k}: {saved[k]!r} -> {getattr(cfg, k)!r}" for k in fields if k in saved and norm(saved[k]) != norm(getattr(cfg, k))]
