"""GAN losses as pairs of pure functions over discriminator outputs (logits or critic scores).

Goodfellow et al. 2014, "Generative Adversarial Nets", Eq. (1):

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))],   D(x) = sigmoid(logit(x)).

Written with ``softplus`` so that they are stable for any logit:
``-log sigmoid(t) = softplus(-t)`` and ``-log(1 - sigmoid(t)) = softplus(t)``.

- ``d_loss_bce``: the discriminator's side of Eq. (1), negated, with its real and fake terms
  *summed* as the lab template sums them (at D = 1/2 everywhere it equals log 4).
- ``g_loss_minimax``: the generator's side of Eq. (1), ``E[log(1 - D(G(z)))]``; its gradient
  vanishes when D confidently rejects the fakes (early training).
- ``g_loss_nonsaturating``: ``-E[log D(G(z))]``, the "-log D trick" of the same paper (Sec. 3),
  the lab template's choice (BCE of fakes against label 1).
- ``d_loss_wasserstein``, ``g_loss_wasserstein``: Arjovsky et al. 2017, Eq. (3): the critic
  maximises E[f(x)] - E[f(G(z))] over (approximately) 1-Lipschitz f.

Every function takes tensors of shape (N,) and returns a scalar; a training call picks a pair.
Batch means go through ``ganlib.seeds.batch_mean``: ``x.mean()`` in a single run, one mean per
seed (a tensor (S,)) when S seeds are trained as one stacked run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .seeds import batch_mean


def d_loss_bce(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))] from logits (N,), (M,) -> scalar."""
    return batch_mean(F.softplus(-real)) + batch_mean(F.softplus(fake))


def g_loss_minimax(fake: torch.Tensor) -> torch.Tensor:
    """E[log(1 - D(G(z)))] from logits (N,) -> scalar (the saturating loss G minimises)."""
    return -batch_mean(F.softplus(fake))


def g_loss_nonsaturating(fake: torch.Tensor) -> torch.Tensor:
    """-E[log D(G(z))] from logits (N,) -> scalar."""
    return batch_mean(F.softplus(-fake))


def d_loss_wasserstein(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E[f(G(z))] - E[f(x)] from critic scores (N,), (M,) -> scalar (the critic minimises it)."""
    return batch_mean(fake) - batch_mean(real)


def g_loss_wasserstein(fake: torch.Tensor) -> torch.Tensor:
    """-E[f(G(z))] from critic scores (N,) -> scalar."""
    return -batch_mean(fake)


LOSSES = {
    "minimax": (d_loss_bce, g_loss_minimax),
    "non-saturating": (d_loss_bce, g_loss_nonsaturating),
    "wasserstein": (d_loss_wasserstein, g_loss_wasserstein),
}


def get_losses(name: str):
    """Return the pair ``(d_loss, g_loss)`` registered under ``name`` (see ``LOSSES``)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: use one of {sorted(LOSSES)}") from None
