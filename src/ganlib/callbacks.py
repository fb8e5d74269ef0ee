"""Training callbacks: ``cb(state) -> bool | None``, called by ``ganlib.train`` at each epoch end.

A callback stops the run by returning True (exactly: any other value, such as a plotting call's, is
ignored) or by setting ``state.stop = True``; ``train`` prints which one stopped it. Here: fixed-latent sample snapshots, learning-rate
schedules (:func:`decay_lr`, :func:`linear_lr_decay`), and FID early stopping with a best-epoch
checkpoint (:class:`FIDEarlyStopping`, report 001's protocol) plus :func:`resume_config`, which
continues that checkpoint with new learning rates (report 001: halving both rates from the best
epoch and training 30 more epochs took FID 28 -> 16).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from pathlib import Path
from typing import Callable

import torch

from .config import atomic_save
from .images import sample
from .training import TrainConfig, load_checkpoint, save_checkpoint


class SampleSnapshots:
    """Keep G's samples of the same fixed latents after every ``every`` epochs, as ``[(epoch, samples)]``
    (or ``[(step, samples)]`` with ``key='step'``).

    With ``path``, the snapshots are written there (atomically) and read back when the run is
    resumed from a finished checkpoint, so a chapter can show them without retraining.
    """

    def __init__(self, n: int = 16, seed: int = 0, every: int = 1, path=None, key: str = "epoch"):
        if n < 1 or every < 1:
            raise ValueError("n and every must be >= 1")
        if key not in ("epoch", "step"):
            raise ValueError(f"key must be 'epoch' or 'step', got {key!r}")
        self.n, self.seed, self.every, self.key = n, seed, every, key
        self.path = Path(path) if path else None
        self.snapshots: list[tuple[int, torch.Tensor]] = []
        if self.path is not None and self.path.exists():
            self.snapshots = torch.load(self.path, weights_only=False)

    def due(self, state) -> bool:
        """Whether this epoch end takes a snapshot (``seeds.PerSeed`` builds a seed's G only then)."""
        return state.epoch % self.every == 0 or state.epoch == state.cfg.epochs

    def __call__(self, state):
        if self.due(state):
            images = sample(state.G, self.n, seed=self.seed).cpu()
            at = getattr(state, self.key)
            self.snapshots = [(e, x) for e, x in self.snapshots if e < at] + [(at, images)]
            if self.path is not None:
                atomic_save(self.snapshots, self.path)
        return None

    def grids(self, max_count: int = 6) -> dict:
        """Return up to ``max_count`` evenly spaced snapshots as ``{'epoch k': images}``."""
        if not self.snapshots:
            return {}
        idx = sorted({round(i * (len(self.snapshots) - 1) / max(max_count - 1, 1)) for i in range(max_count)})
        return {f"epoch {self.snapshots[i][0]}": self.snapshots[i][1] for i in idx}


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
    a ``ganlib.runs.RunSpec`` with ``init_from=best_path`` does the copy into its own cached path).
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
        atomic_save(Path(best_path), run_path)
    return cfg
