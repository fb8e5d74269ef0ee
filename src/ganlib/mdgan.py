"""Mixture Density GAN: the discriminator embeds samples, real ones into a simplex Gaussian mixture.

Eghbal-zadeh, Zellinger and Widmer 2019, "Mixture Density Generative Adversarial Networks"
(CVPR), Sec. 3. D outputs an embedding e = D(x) in R^d. A Gaussian mixture with d + 1
equal-weight components, means mu_k at the vertices of a regular simplex (all pairwise
distances equal) and covariance sigma^2 I, defines the likelihood

    lk(e) = 1/(d+1) sum_k exp(-||e - mu_k||^2 / (2 sigma^2)),

and the losses are (Eqs. 3-4 of the paper)

    L_D = -E_x[log lk(D(x))] - E_z[log(lambda - lk(D(G(z))))],
    L_G =  E_z[log(lambda - lk(D(G(z))))],

with lambda >= max_e lk(e), so that D pulls real embeddings into the clusters and pushes fake
ones out of them, and G pulls its fakes back in. Because the clusters are several, G can earn
high likelihood by filling any of them, which is what discourages collapse onto one mode.

We drop the normalising constant (2 pi sigma^2)^(-d/2) of each Gaussian: this rescales lk and
lambda together, so the losses only shift by constants and the gradients are unchanged; it keeps
lk in (0, 1/(d+1)] for every d. lambda is computed (not learned as in the reference code) as
(1 + margin) times the exact maximum of lk, and log lk is evaluated with logsumexp, so no
epsilon is needed. Everything is a pure function of embeddings (N, d), so the SAME
``ganlib.train`` runs MD-GAN: ``md = mdgan_losses(d=9); train(G, Discriminator(out_dim=9), data,
cfg, d_loss=md.d_loss, g_loss=md.g_loss)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from .config import moved_attribute
from .seeds import batch_mean, batch_shares

def simplex_means(d: int, edge: float = 1.0) -> torch.Tensor:
    """Return the d + 1 vertices of a regular simplex in R^d centred at 0, all pairwise distances ``edge``: (d+1, d)."""
    if int(d) != d or d < 1:
        raise ValueError(f"the embedding size d must be an integer >= 1, got {d}")
    if not edge > 0:
        raise ValueError(f"edge must be > 0, got {edge}")
    d = int(d)
    # the standard basis of R^{d+1}, centred, lies in the d-dim subspace orthogonal to (1,...,1);
    # its coordinates in an orthonormal basis of that subspace are the simplex in R^d
    e = torch.eye(d + 1, dtype=torch.float64) - 1.0 / (d + 1)
    u, _, _ = torch.linalg.svd(e)
    basis = u[:, :d]  # (d+1, d) orthonormal columns spanning the subspace
    means = e @ basis  # (d+1, d); pairwise distances sqrt(2) like the basis vectors'
    return (means * (edge / math.sqrt(2))).float()


def log_likelihood(e: torch.Tensor, means: torch.Tensor, sigma: float) -> torch.Tensor:
    """Return log lk(e) for embeddings (N, d) under the equal-weight mixture (unnormalised Gaussians): (N,).

    For d = 1, ``e`` may also be (N,), the shape of a ``Discriminator(out_dim=1)``'s output.
    """
    sq = torch.cdist(_as_embeddings(e, means), means.to(e), compute_mode="donot_use_mm_for_euclid_dist").pow(2)  # (N, K)
    return torch.logsumexp(-sq / (2 * sigma**2), dim=1) - math.log(means.shape[0])


def responsibilities(e: torch.Tensor, means: torch.Tensor, sigma: float) -> torch.Tensor:
    """Return each embedding's posterior over the mixture's components (N, d) -> (N, d+1): rows sum to 1."""
    sq = torch.cdist(_as_embeddings(e, means), means.to(e), compute_mode="donot_use_mm_for_euclid_dist").pow(2)
    return torch.softmax(-sq / (2 * sigma**2), dim=1)


def _as_embeddings(e: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Return embeddings as (N, d), accepting (N,) for d = 1 (a ``Discriminator(out_dim=1)``'s output); raise on other shapes."""
    if e.dim() == 1 and means.shape[1] == 1:
        e = e[:, None]
    if e.dim() != 2 or e.shape[1] != means.shape[1]:
        raise ValueError(f"embeddings must be (N, {means.shape[1]}) (D built with out_dim={means.shape[1]}), got {tuple(e.shape)}")
    return e


def centroid_curvature(d: int, sigma: float, edge: float = 1.0) -> float:
    """Return the curvature of log lk(e) at the simplex centroid e = 0: its Hessian there is this value times I.

    With r^2 = edge^2 d / (2 (d + 1)) the squared distance of every vertex to the centroid, the
    Hessian of log lk at 0 is (r^2 / (d sigma^2) - 1) / sigma^2 * I. Negative: the centroid is a
    local MAXIMUM of lk (the components merge into one bump), so fakes whose embeddings sit near
    0 (where an untrained D puts every sample) are at a local optimum of the generator's loss and
    get no gradient toward any cluster. Positive: the centroid is a local minimum and G is pushed
    out toward the vertices. This is why d = 9, sigma = 0.25 fails on MNIST where d = 2,
    sigma = 0.25 works on the 2D toys (measured in the MD-GAN chapter).
    """
    r2 = edge**2 * d / (2 * (d + 1))
    return (r2 / (d * sigma**2) - 1) / sigma**2


