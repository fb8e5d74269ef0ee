"""Several seeds of one run trained as one batched run: S models with a leading seed dimension.

Honest comparisons need several seeds, and on a CPU a small MLP's step costs mostly Python and
dispatch overhead, the same for one seed as for ten. :func:`stack` turns S models of the same
architecture (one per seed, each initialised as its single run would be) into one
:class:`StackedMLP` whose weights are (S, out, in) tensors and whose layers are batched matrix
products (``torch.baddbmm``); ``ganlib.train`` trains it like any model, and :meth:`StackedMLP.member`
gives seed s back as an ordinary Generator or Discriminator.

How the S runs stay independent inside one training function:

- **Rows are interleaved by seed**: a batch of N = S * B rows holds row i for seed ``i % S``.
  This layout survives what the training loop does to batches (``torch.cat([real, fake])``,
  slicing the first half), so the loop needs no special case.
- **Every batch mean is a mean per seed**: losses and penalties reduce with :func:`batch_mean`,
  which is ``x.mean()`` in a single run and, inside a stacked run (:func:`seed_stack`), the S
  per-seed means, a tensor (S,). A loss is then one value per seed; its sum is what is
  differentiated, so seed s receives exactly the gradient of its own loss.
- **Every random draw comes from the seed's own generator**: the data order, the noise and the
  gradient penalty's interpolation weights (:func:`uniform_per_row`) are drawn per seed from the
  generators a single run with that seed would use.

Seed s of a stack therefore computes what the single run with seed s computes, up to the rounding
of a batched matrix product instead of a plain one (tests/test_seeds.py measures the difference).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .models import Discriminator, Generator


# --------------------------------------------------------------------------- per-seed reductions
@dataclass
class _Stack:
    n: int  # seeds in the stack
    generators: list  # one torch.Generator per seed, for penalties' random draws


_STACK: contextvars.ContextVar = contextvars.ContextVar("ganlib_seed_stack", default=None)


@contextlib.contextmanager
def seed_stack(n: int, generators: list | None = None):
    """Inside this block, :func:`batch_mean` returns one mean per seed for batches of ``n`` interleaved seeds."""
    token = _STACK.set(_Stack(int(n), list(generators or [])))
    try:
        yield
    finally:
        _STACK.reset(token)


def stacked_seeds() -> int:
    """The number of seeds of the stacked run being trained (1 outside one)."""
    ctx = _STACK.get()
    return 1 if ctx is None else ctx.n


def batch_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over a batch (N, ...): a scalar in a single run, the S per-seed means (S,) in a stacked run of S seeds."""
    ctx = _STACK.get()
    if ctx is None:
        return x.mean()
    if x.shape[0] % ctx.n:
        raise ValueError(f"a batch of {x.shape[0]} rows cannot be split over {ctx.n} interleaved seeds")
    return x.reshape(x.shape[0] // ctx.n, ctx.n, -1).mean(dim=(0, 2))


def batch_shares(p: torch.Tensor) -> torch.Tensor:
    """Mean over a batch of rows (N, K) of probabilities: (K,) in a single run, (S, K) per seed in a stack of S."""
    ctx = _STACK.get()
    if ctx is None:
        return p.mean(0)
    return p.reshape(p.shape[0] // ctx.n, ctx.n, -1).mean(0)


def uniform_per_row(n: int, device=None, dtype=None, generator=None) -> torch.Tensor:
    """n draws of U[0, 1): from ``generator`` if given, else torch's global generator in a single run
    and, in a stacked run, row i from seed i % S's own generator."""
    ctx = _STACK.get()
    if generator is not None or ctx is None or not ctx.generators:
        return torch.rand(n, device=device, dtype=dtype, generator=generator)
    draws = [torch.rand(n // ctx.n, generator=g, dtype=dtype) for g in ctx.generators]
    return torch.stack(draws, 1).reshape(n).to(device)


def interleave(parts) -> torch.Tensor:
    """Rows of S tensors (B, ...) interleaved by seed into one (S * B, ...): row i from parts[i % S]."""
    return torch.stack(list(parts), 1).flatten(0, 1)


def split(x: torch.Tensor, n: int) -> list[torch.Tensor]:
    """The S = n per-seed parts (B, ...) of interleaved rows (S * B, ...)."""
    return [x[s::n] for s in range(n)]


# --------------------------------------------------------------------------- the stacked model
class StackedMLP(nn.Module):
    """S copies of a ganlib Generator or Discriminator (same architecture), one per seed, as batched layers.

    Input (S * B, ...) with rows interleaved by seed, output likewise. Every parameter and buffer of
    the member models is stacked along a new first dimension, in the members' own order (so an
    optimiser's state per parameter splits by seed too); :meth:`member` rebuilds seed s as an
    ordinary model. Supported: the layers of ``ganlib.models`` (Linear, LeakyReLU(0.2), tanh),
    ``norm='layer'`` and ``'batch'`` (statistics per seed), spectral normalisation (one power
    iteration per forward in training mode, per seed, as ``torch.nn.utils.parametrizations``) and
    PacGAN packing (each pack holds m samples of one seed).
    """

    def __init__(self, models, seeds):
        super().__init__()
        models = list(models)
        if not models or len(models) != len(seeds):
            raise ValueError(f"need one model per seed, got {len(models)} models for {len(seeds)} seeds")
        first = models[0]
        if not isinstance(first, (Generator, Discriminator)) or any(type(m) is not type(first) or m.arch != first.arch for m in models):
            raise TypeError("stack needs ganlib Generators or Discriminators that all share one architecture")
        self.kind, self.arch, self.seeds = type(first), dict(first.arch), tuple(int(s) for s in seeds)
        for name in ("z_dim", "out_shape", "out_activation", "in_shape", "out_dim", "n_layers", "pack"):
            if hasattr(first, name):
                setattr(self, name, getattr(first, name))
        self.norm = self.arch.get("norm")
        self.spectral = bool(self.arch.get("spectral_norm"))
        self._names = {}  # member's state_dict key -> attribute name here
        states = [m.state_dict() for m in models]
        for key, _ in first.named_parameters():
            self._names[key] = f"p{len(self._names)}"
            self.register_parameter(self._names[key], nn.Parameter(torch.stack([s[key] for s in states]).clone()))
        for key, _ in first.named_buffers():
            self._names[key] = f"b{len(self._names)}"
            self.register_buffer(self._names[key], torch.stack([s[key] for s in states]).clone())

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    def _get(self, key):
        return getattr(self, self._names[key])

    def _weight(self, i: int) -> torch.Tensor:
        if not self.spectral:
            return self._get(f"fc{i}.weight")
        w = self._get(f"fc{i}.parametrizations.weight.original")  # (S, out, in)
        u, v = self._get(f"fc{i}.parametrizations.weight.0._u"), self._get(f"fc{i}.parametrizations.weight.0._v")
        if self.training:  # one power iteration per forward, in place, as torch's spectral_norm
            with torch.no_grad():
                u.copy_(F.normalize(torch.bmm(w, v.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12))
                v.copy_(F.normalize(torch.bmm(w.transpose(1, 2), u.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12))
        sigma = (u.clone() * torch.bmm(w, v.clone().unsqueeze(2)).squeeze(2)).sum(1)
        return w / sigma[:, None, None]

    def _normalise(self, i: int, h: torch.Tensor) -> torch.Tensor:
        w, b = self._get(f"norm{i}.weight"), self._get(f"norm{i}.bias")
        if self.norm == "layer":
            return F.layer_norm(h, h.shape[-1:], eps=1e-5) * w[:, None, :] + b[:, None, :]
        mean_run, var_run = self._get(f"norm{i}.running_mean"), self._get(f"norm{i}.running_var")
        if self.training:  # batch statistics per seed; running statistics as torch's BatchNorm1d (momentum 0.1)
            mean, var = h.mean(1), h.var(1, unbiased=False)
            with torch.no_grad():
                mean_run.mul_(0.9).add_(0.1 * mean)
                var_run.mul_(0.9).add_(0.1 * h.var(1, unbiased=True))
                self._get(f"norm{i}.num_batches_tracked").add_(1)
        else:
            mean, var = mean_run, var_run
        return (h - mean[:, None, :]) / torch.sqrt(var[:, None, :] + 1e-5) * w[:, None, :] + b[:, None, :]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S = self.n_seeds
        if x.shape[0] % S:
            raise ValueError(f"a stack of {S} seeds takes batches of S * B rows (interleaved by seed), got {x.shape[0]} rows")
        if self.kind is Generator and (x.dim() != 2 or x.shape[1] != self.z_dim):
            raise ValueError(f"G expects z of shape (N, {self.z_dim}), got {tuple(x.shape)}")
        n, m = x.shape[0], getattr(self, "pack", 1)
        if (n // S) % m:
            raise ValueError(f"a PacGAN D with pack={m} takes {m} samples per seed and pack, got {n // S} rows per seed")
        h = x.reshape(n // S, S, -1).transpose(0, 1)  # (S, B, features)
        h = h.reshape(S, n // S // m, -1)  # PacGAN: m consecutive samples of a seed side by side
        n = n // m
        for i in range(1, self.n_layers + 1):
            h = torch.baddbmm(self._get(f"fc{i}.bias").unsqueeze(1), h, self._weight(i).transpose(1, 2))
            if i < self.n_layers:
                if self.norm is not None:
                    h = self._normalise(i, h)
                h = F.leaky_relu(h, 0.2)
        h = h.transpose(0, 1).reshape(n, -1)  # back to interleaved rows
        if self.kind is Generator:
            return (torch.tanh(h) if self.out_activation == "tanh" else h).view(n, *self.out_shape)
        return h.squeeze(1) if self.out_dim == 1 else h

    def member_state_dict(self, s: int) -> dict:
        """The state_dict of seed s's model (the member's own keys), as tensors (copies)."""
        return {key: getattr(self, name)[s].detach().clone() for key, name in self._names.items()}

    def member(self, s: int) -> nn.Module:
        """Seed s's model as an ordinary Generator or Discriminator (a copy), in this stack's train/eval mode."""
        with torch.random.fork_rng(devices=[]):  # building the copy draws an initialisation: not from the caller's RNG
            model = self.kind(**self.arch)
        model.load_state_dict(self.member_state_dict(s))
        return model.to(next(self.parameters()).device).train(self.training)

    def members(self) -> list[nn.Module]:
        """Every seed's model (copies), in seed order."""
        return [self.member(s) for s in range(self.n_seeds)]

    def load_member(self, s: int, state: dict) -> None:
        """Copy a member model's state_dict into seed s."""
        missing = sorted(set(self._names) - set(state))
        if missing:
            raise ValueError(f"the state_dict for seed {s} lacks {missing[:4]}: not a model of this architecture")
        with torch.no_grad():
            for key, name in self._names.items():
                getattr(self, name)[s].copy_(state[key])


class PerSeed:
    """A training callback for a stack that runs one callback per seed, each on a view of that seed's run.

    The view is the stack's ``TrainState`` with seed s's G and D (copies: a callback reads them, e.g.
    ``SampleSnapshots``), history and config; a callback with a ``due(state)`` method that says False
    is skipped without building them. The run stops only when every callback asks to.
    """

    def __init__(self, callbacks):
        self.callbacks = list(callbacks)
        self.__name__ = f"PerSeed({getattr(self.callbacks[0], '__name__', type(self.callbacks[0]).__name__)})" if self.callbacks else "PerSeed"

    def __call__(self, state):
        if len(self.callbacks) != state.G.n_seeds:
            raise ValueError(f"PerSeed holds {len(self.callbacks)} callbacks for a stack of {state.G.n_seeds} seeds")
        stops = []
        for s, cb in enumerate(self.callbacks):
            if hasattr(cb, "due") and not cb.due(state):  # nothing to do this epoch: no copy of seed s's models
                stops.append(False)
                continue
            view = dataclasses.replace(state, G=state.G.member(s), D=state.D.member(s), history=state.history[s],
                                       cfg=dataclasses.replace(state.cfg, seed=state.G.seeds[s]), stop=False)
            stops.append(cb(view) is True or view.stop)
        return all(stops) or None


def stack(models, seeds) -> StackedMLP:
    """Return the :class:`StackedMLP` of ``models`` (one per seed of ``seeds``, same architecture)."""
    return StackedMLP(models, seeds)


def mean_and_spread(values) -> dict:
    """``{'mean', 'std', 'min', 'max', 'n'}`` of per-seed values (NaN ones, e.g. a diverged seed, left out)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return {"mean": float("nan"), "std": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    t = torch.tensor(vals, dtype=torch.float64)
    return {"mean": float(t.mean()), "std": float(t.std(unbiased=False)), "min": float(t.min()), "max": float(t.max()),
            "n": len(vals)}
