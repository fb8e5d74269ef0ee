"""Regularisers of the critic, for any sample shape (MNIST images and 2D points alike).

Each returns an *unweighted* scalar; the caller weights it where it is added, e.g.
``penalty=lambda D, real, fake: gp_weight * gradient_penalty(D, real, fake)`` in ``ganlib.train``.

- :func:`gradient_penalty`: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
  Eq. (3): E_{x^ ~ P_x^}[(||grad D(x^)||_2 - 1)^2], x^ = eps x + (1 - eps) G(z),
  eps ~ U[0, 1] per sample. ``one_sided=True`` penalises only norms above 1 (Sec. 4 and
  Petzka et al. 2018): E[max(0, ||grad D(x^)|| - 1)^2].
- :func:`r1_penalty`: Mescheder et al. 2018, "Which Training Methods for GANs do actually
  Converge?", Eq. (9): R1 = E_{x ~ P_data}[||grad D(x)||^2]; the paper's gamma/2 is applied
  by :func:`r1` (so ``penalty=r1(gamma)``); :func:`gp_penalty` weights the gradient penalty.
- :func:`clip_weights`: Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1, line 7:
  clip every critic parameter to [-c, c] after each critic update.
"""

from __future__ import annotations

import warnings

import torch

from .seeds import batch_mean, uniform_per_row


def input_grad_norm(D, x: torch.Tensor, create_graph: bool = True):
    """Return ||grad_x D(x)||_2 for each sample of x (N, ...): (N,).

    With ``create_graph`` the result can be backpropagated (a penalty);
    without, it is a measurement.
    """
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=create_graph)
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(D, real, fake, one_sided=False, generator=None):
    """Return E[(||grad D(x^)|| - 1)^2] at random interpolates x^ of
    real and fake (N, ...): a scalar."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got "
                         f"{tuple(real.shape)} and {tuple(fake.shape)}")
    # one eps per sample, broadcast over the rest: images and points alike
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = uniform_per_row(len(real), real.device, real.dtype,
                          generator).view(eps_shape)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    excess = input_grad_norm(D, x_hat) - 1
    if one_sided:  # penalise only norms above 1
        excess = excess.clamp(min=0)
    return batch_mean(excess.pow(2))


def r1_penalty(D, real):
    """Return E_real[||grad D(x)||^2] over real (N, ...): a scalar
    (Mescheder et al. 2018, Eq. 9, without gamma / 2)."""
    return batch_mean(input_grad_norm(D, real).pow(2))


def r1(gamma: float):
    """Return a ``penalty(D, real, fake)`` adding gamma/2 * R1, for ``ganlib.train``."""
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    return lambda D, real, fake: 0.5 * gamma * r1_penalty(D, real)


def gp_penalty(gp_weight: float = 10.0, one_sided: bool = False):
    """Return a ``penalty(D, real, fake)`` adding gp_weight * gradient_penalty, for ``ganlib.train``."""
    if gp_weight < 0:
        raise ValueError(f"gp_weight must be >= 0, got {gp_weight}")
    return lambda D, real, fake: gp_weight * gradient_penalty(D, real, fake, one_sided=one_sided)


def wgan_gp(gp_weight: float = 10.0, one_sided: bool = False):
    """Deprecated name of :func:`gp_penalty` (kept for one release)."""
    warnings.warn("ganlib.regularizers.wgan_gp is now gp_penalty; the old name goes in the next release",
                  DeprecationWarning, stacklevel=2)
    return gp_penalty(gp_weight, one_sided)


def clip_weights(c: float = 0.01):
    """Return a ``d_constraint(D)`` clamping D's parameters to [-c, c]."""
    if not c > 0:
        raise ValueError(f"clip value c must be > 0, got {c}")

    @torch.no_grad()
    def constraint(D):
        for p in D.parameters():
            p.clamp_(-c, c)

    return constraint
