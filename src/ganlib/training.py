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

import contextlib
import dataclasses
import itertools
import math
import numbers
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import losses as L
from .config import default_device, progress_bar
from .data import batches
from .checkpoints import (  # load_checkpoint, save_checkpoint: also ganlib.training's public names
    RESUME_FIXED, check_checkpoint_path, checkpoint_paths, differences, load_checkpoint, save_checkpoint,  # noqa: F401
    stack_optimizer_states,
)
from .guards import LOSS_LIMIT, WEIGHT_LIMIT, check_data, check_loss_pair, check_progress, largest_weight  # noqa: F401
from .models import load_weights
from .seeds import interleave, seed_stack


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
    history: History  # one per seed (a list) for a stack of seeds
    step: int = 0  # generator steps done
    epoch: int = 0  # epochs completed
    checkpoint: Path | None = None
    stop: bool = False  # a callback sets this (or returns True) to end training after this epoch
    # wall-clock seconds spent in training steps, summed over resumes (callbacks and checkpoints not
    # counted); in a stack one entry per seed, each seed's share of the stack's time
    seconds: float | list = 0.0


def discriminator_step(G, D, opt_D, real, z, d_loss,
                       penalty=None, d_constraint=None, joint=True):
    """One critic update on ``real`` (B, ...) and ``G(z)``.

    Returns the detached loss (a scalar, or one per seed).
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
    loss.sum().backward()  # a stack of seeds: one loss per seed
    opt_D.step()
    if d_constraint is not None:  # weight clipping
        d_constraint(D)
    return loss.detach()


def generator_step(G, D, opt_G, z, g_loss, real=None):
    """One generator update on ``G(z)`` against a frozen ``D``.

    Returns the detached loss (a scalar, or one per seed).
    """
    D.requires_grad_(False)  # no weight gradients for D: a third
    try:                     # less work in the backward pass
        loss = g_loss(D(G(z)))
        opt_G.zero_grad(set_to_none=True)
        loss.sum().backward()  # one per seed in a stack
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
) -> History | list[History]:
    """Train ``G`` and ``D`` on ``data`` (N, ...) in place; returns the loss history.

    With ``checkpoint`` set, the run is saved there every ``cfg.checkpoint_every`` epochs and at
    the end; if the file exists and ``resume`` is true, training continues from it up to
    ``cfg.epochs`` (so a larger ``cfg.epochs`` trains further, and new learning rates apply).
    ``G`` and ``D`` may be stacks of seeds (``ganlib.seeds``): then ``data`` is shared or one set
    per seed (S, N, ...), ``checkpoint`` one path per seed, and one History per seed is returned.
    """
    cfg = TrainConfig.coerce(cfg)
    check_loss_pair(d_loss, g_loss)
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
    """||dL/dtheta|| of a module's parameters: a scalar, or one per seed for a stack."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if hasattr(module, "seeds"):  # a stack: parameters (S, ...)
        if not grads:
            return torch.zeros(module.n_seeds)
        return torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def _has_batchnorm(module) -> bool:
    if getattr(module, "norm", None) == "batch" and hasattr(module, "seeds"):
        return True
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())