def max_sigma(d: int, edge: float = 1.0) -> float:
    """Return the largest sigma for which the centroid is a local minimum of lk: edge / sqrt(2 (d + 1))."""
    return edge / math.sqrt(2 * (d + 1))


@dataclass
class MDGANLosses:
    """The MD-GAN loss pair for ``ganlib.train`` (d_loss over embeddings (N, d), (M, d); g_loss over (M, d))."""

    d: int  # embedding size (D's out_dim); the mixture has d + 1 components
    sigma: float  # standard deviation of each component
    edge: float  # distance between any two component means
    margin: float  # lambda = (1 + margin) * max lk
    g_objective: str  # 'paper': E[log(lambda - lk)]; 'nonsaturating': -E[log lk]
    balance: float  # weight of the real images' cluster information term in D's loss (0: the paper's loss)
    balance_sigma: float  # std of the mixture whose posterior that term reads
    means: torch.Tensor  # (d+1, d) simplex vertices
    lam: float  # lambda

    def likelihood(self, e: torch.Tensor) -> torch.Tensor:
        """Return lk(e) for embeddings (N, d): (N,)."""
        return log_likelihood(e, self.means, self.sigma).exp()

    def _log_lambda_minus_lk(self, e):
        # log(lambda - lk) = log lambda + log(1 - lk/lambda), stable because lk/lambda < 1 always
        ratio = (log_likelihood(e, self.means, self.sigma) - math.log(self.lam)).exp()
        return math.log(self.lam) + torch.log1p(-ratio)

    def d_loss(self, real, fake):
        """-E[log lk(e_real)] - E[log(lambda - lk(e_fake))] of embeddings
        real (N, d) and fake (M, d): a scalar."""
        log_lk_real = log_likelihood(real, self.means, self.sigma)
        log_rest_fake = self._log_lambda_minus_lk(fake)
        loss = -batch_mean(log_lk_real) - batch_mean(log_rest_fake)
        if self.balance:
            loss = loss + self.balance * self.imbalance(real)
        return loss

    def imbalance(self, real):
        """log(d+1) - I(x; k) for real embeddings (N, d): 0 when D spreads the real images evenly over the
        clusters, each image confidently in one; log(d+1) when they all sit in one cluster (or all at the
        centroid, in none).

        I(x; k) = H(mean_x q(k|x)) - mean_x H(q(k|x)) is the mutual information between an image and
        its cluster, with q the posterior of a mixture on the same means with the wider std
        ``balance_sigma`` (the mixture's own sigma saturates: its posteriors are one-hot a short way from
        a vertex and give no gradient). The information term is Krause, Perona and Gomes 2010 ("RIM"),
        as IMSAT (Hu et al. 2017) uses it; it is NOT in the MD-GAN paper, whose loss lets D send every
        real image to one cluster (the optimum the MD-GAN chapter measures without it).
        """
        q = responsibilities(real, self.means, self.balance_sigma)
        p = batch_shares(q)
        h_mean = -(p * torch.log(p.clamp_min(1e-12))).sum(-1)
        mean_h = batch_mean(-(q * torch.log(q.clamp_min(1e-12))).sum(-1))
        return math.log(self.d + 1) - (h_mean - mean_h)

    def g_loss(self, fake):
        """E[log(lambda - lk(e_fake))] of embeddings (M, d), a scalar; or
        -E[log lk(e_fake)] with g_objective='nonsaturating'."""
        if self.g_objective == "nonsaturating":
            return -batch_mean(log_likelihood(fake, self.means, self.sigma))
        return batch_mean(self._log_lambda_minus_lk(fake))

    def cluster_of(self, e: torch.Tensor) -> torch.Tensor:
        """Return the index of the nearest component mean for embeddings (N, d): (N,) int64."""
        return torch.cdist(_as_embeddings(e, self.means), self.means.to(e)).argmin(1)


def _max_likelihood(means, sigma) -> float:
    """Return max_e lk(e): by symmetry it lies on the line through a vertex and the centroid (0)."""
    d = means.shape[1]
    t = torch.linspace(0.0, 1.0 + 1.0 / d, 20_001, dtype=torch.float64)[:, None]
    line = (1 - t) * means[:1].double()  # from mu_0 (t=0) through the centroid (t=1) to the opposite face's centre
    return float(log_likelihood(line, means.double(), sigma).exp().max())


