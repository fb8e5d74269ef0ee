"""The entry point :func:`evaluate`: images from a source -> classifier features -> the metric dict.

A source is a Generator, a tensor of images or a folder of PNGs (:func:`images_from`). Real-data
statistics (features, mean and covariance, k-NN radii) are cached on disk in
:func:`ganlib.config.cache_dir`, keyed by a hash of the real images and of the classifier weights
(:func:`real_statistics`).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import torch

from ..config import atomic_save, cache_dir, default_device
from ..data import load_mnist
from ..features.mnist import FEATURE_DIM, WEIGHTS_PATH, check_images, features_and_probs, weights_hash
from ..images import IMAGE_SUFFIXES, load_pngs, sample
from .fid import feature_statistics, fid_from_statistics
from .is_score import MIN_PER_SPLIT, inception_score
from .knn import knn_radii, prdc

METRIC_KEYS = ("fid", "is_mean", "is_std", "precision", "recall", "density", "coverage", "n_real", "n_fake")


# --------------------------------------------------------------------------- sources of images
def load_image_folder(folder: str | os.PathLike, n: int | None = None) -> torch.Tensor:
    """Return the 28x28 PNG/JPEG images of a folder (0.png, 1.png, ... first; grey or RGB) as (N, 1, 28, 28) in [-1, 1]."""
    try:
        return load_pngs(folder, n, size=(28, 28))
    except ValueError as err:
        raise ValueError(f"{err} (ganlib's metrics need 28x28 images, MNIST size)") from None


def images_from(source, n: int = 10_000, seed: int = 0, device=None, progress: bool = False) -> torch.Tensor:
    """Return up to n images (n, 1, 28, 28) in [-1, 1] from a generator, a checkpoint file, a tensor or a folder of PNGs."""
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}")
    if isinstance(source, (str, os.PathLike)) and Path(source).expanduser().is_file():
        from ..models import generator_from_checkpoint  # a G.pth or ganlib checkpoint, as `ganlib evaluate` accepts

        source = generator_from_checkpoint(Path(source).expanduser())
    if isinstance(source, (str, os.PathLike)):
        images = load_image_folder(Path(source).expanduser(), n)
    elif isinstance(source, torch.Tensor):
        images = source[:n]
    elif callable(source):
        # the same z on every device (drawn on the CPU from seed); the images come back on the CPU
        images = sample(source, n, seed=seed, device=default_device(device), progress=progress).float().cpu()
    else:
        raise TypeError(
            f"cannot evaluate a {type(source).__name__}: pass a Generator (callable with z_dim), "
            "a tensor (N, 1, 28, 28) in [-1, 1] or a folder of PNG files"
        )
    return check_images(images, "images")


# --------------------------------------------------------------------------- real-data statistics (cached)
STATS_VERSION = 2  # bump when the content of the cached statistics changes


def tensor_hash(images: torch.Tensor) -> str:
    """Return the SHA-256 hex digest of a tensor's shape and float32 contents (identity of a data set)."""
    x = images.detach().to("cpu", torch.float32).contiguous()
    h = hashlib.sha256(str(tuple(x.shape)).encode())
    h.update(x.numpy().tobytes())
    return h.hexdigest()


def real_statistics(real: torch.Tensor, ks=(3, 5), batch_size: int = 1000, device=None, cache: bool = True) -> dict:
    """Return ``{'features' (N, 128), 'probs' (N, 10), 'mu', 'sigma', 'radii_sq': {k: (N,) squared k-NN radii}, 'path'}`` of real images.

    Cached in ``cache_dir()/metrics`` under a key made of the images' hash, the classifier weights'
    hash and ``ks``; the file is written atomically and reused when the key matches.
    """
    real = check_images(real, "real")
    device = default_device(device)
    ks = tuple(sorted(set(int(k) for k in ks)))
    key = hashlib.sha256(f"v{STATS_VERSION}|{tensor_hash(real)}|{weights_hash(WEIGHTS_PATH)}|{ks}".encode()).hexdigest()[:32]
    path = cache_dir() / "metrics" / f"real-stats-{key}.pt"
    if cache and path.exists():
        try:
            stats = torch.load(path, map_location="cpu", weights_only=True)
            stats["path"] = str(path)
            stats["cached"] = True
            return stats
        except Exception:
            pass  # unreadable cache (e.g. a different torch): recompute and overwrite
    feats, probs = features_and_probs(real.to(device), batch_size=batch_size)
    stats = feature_statistics(feats)
    stats["features"] = feats.cpu()
    stats["probs"] = probs.cpu()
    stats["radii_sq"] = {k: r.cpu() for k, r in knn_radii(feats, ks, squared=True).items()}
    if cache:
        atomic_save(stats, path)  # a temporary file, then a rename: readers never see a partial file
    stats["path"] = str(path) if cache else None
    stats["cached"] = False
    return stats


def default_real(root=None) -> torch.Tensor:
    """Return the real MNIST test set (10,000, 1, 28, 28) in [-1, 1] from ``root`` or $GANLIB_DATA."""
    return load_mnist(root, train=False)[0]


