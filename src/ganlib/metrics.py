"""GAN evaluation metrics as chains of small pure functions: features -> statistics -> metric.

- FID: Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
  Nash Equilibrium", Eq. (6): the Frechet distance between Gaussians fitted to features,
  ``||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))``.
- Inception Score: Salimans et al. 2016, "Improved Techniques for Training GANs", Sec. 4:
  ``exp(E_x KL(p(y|x) || p(y)))``, averaged over 10 splits.
- Precision and recall: Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for
  Assessing Generative Models", Eq. (1)-(2): k-NN balls (k=3) around each sample approximate
  the real and the fake manifold.
- Density and coverage: Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
  Generative Models", Eq. (3)-(4), k=5.

Features come from ganlib's shipped MNIST classifier (:mod:`ganlib.features`) unless given.
Statistics are float64. Nearest neighbours are *exact*: pairwise distances are computed in
float64 row blocks of bounded size (never an N x N matrix), on the features' device (CPU or
GPU), and the conventions (strict ``<``, the k-th neighbour counted with the point itself as
in the reference code) follow the authors' ``prdc`` package, which the tests compare against.

:func:`evaluate` is the one entry point the chapters use; real-data statistics are cached on
disk in :func:`ganlib.config.cache_dir`, keyed by a hash of the real images and of the
classifier weights. :func:`inception_fid` computes FID with pytorch-fid's Inception-v3 pool3
features for comparison with the lab reports (see its docstring for what is verified).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import cache_dir, default_device, progress_bar
from .features import check_images, features_and_probs, load_classifier, weights_hash, WEIGHTS_PATH
from .sampling import IMAGE_SUFFIXES, load_pngs, sample

METRIC_KEYS = ("fid", "is_mean", "is_std", "precision", "recall", "density", "coverage", "n_real", "n_fake")
# Row-block budget for pairwise distances: rows * columns <= this many float64 values (64 MB).
BLOCK_ELEMENTS = 2**23


# --------------------------------------------------------------------------- FID
def _as_float64(features, name):
    if not isinstance(features, torch.Tensor):
        features = torch.as_tensor(np.asarray(features))
    if features.dim() != 2:
        raise ValueError(f"{name} must be a 2D array of features (N, F), got shape {tuple(features.shape)}")
    if features.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples to fit a covariance, got {features.shape[0]}")
    return features.detach().to(torch.float64)


def feature_statistics(features: torch.Tensor) -> dict:
    """Return ``{'mu': (F,), 'sigma': (F, F)}`` float64 mean and unbiased covariance of features (N, F)."""
    x = _as_float64(features, "features")
    mu = x.mean(0)
    xc = x - mu
    sigma = xc.T @ xc / (x.shape[0] - 1)
    return {"mu": mu.cpu(), "sigma": sigma.cpu()}


def _check_psd(sigma: np.ndarray, tol: float, name: str) -> np.ndarray:
    """Eigen-decompose a symmetric matrix; raise unless it is PSD up to rounding (relative ``tol``)."""
    w, v = np.linalg.eigh((sigma + sigma.T) / 2)
    scale = max(float(np.abs(w).max()), 1e-300)
    if w.min() < -tol * scale:
        raise ValueError(
            f"{name} has a clearly negative eigenvalue {w.min():.3g} (largest {scale:.3g}): it is not a "
            "positive semi-definite covariance; check the features for NaN/inf or pass feature_statistics output"
        )
    return w, v


def trace_sqrt_product(sigma1, sigma2, method: str = "eigh", tol: float = 1e-6) -> float:
    """Return Tr((sigma1 sigma2)^(1/2)) in float64 for PSD matrices (F, F).

    ``eigh`` (default): the eigenvalues of ``S1^(1/2) S2 S1^(1/2)`` (symmetric PSD, same spectrum as
    ``S1 S2``) are real; negative ones within ``tol * max`` are rounding noise and set to 0, larger ones
    raise. ``sqrtm``: ``scipy.linalg.sqrtm`` as in pytorch-fid; imaginary parts up to ``tol * max`` are
    dropped, larger ones raise instead of being silently discarded.
    """
    s1 = np.asarray(torch.as_tensor(sigma1, dtype=torch.float64).cpu(), dtype=np.float64)
    s2 = np.asarray(torch.as_tensor(sigma2, dtype=torch.float64).cpu(), dtype=np.float64)
    if s1.shape != s2.shape or s1.ndim != 2 or s1.shape[0] != s1.shape[1]:
        raise ValueError(f"covariances must be square and of equal shape, got {s1.shape} and {s2.shape}")
    if method == "eigh":
        w1, v1 = _check_psd(s1, tol, "sigma1")
        _check_psd(s2, tol, "sigma2")
        r = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T  # S1^(1/2), tiny negative eigenvalues clipped
        m = r @ s2 @ r
        w = np.linalg.eigvalsh((m + m.T) / 2)
        # S1^(1/2) S2 S1^(1/2) is PSD in exact arithmetic: negative eigenvalues here are rounding noise.
        return float(np.sqrt(np.clip(w, 0, None)).sum())
    if method == "sqrtm":
        import scipy.linalg

        root = scipy.linalg.sqrtm(s1 @ s2)
        if not np.isfinite(root).all():
            # singular product: regularise as pytorch-fid does, with a small ridge
            eps = 1e-6 * np.eye(s1.shape[0])
            root = scipy.linalg.sqrtm((s1 + eps) @ (s2 + eps))
        if np.iscomplexobj(root):
            imag = float(np.abs(root.imag).max())
            scale = max(float(np.abs(root.real).max()), 1e-300)
            if imag > tol * scale * 1e3:
                raise ValueError(f"sqrtm returned an imaginary part of {imag:.3g} (real scale {scale:.3g}); use method='eigh'")
            root = root.real
        return float(np.trace(root))
    raise ValueError(f"unknown method {method!r}: use 'eigh' or 'sqrtm'")


def frechet_distance(mu1, sigma1, mu2, sigma2, method: str = "eigh") -> float:
    """Return the Frechet distance ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) as a float."""
    mu1 = torch.as_tensor(mu1, dtype=torch.float64).cpu()
    mu2 = torch.as_tensor(mu2, dtype=torch.float64).cpu()
    s1 = torch.as_tensor(sigma1, dtype=torch.float64).cpu()
    s2 = torch.as_tensor(sigma2, dtype=torch.float64).cpu()
    if mu1.shape != mu2.shape:
        raise ValueError(f"means have different shapes {tuple(mu1.shape)} and {tuple(mu2.shape)}: same feature network?")
    diff = float(((mu1 - mu2) ** 2).sum())
    value = diff + float(torch.trace(s1) + torch.trace(s2)) - 2 * trace_sqrt_product(s1, s2, method=method)
    # The exact value is >= 0; rounding can give -1e-12 for identical statistics.
    return max(value, 0.0)


def fid_from_statistics(real_stats: dict, fake_stats: dict, method: str = "eigh") -> float:
    """Return FID between two ``feature_statistics`` dicts."""
    return frechet_distance(real_stats["mu"], real_stats["sigma"], fake_stats["mu"], fake_stats["sigma"], method=method)


def fid_from_features(real_f: torch.Tensor, fake_f: torch.Tensor, method: str = "eigh") -> float:
    """Return FID between feature sets (N, F) and (M, F)."""
    return fid_from_statistics(feature_statistics(real_f), feature_statistics(fake_f), method=method)


# --------------------------------------------------------------------------- Inception Score
def inception_score(probs: torch.Tensor, splits: int = 10) -> dict:
    """Return ``{'is_mean', 'is_std'}``: exp(E KL(p(y|x) || p(y))) over ``splits`` splits of probs (N, C)."""
    p = torch.as_tensor(probs).detach().to(torch.float64).cpu()
    if p.dim() != 2:
        raise ValueError(f"probs must have shape (N, classes), got {tuple(p.shape)}")
    if p.shape[0] < splits:
        raise ValueError(f"need at least {splits} samples for {splits} splits, got {p.shape[0]}")
    if (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(p.shape[0], dtype=torch.float64), atol=1e-4):
        raise ValueError("probs must be non-negative rows summing to 1 (softmax outputs, not logits)")
    scores = []
    for part in torch.tensor_split(p, splits):
        marginal = part.mean(0, keepdim=True)
        # xlogy gives 0 * log 0 = 0, so confident (one-hot) predictions are exact.
        kl = (torch.xlogy(part, part) - torch.xlogy(part, marginal)).sum(1)
        scores.append(torch.exp(kl.mean()))
    scores = torch.stack(scores)
    return {"is_mean": float(scores.mean()), "is_std": float(scores.std(unbiased=False))}


# --------------------------------------------------------------------------- exact k-NN, blocked
# Distances are screened in float32 (the Gram trick ||a||^2 + ||b||^2 - 2 a.b, one BLAS call per
# block, 6x faster than float64 on a CPU) and every comparison that the float32 rounding could
# flip (|d - threshold| <= a rigorous rounding bound) is recomputed exactly in float64 as
# sum((a - b)^2). The results therefore equal a float64 computation, not an approximation.
def _features_pair(real_f, fake_f):
    real = _as_float64(real_f, "real features")
    fake = _as_float64(fake_f, "fake features").to(real.device)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake features differ in width: {real.shape[1]} vs {fake.shape[1]}")
    return real, fake


def _row_block(n_cols: int, block_rows: int | None) -> int:
    if block_rows is None:
        block_rows = max(1, BLOCK_ELEMENTS // max(n_cols, 1))
    if block_rows < 1:
        raise ValueError(f"block_rows must be positive, got {block_rows}")
    return int(block_rows)


class _Points:
    """Features in float64 (exact) and float32 (fast screening), with squared norms."""

    def __init__(self, x64: torch.Tensor):
        self.x64 = x64
        self.x32 = x64.float()
        self.sq32 = (self.x32 * self.x32).sum(1)
        # Rounding bound of the float32 Gram trick: (F + 8) eps32 (||a||^2 + ||b||^2) covers the
        # dot-product accumulation (<= F eps ||a|| ||b||) and the rounding of the inputs to float32.
        self.tol_scale = (x64.shape[1] + 8) * torch.finfo(torch.float32).eps
        self.sq_max = float((x64 * x64).sum(1).max())

    def sq_dists32(self, rows: slice, other: "_Points") -> torch.Tensor:
        """Float32 squared distances (rows, len(other)) by one addmm."""
        a = self.x32[rows]
        return torch.addmm(other.sq32[None, :], a, other.x32.T, alpha=-2.0).add_(self.sq32[rows, None])

    def tol(self, other: "_Points") -> float:
        return self.tol_scale * (self.sq_max + other.sq_max) + 1e-30


def _exact_sq(a64: torch.Tensor, b64: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """Exact float64 squared distances of the pairs (a[i], b[j]) by differences."""
    return ((a64[i] - b64[j]) ** 2).sum(-1)


def _less(d32, thr64, tol, a64, b64, row0):
    """Return the exact mask d < thr (rows, M): float32 screen, float64 fix-up of the uncertain band."""
    thr32 = thr64.float()
    mask = d32 < thr32 - tol
    unsure = (d32 < thr32 + tol) ^ mask  # within the rounding band: decide exactly
    i, j = unsure.nonzero(as_tuple=True)
    if i.numel():
        t = thr64.expand_as(d32)[i, j]
        mask[i, j] = _exact_sq(a64, b64, i + row0, j) < t
    return mask


def _centered(x64: torch.Tensor, center: torch.Tensor) -> _Points:
    # Distances do not change under translation; centring shrinks the norms and so the rounding band.
    return _Points(x64 - center)


def _knn_radii_points(p: _Points, ks, block_rows: int | None, margin: int = 4) -> dict:
    """Exact k-NN radii^2 {k: (N,)} for several k in one blocked pass."""
    n = p.x64.shape[0]
    rows = _row_block(n, block_rows)
    k_max = max(ks)
    m = min(n, k_max + 1 + margin)
    tol = p.tol(p)
    out = {k: [] for k in ks}
    for r0 in range(0, n, rows):
        sl = slice(r0, min(n, r0 + rows))
        d32 = p.sq_dists32(sl, p)
        idx = torch.arange(d32.shape[0], device=d32.device)
        d32[idx, idx + r0] = 0.0  # a point is its own 0-th neighbour, as in prdc
        cand32, cand = d32.topk(m, dim=1, largest=False)
        exact = ((p.x64[sl, None, :] - p.x64[cand]) ** 2).sum(-1).sort(dim=1).values
        # Any point outside the candidates has exact distance >= its float32 value - tol >= cand32 max - tol.
        # If that could undercut the largest k-th exact value, the row is recomputed fully in float64.
        doubt = (cand32[:, -1].double() - tol <= exact[:, k_max]) & torch.tensor(m < n, device=d32.device)
        for r in doubt.nonzero(as_tuple=True)[0].tolist():
            full = ((p.x64 - p.x64[r0 + r]) ** 2).sum(1).sort().values
            exact[r] = full[: exact.shape[1]]
        for k in ks:
            out[k].append(exact[:, k])
    return {k: torch.cat(v) for k, v in out.items()}


def knn_radii(features: torch.Tensor, k, block_rows: int | None = None):
    """Return (N,) float64 distances from each point to its k-th nearest neighbour in the set.

    As in ``prdc``, the point itself is the 0-th neighbour (so this is the (k+1)-th smallest
    distance including self); duplicates therefore count as neighbours at distance 0.
    ``k`` may be a tuple of ints: then a dict ``{k: (N,)}`` is returned, from one pass.
    """
    x = _as_float64(features, "features")
    ks = tuple(int(v) for v in k) if isinstance(k, (tuple, list)) else (int(k),)
    for kk in ks:
        if not 1 <= kk < x.shape[0]:
            raise ValueError(f"k must be between 1 and N - 1 = {x.shape[0] - 1}, got {kk}")
    radii = {kk: r.sqrt_() for kk, r in _knn_radii_points(_centered(x, x.mean(0)), ks, block_rows).items()}
    return radii if isinstance(k, (tuple, list)) else radii[ks[0]]


def manifold_counts(real_f, fake_f, real_radii_pr, fake_radii_pr, real_radii_dc, block_rows=None) -> dict:
    """Return precision, recall, density_sum and coverage from features and precomputed k-NN radii, in one blocked pass.

    ``real_radii_pr``/``fake_radii_pr`` (k=3) define the manifolds of Kynkaanniemi et al.;
    ``real_radii_dc`` (k=5) the balls of Naeem et al. Only a (rows, M) block of distances exists at a time.
    """
    real, fake = _features_pair(real_f, fake_f)
    dev = real.device
    center = real.mean(0)
    pr, pf = _centered(real, center), _centered(fake, center)
    tol = pr.tol(pf)
    r_pr_sq = torch.as_tensor(real_radii_pr, dtype=torch.float64, device=dev) ** 2
    f_pr_sq = torch.as_tensor(fake_radii_pr, dtype=torch.float64, device=dev) ** 2
    r_dc_sq = torch.as_tensor(real_radii_dc, dtype=torch.float64, device=dev) ** 2
    in_real = torch.zeros(fake.shape[0], dtype=torch.bool, device=dev)  # fake inside some real k-NN ball
    density_count = torch.zeros(fake.shape[0], dtype=torch.int64, device=dev)
    recall_hits = coverage_hits = 0
    rows = _row_block(fake.shape[0], block_rows)
    for r0 in range(0, real.shape[0], rows):
        sl = slice(r0, min(real.shape[0], r0 + rows))
        d32 = pr.sq_dists32(sl, pf)  # (rows, M)
        in_pr = _less(d32, r_pr_sq[sl, None], tol, pr.x64, pf.x64, r0)
        in_real |= in_pr.any(0)  # precision: Kynkaanniemi et al. Eq. (1) with the real manifold
        in_dc = _less(d32, r_dc_sq[sl, None], tol, pr.x64, pf.x64, r0)
        density_count += in_dc.sum(0)  # density: Naeem et al. Eq. (3), before dividing by k
        coverage_hits += int(in_dc.any(1).sum())  # coverage: nearest fake inside the real ball, Eq. (4)
        recall_hits += int(_less(d32, f_pr_sq[None, :], tol, pr.x64, pf.x64, r0).any(1).sum())  # recall, Eq. (2)
    return {
        "precision": float(in_real.double().mean()),
        "recall": recall_hits / real.shape[0],
        "density_sum": float(density_count.double().mean()),  # density = density_sum / k
        "coverage": coverage_hits / real.shape[0],
    }


def prdc(real_f, fake_f, k_pr: int = 3, k_dc: int = 5, real_radii: dict | None = None, block_rows: int | None = None) -> dict:
    """Return ``{'precision', 'recall', 'density', 'coverage'}`` for features (N, F) and (M, F).

    ``real_radii`` may hold precomputed ``{k: (N,) radii}`` of the real features (cached by :func:`evaluate`).
    """
    real, fake = _features_pair(real_f, fake_f)
    real_radii = dict(real_radii or {})
    missing = tuple(sorted({k_pr, k_dc} - set(real_radii)))
    if missing:
        real_radii.update(knn_radii(real, missing, block_rows))
    fake_radii = knn_radii(fake, k_pr, block_rows)
    out = manifold_counts(real, fake, real_radii[k_pr], fake_radii, real_radii[k_dc], block_rows)
    return {
        "precision": out["precision"],
        "recall": out["recall"],
        "density": out["density_sum"] / k_dc,
        "coverage": out["coverage"],
    }


def precision_recall(real_f, fake_f, k: int = 3, block_rows: int | None = None) -> dict:
    """Return ``{'precision', 'recall'}`` (Kynkaanniemi et al. 2019) for features (N, F) and (M, F)."""
    out = prdc(real_f, fake_f, k_pr=k, k_dc=k, block_rows=block_rows)
    return {"precision": out["precision"], "recall": out["recall"]}


def density_coverage(real_f, fake_f, k: int = 5, block_rows: int | None = None) -> dict:
    """Return ``{'density', 'coverage'}`` (Naeem et al. 2020) for features (N, F) and (M, F)."""
    out = prdc(real_f, fake_f, k_pr=k, k_dc=k, block_rows=block_rows)
    return {"density": out["density"], "coverage": out["coverage"]}


# --------------------------------------------------------------------------- sources of images
def load_image_folder(folder: str | os.PathLike, n: int | None = None) -> torch.Tensor:
    """Return the 28x28 PNG/JPEG images of a folder (0.png, 1.png, ... first; grey or RGB) as (N, 1, 28, 28) in [-1, 1]."""
    try:
        return load_pngs(folder, n, size=(28, 28))
    except ValueError as err:
        raise ValueError(f"{err} (ganlib's metrics need 28x28 images, MNIST size)") from None


def generate(G: Callable, n: int, seed: int = 0, batch_size: int = 1000, device=None, progress: bool = False) -> torch.Tensor:
    """Return n images (n, 1, 28, 28) on the CPU from G(z), z ~ N(0, I) drawn from ``seed`` (same z on every device)."""
    return sample(G, n, seed=seed, batch_size=batch_size, device=default_device(device), progress=progress).float().cpu()


def images_from(source, n: int = 10_000, seed: int = 0, device=None, progress: bool = False) -> torch.Tensor:
    """Return up to n images (n, 1, 28, 28) in [-1, 1] from a generator, a tensor or a folder of PNGs."""
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}")
    if isinstance(source, (str, os.PathLike)):
        images = load_image_folder(source, n)
    elif isinstance(source, torch.Tensor):
        images = source[:n]
    elif callable(source):
        images = generate(source, n, seed=seed, device=device, progress=progress)
    else:
        raise TypeError(
            f"cannot evaluate a {type(source).__name__}: pass a Generator (callable with z_dim), "
            "a tensor (N, 1, 28, 28) in [-1, 1] or a folder of PNG files"
        )
    return check_images(images, "images")


# --------------------------------------------------------------------------- real-data statistics (cached)
STATS_VERSION = 1  # bump when the content of the cached statistics changes


def tensor_hash(images: torch.Tensor) -> str:
    """Return the SHA-256 hex digest of a tensor's shape and float32 contents (identity of a data set)."""
    x = images.detach().to("cpu", torch.float32).contiguous()
    h = hashlib.sha256(str(tuple(x.shape)).encode())
    h.update(x.numpy().tobytes())
    return h.hexdigest()