def mdgan_losses(d: int = 9, sigma: float = 0.2, edge: float = 1.0, margin: float = 1e-3, g_objective: str = "paper",
                 balance: float = 0.0, balance_sigma: float | None = None) -> MDGANLosses:
    """Return the MD-GAN losses for a D with ``out_dim=d``: a mixture of d + 1 Gaussians (std sigma) on a simplex of side ``edge``.

    Choosing the settings (measured on MNIST with the lab's MLPs, see the MD-GAN chapter): keep
    ``sigma < max_sigma(d, edge)`` (else the centroid, where an untrained D embeds every sample,
    traps the generator; a warning says so), and slow the discriminator down: with equal learning
    rates (Adam 1e-3) the embedding D wins outright within a few hundred steps (edge 1 on every
    run, edge 4 on one of two seeds), while lr_D = lr_G / 5 drew all ten digits on every run we
    made (edge 4, sigma 0.6, seeds 0, 1, 2; edge 1, sigma 0.15, seed 0).

    ``balance`` > 0 adds ``balance * imbalance(real)`` to D's loss (not in the paper; see
    :meth:`MDGANLosses.imbalance`, whose posterior has std ``balance_sigma``, default ``2 * sigma``):
    without it, D puts every real MNIST image in one cluster.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if not margin > 0:
        raise ValueError(f"margin must be > 0 so that lambda - lk(e) stays positive, got {margin}")
    if g_objective not in ("paper", "nonsaturating"):
        raise ValueError(f"g_objective must be 'paper' or 'nonsaturating', got {g_objective!r}")
    if not balance >= 0:
        raise ValueError(f"balance must be >= 0 (0: the paper's loss), got {balance}")
    balance_sigma = 2 * sigma if balance_sigma is None else balance_sigma
    if not balance_sigma > 0:
        raise ValueError(f"balance_sigma must be > 0, got {balance_sigma}")
    means = simplex_means(d, edge)
    if centroid_curvature(d, sigma, edge) <= 0:
        warnings.warn(f"MD-GAN with d={d}, sigma={sigma}, edge={edge}: the simplex centroid is a local maximum of lk, so fakes "
                      f"embedded near 0 (where an untrained D puts them) get no gradient toward the clusters; use sigma < "
                      f"{max_sigma(d, edge):.3f} (ganlib.mdgan.max_sigma)", stacklevel=2)
    lam = (1 + margin) * _max_likelihood(means, sigma)
    return MDGANLosses(int(d), float(sigma), float(edge), float(margin), g_objective, float(balance), float(balance_sigma),
                       means, lam)


@torch.no_grad()
def cluster_shares(md: MDGANLosses, D, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Return the share of samples ``x`` whose embedding D(x) is nearest to each of the d + 1 clusters: (d+1,).

    Real data spread over several clusters is what MD-GAN relies on; a D that maps every real
    sample to one vertex (a legal optimum of -E log lk(D(x))) leaves the generator one target.
    """
    counts = torch.zeros(md.d + 1, dtype=torch.float64)
    for i in range(0, x.shape[0], batch_size):
        counts += torch.bincount(md.cluster_of(D(x[i : i + batch_size])).cpu(), minlength=md.d + 1).double()
    return (counts / counts.sum()).float()


@torch.no_grad()
def cluster_classes(md: MDGANLosses, D, x: torch.Tensor, labels: torch.Tensor, n_classes: int = 10,
                    batch_size: int = 1000) -> torch.Tensor:
    """Return the counts (d+1, n_classes) of samples ``x`` by D's nearest cluster (row) and by ``labels`` (column).

    Its row sums are :func:`cluster_shares` (as counts); ``counts.max(1).values.sum() / len(x)`` is
    the clusters' purity: the share of images whose cluster's most common class is their own
    (0.1 for clusters blind to ten balanced classes, 1 for clusters that are the classes).
    """
    if labels.shape[0] != x.shape[0]:
        raise ValueError(f"one label per image: got {x.shape[0]} images and {labels.shape[0]} labels")
    counts = torch.zeros(md.d + 1, n_classes, dtype=torch.int64)
    for i in range(0, x.shape[0], batch_size):
        k = md.cluster_of(D(x[i : i + batch_size])).cpu()
        counts += torch.bincount(k * n_classes + labels[i : i + batch_size].cpu(),
                                 minlength=(md.d + 1) * n_classes).reshape(md.d + 1, n_classes)
    return counts


def cluster_usage(md: MDGANLosses, D, x: torch.Tensor, labels: torch.Tensor, min_share: float = 0.05) -> dict:
    """How D uses its clusters on real images ``x`` with digit ``labels``, from :func:`cluster_classes`:
    ``clusters used`` (clusters holding at least ``min_share`` of the images), ``largest share`` (1: all
    in one cluster), ``purity`` (0.1 for clusters blind to ten balanced classes, 1 for the classes
    themselves) and ``shares`` (d+1,)."""
    counts = cluster_classes(md, D, x, labels)
    shares = counts.sum(1).double() / counts.sum()
    return {"clusters used": int((shares >= min_share).sum()), "largest share": float(shares.max()),
            "purity": float(counts.max(1).values.sum() / counts.sum()), "shares": shares.float()}


def __getattr__(name):
    """``plot_centroid_profiles`` moved to ganlib.plots (method modules hold only their method); kept one release."""
    return moved_attribute(__name__, name, {"plot_centroid_profiles": "plots"})
