"""Figures for the book: loss curves and sample grids, each with a title and labelled axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

from .sampling import to_unit


def plot_losses(history, title: str = "Training losses", ax=None, grad_norm: bool = False):
    """Plot D and G losses (and optionally ||grad G||) against generator steps; returns the Axes."""
    h = history if isinstance(history, dict) else history.as_dict()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(h["step"], h["d_loss"], label="D loss")
    ax.plot(h["step"], h["g_loss"], label="G loss")
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss (mean over log interval)")
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
    fig, axes = plt.subplots(1, len(histories), figsize=(4.5 * len(histories), 3.2), sharey=True, squeeze=False)
    for ax, (label, history) in zip(axes[0], histories.items()):
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
    """Show several grids side by side, ``{label: images}``; returns the Figure."""
    fig, axes = plt.subplots(1, len(grids), figsize=(3.2 * len(grids), 3.6), squeeze=False)
    for ax, (label, images) in zip(axes[0], grids.items()):
        show_grid(images, str(label), nrow=nrow, ax=ax, xlabel=xlabel)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_grad_norms(histories: dict, title: str = "Generator gradient norm"):
    """Plot ||grad G|| (recorded with ``record_grad_norm=True``) for several runs ``{label: history}``; returns the Axes."""
    _, ax = plt.subplots(figsize=(7, 3.5))
    for label, history in histories.items():
        h = history if isinstance(history, dict) else history.as_dict()
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
    """Bar chart of the share of each digit class, ``{label: shares (10,)}`` side by side; returns the Axes."""
    _, ax = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / max(len(shares), 1)
    for i, (label, p) in enumerate(shares.items()):
        p = torch.as_tensor(p, dtype=torch.float32)
        ax.bar(torch.arange(len(p)) + (i - (len(shares) - 1) / 2) * width, p, width=width, label=label)
    ax.axhline(0.1, ls="--", c="gray", lw=1, label="uniform (0.1)")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit class (MNIST classifier's prediction)")
    ax.set_ylabel("share of samples")
    ax.set_title(title)
    ax.legend(fontsize=8)
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
    ax.legend(loc="center right", fontsize=8)
    ax2.legend(loc="upper right", fontsize=8)
    return ax