def _atomic_save(obj, path: Path) -> None:
    # Write to a temporary file in the same folder, then rename: readers never see a partial file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def real_statistics(real: torch.Tensor, ks=(3, 5), batch_size: int = 1000, device=None, cache: bool = True) -> dict:
    """Return ``{'features' (N, 128), 'probs' (N, 10), 'mu', 'sigma', 'radii': {k: (N,)}, 'path'}`` of real images.

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
    stats["radii"] = {k: r.cpu() for k, r in knn_radii(feats, ks).items()}
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_save(stats, path)
    stats["path"] = str(path) if cache else None
    stats["cached"] = False
    return stats


def default_real(root=None) -> torch.Tensor:
    """Return the real MNIST test set (10,000, 1, 28, 28) in [-1, 1] from ``root`` or $GANLIB_DATA."""
    from .data import load_mnist

    return load_mnist(root, train=False)[0]


# --------------------------------------------------------------------------- the entry point
def metrics_from_features(real_stats: dict, fake_f, fake_probs, k_pr: int = 3, k_dc: int = 5, splits: int = 10, device=None) -> dict:
    """Return the metric dict (keys ``METRIC_KEYS``) from real statistics and fake features (M, F) / probs (M, 10)."""
    dev = fake_f.device if device is None else torch.device(device)
    real_f = real_stats["features"].to(dev)
    out = {"fid": fid_from_statistics(real_stats, feature_statistics(fake_f))}
    out.update(inception_score(fake_probs, splits=splits))
    radii = {k: v.to(dev) for k, v in real_stats["radii"].items()}
    out.update(prdc(real_f, fake_f.to(dev), k_pr=k_pr, k_dc=k_dc, real_radii=radii))
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
    """
    device = default_device(device)
    if real is None:
        real = default_real()
    elif isinstance(real, (str, os.PathLike)):
        p = Path(real)
        real = load_image_folder(p) if p.is_dir() and any(q.suffix.lower() in IMAGE_SUFFIXES for q in p.iterdir()) else default_real(p)
    real = check_images(real, "real")[:n]
    fake = images_from(source, n=n, seed=seed, device=device, progress=progress)
    real_stats = real_statistics(real, ks=(k_pr, k_dc), batch_size=batch_size, device=device, cache=cache)
    fake_f, fake_probs = features_and_probs(fake.to(device), batch_size=batch_size)
    return metrics_from_features(real_stats, fake_f, fake_probs, k_pr=k_pr, k_dc=k_dc, splits=splits, device=device)


