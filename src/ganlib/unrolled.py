"""Unrolled GAN: the generator's update looks k discriminator steps ahead.

Metz, Poole, Pfau and Sohl-Dickstein 2016, "Unrolled Generative Adversarial Networks", Eqs. (4)-(6):

    theta_D^0 = theta_D,   theta_D^{k+1} = theta_D^k - eta * d L_D(theta_G, theta_D^k) / d theta_D^k,
    f_K(theta_G, theta_D) = L_G(theta_G, theta_D^K(theta_G, theta_D)),

and G descends d f_K / d theta_G, *including* the dependence of theta_D^K on theta_G (the term
that makes G anticipate how D will react: spreading over modes beats hopping between them).
D itself is still updated by the ordinary critic step of ``ganlib.train``; the unrolled copies
exist only inside the generator's loss. K = 0 is the ordinary generator step.

Implementation: :func:`torch.func.functional_call` evaluates D with a dict of parameter tensors,
so the K lookahead steps are tensors in the autograd graph (``create_graph=True``) and the
module D is never copied or modified. The lookahead uses plain gradient descent with step size
``lr_d`` (Eq. 4); the paper's own code unrolled D's Adam optimiser instead, which moves D further
per step, so a gradient-descent lookahead needs a larger step than Adam's learning rate.
Each lookahead step reuses the real batch given to the generator step and the same fakes G(z).

Cost: each unrolled step is one forward and one double-backward of D, so a generator step costs
roughly (1 + c k) plain ones; ``benchmarks/bench_unrolled.py`` measures c.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.func import functional_call

__all__ = ["unrolled_g_step", "unrolled_d_params"]


def unrolled_d_params(D, real: torch.Tensor, fake: torch.Tensor, d_loss: Callable, k: int, lr_d: float, penalty: Callable | None = None) -> dict:
    """Return D's parameters after k differentiable gradient steps on d_loss(D(real), D(fake)): {name: tensor}.

    ``fake`` should carry its graph to G, so that the returned tensors depend on G's parameters.
    """
    params = {name: p.detach().requires_grad_(k > 0) for name, p in D.named_parameters()}
    buffers = dict(D.named_buffers())
    n = real.shape[0]
    for _ in range(k):
        out = functional_call(D, (params, buffers), (torch.cat([real, fake]),))
        loss = d_loss(out[:n], out[n:])
        if penalty is not None:
            loss = loss + penalty(lambda x: functional_call(D, (params, buffers), (x,)), real, fake)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {name: p - lr_d * g for (name, p), g in zip(params.items(), grads)}
    return params


def unrolled_g_step(k: int, d_loss: Callable, lr_d: float, penalty: Callable | None = None) -> Callable:
    """Return a ``g_step(G, D, opt_G, z, g_loss, real) -> detached loss`` for ``ganlib.train`` that unrolls D k steps.

    ``d_loss`` is the critic's loss (the same one passed to ``train``), ``lr_d`` the lookahead's
    gradient-descent step size, ``penalty(D, real, fake)`` an optional critic regulariser applied
    inside the lookahead too. ``k = 0`` reproduces ``ganlib.training.generator_step`` exactly.
    """
    if int(k) != k or k < 0:
        raise ValueError(f"k (unroll steps) must be an integer >= 0, got {k}")
    if not lr_d > 0:
        raise ValueError(f"lr_d (the lookahead step size) must be > 0, got {lr_d}")
    k = int(k)

    def g_step(G, D, opt_G, z, g_loss, real):
        fake = G(z)
        params = unrolled_d_params(D, real, fake, d_loss, k, lr_d, penalty)
        loss = g_loss(functional_call(D, (params, dict(D.named_buffers())), (fake,)))
        opt_G.zero_grad(set_to_none=True)
        loss.backward()
        opt_G.step()
        return loss.detach()

    g_step.k, g_step.lr_d = k, lr_d
    return g_step
