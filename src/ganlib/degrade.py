"""The metric sanity lab: controlled degradations of real digits and how each metric reacts.

Degrading real images by a known amount is the standard way to see what a metric measures
(Heusel et al. 2017, Fig. 1, did it for FID with noise, blur and swirl; Kynkaanniemi et al.
2019 and Naeem et al. 2020 did it for precision/recall and density/coverage with truncation
and outliers). Every helper maps images (N, 1, 28, 28) in [-1, 1] to images of the same kind,
with an explicit seed where randomness is involved; plotting helpers draw the reactions.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F

from .config import progress_bar
from .features import check_images, extract_features, features_and_probs
from .tables import markdown_table
from .metrics import METRIC_KEYS, fid_from_features, metrics_from_features, real_statistics


def add_noise(images: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """Return images + N(0, sigma^2) pixel noise, clipped to [-1, 1]: (N, 1, 28, 28)."""
    g = torch.Generator().manual_seed(seed)
    return (images + sigma * torch.randn(images.shape, generator=g).to(images.device)).clamp(-1, 1)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Return images convolved with a Gaussian of std ``sigma`` pixels (edge-replicated): (N, 1, 28, 28)."""
    if sigma <= 0:
        return images.clone()
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    k = k / k.sum()
    out = F.pad(images, (radius,) * 4, mode="replicate")
    out = F.conv2d(out, k.view(1, 1, 1, -1))  # separable: rows then columns
    return F.conv2d(out, k.view(1, 1, -1, 1))


def drop_classes(images: torch.Tensor, labels: torch.Tensor, classes) -> torch.Tensor:
    """Return the images whose label is not in ``classes``: (M, 1, 28, 28), M <= N."""
    keep = ~torch.isin(labels, torch.as_tensor(list(classes), dtype=labels.dtype, device=labels.device))
    return images[keep]


def collapse(images: torch.Tensor, n_unique: int, seed: int = 0) -> torch.Tensor:
    """Return N images drawn with replacement from only ``n_unique`` of them (mode collapse): (N, 1, 28, 28)."""
    n = images.shape[0]
    if not 1 <= n_unique <= n:
        raise ValueError(f"n_unique must be between 1 and {n}, got {n_unique}")
    g = torch.Generator().manual_seed(seed)
    if n_unique == n:
        return images.clone()
    unique = torch.randperm(n, generator=g)[:n_unique]
    return images[unique[torch.randint(n_unique, (n,), generator=g)]]