# --------------------------------------------------------------------------- FID with Inception-v3 (pytorch-fid)
INCEPTION_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


def _fid_inception_blocks():
    """Return torchvision Inception blocks patched as in TensorFlow's FID graph (as pytorch-fid does).

    TensorFlow's average pooling ignores padded zeros (``count_include_pad=False``) and the last
    block (Mixed_7c) max-pools its pool branch; torchvision's blocks differ on exactly these points.
    """
    from torchvision.models import inception as tv

    def pool_avg(x):
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)

    def pool_max(x):
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)

    class BlockA(tv.InceptionA):
        def _forward(self, x):
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            return [self.branch1x1(x), b5, b3, self.branch_pool(pool_avg(x))]

    class BlockC(tv.InceptionC):
        def _forward(self, x):
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for name in ("branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"):
                d = getattr(self, name)(d)
            return [self.branch1x1(x), b7, d, self.branch_pool(pool_avg(x))]

    class BlockE(tv.InceptionE):
        pool = staticmethod(pool_avg)

        def _forward(self, x):
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
            return [self.branch1x1(x), b3, d, self.branch_pool(self.pool(x))]

    class BlockEMax(BlockE):
        pool = staticmethod(pool_max)

    return BlockA, BlockC, BlockE, BlockEMax


