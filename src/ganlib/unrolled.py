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
module D is never copied or modified. Two lookaheads:

- ``lookahead='sgd'``: plain gradient descent with step size ``lr_d`` (Eq. 4 as printed);
- ``lookahead='adam'``: the paper's own code unrolled D's Adam optimiser. :func:`adam_lookahead`
  replays ``torch.optim.Adam``'s update (bias-corrected moments, starting from D's optimiser
  state ``exp_avg``/``exp_avg_sq``/``step``) as a differentiable function; ``ganlib.train`` hands
  D's optimiser to the step through ``bind_optimizer``. An Adam step moves every weight by about
  ``lr`` whatever the gradient's scale, so the lookahead really anticipates D's next moves; a
  gradient-descent lookahead with Adam's small learning rate barely changes D and does nothing.

Each lookahead step reuses the real batch given to the generator step and the same fakes G(z).

Cost: each unrolled step is one forward and one double-backward of D, so a generator step costs
roughly (1 + c k) plain ones; ``benchmarks/bench_unrolled.py`` measures c.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch.func import functional_call

def adam_lookahead(params: dict, grads, state: dict, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
    """Return (new params {name: tensor}, new state) after one differentiable torch.optim.Adam step.

    ``state`` maps each name to ``(step, exp_avg, exp_avg_sq)`` (step a float, moments shaped like
    the parameter); the update is torch's (no weight decay, no amsgrad): m = b1 m + (1-b1) g,
    v = b2 v + (1-b2) g^2, p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    """
    b1, b2 = betas
    new_params, new_state = {}, {}
    for (name, p), g in zip(params.items(), grads):
        step, m, v = state[name]
        step = step + 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        # sqrt has an infinite derivative at 0 (a weight with a zero gradient): a 1e-30 floor keeps
        # the second derivative finite and changes the value by < 1e-15, far below eps
        denom = (v + 1e-30).sqrt() / math.sqrt(1 - b2**step) + eps
        new_params[name] = p - (lr / (1 - b1**step)) * m / denom
        new_state[name] = (step, m, v)
    return new_params, new_state


def _adam_state_of(D, opt_D) -> tuple[dict, float, tuple, float]:
    """Return D's Adam state {name: (step, exp_avg, exp_avg_sq)} (detached) and the optimiser's lr, betas, eps."""
    group = opt_D.param_groups[0]
    state = {}
    for name, p in D.named_parameters():
        s = opt_D.state.get(p, {})
        if "exp_avg" in s:
            state[name] = (float(s["step"]), s["exp_avg"].detach(), s["exp_avg_sq"].detach())
        else:  # before D's first step: Adam's initial state
            state[name] = (0.0, torch.zeros_like(p), torch.zeros_like(p))
    return state, float(group["lr"]), tuple(group["betas"]), float(group["eps"])


def unrolled_d_params(D, real, fake, d_loss, k, lr_d, penalty=None,
                      adam=None):
    """Return D's parameters {name: tensor} after k differentiable steps
    on d_loss(D(real), D(fake)).

    ``fake`` carries its graph to G, so the result depends on G's
    parameters. Without ``adam`` a step is gradient descent with step
    ``lr_d``; with ``adam`` = dict(state={name: (step, exp_avg,
    exp_avg_sq)}, betas=..., eps=...) it is :func:`adam_lookahead`.
    """
    flat = _Flat(D, adam["state"] if adam is not None else None)
    theta = flat.theta.requires_grad_(k > 0)  # D's weights, one vector
    buffers = dict(D.named_buffers())

    def D_k(x):  # D with the lookahead's parameters
        return functional_call(D, (flat.params(theta), buffers), (x,))

    n = real.shape[0]
    for _ in range(k):
        out = D_k(torch.cat([real, fake]))
        loss = d_loss(out[:n], out[n:])
        if penalty is not None:
            loss = loss + penalty(D_k, real, fake)
        (grad,) = torch.autograd.grad(loss.sum(), theta,
                                      create_graph=True)  # keep the graph
        if adam is None:
            theta = theta - lr_d * grad
        else:
            new, flat.state = adam_lookahead({"theta": theta}, [grad],
                                             flat.state, lr_d,
                                             adam["betas"], adam["eps"])
            theta = new["theta"]
    return flat.params(theta)


class _Flat:
    """D's parameters (and Adam moments) as one flat vector, so that a lookahead step is a handful of
    tensor operations instead of a handful per parameter (a 10-seed toy step: several times fewer
    autograd nodes). :meth:`params` gives the {name: view} dict ``functional_call`` takes."""

    def __init__(self, D, adam_state=None):
        named = list(D.named_parameters())
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.theta = torch.cat([p.detach().reshape(-1) for _, p in named])
        self.state = None
        if adam_state is not None:
            steps = {adam_state[name][0] for name in self.names}
            if len(steps) > 1:  # Adam steps every parameter together; a mix means some never had a gradient
                raise ValueError(f"D's Adam state holds parameters at different step counts {sorted(steps)}: "
                                 "the Adam lookahead needs every parameter of D trained together")
            moments = [torch.cat([adam_state[name][i].reshape(-1) for name in self.names]) for i in (1, 2)]
            self.state = {"theta": (steps.pop(), *moments)}

    def params(self, theta: torch.Tensor) -> dict:
        return {name: t.view(shape) for name, t, shape in zip(self.names, theta.split(self.sizes), self.shapes)}


def unrolled_g_step(k: int, d_loss: Callable, lr_d: float | None = None, penalty: Callable | None = None, lookahead: str = "sgd") -> Callable:
    """Return a ``g_step(G, D, opt_G, z, g_loss, real) -> detached loss`` for ``ganlib.train`` that unrolls D k steps.

    ``d_loss`` is the critic's loss (the same one passed to ``train``), ``penalty(D, real, fake)``
    an optional critic regulariser applied inside the lookahead too. ``lookahead='sgd'``: gradient
    descent with step ``lr_d``. ``lookahead='adam'``: D's own Adam update replayed from its
    optimiser's current state. ``train`` binds D's optimiser to the step; ``lr_d=None`` takes
    that optimiser's learning rate. ``k = 0`` reproduces ``ganlib.training.generator_step`` exactly.
    """
    if int(k) != k or k < 0:
        raise ValueError(f"k (unroll steps) must be an integer >= 0, got {k}")
    if lookahead not in ("sgd", "adam"):
        raise ValueError(f"lookahead must be 'sgd' or 'adam', got {lookahead!r}")
    if lr_d is not None and not lr_d > 0:
        raise ValueError(f"lr_d (the lookahead step size) must be > 0 or None, got {lr_d}")
    k = int(k)
    bound = {}

    def g_step(G, D, opt_G, z, g_loss, real):
        fake = G(z)
        adam, lr = None, lr_d
        if lr is None and k > 0:
            if "opt_D" not in bound:
                raise ValueError("lr_d=None takes D's learning rate: pass the step to ganlib.train (it binds D's "
                                 "optimiser) or call g_step.bind_optimizer(opt_D), or give lr_d")
            lr = bound["opt_D"].param_groups[0]["lr"]
        if lookahead == "adam" and k > 0:
            if "opt_D" not in bound:
                raise ValueError("lookahead='adam' needs D's optimiser: pass the step to ganlib.train (it binds it) or call g_step.bind_optimizer(opt_D)")
            state, opt_lr, betas, eps = _adam_state_of(D, bound["opt_D"])
            adam, lr = dict(state=state, betas=betas, eps=eps), (lr_d if lr_d is not None else opt_lr)
        params = unrolled_d_params(D, real, fake, d_loss, k, lr, penalty, adam=adam)
        loss = g_loss(functional_call(D, (params, dict(D.named_buffers())), (fake,)))
        opt_G.zero_grad(set_to_none=True)
        loss.sum().backward()  # one loss per seed in a stacked run
        opt_G.step()
        return loss.detach()

    def bind_optimizer(opt_D):
        """Give the step D's optimiser (``ganlib.train`` calls this); needed by lookahead='adam'."""
        if lookahead == "adam" and not isinstance(opt_D, torch.optim.Adam):
            raise ValueError(f"lookahead='adam' replays Adam, but D's optimiser is {type(opt_D).__name__}: use optimizer='adam' or lookahead='sgd'")
        bound["opt_D"] = opt_D

    g_step.k, g_step.lr_d, g_step.lookahead = k, lr_d, lookahead
    g_step.bind_optimizer = bind_optimizer
    return g_step
