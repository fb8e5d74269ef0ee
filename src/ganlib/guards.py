"""Checks that keep a training run honest: its inputs (data, loss pair) before any work, and its
progress (NaN/inf and runaway losses or weights) while it trains. :func:`ganlib.train` calls them;
each message names the problem and the fix.
"""

from __future__ import annotations

import inspect
import math

import torch

from .images import check_pixel_range

# A run that has "exploded" is finite but absurd. Over the 21 runs of the book at cpu scale (124 to
# 2,340 generator steps; losses of every method) the largest |loss| was 1.5e6 (an MD-GAN likelihood
# loss) and the largest |weight| 3.8, while Adam at lr 1e3 moves every weight by ~1e3 per step
# (past 1e4 in a few steps) and drives the losses to 1e20. The limits sit far from both.
LOSS_LIMIT = 1e10
WEIGHT_LIMIT = 1e4


def largest_weight(*modules, per_seed: bool = False):
    """The largest |parameter| of the modules (inf if any is NaN); per seed of a stack with ``per_seed``."""
    if per_seed:
        parts = [p.detach().abs().flatten(1).max(1).values.nan_to_num(float("inf")) for m in modules for p in m.parameters()]
        return torch.stack(parts).max(0).values.tolist()
    m = max((float(p.detach().abs().max().nan_to_num(float("inf"))) for mod in modules for p in mod.parameters() if p.numel()), default=0.0)
    return [m]


def check_progress(steps, d, g, weight, epoch, cfg) -> tuple[int, str | None]:
    """(how many steps are good, what went wrong or None): a NaN/inf loss, or a runaway run (absurd loss or weight)."""
    bad = next((i for i, v in enumerate(zip(d, g)) if not all(map(math.isfinite, v))), None)
    if bad is not None:
        return bad, f"training diverged at generator step {steps[bad]} (epoch {epoch + 1}): D loss {d[bad]}, G loss {g[bad]}"
    big = next((i for i, v in enumerate(zip(d, g)) if max(map(abs, v)) > LOSS_LIMIT), None)
    if big is not None or weight > WEIGHT_LIMIT:
        at = steps[big] if big is not None else steps[-1]
        return (big if big is not None else len(steps)), (
            f"training ran away at generator step {at} (epoch {epoch + 1}): "
            + (f"D loss {d[big]:.3g}, G loss {g[big]:.3g} (the limit is {LOSS_LIMIT:.0e}), " if big is not None else "")
            + f"largest weight {weight:.3g} (the limit is {WEIGHT_LIMIT:.0e}); learning rates lr_g={cfg.lr_g}, lr_d={cfg.lr_d}")
    return len(steps), None


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


def check_loss_pair(d_loss, g_loss) -> None:
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


def check_data(G, D, data, cfg):
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