def fid_inception_net() -> nn.Module:
    """Return an untrained torchvision Inception3 with pytorch-fid's FID patches and 1008 classes (its state-dict layout)."""
    import torchvision

    BlockA, BlockC, BlockE, BlockEMax = _fid_inception_blocks()
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
    for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        setattr(net, name, BlockA(getattr(net, name).branch1x1.conv.in_channels, pool_features))
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        setattr(net, name, BlockC(768, c7))
    net.Mixed_7b = BlockE(1280)
    net.Mixed_7c = BlockEMax(2048)
    return net


class InceptionPool3(nn.Module):
    """pytorch-fid's feature extractor: images (N, C, H, W) in [-1, 1] -> pool3 features (N, 2048)."""

    LAYERS = (
        "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2",
        "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
        "Mixed_7a", "Mixed_7b", "Mixed_7c",
    )

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grey -> RGB, as PIL's convert('RGB') in pytorch-fid
        # pytorch-fid's order: [0, 1] images, bilinear resize to 299 (align_corners=False), then 2x - 1.
        x = (x + 1) / 2
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        for name in self.LAYERS:
            x = getattr(self.net, name)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def inception_weights(path=None, download: bool = True) -> Path:
    """Return the path of pytorch-fid's Inception weights, downloading them into ``cache_dir()`` if needed."""
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"Inception weights not found at {path}")
        return path
    path = cache_dir() / INCEPTION_FILE
    if path.exists():
        return path
    if not download:
        raise FileNotFoundError(
            f"pytorch-fid's Inception weights are not in the cache ({path}) and download=False. "
            f"On a machine with internet (e.g. Colab) they are fetched from {INCEPTION_URL}; "
            "offline, copy that file to the path above."
        )
    tmp = path.with_suffix(".part")
    try:
        torch.hub.download_url_to_file(INCEPTION_URL, str(tmp), hash_prefix="6726825d", progress=True)
        os.replace(tmp, path)
    except Exception as err:
        if tmp.exists():
            tmp.unlink()
        raise RuntimeError(
            f"could not download pytorch-fid's Inception weights from {INCEPTION_URL} ({err}). "
            f"Inception FID needs internet once (Colab has it); offline, copy the file to {path}. "
            "ganlib's default metrics (MNIST classifier features) need no download."
        ) from err
    return path


