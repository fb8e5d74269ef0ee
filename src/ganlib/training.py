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
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from . import losses as L
from .config import default_device, progress_bar


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
    log_every: int = 50  # generator steps per entry in the loss history (and NaN check)
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
            (self.optimizer in _OPTIMIZERS, f"optimizer must be one of {sorted(_OPTIMIZERS)}, got {self.optimizer!r}"),
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


_OPTIMIZERS = {
    "adam": _adam,
    "rmsprop": lambda params, lr, cfg: torch.optim.RMSprop(params, lr=lr),
    "sgd": lambda params, lr, cfg: torch.optim.SGD(params, lr=lr),
}


class DivergenceError(RuntimeError):
    """Raised when a loss becomes NaN or infinite; the message says where the last good checkpoint is."""


@dataclass
class History:
    """Losses averaged over each ``log_every`` generator steps."""

    step: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    d_loss: list = field(default_factory=list)
    g_loss: list = field(default_factory=list)
    g_grad_norm: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


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
    stop: bool = False  # a callback may set this (or return True) to end training


def discriminator_step(G, D, opt_D, real, z, d_loss, penalty=None, d_constraint=None, joint=True) -> torch.Tensor:
    """One critic update on ``real`` (B, ...) and ``G(z)``; returns the detached loss (scalar)."""
    with torch.no_grad():
        fake = G(z)
    if joint:  # one forward pass over real and fake together: larger matmuls, same result without batch norm
        out = D(torch.cat([real, fake]))
        real_out, fake_out = out[: real.shape[0]], out[real.shape[0]:]
    else:
        real_out, fake_out = D(real), D(fake)
    loss = d_loss(real_out, fake_out)
    if penalty is not None:
        loss = loss + penalty(D, real, fake)
    opt_D.zero_grad(set_to_none=True)
    loss.backward()
    opt_D.step()
    if d_constraint is not None:
        d_constraint(D)
    return loss.detach()


def generator_step(G, D, opt_G, z, g_loss, real=None) -> torch.Tensor:
    """One generator update on ``G(z)`` against a frozen ``D``; returns the detached loss (scalar)."""
    D.requires_grad_(False)  # no weight gradients for D: a third less work in the backward pass
    try:
        loss = g_loss(D(G(z)))
        opt_G.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        D.requires_grad_(True)
    opt_G.step()
    return loss.detach()


def _grad_norm(module) -> torch.Tensor:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])) if grads else torch.zeros(())


def _has_batchnorm(module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())


def _finite_params(*modules) -> bool:
    return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())