# --------------------------------------------------------------------------- how many samples
# The fewest images evaluate() accepts (fake and real), per metric, with the reasons:
# - FID: more samples than the classifier's 128 feature dimensions, or the covariance is singular;
#   even above it FID is biased upwards at small n (test digits against themselves, measured with
#   the shipped classifier: 30 at n=129, 19.5 at 200, 3.2 at 1,000, 0.4 at 5,000; the metrics chapter
#   plots this "FID floor").
# - Inception Score: is_score.MIN_PER_SPLIT (20) images per split; a split of m images scores at most m.
# - precision/recall/density/coverage: 100 samples (and more than k), so a k-NN ball is a small
#   part of the set rather than most of it.
MIN_FID = FEATURE_DIM + 1
MIN_KNN = 100
SIZE_RATIO_WARNING = 1.25  # warn when one set is more than 25% larger than the other


def minimum_samples(splits: int = 10, k_pr: int = 3, k_dc: int = 5) -> dict:
    """Return ``{metric: fewest images}`` that :func:`evaluate` accepts for each set (see the comment above)."""
    return {
        "FID": MIN_FID,
        f"Inception Score ({splits} splits)": MIN_PER_SPLIT * splits,
        "precision/recall/density/coverage": max(MIN_KNN, k_pr + 1, k_dc + 1),
    }


def check_sample_sizes(n_fake: int, n_real: int, splits: int = 10, k_pr: int = 3, k_dc: int = 5) -> None:
    """Raise ValueError when a set is below a metric's minimum; warn when the two sets differ much in size."""
    if splits < 1:
        raise ValueError(f"splits must be a positive number of Inception Score splits, got {splits}")
    need = minimum_samples(splits, k_pr, k_dc)
    for name, n in (("fake", n_fake), ("real", n_real)):
        short = {metric: m for metric, m in need.items() if n < m}
        if short:
            detail = ", ".join(f"{metric} {m}" for metric, m in need.items())
            raise ValueError(
                f"only {n} {name} images: too few for {', '.join(short)}. evaluate needs at least {max(need.values())} "
                f"({detail}); below these a metric measures the sample size, not the images (IS from 1 image per "
                "split is exactly 1.0). Generate or export more images: the lab platform grades 10,000"
            )
    if max(n_fake, n_real) > SIZE_RATIO_WARNING * min(n_fake, n_real):
        warnings.warn(
            f"FID from {n_fake} fake against {n_real} real images: FID is biased by the number of samples "
            f"(the metrics chapter measures this floor), so compare values only at equal sizes; pass "
            f"n={min(n_fake, n_real)} to evaluate both sets at the same size",
            UserWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- the entry point
def metrics_from_features(real_stats: dict, fake_f, fake_probs, k_pr: int = 3, k_dc: int = 5, splits: int = 10, device=None) -> dict:
    """Return the metric dict (keys ``METRIC_KEYS``) from real statistics and fake features (M, F) / probs (M, 10)."""
    dev = fake_f.device if device is None else torch.device(device)
    real_f = real_stats["features"].to(dev)
    out = {"fid": fid_from_statistics(real_stats, feature_statistics(fake_f))}
    out.update(inception_score(fake_probs, splits=splits))
    radii = {k: v.to(dev) for k, v in real_stats["radii_sq"].items()}
    out.update(prdc(real_f, fake_f.to(dev), k_pr=k_pr, k_dc=k_dc, real_radii_sq=radii))
    out["n_real"] = int(real_f.shape[0])
    out["n_fake"] = int(fake_f.shape[0])
    return {k: out[k] for k in METRIC_KEYS}


def evaluate(
    source,
    real=None,
    n: int = 10_000,
    seed: int = 0,
    device=None,
    batch_size: int = 1000,
    k_pr: int = 3,
    k_dc: int = 5,
    splits: int = 10,
    cache: bool = True,
    progress: bool = False,
) -> dict:
    """Return ``{fid, is_mean, is_std, precision, recall, density, coverage, n_real, n_fake}`` for a source.

    ``source``: a Generator (any callable z -> images with attribute ``z_dim``; n samples from
    ``seed``), a tensor (N, 1, 28, 28) in [-1, 1] or a folder of PNGs (the first n are used).
    ``real``: a tensor of real images, a folder of PNGs, an MNIST data root, or None for the
    MNIST test set from $GANLIB_DATA; its first ``n`` images are used (so ``n_real`` = min(n, len(real))).
    Features come from the shipped MNIST classifier, so values are comparable across machines but
    not with Inception FID. FID is biased upwards at small n: compare values at equal n only.
    Fewer than :func:`minimum_samples` images (200 with the defaults) raise ValueError; sets whose
    sizes differ by more than 25% give a warning.
    """
    device = default_device(device)
    if real is None:
        real = default_real()
    elif isinstance(real, (str, os.PathLike)):
        p = Path(real)
        real = load_image_folder(p) if p.is_dir() and any(q.suffix.lower() in IMAGE_SUFFIXES for q in p.iterdir()) else default_real(p)
    real = check_images(real, "real")[:n]
    fake = images_from(source, n=n, seed=seed, device=device, progress=progress)
    check_sample_sizes(fake.shape[0], real.shape[0], splits, k_pr, k_dc)
    real_stats = real_statistics(real, ks=(k_pr, k_dc), batch_size=batch_size, device=device, cache=cache)
    fake_f, fake_probs = features_and_probs(fake.to(device), batch_size=batch_size)
    return metrics_from_features(real_stats, fake_f, fake_probs, k_pr=k_pr, k_dc=k_dc, splits=splits, device=device)