def jpeg_roundtrip(images: torch.Tensor, quality: int = 75) -> torch.Tensor:
    """Return images saved as 8-bit JPEG at ``quality`` with PIL and read back: (N, 1, 28, 28) in [-1, 1]."""
    from PIL import Image

    pixels = ((check_images(images).cpu()[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    out = np.empty_like(pixels)
    for i, p in enumerate(pixels):
        buf = io.BytesIO()
        Image.fromarray(p, mode="L").save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        with Image.open(buf) as img:
            out[i] = np.asarray(img.convert("L"))
    return torch.from_numpy(out).float().div_(127.5).sub_(1.0).unsqueeze(1).to(images.device)


def png_roundtrip(images: torch.Tensor) -> torch.Tensor:
    """Return images quantised to 8 bits as a PNG file stores them (lossless beyond that): (N, 1, 28, 28)."""
    return ((images + 1) * 127.5).round().clamp(0, 255).div(127.5).sub(1.0)


# --------------------------------------------------------------------------- sweeps
def sweep(real, variants: dict, progress: bool = True) -> dict:
    """Return ``{label: metric dict}`` for each image set in ``variants`` against ``real`` (images or real_statistics)."""
    stats = real if isinstance(real, dict) else real_statistics(real, cache=False)
    out = {}
    for label, fake in progress_bar(variants.items(), desc="sweep", enabled=progress):
        f, p = features_and_probs(check_images(fake, str(label)))
        out[label] = metrics_from_features(stats, f, p)
    return out


def sanity_lab(real, pool, pool_labels, n: int = 5000, seed: int = 0,
               noise=(0.0, 0.1, 0.2, 0.4, 0.8), blur_sigmas=(0.0, 0.5, 1.0, 1.5, 2.0),
               dropped=(0, 1, 2, 3, 4, 5), unique=(None, 1000, 100, 10), jpeg=(None, 95, 75, 50, 25),
               progress: bool = True) -> dict:
    """Return ``{degradation: {'values': [...], 'results': [metric dict, ...], 'xlabel': str}}``.

    ``real`` (the reference, e.g. the test set) and ``pool``/``pool_labels`` (other real digits, e.g.
    the training subset) are both cut to ``n`` images; each degradation is applied to the pool at
    each strength. ``dropped=m`` removes classes 10-m .. 9 (so 5 removes 5-9); ``unique=None`` and
    ``jpeg=None`` are the undegraded pool (PNG is lossless for 8-bit digits).
    """
    g = torch.Generator().manual_seed(seed)
    real = real[torch.randperm(real.shape[0], generator=g)[:n]]
    perm = torch.randperm(pool.shape[0], generator=g)
    pool, pool_labels = pool[perm], pool_labels[perm]
    base = pool[:n]
    unique = [u for u in unique if u is None or u < n]  # collapse needs fewer distinct images than n
    stats = real_statistics(real, cache=False)

    def drop(m):
        kept = drop_classes(pool, pool_labels, range(10 - m, 10)) if m else pool
        return kept[:n]

    plan = {
        "gaussian noise": ("noise std (pixels in [-1, 1])", noise, lambda s: add_noise(base, s, seed)),
        "blur": ("Gaussian blur std (pixels)", blur_sigmas, lambda s: blur(base, s)),
        "dropped classes": ("number of classes dropped (from 9 downwards)", dropped, drop),
        "mode collapse": ("distinct images among n (None = all)", unique, lambda u: collapse(base, u or n, seed)),
        "JPEG": ("JPEG quality (None = PNG, lossless)", jpeg, lambda q: png_roundtrip(base) if q is None else jpeg_roundtrip(base, q)),
    }
    out = {}
    for name, (xlabel, values, make) in plan.items():
        res = sweep(stats, {v: make(v) for v in values}, progress=progress)
        out[name] = {"values": list(values), "results": [res[v] for v in values], "xlabel": xlabel}
    return out


def fid_floor(real_a: torch.Tensor, real_b: torch.Tensor, sizes=(100, 300, 1000, 3000, 10000), repeats: int = 3, seed: int = 0) -> dict:
    """Return ``{n: (mean FID, std FID)}`` between random size-n subsets of two real sets (FID's bias at small n)."""
    g = torch.Generator().manual_seed(seed)
    # only features of the images that some draw can use: at most max(sizes) of each set
    m = max(sizes)
    real_a = real_a[torch.randperm(real_a.shape[0], generator=g)[:m]] if real_a.shape[0] > m else real_a
    real_b = real_b[torch.randperm(real_b.shape[0], generator=g)[:m]] if real_b.shape[0] > m else real_b
    fa, fb = extract_features(real_a), extract_features(real_b)
    out = {}
    for n in sizes:
        n = min(n, fa.shape[0], fb.shape[0])
        reps = repeats if n < min(fa.shape[0], fb.shape[0]) else 1  # the full sets have one value
        vals = [
            fid_from_features(fa[torch.randperm(fa.shape[0], generator=g)[:n]], fb[torch.randperm(fb.shape[0], generator=g)[:n]])
            for _ in range(reps)
        ]
        out[n] = (float(np.mean(vals)), float(np.std(vals)))
    return out


# --------------------------------------------------------------------------- plots
def plot_sanity_lab(lab: dict, fid_log: bool = True):
    """Return a matplotlib figure at the page's width: one row per degradation, FID left, IS/10 and P/R/D/C right."""
    from .plots import panels  # ganlib.plots imports matplotlib: only when a figure is drawn

    names = list(lab)
    fig, flat = panels(2 * len(names), max_per_row=2, panel_height=2.7)
    axes = np.array(flat, dtype=object).reshape(len(names), 2)
    for row, name in enumerate(names):
        entry = lab[name]
        ticks = [str(v) for v in entry["values"]]
        x = np.arange(len(ticks))
        top, bottom = axes[row, 0], axes[row, 1]
        top.plot(x, [max(r["fid"], 1e-3) for r in entry["results"]], "o-", color="black")
        if fid_log:
            top.set_yscale("log")
        top.set_title(f"{name}: FID")
        top.set_ylabel("FID (classifier features)")
        for key, style in (("precision", "o-"), ("recall", "s-"), ("density", "^--"), ("coverage", "v-")):
            bottom.plot(x, [r[key] for r in entry["results"]], style, label=key)
        bottom.plot(x, [r["is_mean"] / 10 for r in entry["results"]], "x:", color="grey", label="IS / 10")
        bottom.set_title(f"{name}: fidelity and diversity")
        bottom.set_ylabel("value")
        bottom.set_ylim(-0.05, max(1.25, max(r["density"] for r in entry["results"]) + 0.05))
        for ax in (top, bottom):
            ax.set_xticks(x, ticks)
            ax.set_xlabel(entry["xlabel"], fontsize=9)
            ax.grid(alpha=0.3)
    axes[0, 1].legend(fontsize=8, loc="lower left", ncol=2)
    fig.tight_layout()
    return fig


def plot_fid_floor(floor: dict):
    """Return a matplotlib figure of real-vs-real FID against the sample size n (log-log)."""
    import matplotlib.pyplot as plt

    sizes = sorted(floor)
    mean = np.array([floor[n][0] for n in sizes])
    std = np.array([floor[n][1] for n in sizes])
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.errorbar(sizes, mean, yerr=std, fmt="o-", capsize=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("images per set n")
    ax.set_ylabel("FID, real test vs real train")
    ax.set_title("FID floor: two real sets, growing n")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def metrics_table(lab_entry: dict) -> str:
    """Return a Markdown table of one sweep's metric values (rows = strengths)."""
    keys = [k for k in METRIC_KEYS if k not in ("n_real",)]
    return markdown_table([{"value": v, **r} for v, r in zip(lab_entry["values"], lab_entry["results"])], ["value", *keys])