class _Loop:
    """The bookkeeping of :func:`train`: data order and noise from seeded generators, the loss
    history (checked for NaN/inf every ``log_every`` steps), the progress bar, callbacks,
    checkpoints and resume, so that the training function reads as the algorithm.

    Exact resume rests on three things saved in the checkpoint: the data-order generator's state
    at the start of the current epoch with the index of the next batch, the noise generator's
    state, and torch's global RNG (which a penalty's interpolation weights use).

    A stack of seeds (``ganlib.seeds.StackedMLP``, G.seeds = (s_1, ..., s_S)) is the same loop with
    one of each per seed: data order, noise and penalty draws from seed s's own generators (rows
    interleaved by seed), one history, one divergence check and one checkpoint file per seed (in
    the single run's format, so a single run with that seed resumes or reuses it). A seed that
    diverges is reported and left behind; the others go on.
    """

    def __init__(self, G, D, data, cfg, checkpoint, resume):
        self.stacked = hasattr(G, "seeds")
        self.seeds = _seeds_of(G, D, cfg)
        S = len(self.seeds)
        if self.stacked and isinstance(data, torch.Tensor) and data.dim() == 2 + len(getattr(D, "in_shape", ())):
            if data.shape[0] != S:  # one data set per seed (S, N, ...)
                raise ValueError(f"per-seed data must have {S} sets (one per seed) in its first dimension, got {data.shape[0]}")
            datas = list(data.unbind(0))
        else:
            datas = [data] * S
        cfg.validate(n_data=datas[0].shape[0] if isinstance(datas[0], torch.Tensor) else None)
        check_data(G, D, datas[0], cfg)
        device = default_device(cfg.device)
        G.to(device).train()
        D.to(device).train()
        self.datas, self.cfg, self.device = [d.to(device) for d in datas], cfg, device
        opt_G, opt_D = make_optimizer(G.parameters(), cfg.lr_g, cfg), make_optimizer(D.parameters(), cfg.lr_d, cfg)
        paths = checkpoint_paths(checkpoint, S, self.stacked)
        history = [History() for _ in self.seeds] if self.stacked else History()
        self.state = TrainState(G, D, opt_G, opt_D, cfg, history, checkpoint=paths if self.stacked else paths[0],
                                seconds=[0.0] * S if self.stacked else 0.0)
        self.paths = paths
        # one D pass over real and fake together: not with batch norm in D (its statistics would mix
        # them) nor with PacGAN packs (a pack must not straddle the two halves)
        self.joint = not _has_batchnorm(D) and getattr(D, "pack", 1) == 1
        self.data_gens = [torch.Generator(device=device).manual_seed(s) for s in self.seeds]
        self.z_gens = [torch.Generator(device=device).manual_seed(s + 1) for s in self.seeds]
        # a single run's penalty draws come from torch's global RNG; a stack's from one generator per seed
        self.penalty_gens = [torch.Generator().manual_seed(s) for s in self.seeds] if self.stacked else None
        self.n_batches = datas[0].shape[0] // cfg.batch_size
        self.batch = 0  # index of the next batch of the current epoch
        self.last_good = [None] * S  # generator step of each seed's last checkpoint written
        self.pending = []  # (d losses, g loss, grad norm) of steps not yet in the history
        self.stopped_by = None  # the name of the callback that stopped the run
        self.diverged = {}  # seed index -> what happened (a stack goes on without it)
        ckpts = [check_checkpoint_path(p, resume) for p in paths]  # before any training
        if any(c is not None for c in ckpts):
            if any(c is None for c in ckpts) or len({(c["step"], c["batch"]) for c in ckpts}) > 1:
                raise ValueError("a stack of seeds resumes only when every seed's checkpoint exists at the same step; "
                                 "resume those seeds one by one, or pass resume=False")
            self._restore(ckpts)
        steps = self.n_batches // cfg.n_critic * cfg.epochs
        total = steps if cfg.max_steps is None else min(cfg.max_steps, steps)
        self.bar = progress_bar(total=total, initial=min(self.state.step, total), enabled=cfg.progress, desc="train", unit="step")
        self._context = contextlib.ExitStack()

    def __enter__(self):
        self.clock = time.perf_counter()
        if self.stacked:  # batch means per seed, penalty draws from each seed's generator
            self._context.enter_context(seed_stack(len(self.seeds), self.penalty_gens))
        return self

    def __exit__(self, *exc):
        self._context.close()
        self.bar.close()

    def remaining_epochs(self) -> range:
        """The epochs left to train (none once ``max_steps`` is reached)."""
        return range(0) if self.reached_max_steps() else range(self.state.epoch, self.cfg.epochs)

    def _per_seed(self, parts) -> torch.Tensor:
        return interleave(parts) if self.stacked else parts[0]

    def noise(self) -> torch.Tensor:
        """Fresh latents (batch_size, z_dim) from the run's noise generator (rows interleaved by seed in a stack)."""
        return self._per_seed([torch.randn(self.cfg.batch_size, self.cfg.z_dim, generator=g, device=self.device)
                               for g in self.z_gens])

    def critic_batches(self):
        """Yield the epoch's real batches (``ganlib.data.batches``) in groups of ``n_critic``, from where a
        resumed run stopped. A last group that is not full is left out: Algorithm 1 takes n_critic batches a step.
        """
        self.epoch_rng = [g.get_state() for g in self.data_gens]  # a run stopped inside this epoch replays its order
        streams = [batches(d, self.cfg.batch_size, g) for d, g in zip(self.datas, self.data_gens)]
        shuffled = (self._per_seed(parts) for parts in zip(*streams))
        groups = zip(*[shuffled] * self.cfg.n_critic)  # consecutive groups of n_critic batches
        for group in itertools.islice(groups, self.batch // self.cfg.n_critic, None):
            self.batch += self.cfg.n_critic
            yield list(group)

    def record(self, d_losses, g_loss) -> None:
        """Count a generator step; every ``log_every`` steps, move its losses into the history."""
        state = self.state
        grad = _grad_norm(state.G) if self.cfg.record_grad_norm else None
        state.step += 1
        self.pending.append((state.step, state.epoch + self.batch / self.n_batches, torch.stack(d_losses).mean(0), g_loss, grad))
        self.bar.update(1)
        if state.step % self.cfg.log_every == 0:
            self.flush()

    def flush(self) -> None:
        """Move the pending losses into the history; a NaN/inf or runaway loss stops the run
        (:class:`DivergenceError`), or in a stack leaves that seed behind."""
        if not self.pending:
            return
        steps, epochs, d, g, grad = zip(*self.pending)
        self.pending = []
        d, g = torch.stack(d).reshape(len(steps), -1), torch.stack(g).reshape(len(steps), -1)  # (T, seeds)
        grad = torch.stack(grad).reshape(len(steps), -1) if self.cfg.record_grad_norm else None
        weights = largest_weight(self.state.G, self.state.D, per_seed=self.stacked)
        histories = self.state.history if self.stacked else [self.state.history]
        for s, h in enumerate(histories):
            if s in self.diverged:
                continue
            ds, gs = d[:, s].tolist(), g[:, s].tolist()
            keep, problem = check_progress(steps, ds, gs, float(weights[s]), self.state.epoch, self.cfg)
            if problem is not None:
                self._diverged(s, problem)
            h.step += steps[:keep]
            h.epoch += epochs[:keep]
            h.d_loss += ds[:keep]
            h.g_loss += gs[:keep]
            h.g_grad_norm += grad[:keep, s].tolist() if grad is not None else []
        live = [s for s in range(len(histories)) if s not in self.diverged]
        if live:
            self.bar.set_postfix(d_loss=f"{histories[live[0]].d_loss[-1]:.3f}", g_loss=f"{histories[live[0]].g_loss[-1]:.3f}")

    def _diverged(self, s: int, what: str):
        path, good = self.paths[s], self.last_good[s]
        where = (f"the last good checkpoint {path} (step {good}) is kept unchanged" if good is not None
                 else "no checkpoint was written yet (pass checkpoint= to keep one)")
        message = f"{what}. Training stopped; {where}. Try lower learning rates, a smaller penalty weight, or a different loss."
        if not self.stacked:
            raise DivergenceError(message)
        self.diverged[s] = message
        print(f"seed {self.seeds[s]} of the stack: {message} The other seeds go on.")
        if len(self.diverged) == len(self.seeds):
            raise DivergenceError(f"every seed of the stack {self.seeds} diverged; the first: {self.diverged[min(self.diverged)]}")

    def reached_max_steps(self) -> bool:
        return self.cfg.max_steps is not None and self.state.step >= self.cfg.max_steps

    def tick(self) -> None:
        """Add the training time since the last tick to ``state.seconds`` (a stack's time shared by its seeds)."""
        now, state = time.perf_counter(), self.state
        spent, self.clock = now - self.clock, now
        if self.stacked:
            state.seconds = [t + spent / len(self.seeds) for t in state.seconds]
        else:
            state.seconds += spent

    def end_epoch(self, callbacks) -> None:
        """Close an epoch: history, callbacks (one may stop the run), then a checkpoint when one is due."""
        state, cfg = self.state, self.cfg
        self.flush()
        self.tick()
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
            self.save([g.get_state() for g in self.data_gens])
        self.clock = time.perf_counter()  # callbacks and checkpoints are not training time

    def stop_mid_epoch(self):
        """End a run at ``max_steps`` inside an epoch: save where the next batch starts; returns the history."""
        self.flush()
        self.tick()
        self.save(self.epoch_rng)
        return self.state.history

    def save(self, data_rng: list) -> None:
        """Checkpoint the run, one file per seed (only a finite state: the file on disk stays the last good one)."""
        weights = largest_weight(self.state.G, self.state.D, per_seed=self.stacked)  # inf where a weight is NaN/inf
        for s, path in enumerate(self.paths):
            if path is None or s in self.diverged or not math.isfinite(weights[s]):
                continue
            # a single run's penalty draws come from torch's global RNG, a stack's from each seed's generator
            torch_rng = self.penalty_gens[s].get_state() if self.stacked else torch.get_rng_state()
            rng = {"data": data_rng[s].cpu(), "z": self.z_gens[s].get_state().cpu(), "torch": torch_rng}
            save_checkpoint(path, self.state, self.batch, rng, seed_index=s if self.stacked else None)
            self.last_good[s] = self.state.step

    def _restore(self, ckpts: list) -> None:
        state = self.state
        if self.stacked:
            for s, ckpt in enumerate(ckpts):
                state.G.load_member(s, ckpt["G"])
                state.D.load_member(s, ckpt["D"])
        else:
            load_weights(state.G, ckpts[0]["G"])
            load_weights(state.D, ckpts[0]["D"])
        changed = []
        for s, ckpt in enumerate(ckpts):
            saved_cfg = ckpt.get("config") or {}
            cfg = dataclasses.replace(self.cfg, seed=self.seeds[s])
            # What defines the run's trajectory cannot change on resume: the data order and noise come
            # from the checkpoint's generators (seed), the optimiser state is the saved optimiser's.
            fixed = differences(saved_cfg, cfg, RESUME_FIXED)
            if fixed:
                raise ValueError(
                    f"cannot resume {os.fspath(self.paths[s])!r} with other settings than it was trained with ({'; '.join(fixed)}): "
                    "these define the run and cannot be changed midway. Use the checkpoint's values, or start a new run "
                    "(another checkpoint path, or resume=False to train this one from scratch)")
            changed = differences(saved_cfg, cfg, ("lr_g", "lr_d", "betas"))
        state.opt_G.load_state_dict(stack_optimizer_states([c["opt_G"] for c in ckpts]))
        state.opt_D.load_state_dict(stack_optimizer_states([c["opt_D"] for c in ckpts]))
        # New learning rates and Adam betas in the config apply from here on (report 001 resumed its
        # best epoch with halved rates); the checkpoint then records the values in use.
        for opt, key in ((state.opt_G, "lr_g"), (state.opt_D, "lr_d")):
            for group in opt.param_groups:
                group["lr"] = getattr(self.cfg, key)
                if "betas" in group:
                    group["betas"] = tuple(self.cfg.betas)
        if changed:
            print(f"resuming at generator step {int(ckpts[0]['step'])} with new settings: {'; '.join(changed)}")
        state.step, state.epoch, self.batch = int(ckpts[0]["step"]), int(ckpts[0]["epoch"]), int(ckpts[0]["batch"])
        histories = [History(**c["history"]) for c in ckpts]
        seconds = [float(c.get("train_seconds", math.nan)) for c in ckpts]  # nan: a checkpoint written before ganlib kept it
        state.seconds = seconds if self.stacked else seconds[0]
        state.history = histories if self.stacked else histories[0]
        self.last_good = [state.step] * len(ckpts)
        for s, ckpt in enumerate(ckpts):
            self.data_gens[s].set_state(ckpt["rng"]["data"].to(self.data_gens[s].get_state().device))
            self.z_gens[s].set_state(ckpt["rng"]["z"].to(self.z_gens[s].get_state().device))
            if self.stacked:
                self.penalty_gens[s].set_state(ckpt["rng"]["torch"])
            else:
                torch.set_rng_state(ckpt["rng"]["torch"])


def _seeds_of(G, D, cfg) -> tuple:
    """The seeds a run trains: (cfg.seed,) for ordinary models, G.seeds for a stack (D must carry the same)."""
    if not hasattr(G, "seeds") and not hasattr(D, "seeds"):
        return (cfg.seed,)
    if getattr(G, "seeds", None) != getattr(D, "seeds", None):
        raise ValueError(f"G and D must be stacks of the same seeds (ganlib.seeds.stack), got {getattr(G, 'seeds', None)} "
                         f"and {getattr(D, 'seeds', None)}")
    return tuple(G.seeds)