def load_inception(path=None, device=None, download: bool = True) -> InceptionPool3:
    """Return the pytorch-fid Inception-v3 pool3 extractor (eval mode) with weights from ``path`` or the cache."""
    state = torch.load(inception_weights(path, download), map_location="cpu", weights_only=True)
    with torch.device("meta"):  # no time spent initialising 27M weights that are overwritten
        net = fid_inception_net()
    net.load_state_dict(state, assign=True)  # strict: the file must have exactly pytorch-fid's layout
    return InceptionPool3(net).eval().requires_grad_(False).to(default_device(device))


@torch.no_grad()
def inception_features(images: torch.Tensor, model: InceptionPool3 | None = None, batch_size: int = 50, device=None, progress: bool = False) -> torch.Tensor:
    """Return pool3 features (N, 2048) float32 of images (N, 1 or 3, H, W) in [-1, 1]."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    model = model if model is not None else load_inception(device=device)
    device = next(model.parameters()).device
    return torch.cat([
        model(images[i : i + batch_size].to(device).float())
        for i in progress_bar(range(0, images.shape[0], batch_size), desc="inception", enabled=progress)
    ])


def inception_fid(real: torch.Tensor, fake: torch.Tensor, model: InceptionPool3 | None = None, batch_size: int = 50, device=None) -> float:
    """Return FID with pytorch-fid's Inception-v3 pool3 features between image sets (N, C, H, W) in [-1, 1].

    Honest status: the architecture follows pytorch-fid (TF-style pooling patches, bilinear resize
    to 299, [-1, 1] input) and the weight layout is checked by loading a state dict strictly, but
    parity of the *numbers* with pytorch-fid on the real weights has not been verified offline.
    Expect differences from PNG/JPEG encoding (pytorch-fid reads files) and from float rounding.
    """
    model = model if model is not None else load_inception(device=device)
    return fid_from_features(inception_features(real, model, batch_size), inception_features(fake, model, batch_size))


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def results_table(results: dict, keys=("fid", "precision", "recall", "density", "coverage"), extra: dict | None = None, label: str = "run") -> str:
    """Return a Markdown table: one row per ``{label: metrics dict}``, one column per key (plus ``extra`` columns ``{name: {label: value}}``)."""
    extra = extra or {}
    header = [label, *keys, *extra]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, metrics in results.items():
        cells = [str(label)] + [_fmt(metrics.get(k)) for k in keys] + [_fmt(col.get(label)) for col in extra.values()]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
