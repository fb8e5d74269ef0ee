"""Class-wise latent refit (lab report 002): classify generated samples, keep per class the
ones most similar to real data (cosine similarity to the nearest real image, batched with
bounded memory) above a class-specific threshold (a quantile of that class's similarities),
test each kept latent dimension for normality (Shapiro-Wilk), fit a diagonal Gaussian
N(mu_c, diag sigma_c^2) per class and sample a class-balanced set from the mixture:
:func:`fit_classwise_latents`, :func:`classwise_sample`.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..config import progress_bar
from ._common import _check_n, _generate, _latents, _stats, _z_dim
from .is_rejection import _default_classifier


@torch.no_grad()
def nearest_real_cosine(fake: torch.Tensor, real: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """Return, for each fake (N, ...), the cosine similarity to its nearest real image (M, ...): (N,).

    Computed ``chunk`` fakes at a time, so memory is chunk x M similarities, not N x M.
    """
    r = F.normalize(real.reshape(real.shape[0], -1).float(), dim=1)
    out = []
    for i in range(0, fake.shape[0], chunk):
        f = F.normalize(fake[i:i + chunk].reshape(min(chunk, fake.shape[0] - i), -1).float().to(r.device), dim=1)
        out.append((f @ r.T).max(1).values.cpu())
    return torch.cat(out)


def fit_classwise_latents(G, real: torch.Tensor, classifier: Callable | None = None, n_fit: int = 20_000,
                          keep_fraction: float = 0.5, n_classes: int = 10, seed: int = 0, alpha: float = 0.05,
                          batch_size: int = 1000, min_per_class: int = 20, keep_examples: int = 0, progress: bool = True) -> dict:
    """Return a per-class diagonal Gaussian fit of the latents of the most real-like samples of each class.

    The dict holds ``mu`` and ``sigma`` (n_classes, z_dim), ``shapiro_p`` (n_classes, z_dim)
    Shapiro-Wilk p-values, ``normal_fraction`` (dims not rejected at ``alpha``), ``kept``
    (n_classes,) latents kept, ``thresholds`` (n_classes,) similarity thresholds, and
    ``generator_calls``, ``acceptance_rate``, ``wall_time_s`` of the fit. A class with fewer
    than ``min_per_class`` kept latents falls back to the prior N(0, I) (listed in ``fallback``).
    With ``keep_examples`` > 0, ``examples_kept`` / ``examples_rejected`` hold that many images.
    """
    from scipy.stats import shapiro

    if not 0 < keep_fraction <= 1:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    classifier = classifier or _default_classifier()
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    z_dim = _z_dim(G)
    z = _latents(gen, n_fit, z_dim)
    labels, sims, examples = [], [], []
    for i in progress_bar(range(0, n_fit, batch_size), desc="classify + similarity", enabled=progress):
        x = _generate(G, z[i:i + batch_size])
        labels.append(classifier(x).argmax(1).cpu())
        sims.append(nearest_real_cosine(x, real))
        if sum(e.shape[0] for e in examples) < 4 * keep_examples:
            examples.append(x.cpu())
    labels, sims = torch.cat(labels), torch.cat(sims)
    mu, sigma = torch.zeros(n_classes, z_dim), torch.ones(n_classes, z_dim)
    pvals = torch.full((n_classes, z_dim), float("nan"))
    kept, thresholds, fallback = torch.zeros(n_classes, dtype=torch.long), torch.full((n_classes,), float("nan")), []
    rng = np.random.default_rng(seed)
    for c in range(n_classes):
        in_c = labels == c
        if int(in_c.sum()) == 0:
            fallback.append(c)
            continue
        thresholds[c] = torch.quantile(sims[in_c], 1 - keep_fraction)  # a threshold per class: classes differ in typical similarity
        z_c = z[in_c & (sims >= thresholds[c])]
        kept[c] = z_c.shape[0]
        if z_c.shape[0] < min_per_class:
            fallback.append(c)
            continue
        mu[c], sigma[c] = z_c.mean(0), z_c.std(0)
        sub = z_c.numpy()[rng.permutation(z_c.shape[0])[:5000]]  # Shapiro-Wilk's p-value is valid up to N = 5000
        pvals[c] = torch.tensor([shapiro(sub[:, j]).pvalue for j in range(z_dim)])
    if fallback:
        warnings.warn(f"classes {fallback} kept fewer than {min_per_class} latents and are sampled from the prior N(0, I): "
                      "the class-wise sample is not class-balanced (is G covering these classes? raise n_fit)", stacklevel=2)
    tested = pvals[~torch.isnan(pvals)]
    keep_mask = sims >= thresholds.nan_to_num(float("inf"))[labels]
    ex = torch.cat(examples) if examples else None
    m = ex.shape[0] if ex is not None else 0
    return {
        "mu": mu,  # (n_classes, z_dim) per-class latent means
        "sigma": sigma,  # (n_classes, z_dim) per-class latent stds
        "shapiro_p": pvals,  # (n_classes, z_dim) normality p-values
        "kept": kept,  # (n_classes,) latents kept per class
        "thresholds": thresholds,  # (n_classes,) similarity thresholds
        "fallback": fallback,  # classes sampled from the prior
        "normal_fraction": float((tested > alpha).float().mean()) if tested.numel() else float("nan"),
        "class_counts": torch.bincount(labels, minlength=n_classes),
        "generator_calls": n_fit,
        "acceptance_rate": int(kept.sum()) / n_fit,
        "wall_time_s": time.perf_counter() - t0,
        "examples_kept": ex[keep_mask[:m]][:keep_examples] if keep_examples else None,
        "examples_rejected": ex[~keep_mask[:m]][:keep_examples] if keep_examples else None,
    }


def classwise_sample(G, fit: dict, n: int, seed: int = 0, batch_size: int = 1000, progress: bool = True):
    """Return ``n`` samples (n, *out_shape), class-balanced from the per-class Gaussians of ``fit``, shuffled, and stats.

    Class c gets n // C samples (the first n % C classes one more). ``generator_calls`` counts
    this call's n plus the fit's (``fit_generator_calls``); the acceptance rate is the fit's.
    """
    _check_n(n)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    mu, sigma = fit["mu"], fit["sigma"]
    n_classes = mu.shape[0]
    counts = [n // n_classes + (1 if c < n % n_classes else 0) for c in range(n_classes)]
    z = torch.cat([mu[c] + sigma[c] * _latents(gen, counts[c], mu.shape[1]) for c in range(n_classes)])
    z = z[torch.randperm(n, generator=gen)]
    x = torch.cat([_generate(G, z[i:i + batch_size]) for i in progress_bar(range(0, n, batch_size), desc="class-wise refit",
                                                                       enabled=progress)])
    stats = _stats(int(fit["kept"].sum()), fit["generator_calls"], n + fit["generator_calls"], t0,
                   sample_generator_calls=n, fit_generator_calls=fit["generator_calls"], normal_fraction=fit["normal_fraction"])
    stats["wall_time_s"] += fit["wall_time_s"]
    stats["sample_wall_time_s"] = time.perf_counter() - t0
    return x, stats
