"""The 2D toy datasets: plain samplers ``toy.sample(n, seed) -> (n, 2)`` with explicit parameters.

The protocol this course uses (the literature differs, so it is written down here):

=================  ============================================  ==========================
dataset            ganlib default                                literature
=================  ============================================  ==========================
ring of 8          radius 1, std 0.01 (PacGAN, Lin et al. 2018)  Metz et al. 2016: radius 2,
                                                                 std 0.02 (same ratio)
grid of 25         means {-4,-2,0,2,4}^2 (spacing 2), std 0.05   PacGAN: spacing 2, std 0.05;
                                                                 MD-GAN (Eghbal-zadeh et al.
                                                                 2019): {-4,...,4}^2, std 0.05
circle             radius 1, radial noise std 0.02               (no standard)
s-curve            scikit-learn's 2D S (x = sin t, y = sign(t)   report 003
                   (cos t - 1), t ~ U(-3pi/2, 3pi/2)), noise 0.05
two half-moons     scikit-learn's ``make_moons`` geometry,       report 003
                   noise std 0.05
=================  ============================================  ==========================

Every mixture has equal weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch


def _gen(seed) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


# --------------------------------------------------------------------------- samplers


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of isotropic 2D Gaussians with means ``modes`` (K, 2) and ``std``."""

    name: str
    modes: torch.Tensor  # (K, 2) component means
    std: float  # standard deviation of every component, per coordinate

    def sample(self, n: int, seed=0) -> torch.Tensor:
        """Return n points (n, 2): a uniformly chosen mode plus N(0, std^2 I) noise."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        g = _gen(seed)
        k = torch.randint(len(self.modes), (n,), generator=g)
        return self.modes[k] + self.std * torch.randn(n, 2, generator=g)

    @property
    def n_modes(self) -> int:
        return len(self.modes)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) framing the modes with a margin, for plots."""
        lo, hi = self.modes.min(0).values, self.modes.max(0).values
        pad = 0.25 * float((hi - lo).max()) + 6 * self.std
        return float(lo[0]) - pad, float(hi[0]) + pad, float(lo[1]) - pad, float(hi[1]) + pad


@dataclass(frozen=True)
class _Curve:
    name: str
    noise: float  # std of the isotropic Gaussian noise added to each point
    modes: None = field(default=None, init=False)  # a continuous shape has no modes


@dataclass(frozen=True)
class Circle(_Curve):
    """Points at a uniform angle on a circle of ``radius``, plus N(0, noise^2 I)."""

    radius: float = 1.0

    def sample(self, n: int, seed=0) -> torch.Tensor:
        """Return n points (n, 2)."""
        g = _gen(seed)
        t = 2 * math.pi * torch.rand(n, generator=g)
        x = self.radius * torch.stack([torch.cos(t), torch.sin(t)], 1)
        return x + self.noise * torch.randn(n, 2, generator=g)

    @property
    def bounds(self):
        r = 1.3 * self.radius + 4 * self.noise
        return -r, r, -r, r


@dataclass(frozen=True)
class SCurve(_Curve):
    """scikit-learn's S: t ~ U(-3pi/2, 3pi/2), (sin t, sign(t)(cos t - 1)) * scale, plus noise."""

    scale: float = 1.0

    def sample(self, n: int, seed=0) -> torch.Tensor:
        """Return n points (n, 2)."""
        g = _gen(seed)
        t = 3 * math.pi * (torch.rand(n, generator=g) - 0.5)
        x = self.scale * torch.stack([torch.sin(t), torch.sign(t) * (torch.cos(t) - 1)], 1)
        return x + self.noise * torch.randn(n, 2, generator=g)

    @property
    def bounds(self):
        return -1.5 * self.scale, 1.5 * self.scale, -2.5 * self.scale, 2.5 * self.scale


@dataclass(frozen=True)
class HalfMoons(_Curve):
    """scikit-learn's two moons: (cos t, sin t) and (1 - cos t, 1/2 - sin t), t ~ U(0, pi), plus noise."""

    def sample(self, n: int, seed=0) -> torch.Tensor:
        """Return n points (n, 2), each moon chosen with probability 1/2."""
        g = _gen(seed)
        t = math.pi * torch.rand(n, generator=g)
        upper = torch.rand(n, generator=g) < 0.5
        outer = torch.stack([torch.cos(t), torch.sin(t)], 1)
        inner = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
        x = torch.where(upper[:, None], outer, inner)
        return x + self.noise * torch.randn(n, 2, generator=g)

    @property
    def bounds(self):
        return -1.6, 2.6, -1.1, 1.6


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """Return the ring of ``n_modes`` Gaussians at angles 2 pi k / n_modes (PacGAN's default geometry)."""
    if n_modes < 1 or radius <= 0 or std <= 0:
        raise ValueError(f"ring needs n_modes >= 1, radius > 0, std > 0; got {n_modes}, {radius}, {std}")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    modes = radius * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    return GaussianMixture2D(f"ring{n_modes}", modes.float(), float(std))


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """Return the side x side grid of Gaussians centred at 0 (default means {-4,-2,0,2,4}^2)."""
    if side < 1 or spacing <= 0 or std <= 0:
        raise ValueError(f"grid needs side >= 1, spacing > 0, std > 0; got {side}, {spacing}, {std}")
    ticks = spacing * (torch.arange(side, dtype=torch.float32) - (side - 1) / 2)
    modes = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture2D(f"grid{side * side}", modes, float(std))


def _check_curve(noise: float, **sizes) -> None:
    bad = {k: v for k, v in sizes.items() if not v > 0}
    if bad or not noise >= 0:
        raise ValueError(f"a curve needs positive {', '.join(sizes) or 'sizes'} and noise >= 0; got "
                         + ", ".join(f"{k}={v}" for k, v in {**sizes, "noise": noise}.items()))


def circle(radius: float = 1.0, noise: float = 0.02) -> Circle:
    """Return the noisy circle sampler."""
    _check_curve(noise, radius=radius)
    return Circle("circle", float(noise), radius=float(radius))


def s_curve(scale: float = 1.0, noise: float = 0.05) -> SCurve:
    """Return the 2D s-curve sampler."""
    _check_curve(noise, scale=scale)
    return SCurve("s_curve", float(noise), scale=float(scale))


def half_moons(noise: float = 0.05) -> HalfMoons:
    """Return the two half-moons sampler."""
    _check_curve(noise)
    return HalfMoons("half_moons", float(noise))


TOYS: dict[str, Callable] = {"ring": ring, "grid": grid, "circle": circle, "s_curve": s_curve, "half_moons": half_moons}


def make_toy(name: str, **params):
    """Return the toy dataset registered under ``name`` (see ``TOYS``) built with ``params``."""
    try:
        return TOYS[name](**params)
    except KeyError:
        raise ValueError(f"unknown toy dataset {name!r}: use one of {sorted(TOYS)}") from None
