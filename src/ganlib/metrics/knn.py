"""Precision, recall, density and coverage from exact k-nearest-neighbour balls in feature space.

- Precision and recall: Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for
  Assessing Generative Models", Eq. (1)-(2): k-NN balls (k=3) around each sample approximate
  the real and the fake manifold.
- Density and coverage: Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
  Generative Models", Eq. (3)-(4), k=5.

Nearest neighbours are *exact*: pairwise distances are computed in float64 row blocks of bounded
size (never an N x N matrix), on the features' device (CPU or GPU), and the conventions (strict
``<``, the k-th neighbour counted with the point itself as in the reference code) follow the
authors' ``prdc`` package, which the tests compare against.
"""

from __future__ import annotations

import torch

from .fid import _as_float64

# Row-block budget for pairwise distances: rows * columns <= this many float64 values (64 MB).
BLOCK_ELEMENTS = 2**23


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


def _exact_rows(p: _Points, rows: torch.Tensor, cand: torch.Tensor, width: int) -> torch.Tensor:
    """Sorted exact squared distances (len(rows), width) from ``rows`` to the candidate mask ``cand`` (inf-padded).

    Only the candidate pairs are computed (in chunks of bounded memory): a collapsed set, whose
    rows have hundreds of exact duplicates, costs a few hundred differences per row, not N.
    """
    i, j = cand.nonzero(as_tuple=True)
    d = torch.empty(i.numel(), dtype=torch.float64, device=cand.device)
    step = max(1, BLOCK_ELEMENTS // max(p.x64.shape[1], 1))
    for c in range(0, i.numel(), step):
        d[c : c + step] = _exact_sq(p.x64, p.x64, rows[i[c : c + step]], j[c : c + step])
    counts = cand.sum(1)
    out = torch.full((cand.shape[0], int(counts.max())), float("inf"), dtype=torch.float64, device=cand.device)
    slot = torch.arange(i.numel(), device=cand.device) - torch.repeat_interleave(counts.cumsum(0) - counts, counts)
    out[i, slot] = d
    return out.sort(dim=1).values[:, :width]


def _knn_radii_sq_points(p: _Points, ks, block_rows: int | None, margin: int = 4) -> dict:
    """Exact squared k-NN radii {k: (N,)} for several k in one blocked pass."""
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
        exact = _exact_sq(p.x64, p.x64, idx[:, None] + r0, cand).sort(dim=1).values
        # Any point outside the candidates has exact distance >= its float32 value - tol >= cand32 max - tol.
        # If that could undercut the k-th exact value, the row's candidates are widened to every point
        # whose float32 distance is within tol of it, and those are recomputed exactly. A k-th value
        # of exactly 0 (k duplicates: a collapsed set) cannot be undercut and needs nothing more.
        doubt = (cand32[:, -1].double() - tol <= exact[:, k_max]) & (exact[:, k_max] > 0)
        doubt = (doubt & torch.tensor(m < n, device=d32.device)).nonzero(as_tuple=True)[0]
        if doubt.numel():
            wide = d32[doubt] <= (exact[doubt, k_max] + tol).float()[:, None] + tol
            exact[doubt] = _exact_rows(p, doubt + r0, wide, exact.shape[1])
        for k in ks:
            out[k].append(exact[:, k])
    return {k: torch.cat(v) for k, v in out.items()}


def knn_radii(features: torch.Tensor, k, block_rows: int | None = None, squared: bool = False):
    """Return (N,) float64 distances from each point to its k-th nearest neighbour in the set.

    As in ``prdc``, the point itself is the 0-th neighbour (so this is the (k+1)-th smallest
    distance including self); duplicates therefore count as neighbours at distance 0.
    ``k`` may be a tuple of ints: then a dict ``{k: (N,)}`` is returned, from one pass.
    ``squared=True`` returns the exact squared distances, which is what the ball tests compare
    against: squaring ``sqrt(d2)`` again rounds up about a quarter of the time and would make the
    strict ``<`` of the papers count a point at exactly the radius.
    """
    x = _as_float64(features, "features")
    ks = tuple(int(v) for v in k) if isinstance(k, (tuple, list)) else (int(k),)
    for kk in ks:
        if not 1 <= kk < x.shape[0]:
            raise ValueError(f"k must be between 1 and N - 1 = {x.shape[0] - 1} (the set holds {x.shape[0]} points), got {kk}")
    radii = _knn_radii_sq_points(_centered(x, x.mean(0)), ks, block_rows)
    if not squared:
        radii = {kk: r.sqrt_() for kk, r in radii.items()}
    return radii if isinstance(k, (tuple, list)) else radii[ks[0]]


def manifold_counts(real_f, fake_f, real_sq_pr, fake_sq_pr, real_sq_dc, block_rows=None) -> dict:
    """Return precision, recall, density_sum and coverage from features and precomputed *squared* k-NN radii, in one blocked pass.

    ``real_sq_pr``/``fake_sq_pr`` (k=3) define the manifolds of Kynkaanniemi et al.;
    ``real_sq_dc`` (k=5) the balls of Naeem et al. (``knn_radii(..., squared=True)``).
    Only a (rows, M) block of distances exists at a time.
    """
    real, fake = _features_pair(real_f, fake_f)
    dev = real.device
    center = real.mean(0)
    pr, pf = _centered(real, center), _centered(fake, center)
    tol = pr.tol(pf)
    r_pr_sq = torch.as_tensor(real_sq_pr, dtype=torch.float64, device=dev)
    f_pr_sq = torch.as_tensor(fake_sq_pr, dtype=torch.float64, device=dev)
    r_dc_sq = torch.as_tensor(real_sq_dc, dtype=torch.float64, device=dev)
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


def prdc(real_f, fake_f, k_pr: int = 3, k_dc: int = 5, real_radii_sq: dict | None = None, block_rows: int | None = None) -> dict:
    """Return ``{'precision', 'recall', 'density', 'coverage'}`` for features (N, F) and (M, F).

    ``real_radii_sq`` may hold precomputed ``{k: (N,) squared radii}`` of the real features
    (``knn_radii(real_f, ks, squared=True)``, cached by :func:`evaluate`).
    """
    real, fake = _features_pair(real_f, fake_f)
    radii = dict(real_radii_sq or {})
    missing = tuple(sorted({k_pr, k_dc} - set(radii)))
    if missing:
        radii.update(knn_radii(real, missing, block_rows, squared=True))
    fake_sq = knn_radii(fake, k_pr, block_rows, squared=True)
    out = manifold_counts(real, fake, radii[k_pr], fake_sq, radii[k_dc], block_rows)
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