def save_checkpoint(path, state: TrainState, batch: int, rng: dict) -> Path:
    """Write the run's state to ``path`` atomically (temporary file, then rename); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; raises ValueError if it is not one."""
    from .models import read_checkpoint

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
    cfg.validate(n_data=data.shape[0] if isinstance(data, torch.Tensor) else None)
    _check_shapes(G, D, data, cfg)
    device = default_device(cfg.device)
    G.to(device).train()
    D.to(device).train()
    data = data.to(device)
    make_opt = _OPTIMIZERS[cfg.optimizer]
    opt_G, opt_D = make_opt(G.parameters(), cfg.lr_g, cfg), make_opt(D.parameters(), cfg.lr_d, cfg)
    state = TrainState(G, D, opt_G, opt_D, cfg, History(), checkpoint=Path(checkpoint) if checkpoint else None)
    g_step = g_step or generator_step
    if hasattr(g_step, "bind_optimizer"):  # an unrolled step that replays D's own optimiser (its Adam state)
        g_step.bind_optimizer(opt_D)
    joint = not _has_batchnorm(D)

    data_gen = torch.Generator(device=device).manual_seed(cfg.seed)
    z_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    start_batch, pending = 0, ([0.0, 0.0, 0.0], 0, 0)
    if state.checkpoint is not None and resume and state.checkpoint.exists():
        ckpt = load_checkpoint(state.checkpoint)
        start_batch = _restore(state, ckpt, data_gen, z_gen)
        pending = ckpt["rng"].get("pending", pending)

    n_batches = data.shape[0] // cfg.batch_size
    steps_per_epoch = n_batches // cfg.n_critic
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    bar = progress_bar(total=total, initial=min(state.step, total), enabled=cfg.progress, desc="train", unit="step")
    sums = torch.tensor(pending[0], device=device)  # d_loss, g_loss, grad norm since the last record
    n_d, n_g = pending[1], pending[2]
    last_good = None

    def record():
        nonlocal sums, n_d, n_g
        if n_g == 0:
            return
        d, g, gn = sums.tolist()
        if not all(math.isfinite(v) for v in (d, g, gn)):
            where = f"the last good checkpoint is {state.checkpoint} (step {last_good})" if last_good is not None else (
                "no checkpoint was written yet (pass checkpoint= to keep one)")
            raise DivergenceError(
                f"training diverged near generator step {state.step} (epoch {state.epoch + 1}): "
                f"mean D loss {d / max(n_d, 1)}, mean G loss {g / n_g}. Training stopped; {where}. "
                "Try lower learning rates, a smaller penalty weight, or a different loss."
            )
        h = state.history
        h.step.append(state.step)
        h.epoch.append(state.epoch + batch / n_batches)
        h.d_loss.append(d / max(n_d, 1))
        h.g_loss.append(g / n_g)
        if cfg.record_grad_norm:
            h.g_grad_norm.append(gn / n_g)
        bar.set_postfix(d_loss=f"{h.d_loss[-1]:.3f}", g_loss=f"{h.g_loss[-1]:.3f}")
        sums = torch.zeros(3, device=device)
        n_d = n_g = 0

    batch = start_batch
    try:
        while state.epoch < cfg.epochs and not _done(state, cfg):
            epoch_rng = data_gen.get_state()
            perm = torch.randperm(data.shape[0], generator=data_gen, device=device)
            for batch in range(start_batch, n_batches):
                real = data[perm[batch * cfg.batch_size : (batch + 1) * cfg.batch_size]]
                z = torch.randn(real.shape[0], cfg.z_dim, generator=z_gen, device=device)
                sums[0] += discriminator_step(G, D, opt_D, real, z, d_loss, penalty, d_constraint, joint)
                n_d += 1
                if (batch + 1) % cfg.n_critic == 0:
                    z = torch.randn(real.shape[0], cfg.z_dim, generator=z_gen, device=device)
                    sums[1] += g_step(G, D, opt_G, z, g_loss, real)
                    if cfg.record_grad_norm:
                        sums[2] += _grad_norm(G)
                    n_g += 1
                    state.step += 1
                    bar.update(1)
                    if state.step % cfg.log_every == 0:
                        record()
                    if _done(state, cfg):
                        break
            else:
                batch, start_batch = 0, 0
                state.epoch += 1
                record()
                for cb in callbacks:
                    if cb(state):
                        state.stop = True
                if state.checkpoint is not None and (state.epoch % cfg.checkpoint_every == 0 or state.epoch == cfg.epochs or state.stop):
                    last_good = _save(state, 0, data_gen.get_state(), z_gen) or last_good
                if state.stop:
                    break
                continue
            # stopped inside an epoch (max_steps): save where the next batch starts, together with
            # the unrecorded loss sums, so that a resumed run records exactly what this one would have
            batch += 1
            if state.checkpoint is not None:
                last_good = _save(state, batch, epoch_rng, z_gen, (sums, n_d, n_g)) or last_good
            record()
            break
    finally:
        bar.close()
    return state.history


def _done(state, cfg) -> bool:
    return cfg.max_steps is not None and state.step >= cfg.max_steps


def _save(state, batch, data_rng, z_gen, pending=None):
    """Checkpoint only finite models; returns the step saved, or None when the state was not finite."""
    if not _finite_params(state.G, state.D):
        return None
    rng = {"data": data_rng.cpu(), "z": z_gen.get_state().cpu(), "torch": torch.get_rng_state()}
    if pending is not None:
        sums, n_d, n_g = pending
        rng["pending"] = (sums.tolist(), n_d, n_g)
    save_checkpoint(state.checkpoint, state, batch, rng)
    return state.step


def _restore(state, ckpt, data_gen, z_gen) -> int:
    from .models import load_weights

    load_weights(state.G, ckpt["G"])
    load_weights(state.D, ckpt["D"])
    saved_cfg = ckpt.get("config") or {}
    state.opt_G.load_state_dict(ckpt["opt_G"])
    state.opt_D.load_state_dict(ckpt["opt_D"])
    # New learning rates in the config win (report 001 resumed its best epoch with halved rates).
    for opt, key in ((state.opt_G, "lr_g"), (state.opt_D, "lr_d")):
        if saved_cfg.get(key) != getattr(state.cfg, key):
            for group in opt.param_groups:
                group["lr"] = getattr(state.cfg, key)
    if saved_cfg.get("batch_size", state.cfg.batch_size) != state.cfg.batch_size or saved_cfg.get("n_critic", state.cfg.n_critic) != state.cfg.n_critic:
        raise ValueError("cannot resume with a different batch_size or n_critic than the checkpoint's; start a new run (another checkpoint path)")
    state.step, state.epoch = int(ckpt["step"]), int(ckpt["epoch"])
    state.history = History(**ckpt["history"])
    data_gen.set_state(ckpt["rng"]["data"].to(data_gen.get_state().device))
    z_gen.set_state(ckpt["rng"]["z"].to(z_gen.get_state().device))
    torch.set_rng_state(ckpt["rng"]["torch"])
    return int(ckpt["batch"])


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
