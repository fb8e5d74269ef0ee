"""FID as a chain of small pure functions: features -> statistics -> Frechet distance.

Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", Eq. (6): the Frechet distance between Gaussians fitted to features,
``||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))``. Statistics are float64.
:func:`inception_fid` computes FID with pytorch-fid's Inception-v3 pool3 features
(:mod:`ganlib.features.inception`) for comparison with the lab reports (see its docstring for
what is verified).
"""

from __future__ import annotations

import numpy as np
import torch

from ..features.inception import InceptionPool3, inception_features, load_inception


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
        # A unit whose variance is exactly 0 in either set (a dead ReLU unit of the feature network:
        # 35 of the MNIST classifier's 128) has a zero row and column, and dropping it leaves
        # Tr((S1 S2)^(1/2)) unchanged exactly; keeping it turns exact zero eigenvalues into rounding
        # noise whose square roots (~1e-7 each) leak into the trace.
        live = (np.diag(s1) != 0) & (np.diag(s2) != 0)
        s1, s2 = s1[np.ix_(live, live)], s2[np.ix_(live, live)]
        if s1.shape[0] == 0:
            return 0.0
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


def inception_fid(real: torch.Tensor, fake: torch.Tensor, model: InceptionPool3 | None = None, batch_size: int = 50, device=None) -> float:
    """Return FID with pytorch-fid's Inception-v3 pool3 features between image sets (N, C, H, W) in [-1, 1].

    Honest status: the architecture follows pytorch-fid (TF-style pooling patches, bilinear resize
    to 299, [-1, 1] input) and the weight layout is checked by loading a state dict strictly, but
    parity of the *numbers* with pytorch-fid on the real weights has not been verified offline.
    Expect differences from PNG/JPEG encoding (pytorch-fid reads files) and from float rounding.
    """
    model = model if model is not None else load_inception(device=device)
    return fid_from_features(inception_features(real, model, batch_size), inception_features(fake, model, batch_size))
