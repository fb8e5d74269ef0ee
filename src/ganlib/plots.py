"""Figures for the book: loss curves and sample grids, each with a title and labelled axes.

Every figure is designed for the book's page: the content column is about 700 pixels wide and
figures are saved at 100 dpi, so a figure :data:`PAGE_WIDTH` inches wide is shown at its own size
and its 10-point text stays legible. Several panels wrap into rows of at most :data:`MAX_PER_ROW`
(:func:`panels`); digit grids go at most two to a row so that each digit can be judged.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

from .images import to_unit
from .mdgan import centroid_curvature, log_likelihood, simplex_means
from .training import History

PAGE_WIDTH = 7.0  # inches: the width of the book's content column at 100 dpi
MAX_PER_ROW = 4  # panels per row beyond which titles and ticks become too small to read
GRIDS_PER_ROW = 2  # digit grids per row: 8 digits per grid row are then about 40 pixels each


def panels(n: int, max_per_row: int = MAX_PER_ROW, panel_height: float | None = None, width: float = PAGE_WIDTH, **kwargs):
    """Return ``(fig, axes)``: ``n`` Axes in rows of at most ``max_per_row``, the figure as wide as the page.

    ``panel_height`` defaults to the panel width (square panels); extra keyword arguments go to
    ``plt.subplots`` (``sharey=True``, ...). Unused cells of the last row are removed.
    """
    if n < 1:
        raise ValueError(f"panels needs at least one panel, got n={n}")
    ncols = min(n, max_per_row)
    nrows = math.ceil(n / ncols)
    height = panel_height if panel_height is not None else width / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows), squeeze=False, **kwargs)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def _means(history) -> dict:
    """The per-step history averaged over blocks (about 200 points), as a dict."""
    h = history if isinstance(history, History) else History(**history)
    return h.means().as_dict()


def plot_losses(history, title: str = "Training losses", ax=None, grad_norm: bool = False):
    """Plot D and G losses (and optionally ||grad G||) against generator steps; returns the Axes."""
    h = _means(history)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(h["step"], h["d_loss"], label="D loss")
    ax.plot(h["step"], h["g_loss"], label="G loss")
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss (block means)")
    ax.set_title(title)
    if grad_norm and h.get("g_grad_norm"):
        ax2 = ax.twinx()
        ax2.plot(h["step"], h["g_grad_norm"], color="tab:green", alpha=0.7, label="||grad G||")
        ax2.set_ylabel("generator gradient norm")
        ax2.set_yscale("log")
        ax2.legend(loc="upper right")
    ax.legend(loc="upper left")
    return ax


def plot_loss_panels(histories: dict, title: str = "Training losses"):
    """Plot the losses of several runs ``{label: history}`` side by side on a shared y axis; returns the Figure."""
    if not histories:
        raise ValueError("no histories to plot")
    fig, axes = panels(len(histories), max_per_row=2, panel_height=3.0, sharey=True)
    for ax, (label, history) in zip(axes, histories.items()):
        plot_losses(history, title=label, ax=ax)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def grid_image(images: torch.Tensor, nrow: int = 8):
    """Return a (H, W) array in [0, 1] tiling images (N, 1, h, w) in [-1, 1]."""
    grid = make_grid(to_unit(images.detach().cpu().float()), nrow=nrow, padding=2, pad_value=1.0)
    return grid[0].numpy()


def show_grid(images: torch.Tensor, title: str, nrow: int = 8, ax=None, xlabel: str | None = None):
    """Show images (N, 1, h, w) in [-1, 1] as one grey grid; returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(grid_image(images, nrow), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_xlabel(xlabel or f"{images.shape[0]} samples, {nrow} per row")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def show_grids(grids: dict, title: str, nrow: int = 8, xlabel: str | None = None):
    """Show several grids, ``{label: images}``, two to a row at the page's width; returns the Figure."""
    n = len(grids)
    per_row = min(n, GRIDS_PER_ROW)
    first = next(iter(grids.values()))
    rows_of_digits = math.ceil(first.shape[0] / nrow)
    width = min(PAGE_WIDTH, 3.5 * per_row)
    panel_height = (width / per_row) * rows_of_digits / nrow + 0.6  # the grid's aspect, plus its title and label
    # "compressed" packs the fixed-aspect images without the blank bands tight_layout leaves around them
    fig, axes = panels(n, max_per_row=per_row, panel_height=panel_height, width=width, layout="compressed")
    for ax, (label, images) in zip(axes, grids.items()):
        show_grid(images, str(label), nrow=nrow, ax=ax, xlabel=xlabel)
    fig.suptitle(title)
    return fig


def plot_grad_norms(histories: dict, title: str = "Generator gradient norm"):
    """Plot ||grad G|| (recorded with ``record_grad_norm=True``) for several runs ``{label: history}``; returns the Axes."""
    _, ax = plt.subplots(figsize=(7, 3.5))
    for label, history in histories.items():
        h = _means(history)
        if not h.get("g_grad_norm"):
            raise ValueError(f"run {label!r} has no gradient norms: train it with record_grad_norm=True")
        ax.plot(h["step"], h["g_grad_norm"], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("generator step")
    ax.set_ylabel("||dL_G / d theta_G|| (log scale)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_class_shares(shares: dict, title: str = "Digit classes among generated samples"):
    """Bar chart of the share of each digit class, ``{label: shares (10,)}`` side by side; returns the Axes.

    A value may also be a list of shares, one per seed (``[r["shares"] for r in per_seed]``): the bar
    is their mean and a black line spans their range (min to max over the seeds).
    """
    _, ax = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / max(len(shares), 1)
    spread = False
    for i, (label, p) in enumerate(shares.items()):
        per_seed = torch.stack([torch.as_tensor(s, dtype=torch.float32) for s in p]) if isinstance(p, (list, tuple)) \
            else torch.as_tensor(p, dtype=torch.float32)[None]
        x = torch.arange(per_seed.shape[1]) + (i - (len(shares) - 1) / 2) * width
        ax.bar(x, per_seed.mean(0), width=width, label=label)
        if per_seed.shape[0] > 1:
            ax.vlines(x, per_seed.min(0).values, per_seed.max(0).values, colors="black", lw=1)
            spread = True
    ax.axhline(0.1, ls="--", c="gray", lw=1, label="uniform (0.1)")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit class (MNIST classifier's prediction)")
    ax.set_ylabel("share of samples" + (" (mean; line: range over seeds)" if spread else ""))
    ax.set_title(title)
    ax.legend(fontsize=9)
    return ax


def plot_saturation(curve: dict, title: str = "Generator gradient as D becomes confident"):
    """Plot ||grad G|| of both generator losses against D's head-start steps, with mean D(G(z)); returns the Axes."""
    _, ax = plt.subplots(figsize=(7, 3.5))
    for name in ("minimax", "non-saturating"):
        ax.plot(curve["step"], curve[name], marker="o", ms=3, label=f"||grad G||, {name} loss")
    ax.set_yscale("log")
    ax.set_xlabel("discriminator steps against a frozen generator")
    ax.set_ylabel("generator gradient norm (log scale)")
    ax.set_title(title)
    ax2 = ax.twinx()
    ax2.plot(curve["step"], curve["d_fake"], color="gray", ls="--", label="mean D(G(z))")
    ax2.set_ylabel("mean D(G(z))")
    ax2.set_ylim(0, 1)
    ax.legend(loc="center right", fontsize=9)
    ax2.legend(loc="upper right", fontsize=9)
    return ax


def plot_layer_grad_norms(curves: dict, title: str = "Critic gradient norm per layer", ax=None):
    """Plot {label: {layer: norm}} as lines over the layers, input to output, log scale; returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, norms in curves.items():
        names = list(norms)
        ax.plot(range(1, len(names) + 1), [norms[n] for n in names], marker="o", label=str(label))
        ax.set_xticks(range(1, len(names) + 1), [f"input of {n}" for n in names])
    ax.set_yscale("log")
    ax.set_xlabel("critic layer (input side left, output side right)")
    ax.set_ylabel("mean ||dD/dh|| (log scale)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_critic_estimate(histories: dict, title: str = "Critic's estimate of the Wasserstein distance", ax=None):
    """Plot -(critic loss) = E[D(real)] - E[D(fake)] (+ penalty, if any) against generator steps for {label: History}
    (block means); returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for label, h in histories.items():
        h = _means(h)
        ax.plot(h["step"], [-v for v in h["d_loss"]], label=str(label))
    ax.set_xlabel("generator step")
    ax.set_ylabel("-(critic loss)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_fid_curve(scores: list, title: str = "FID during training", ax=None, best_epoch: int | None = None, label: str | None = None):
    """Plot FID against epoch from ``FIDEarlyStopping.scores``, marking the best epoch; returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([s["epoch"] for s in scores], [s["fid"] for s in scores], marker="o", label=label)
    if best_epoch is not None:
        ax.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch {best_epoch}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("FID (lower is better)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_centroid_profiles(configs, title: str = "log lk along the line vertex -> centroid -> opposite face"):
    """Plot log lk(e) - log max lk on the line from a vertex through the centroid for each ``(d, sigma, edge)``; returns the Axes.

    A profile that rises toward the centroid (t = 1) marks a merged mixture: the centroid is a
    local maximum and a generator whose fakes sit there gets no gradient (``ganlib.mdgan.centroid_curvature``).
    """
    _, ax = plt.subplots(figsize=(7, 3.5))
    for d, sigma, edge in configs:
        means = simplex_means(d, edge).double()
        t = torch.linspace(0.0, 1.0 + 1.0 / d, 400, dtype=torch.float64)
        line = (1 - t)[:, None] * means[:1]
        ll = log_likelihood(line, means, sigma)
        kind = "min" if centroid_curvature(d, sigma, edge) > 0 else "MAX"
        ax.plot(t.numpy(), (ll - ll.max()).numpy(), label=f"d={d}, sigma={sigma:g}, edge={edge:g} (centroid: local {kind})")
    ax.axvline(1.0, color="gray", ls="--", lw=1)
    ax.set_xlabel("t: e = (1 - t) mu_0  (t=0 vertex, t=1 centroid)")
    ax.set_ylabel("log lk(e) - max log lk")
    ax.set_title(title)
    ax.legend(fontsize=9)
    return ax


def show_accepted_rejected(results: dict, title: str, k: int = 32):
    """Show, per sampler, a grid of kept samples beside the rejected ones (or before/after for ascent); returns the Figure."""
    pairs = []
    for name, (x, stats, _) in results.items():
        if stats.get("rejected") is not None and stats["rejected"].shape[0] > 0:
            pairs.append((f"{name}: accepted", x[:k], f"{name}: rejected", stats["rejected"][:k]))
        elif stats.get("before") is not None:
            pairs.append((f"{name}: after ascent", stats["after"][:k], f"{name}: same z before", stats["before"][:k]))
    fig, axes = plt.subplots(len(pairs), 2, figsize=(7, 2.4 * len(pairs)), squeeze=False, layout="compressed")
    for row, (ta, a, tb, b) in zip(axes, pairs):
        show_grid(a, ta, ax=row[0], xlabel=f"{a.shape[0]} samples")
        show_grid(b, tb, ax=row[1], xlabel=f"{b.shape[0]} samples")
    fig.suptitle(title)
    return fig


def show_rows(samples: dict, title: str):
    """Show ``{label: images (k, 1, h, w)}`` as one grid, a row of k digits per label named on the left; returns the Axes."""
    k = next(iter(samples.values())).shape[0]
    if any(x.shape[0] != k for x in samples.values()):
        raise ValueError(f"every row needs the same number of images, got {[x.shape[0] for x in samples.values()]}")
    rows = len(samples)
    _, ax = plt.subplots(figsize=(PAGE_WIDTH, 0.7 * rows + 0.8))
    image = grid_image(torch.cat(list(samples.values())), nrow=k)
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    row_height = image.shape[0] / rows
    ax.set_yticks([row_height * (i + 0.5) for i in range(rows)], [str(label) for label in samples], fontsize=9)
    ax.set_xticks([])
    ax.set_xlabel(f"{k} samples per method, the same latent vectors in every row")
    ax.set_title(title)
    return ax


def plot_precision_recall(points: dict, title: str = "Precision against recall"):
    """Scatter ``{label: [(precision, recall), one per seed]}``: a marker at the mean, bars spanning the
    seeds' range (min to max); returns the Axes."""
    _, ax = plt.subplots(figsize=(PAGE_WIDTH, 4.6))
    markers = "os^vDP*Xhp<>"
    for i, (label, per_seed) in enumerate(points.items()):
        p = torch.tensor([float(a) for a, _ in per_seed])
        r = torch.tensor([float(b) for _, b in per_seed])
        ax.errorbar(r.mean(), p.mean(), xerr=[[r.mean() - r.min()], [r.max() - r.mean()]],
                    yerr=[[p.mean() - p.min()], [p.max() - p.mean()]], fmt=markers[i % len(markers)],
                    color=plt.get_cmap("tab20")(i % 20), capsize=3, label=label)
    ax.set_xlabel("recall (share of real images the samples' manifold covers)")
    ax.set_ylabel("precision (share of samples\non the real manifold)")
    top = max((float(r) for per_seed in points.values() for _, r in per_seed), default=1.0)
    ax.set_xlim(-0.005, min(1.02, max(0.1, 1.2 * top)))  # recall near 0 would be a thin line at 0..1
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax
