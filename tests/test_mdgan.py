"""Tests of the MD-GAN losses (Eghbal-zadeh et al. 2019)."""

import math
import warnings

import pytest
import torch
from torch.testing import assert_close

from ganlib import toys
from ganlib.mdgan import (centroid_curvature, cluster_classes, cluster_shares, cluster_usage, log_likelihood, max_sigma, mdgan_losses,
                          simplex_means)
from ganlib.seeds import seed_stack
from ganlib.training import TrainConfig, train


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny 2D MLPs: see conftest.one_thread


@pytest.mark.parametrize("d", [1, 2, 3, 9, 16])
def test_simplex_means_are_equidistant_and_centred(d):
    mu = simplex_means(d, edge=2.5)
    assert mu.shape == (d + 1, d)
    dist = torch.cdist(mu.double(), mu.double())
    off = dist[~torch.eye(d + 1, dtype=torch.bool)]
    assert_close(off, torch.full_like(off, 2.5))
    assert_close(mu.mean(0), torch.zeros(d), atol=1e-6, rtol=0)
    norms = mu.norm(dim=1)  # all on one sphere: circumradius edge * sqrt(d / (2 (d+1)))
    assert_close(norms, torch.full((d + 1,), 2.5 * math.sqrt(d / (2 * (d + 1)))), atol=1e-5, rtol=1e-5)


def test_likelihood_at_a_mean_and_far_away():
    md = mdgan_losses(d=3, sigma=0.1, edge=1.0)
    # at a mean the other components are 1 edge away: lk = (1 + 3 exp(-1/(2 0.01))) / 4
    assert_close(md.likelihood(md.means[:1]), torch.tensor([(1 + 3 * math.exp(-50)) / 4]))
    far = torch.full((1, 3), 100.0)
    assert_close(log_likelihood(far, md.means, 0.1), torch.tensor([-(far - md.means).pow(2).sum(1).min().item() / 0.02 - math.log(4)]))


def test_lambda_bounds_the_likelihood():
    for d, sigma in [(2, 0.25), (9, 0.25), (9, 1.0), (3, 0.05)]:
        md = mdgan_losses(d=d, sigma=sigma)
        e = torch.cat([md.means + 0.3 * sigma * torch.randn(d + 1, d, generator=torch.Generator().manual_seed(i)) for i in range(200)])
        assert float(md.likelihood(e).max()) < md.lam
        if sigma <= 0.25:  # separated clusters: the maximum sits (almost exactly) on a mean
            assert_close(md.lam, (1 + md.margin) * float(md.likelihood(md.means).max()), rtol=1e-4, atol=0)
    # overlapping clusters merge: the maximum is at the centroid, lk(0) = exp(-R^2 / (2 sigma^2)), R the circumradius
    md = mdgan_losses(d=9, sigma=1.0, edge=1.0)
    assert_close(md.lam, (1 + md.margin) * math.exp(-(9 / 20) / 2), rtol=1e-6, atol=0)


def test_losses_push_real_in_and_fake_out():
    md = mdgan_losses(d=2, sigma=0.2)
    inside, outside = md.means.repeat(10, 1), torch.full((30, 2), 3.0)
    # D is best when real embeddings sit on the clusters and fakes far away
    assert md.d_loss(inside, outside) < md.d_loss(outside, inside)
    # G is best when its fakes sit on the clusters
    assert md.g_loss(inside) < md.g_loss(outside)
    assert_close(md.g_loss(outside), torch.tensor(math.log(md.lam)), atol=1e-6, rtol=0)
    ns = mdgan_losses(d=2, sigma=0.2, g_objective="nonsaturating")
    assert_close(ns.g_loss(md.means), -log_likelihood(md.means, md.means, 0.2).mean())


def test_mdgan_trains_with_the_same_train_function():
    md = mdgan_losses(d=3, sigma=0.25)
    G, D = toys.toy_models(out_dim=3, seed=0)
    data = toys.grid().sample(64 * 8, seed=0)
    h = train(G, D, data, TrainConfig(epochs=1, batch_size=64, z_dim=2, progress=False, device="cpu", log_every=4), d_loss=md.d_loss, g_loss=md.g_loss)
    assert len(h.d_loss) == 8 and all(math.isfinite(v) for v in h.d_loss + h.g_loss)  # one entry per generator step


def test_bad_arguments():
    with pytest.raises(ValueError, match="d must be"):
        simplex_means(0)
    with pytest.raises(ValueError, match="sigma"):
        mdgan_losses(sigma=0)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        mdgan_losses(d=3).d_loss(torch.zeros(4, 2), torch.zeros(4, 2))


@pytest.mark.parametrize("d, sigma, edge", [(2, 0.25, 1.0), (9, 0.25, 1.0), (9, 0.1, 1.0), (4, 0.6, 2.0)])
def test_centroid_curvature_is_the_hessian_of_log_lk_at_the_centroid(d, sigma, edge):
    means = simplex_means(d, edge).double()
    H = torch.autograd.functional.hessian(lambda e: log_likelihood(e, means, sigma).sum(), torch.zeros(1, d, dtype=torch.float64))
    c = centroid_curvature(d, sigma, edge)
    assert_close(H.reshape(d, d), c * torch.eye(d, dtype=torch.float64), atol=1e-5 * abs(c) + 1e-5, rtol=1e-5)  # means are float32
    # the sign flips exactly at max_sigma
    assert centroid_curvature(d, 0.99 * max_sigma(d, edge), edge) > 0 > centroid_curvature(d, 1.01 * max_sigma(d, edge), edge)


def test_mdgan_losses_warn_when_the_centroid_is_a_trap():
    with pytest.warns(UserWarning, match="local maximum"):
        mdgan_losses(d=9, sigma=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mdgan_losses(d=2, sigma=0.25)
        mdgan_losses()  # the defaults are safe


def test_cluster_shares_count_nearest_clusters():
    md = mdgan_losses(d=2, sigma=0.2)
    D = lambda x: x  # noqa: E731  embeddings given directly
    e = torch.cat([md.means[0] + 0.01 * torch.randn(30, 2), md.means[2] + 0.01 * torch.randn(10, 2)])
    assert_close(cluster_shares(md, D, e, batch_size=7), torch.tensor([0.75, 0.0, 0.25]))


def test_d1_accepts_the_squeezed_output_of_a_one_output_discriminator():
    md = mdgan_losses(d=1, sigma=0.25)
    e = torch.tensor([-0.5, 0.5, 0.1])
    assert_close(log_likelihood(e, md.means, md.sigma), log_likelihood(e[:, None], md.means, md.sigma))
    assert md.d_loss(e, e).shape == () and md.cluster_of(e).shape == (3,)


def test_imbalance_is_log_k_minus_the_information_between_image_and_cluster():
    md = mdgan_losses(d=2, sigma=0.05, balance=0.5)  # balance_sigma 2 * sigma = 0.1
    # embeddings at the vertices: posteriors one-hot up to exp(-1/(2 0.1^2)) = exp(-50) ~ 0
    one = md.means[[0, 0, 0, 0]]
    assert_close(md.imbalance(one), torch.tensor(math.log(3)), atol=1e-5, rtol=0)  # all in one cluster
    even = md.means[[0, 1, 2, 0, 1, 2]]
    assert_close(md.imbalance(even), torch.tensor(0.0), atol=1e-5, rtol=0)
    half = md.means[[0, 1, 0, 1]]  # shares (1/2, 1/2, 0): log 3 - log 2
    assert_close(md.imbalance(half), torch.tensor(math.log(3 / 2)), atol=1e-5, rtol=0)
    # all at the centroid: uniform posteriors, H(mean q) = mean H(q) = log 3, no information
    assert_close(md.imbalance(torch.zeros(5, 2)), torch.tensor(math.log(3)), atol=1e-5, rtol=0)
    # one point at vertex 0, one at the centroid: q = (1, 0, 0) and (1/3, 1/3, 1/3)
    # H(mean q) = H(2/3, 1/6, 1/6), mean H(q) = log(3) / 2
    h = -(2 / 3 * math.log(2 / 3) + 2 * (1 / 6) * math.log(1 / 6))
    mixed = torch.cat([md.means[:1], torch.zeros(1, 2)])
    assert_close(md.imbalance(mixed), torch.tensor(math.log(3) - (h - math.log(3) / 2)), atol=1e-5, rtol=0)
    # D's loss adds balance times it; balance 0 is the paper's loss
    fake = torch.zeros(4, 2)
    paper = mdgan_losses(d=2, sigma=0.05)
    assert_close(md.d_loss(one, fake), paper.d_loss(one, fake) + 0.5 * math.log(3), atol=1e-4, rtol=1e-6)
    # in a stack of 2 seeds (rows interleaved by seed) each seed gets its own imbalance
    rows = md.means[[0, 0, 1, 0, 2, 0]]  # seed 0: clusters 0, 1, 2; seed 1: cluster 0 only
    with seed_stack(2):
        assert_close(md.imbalance(rows), torch.tensor([0.0, math.log(3)]), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="balance"):
        mdgan_losses(balance=-1)
    with pytest.raises(ValueError, match="balance_sigma"):
        mdgan_losses(balance=1, balance_sigma=0)


def test_cluster_classes_counts_clusters_against_labels():
    md = mdgan_losses(d=2, sigma=0.2)
    D = lambda x: x  # noqa: E731
    e = md.means[[0, 0, 0, 2, 2, 1]] + 0.01 * torch.randn(6, 2)
    labels = torch.tensor([3, 3, 5, 5, 5, 0])
    c = cluster_classes(md, D, e, labels, batch_size=4)
    expect = torch.zeros(3, 10, dtype=torch.int64)
    expect[0, 3], expect[0, 5], expect[2, 5], expect[1, 0] = 2, 1, 2, 1
    assert torch.equal(c, expect)
    assert_close(c.sum(1).float() / 6, cluster_shares(md, D, e))
    with pytest.raises(ValueError, match="one label per image"):
        cluster_classes(md, D, e, labels[:5])
    u = cluster_usage(md, D, e, labels, min_share=0.2)  # shares 3/6, 1/6, 2/6; majorities 2 + 1 + 2 of 6
    assert u["clusters used"] == 2 and u["largest share"] == pytest.approx(0.5) and u["purity"] == pytest.approx(5 / 6)
