"""Checkpoints of a training run: one dict per run (per seed of a stack) written atomically, read
back with a message that says what a wrong file is, checked before any training, and split or
joined by seed for stacked runs (``ganlib.seeds``).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path

import torch

from .config import atomic_save
from .models import describe_checkpoint, read_checkpoint

RESUME_FIXED = ("batch_size", "n_critic", "seed", "optimizer", "z_dim")  # settings a resumed run cannot change


def checkpoint_paths(checkpoint, n: int, stacked: bool) -> list:
    """One checkpoint path (or None) per seed: a stack takes a sequence of n paths."""
    if not stacked or checkpoint is None:
        return [Path(checkpoint).expanduser() if checkpoint else None] * (n if stacked else 1)
    if isinstance(checkpoint, (str, os.PathLike)) or len(checkpoint) != n:
        raise ValueError(f"a stack of {n} seeds takes one checkpoint path per seed (a list of {n}), got {checkpoint!r}")
    return [Path(p).expanduser() if p else None for p in checkpoint]


def optimizer_state_of_seed(state_dict: dict, s: int, n: int) -> dict:
    """Seed s's share of a stacked optimiser's state_dict: every per-parameter tensor with a leading seed dimension, sliced."""
    def part(v):
        return v[s].clone() if isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == n else v
    return {"state": {i: {k: part(v) for k, v in st.items()} for i, st in state_dict["state"].items()},
            "param_groups": copy.deepcopy(state_dict["param_groups"])}


def stack_optimizer_states(states: list) -> dict:
    """The inverse of :func:`optimizer_state_of_seed` (one state_dict for a single run)."""
    if len(states) == 1:
        return states[0]

    def join(vs):
        v = vs[0]
        return torch.stack(vs) if isinstance(v, torch.Tensor) and v.dim() > 0 else v
    return {"state": {i: {k: join([st["state"][i][k] for st in states]) for k in states[0]["state"][i]}
                      for i in states[0]["state"]},
            "param_groups": states[0]["param_groups"]}


def save_checkpoint(path, state, batch: int, rng: dict, seed_index: int | None = None) -> Path:
    """Write the run's state to ``path`` atomically; returns the path.

    For a stack of seeds (``ganlib.seeds``), ``seed_index`` s writes seed s's run alone, in the
    single run's format (its weights, its share of the optimiser state, its seed and history).
    """
    if seed_index is None:
        G, D, opt_G, opt_D = state.G.state_dict(), state.D.state_dict(), state.opt_G.state_dict(), state.opt_D.state_dict()
        cfg, history, seconds = state.cfg, state.history, state.seconds
    else:
        s, n = seed_index, state.G.n_seeds
        G, D = state.G.member_state_dict(s), state.D.member_state_dict(s)
        opt_G, opt_D = (optimizer_state_of_seed(o.state_dict(), s, n) for o in (state.opt_G, state.opt_D))
        cfg, history = dataclasses.replace(state.cfg, seed=state.G.seeds[s]), state.history[s]
        seconds = state.seconds[s]
    ckpt = {
        "G": G,
        "D": D,
        "G_arch": getattr(state.G, "arch", None),
        "D_arch": getattr(state.D, "arch", None),
        "opt_G": opt_G,
        "opt_D": opt_D,
        "step": state.step,
        "epoch": state.epoch,
        "batch": batch,
        "config": dataclasses.asdict(cfg),
        "rng": rng,
        "history": history.as_dict(),
        "train_seconds": float(seconds),  # wall-clock seconds of training steps so far
    }
    return atomic_save(ckpt, path)


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; raises ValueError saying what the file is if it is not one."""
    ckpt = read_checkpoint(path)
    required = {"G", "D", "opt_G", "opt_D", "step", "epoch", "batch", "rng", "history"}
    if not isinstance(ckpt, dict) or not required <= set(ckpt):
        raise ValueError(f"{os.fspath(path)!r} is not a ganlib training checkpoint: it is {describe_checkpoint(ckpt)}")
    return ckpt


def check_checkpoint_path(path: Path | None, resume: bool) -> dict | None:
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


def differences(saved: dict, cfg, fields) -> list[str]:
    def norm(v):
        return list(v) if isinstance(v, (tuple, list)) else v
    return [f"{k}: {saved[k]!r} -> {getattr(cfg, k)!r}" for k in fields if k in saved and norm(saved[k]) != norm(getattr(cfg, k))]
