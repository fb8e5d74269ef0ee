"""The 2D toy laboratory: toy datasets, mode-coverage metrics and the figures that show mode collapse.

Datasets are plain samplers ``toy.sample(n, seed) -> (n, 2)`` with explicit parameters.

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

Every mixture has equal weights. Mode metrics follow VEEGAN (Srivastava et al. 2017) and PacGAN
(Lin et al. 2018), evaluated on 2,500 generated samples by default:

- a sample is *high quality* (HQ) if it lies within ``3 * std`` of its nearest mode; for an
  isotropic 2D Gaussian, P(||x - mu|| <= 3 sigma) = 1 - exp(-9/2) = 98.89%;
- a mode is *covered* if it is the nearest mode of at least ``min_count`` HQ samples
  (``min_count=1`` is the papers' choice; a larger value ignores stray samples);
- the *reverse KL* is KL(p_G || uniform) = sum_k p_k log(K p_k), with p_k the share of HQ
  samples whose nearest mode is k: 0 when G spreads evenly over all modes, log K when it
  puts everything on one mode.

For MNIST, :func:`class_mode_stats` is the same count with a digit classifier
(``ganlib.features.class_probs`` by default) in place of the nearest mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = [
    "GaussianMixture2D", "Circle", "SCurve", "HalfMoons", "ring", "grid", "circle", "s_curve",
    "half_moons", "make_toy", "TOYS", "mode_stats", "class_mode_stats", "SnapshotCallback",
    "toy_models", "run_toy", "plot_snapshots", "plot_density", "plot_decision_surface",
    "plot_toy_result", "widget_panel", "mean_over_seeds", "plot_datasets", "mode_table",
]


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

    def sample_x(self, n: int, seed=0) -> torch.Tensor:
        """Alias of :meth:`sample`: (n, 2)."""
        return self.sample(n, seed)

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

    def sample_x(self, n: int, seed=0) -> torch.Tensor:
        """Alias of :meth:`sample`: (n, 2)."""
        return self.sample(n, seed)


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


def circle(radius: float = 1.0, noise: float = 0.02) -> Circle:
    """Return the noisy circle sampler."""
    return Circle("circle", float(noise), radius=float(radius))


def s_curve(scale: float = 1.0, noise: float = 0.05) -> SCurve:
    """Return the 2D s-curve sampler."""
    return SCurve("s_curve", float(noise), scale=float(scale))


def half_moons(noise: float = 0.05) -> HalfMoons:
    """Return the two half-moons sampler."""
    return HalfMoons("half_moons", float(noise))


TOYS: dict[str, Callable] = {"ring": ring, "grid": grid, "circle": circle, "s_curve": s_curve, "half_moons": half_moons}


def make_toy(name: str, **params):
    """Return the toy dataset registered under ``name`` (see ``TOYS``) built with ``params``."""
    try:
        return TOYS[name](**params)
    except KeyError:
        raise ValueError(f"unknown toy dataset {name!r}: use one of {sorted(TOYS)}") from None


# --------------------------------------------------------------------------- metrics


def mode_stats(samples: torch.Tensor, modes: torch.Tensor, std: float, min_count: int = 1, hq_radius: float = 3.0) -> dict:
    """Return VEEGAN/PacGAN mode metrics of samples (N, 2) against modes (K, 2).

    Keys: ``modes_covered`` (int), ``n_modes``, ``hq_fraction`` (share of samples within
    ``hq_radius * std`` of their nearest mode), ``reverse_kl`` (KL of the HQ mode histogram to
    uniform; nan when no sample is HQ), ``counts`` (K,) HQ samples per mode, ``min_count``.
    """
    if samples.dim() != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples must be (N, {modes.shape[1]}), got {tuple(samples.shape)}")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    samples = samples.detach().float().cpu()
    modes = torch.as_tensor(modes).float().cpu()
    dist = torch.cdist(samples, modes)  # (N, K)
    nearest_dist, nearest = dist.min(1)
    hq = nearest_dist <= hq_radius * std
    counts = torch.bincount(nearest[hq], minlength=len(modes))
    n_hq = int(hq.sum())
    if n_hq:
        p = counts.double() / n_hq
        nz = p > 0
        reverse_kl = float((p[nz] * torch.log(p[nz] * len(modes))).sum())
    else:
        reverse_kl = float("nan")
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "n_modes": len(modes),
        "hq_fraction": n_hq / samples.shape[0],
        "reverse_kl": reverse_kl,
        "counts": counts,
        "min_count": min_count,
    }


def class_mode_stats(images: torch.Tensor, class_probs: Callable | None = None, n_classes: int = 10, min_count: int = 1) -> dict:
    """Return the classifier-based mode count of images (N, 1, 28, 28).

    Each image is assigned its most probable class under ``class_probs(images) -> (N, n_classes)``
    (default: the evaluation suite's ``ganlib.features.class_probs``). Keys: ``shares``
    (n_classes,) share of each class, ``counts``, ``modes_covered`` (classes with at least
    ``min_count`` images), ``kl_to_uniform`` = sum_k p_k log(n_classes p_k) (0 for a perfectly
    balanced generator, log 10 = 2.303 for one digit only).
    """
    if class_probs is None:
        from .features import class_probs  # the evaluation suite (issue 3)
    probs = class_probs(images)
    if probs.dim() != 2 or probs.shape != (images.shape[0], n_classes):
        raise ValueError(f"class_probs must return ({images.shape[0]}, {n_classes}), got {tuple(probs.shape)}")
    counts = torch.bincount(probs.argmax(1).cpu(), minlength=n_classes)
    p = counts.double() / counts.sum()
    nz = p > 0
    return {
        "shares": p.float(),
        "counts": counts,
        "modes_covered": int((counts >= min_count).sum()),
        "kl_to_uniform": float((p[nz] * torch.log(p[nz] * n_classes)).sum()),
    }


def mnist_mode_report(generators: dict, n: int = 2500, seed: int = 0) -> dict:
    """Return ``{label: {digits, kl_to_uniform, fid, precision, recall, density, coverage, shares}}`` for MNIST generators.

    Each generator draws ``n`` samples from ``seed``; ``digits`` and ``kl_to_uniform`` are
    :func:`class_mode_stats` (the evaluation suite's classifier), the rest ``ganlib.metrics.evaluate``
    against the MNIST test set. Render it with ``ganlib.metrics.results_table(report, keys=...)``.
    """
    from .metrics import evaluate
    from .sampling import sample

    report = {}
    for label, G in generators.items():
        fake = sample(G, n, seed=seed)
        modes = class_mode_stats(fake)
        scores = evaluate(fake, n=n, seed=seed)
        report[label] = {"digits": modes["modes_covered"], "kl_to_uniform": modes["kl_to_uniform"], **scores, "shares": modes["shares"]}
    return report


def mean_over_seeds(results: list[dict], keys=("modes_covered", "hq_fraction", "reverse_kl")) -> dict:
    """Return {key: (mean, std)} over a list of metric dicts (one per seed); NaN values (a reverse KL
    without any high-quality point) are skipped, and a key that is NaN for every seed gives (nan, nan)."""
    out = {}
    for k in keys:
        v = np.array([r[k] for r in results], dtype=float)
        v = v[~np.isnan(v)]
        out[k] = (float(v.mean()), float(v.std())) if v.size else (float("nan"), float("nan"))
    return out


# --------------------------------------------------------------------------- training on toys


def SnapshotCallback(n: int = 1000, every: int = 1, seed: int = 0) -> "SampleSnapshots":
    """A ``train`` callback keeping ``n`` generator samples (n, 2) of the same latents at every ``every``-th epoch end.

    Its ``snapshots`` is a list of ``(step, samples)``, so the panels show how the same points move.
    """
    from .callbacks import SampleSnapshots

    return SampleSnapshots(n=n, seed=seed, every=every, key="step")


def toy_models(z_dim: int = 2, hidden=(128, 128), out_dim: int = 1, seed: int = 0):
    """Return (G, D): the course's 2D MLPs, G: (N, z_dim) -> (N, 2), D: (N, 2) -> (N,) or (N, out_dim)."""
    from .models import Discriminator, Generator

    torch.manual_seed(seed)  # the models' initialisation is part of the run's seed
    G = Generator(z_dim=z_dim, hidden=hidden, out_shape=(2,), out_activation=None)
    D = Discriminator(in_shape=(2,), hidden=hidden, out_dim=out_dim)
    return G, D


def run_toy(
    toy,
    steps: int = 2000,
    loss: str = "non-saturating",
    lr_g: float = 1e-3,
    lr_d: float = 1e-3,
    n_critic: int = 1,
    batch_size: int = 256,
    r1_gamma: float = 0.0,
    gp_weight: float = 0.0,
    unroll: int = 0,
    lr_unroll: float | None = None,
    lookahead: str = "adam",
    mdgan: dict | None = None,
    seed: int = 0,
    n_eval: int = 2500,
    snapshots: int = 8,
    min_count: int = 1,
    betas=(0.5, 0.999),
    progress: bool = False,
    z_dim: int = 2,
) -> dict:
    """Train the 2D MLPs on ``toy`` with ``ganlib.train`` and return a dict of results.

    ``loss`` names a pair in ``ganlib.losses.LOSSES``; ``r1_gamma`` adds gamma/2 R1,
    ``gp_weight`` a gradient penalty, ``unroll`` > 0 uses :func:`ganlib.unrolled.unrolled_g_step`
    with ``lookahead`` ('adam': D's own Adam replayed, the paper's code; 'sgd') and step size
    ``lr_unroll`` (None: D's learning rate); ``mdgan`` = dict(d=..., sigma=...) trains an MD-GAN instead
    (``ganlib.mdgan``). Keys: ``G``, ``D``, ``history``, ``snapshots`` [(step, (n, 2))],
    ``samples`` (n_eval, 2), ``metrics`` (:func:`mode_stats`, mixtures only), ``seconds``,
    ``d_score`` (x (N, 2) -> (N,) the score to plot as D's decision surface). ``z_dim``: latent size of G.
    """
    import time

    from .recipes import method_kwargs
    from .training import TrainConfig, train
    from .sampling import sample

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    kwargs, out_dim, md = method_kwargs(loss, r1_gamma, gp_weight, unroll,
                                        lr_unroll if lr_unroll is not None else (None if lookahead == "adam" else lr_d), lookahead, mdgan)
    G, D = toy_models(z_dim=z_dim, out_dim=out_dim, seed=seed)
    if md is not None:
        d_score = lambda x: md.likelihood(D(x)) / md.lam  # noqa: E731  lk(D(x)) / lambda in [0, 1)
    elif loss != "wasserstein":
        d_score = lambda x: torch.sigmoid(D(x))  # noqa: E731
    else:
        d_score = D
    # one epoch = steps/snapshots generator steps, so the epoch-end callback takes the snapshots
    steps_per_epoch = max(1, math.ceil(steps / max(snapshots, 1)))
    data = toy.sample(steps_per_epoch * n_critic * batch_size, seed=10_000 + seed)
    cfg = TrainConfig(epochs=math.ceil(steps / steps_per_epoch), batch_size=batch_size, lr_g=lr_g, lr_d=lr_d,
                      betas=tuple(betas), n_critic=n_critic, z_dim=z_dim, seed=seed, device="cpu", max_steps=steps,
                      log_every=max(1, steps // 50), progress=progress,
                      optimizer="rmsprop" if loss == "wasserstein" and not gp_weight else "adam")
    snap = SnapshotCallback(n=1000, seed=seed)
    t0 = time.perf_counter()
    history = train(G, D, data, cfg, callbacks=[snap], **kwargs)
    seconds = time.perf_counter() - t0
    if not snap.snapshots or snap.snapshots[-1][0] < steps:  # train stops at max_steps before the epoch-end callback
        snap.snapshots.append((steps, sample(G, snap.n, seed=snap.seed).cpu()))  # the same latents as the callback
    samples = sample(G, n_eval, seed=123_456 + seed).cpu()
    metrics = mode_stats(samples, toy.modes, toy.std, min_count=min_count) if toy.modes is not None else None
    return {"G": G, "D": D, "history": history, "snapshots": snap.snapshots, "samples": samples,
            "metrics": metrics, "seconds": seconds, "d_score": d_score, "toy": toy}


def compare_on_toys(mixtures: dict, methods: dict, seeds, threads: int = 1, progress: bool = True, **common) -> dict:
    """Run every method on every mixture with every seed: ``{(method, mixture): [run_toy results, one per seed]}``.

    ``mixtures``: ``{name: toy}``; ``methods``: ``{label: run_toy keywords}`` (e.g. ``dict(unroll=5)``);
    ``common``: keywords shared by all runs (steps, lr_g, ...). The 2D MLPs are tiny, so the runs
    use ``threads`` CPU threads (extra threads only add overhead); the previous count is restored.
    """
    from .config import progress_bar

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    runs = {}
    try:
        with progress_bar(total=len(mixtures) * len(methods) * len(seeds), desc="toy runs", enabled=progress) as bar:
            for name, toy in mixtures.items():
                for label, kw in methods.items():
                    runs[(label, name)] = []
                    for seed in seeds:
                        runs[(label, name)].append(run_toy(toy, seed=seed, **common, **kw))
                        bar.update(1)
    finally:
        torch.set_num_threads(before)
    return runs


def runs_table(runs: dict) -> str:
    """Return :func:`mode_table` of :func:`compare_on_toys`'s runs: one row per (method, mixture), mean +- std over seeds."""
    return mode_table({f"{label}, {name}": [r["metrics"] for r in results] for (label, name), results in runs.items()})


# --------------------------------------------------------------------------- plots


def _frame(ax, toy, title):
    if toy is not None and hasattr(toy, "bounds"):
        x0, x1, y0, y1 = toy.bounds
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title, fontsize=9)


def plot_snapshots(snapshots, toy=None, title: str = "Generator samples over training", max_panels: int = 8):
    """Plot samples (n, 2) at each snapshot as small multiples, modes marked; returns the Figure."""
    if not snapshots:
        raise ValueError("no snapshots to plot: pass the SnapshotCallback's .snapshots after training")
    from .plots import panels

    idx = np.unique(np.linspace(0, len(snapshots) - 1, min(max_panels, len(snapshots))).round().astype(int))
    fig, axes = panels(len(idx), panel_height=2.0)
    for ax, i in zip(axes, idx):
        step, x = snapshots[i]
        if toy is not None and getattr(toy, "modes", None) is not None:
            ax.scatter(toy.modes[:, 0], toy.modes[:, 1], s=30, c="tab:red", marker="x", linewidths=1, label="modes")
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, c="tab:blue", label="G(z)")
        _frame(ax, toy, f"step {step}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_density(samples: torch.Tensor, toy=None, title: str = "Density of the generator (KDE)", ax=None, bw: float | None = None):
    """Plot a Gaussian KDE of generator samples (N, 2) as a heat map; returns the Axes."""
    from scipy.stats import gaussian_kde

    x = samples.detach().cpu().double().numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    x0, x1, y0, y1 = toy.bounds if toy is not None else (x[:, 0].min(), x[:, 0].max(), x[:, 1].min(), x[:, 1].max())
    gx, gy = np.meshgrid(np.linspace(x0, x1, 150), np.linspace(y0, y1, 150))
    kde = gaussian_kde(x.T, bw_method=bw)
    dens = kde(np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    mesh = ax.pcolormesh(gx, gy, dens, shading="auto", cmap="viridis")
    plt.colorbar(mesh, ax=ax, label="estimated density")
    _frame(ax, toy, title)
    return ax


def plot_decision_surface(score: Callable, toy=None, real=None, fake=None, title: str = "Discriminator's decision surface", ax=None, label: str = "D(x) = sigmoid(logit)"):
    """Plot ``score(x (M, 2)) -> (M,)`` over the plane, with real and fake points; returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    if toy is not None:
        x0, x1, y0, y1 = toy.bounds
    else:
        pts = torch.cat([t for t in (real, fake) if t is not None])
        (x0, y0), (x1, y1) = pts.min(0).values.tolist(), pts.max(0).values.tolist()
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, 150), torch.linspace(y0, y1, 150), indexing="xy")
    with torch.no_grad():
        s = score(torch.stack([gx.ravel(), gy.ravel()], 1)).reshape(gx.shape)
    mesh = ax.contourf(gx.numpy(), gy.numpy(), s.numpy(), levels=20, cmap="RdBu_r")
    plt.colorbar(mesh, ax=ax, label=label)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="k", alpha=0.3, label="real")
    if fake is not None:
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="gold", alpha=0.5, label="fake")
    if real is not None or fake is not None:
        ax.legend(loc="upper right", fontsize=8, markerscale=4)
    _frame(ax, toy, title)
    return ax


def plot_toy_result(result: dict, title: str = ""):
    """Plot one :func:`run_toy` result on a 2x2 page-wide grid: samples, KDE, decision surface, metrics; returns the Figure."""
    from .plots import PAGE_WIDTH, panels

    toy = result["toy"]
    fig, axes = panels(4, max_per_row=2, panel_height=0.42 * PAGE_WIDTH)
    real = toy.sample(1000, seed=1)
    fake = result["samples"][:1000]
    axes[0].scatter(real[:, 0], real[:, 1], s=2, c="k", alpha=0.3, label="real")
    axes[0].scatter(fake[:, 0], fake[:, 1], s=2, c="tab:blue", alpha=0.4, label="G(z)")
    axes[0].legend(loc="upper right", fontsize=8, markerscale=4)
    _frame(axes[0], toy, "samples: real and generated")
    plot_density(result["samples"], toy, title="generator density (KDE)", ax=axes[1])
    plot_decision_surface(result["d_score"], toy, real=real[:300], fake=fake[:300], title="discriminator", ax=axes[2],
                          label="D score")
    m = result["metrics"]
    lines = [f"{toy.name}, {result['seconds']:.1f} s of training"]
    if m:
        lines += [f"modes covered: {m['modes_covered']} of {m['n_modes']}", f"high quality: {100 * m['hq_fraction']:.1f}%",
                  f"reverse KL: {m['reverse_kl']:.2f}"]
    axes[3].text(0.05, 0.9, "\n".join(lines), va="top", ha="left", fontsize=11, transform=axes[3].transAxes, linespacing=1.6)
    axes[3].set_title(f"mode metrics ({len(result['samples']):,} samples)" if m else "run", fontsize=9)
    axes[3].axis("off")
    fig.suptitle(title or f"{toy.name}: {result['seconds']:.1f} s of training")
    fig.tight_layout()
    return fig


def plot_datasets(n: int = 2000, seed: int = 0, names=None):
    """Scatter n samples of each toy dataset (default: all of ``TOYS``) in one row; returns the Figure."""
    names = list(names or TOYS)
    from .plots import panels

    fig, axes = panels(len(names), max_per_row=3)
    for ax, name in zip(axes, names):
        toy = make_toy(name)
        x = toy.sample(n, seed=seed)
        ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4)
        _frame(ax, toy, name)
    fig.suptitle(f"The toy datasets ({n} samples each)")
    fig.tight_layout()
    return fig


def _pm(mean: float, std: float, missing: str) -> str:
    return missing if math.isnan(mean) else f"{mean:.2f} ± {std:.2f}"


def mode_table(rows: dict) -> str:
    """Return a Markdown table of {label: list of mode_stats dicts (one per seed)}: mean ± std over seeds.

    Show it with ``display(Markdown(...))``: the built book renders it as a table.
    """
    lines = ["| run | seeds | modes covered | % high quality | reverse KL |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, results in rows.items():
        s = mean_over_seeds(results)
        n_modes = results[0]["n_modes"]
        lines.append(f"| {label} | {len(results)} | {s['modes_covered'][0]:.1f} ± {s['modes_covered'][1]:.1f} / {n_modes}"
                     f" | {100 * s['hq_fraction'][0]:.1f} ± {100 * s['hq_fraction'][1]:.1f}"
                     f" | {_pm(*s['reverse_kl'], 'n/a (no high-quality point)')} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- widgets


def widget_panel(steps: int = 400, seed: int = 0, preview: bool = False):
    """Return (and display) an ipywidgets panel to train a 2D GAN live (dataset, loss, rates, n_critic, penalty, unroll).

    Nothing trains until the button is pressed, so a headless run (papermill, nbval) only renders
    the controls. A static page cannot run the panel: with ``preview=True`` the panel's default
    settings are trained once, exactly as pressing **Train** would, and drawn as an ordinary figure
    below the panel, so the built book shows what the panel produces in its default state.
    """
    import ipywidgets as w
    from IPython.display import display

    style = {"description_width": "110px"}
    dataset = w.Dropdown(options=sorted(TOYS), value="ring", description="dataset", style=style)
    loss = w.Dropdown(options=["non-saturating", "minimax", "wasserstein", "md-gan"], value="non-saturating", description="loss", style=style)
    lr_g = w.FloatLogSlider(value=1e-3, base=10, min=-5, max=-1, description="lr_g", style=style)
    lr_d = w.FloatLogSlider(value=1e-3, base=10, min=-5, max=-1, description="lr_d", style=style)
    n_critic = w.IntSlider(value=1, min=1, max=10, description="n_critic", style=style)
    penalty = w.Dropdown(options=["none", "R1", "gradient penalty"], value="none", description="penalty", style=style)
    weight = w.FloatLogSlider(value=1.0, base=10, min=-2, max=2, description="penalty weight", style=style)
    unroll = w.IntSlider(value=0, min=0, max=10, description="unroll steps", style=style)
    lookahead = w.Dropdown(options=["adam", "sgd"], value="adam", description="lookahead", style=style)
    lr_unroll = w.FloatLogSlider(value=0.02, base=10, min=-4, max=0, description="sgd unroll step", style=style)
    n_steps = w.IntSlider(value=steps, min=50, max=3000, step=50, description="G steps", style=style)
    button = w.Button(description="Train", button_style="primary")
    out = w.Output()

    def train_and_plot(title: str = ""):
        md = dict(d=2, sigma=0.25) if loss.value == "md-gan" else None
        result = run_toy(make_toy(dataset.value), steps=n_steps.value,
                         loss="non-saturating" if md else loss.value, lr_g=lr_g.value, lr_d=lr_d.value,
                         n_critic=n_critic.value, r1_gamma=weight.value if penalty.value == "R1" else 0.0,
                         gp_weight=weight.value if penalty.value == "gradient penalty" else 0.0,
                         unroll=unroll.value, lookahead=lookahead.value,
                         lr_unroll=lr_unroll.value if lookahead.value == "sgd" else None, mdgan=md, seed=seed)
        return plot_toy_result(result, title=title)

    def on_click(_):
        with out:
            out.clear_output(wait=True)
            train_and_plot()
            plt.show()

    button.on_click(on_click)
    controls = w.VBox([dataset, loss, lr_g, lr_d, n_critic, penalty, weight, unroll, lookahead, lr_unroll, n_steps, button])
    panel = w.HBox([controls, out])
    panel.train_button, panel.output = button, out  # so a test can press it: panel.train_button.click()
    display(panel)
    if preview:
        panel.preview = train_and_plot(f"The panel's default result: {loss.value} GAN on the {dataset.value}, "
                                       f"{n_steps.value} G steps, lr_g = lr_d = {lr_g.value:g}, seed {seed}")
    return panel
