"""Helpers the samplers share: latents drawn on the CPU, G and D in eval mode, the stats dict.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from ..images import sample


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
    if getattr(D, "pack", 1) > 1:
        raise ValueError(f"this discriminator is a PacGAN one: it scores packs of {D.pack} samples, not one sample, "
                         "so it cannot rank samples; fine-tune a plain ganlib.Discriminator on the generator "
                         "(ganlib.samplers.finetune_discriminator) and pass that")
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


def check_budget(name: str, n: int, n_kept: int, proposed: int, rate: float, max_proposals: int, advice: str,
                 min_proposed: int = 0) -> None:
    """Raise RuntimeError as soon as ``n`` acceptances cannot be reached within ``max_proposals``.

    ``rate`` is an optimistic estimate of the acceptance rate per proposal (an upper bound when
    nothing has been accepted yet), so a run that would only fail later fails now, with the
    projection in the message, instead of after minutes of proposals.
    """
    if proposed < min_proposed:
        return
    left = n - n_kept
    needed = left / rate if rate > 0 else float("inf")
    if proposed + needed > max_proposals:
        raise RuntimeError(
            f"{name}: {n_kept} of {n} samples accepted after {proposed:,} proposals; at an acceptance rate of at most "
            f"{rate:.2g} the remaining {left:,} would need about {needed:,.0f} more proposals, beyond max_proposals="
            f"{max_proposals:,}. {advice}"
        )
