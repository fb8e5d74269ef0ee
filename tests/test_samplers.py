"""Tests for ganlib.samplers on problems whose answer is known in closed form."""

import math

import pytest
import torch

import ganlib

from ganlib import samplers as S


class Shift(torch.nn.Module):
    """A 'generator' x = z + shift on R^d (no parameters to train): the proposal is N(shift, I)."""

    def __init__(self, z_dim=1, shift=0.0):
        super().__init__()
        self.z_dim = z_dim
        self.register_buffer("shift", torch.full((z_dim,), float(shift)))

    def forward(self, z):
        return z + self.shift


def exact_log_ratio(x):
    """log N(x; 0.5, 1) / N(x; 0, 1) = 0.5 x - 0.125: the optimal discriminator's logit."""
    return 0.5 * x[:, 0] - 0.125


def softmax_classifier(images):
    """A fixed classifier of 2-D points into 10 classes by angle (sharp softmax over 10 directions)."""
    angles = torch.arange(10) * (2 * math.pi / 10)
    dirs = torch.stack([angles.cos(), angles.sin()], 1)
    return torch.softmax(8.0 * images.reshape(images.shape[0], -1)[:, :2] @ dirs.T, 1)


def test_drs_exact_ratio_gives_target_moments():
    x, stats = S.drs_sample(Shift(), exact_log_ratio, n=20_000, seed=0, gamma=0.0, burn_in=10_000, progress=False)
    assert x.shape == (20_000, 1)
    # target N(0.5, 1): standard errors are 0.007 (mean) and 0.01 (variance) at n = 20,000
    torch.testing.assert_close(x.mean(), torch.tensor(0.5), atol=0.03, rtol=0)
    torch.testing.assert_close(x.var(), torch.tensor(1.0), atol=0.04, rtol=0)
    # exact rejection accepts E[ratio] / M = exp(-(D~_M)) of proposals; D~_M from the burn-in max
    assert 0.05 < stats["acceptance_rate"] < 0.4
    torch.testing.assert_close(torch.tensor(stats["acceptance_rate"]), torch.tensor(math.exp(-stats["max_logit"])), atol=0.02, rtol=0.1)


def test_drs_without_rejection_keeps_proposal():
    """A huge negative gamma accepts everything: the samples keep the proposal's mean 0 (the test above is not vacuous)."""
    x, stats = S.drs_sample(Shift(), exact_log_ratio, n=20_000, seed=0, gamma=-60.0, progress=False)
    torch.testing.assert_close(x.mean(), torch.tensor(0.0), atol=0.03, rtol=0)
    assert stats["acceptance_rate"] == pytest.approx(1.0, abs=1e-6)


def test_drs_acceptance_probabilities_in_unit_interval():
    logits = torch.tensor([-1e4, -50.0, -3.0, -1e-9, 0.0, 2.0, 1e4])
    for gamma in (-100.0, -5.0, 0.0, 5.0, 100.0):
        p = S.drs_acceptance_prob(logits, max_logit=0.0, gamma=gamma)
        assert torch.isfinite(p).all()
        assert (p >= 0).all() and (p <= 1).all()
    # gamma = 0: sigmoid(F) = exp(d) / (1 - exp(d - eps) + exp(d)) which is exp(d) up to eps
    d = torch.tensor([-3.0, -1.0, -0.1])
    torch.testing.assert_close(S.drs_acceptance_prob(d, 0.0, 0.0), d.exp(), atol=1e-5, rtol=0)


def test_drs_gamma_hits_target_acceptance():
    logits = torch.randn(5000, generator=torch.Generator().manual_seed(1))
    gamma = S.drs_gamma(logits, target_acceptance=0.3)
    torch.testing.assert_close(S.drs_acceptance_prob(logits, logits.max(), gamma).mean(), torch.tensor(0.3), atol=1e-4, rtol=0)
    x, stats = S.drs_sample(Shift(), exact_log_ratio, n=5000, seed=2, target_acceptance=0.3, progress=False)
    # the log-ratio is unbounded: proposals beyond the burn-in maximum raise D~_M, which lowers
    # the acceptance a little below the burn-in target (measured 0.27 here)
    torch.testing.assert_close(torch.tensor(stats["acceptance_rate"]), torch.tensor(0.28), atol=0.03, rtol=0)


def test_drs_gamma_rejects_bad_target():
    with pytest.raises(ValueError, match="target_acceptance"):
        S.drs_gamma(torch.zeros(3), target_acceptance=1.5)


def test_finetune_discriminator_learns_the_log_ratio():
    """BCE fine-tuning of a linear D on N(0.5,1) vs N(0,1) recovers the log-ratio 0.5 x - 0.125."""
    torch.manual_seed(0)
    D = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Flatten(0))
    real = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(3)) + 0.5
    D, history = S.finetune_discriminator(Shift(), D, real, steps=1500, batch_size=512, lr=1e-2, progress=False)
    torch.testing.assert_close(D[0].weight.detach().squeeze(), torch.tensor(0.5), atol=0.08, rtol=0)
    torch.testing.assert_close(D[0].bias.detach().squeeze(), torch.tensor(-0.125), atol=0.06, rtol=0)


def test_calibrate_critic_recovers_affine_ratio():
    """A critic f(x) = 3x - 1 (scores, not a ratio) is calibrated to logits close to 0.5 x - 0.125."""
    critic = torch.nn.Linear(1, 1)
    with torch.no_grad():
        critic.weight.fill_(3.0)
        critic.bias.fill_(-1.0)
    real = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(4)) + 0.5
    model, _ = S.calibrate_critic(Shift(), critic, real, n=20_000)
    x = torch.tensor([[-2.0], [0.0], [2.0]])
    torch.testing.assert_close(model(x).detach(), exact_log_ratio(x), atol=0.08, rtol=0)


def test_batch_inception_score_known_values():
    onehot = torch.eye(10)
    torch.testing.assert_close(torch.tensor(S.batch_inception_score(onehot)), torch.tensor(10.0, dtype=torch.float32), rtol=1e-5, atol=1e-5)
    same = torch.eye(10)[[3] * 10]
    torch.testing.assert_close(torch.tensor(S.batch_inception_score(same)), torch.tensor(1.0), rtol=1e-5, atol=1e-5)
    uniform = torch.full((7, 10), 0.1)
    torch.testing.assert_close(torch.tensor(S.batch_inception_score(uniform)), torch.tensor(1.0), rtol=1e-5, atol=1e-5)


def test_latent_weights_mean_one_and_follow_critic():
    """On a 2-D toy with critic D(x) = x_0, w has mean 1 over the prior and grows with the critic."""
    G = Shift(z_dim=2)
    critic = lambda x: x[:, 0]  # noqa: E731
    w_net, stats = S.train_latent_weights(G, critic, seed=0, n_latents=8000, steps=800, batch_size=512, lr=3e-3,
                                          m=3.0, hidden=(32, 32), progress=False)
    z = torch.randn(50_000, 2, generator=torch.Generator().manual_seed(7))
    w = w_net(z)
    assert (w >= 0).all()
    torch.testing.assert_close(w.mean(), torch.tensor(1.0), atol=0.05, rtol=0)
    assert stats["score_weight_corr"] > 0.6
    # the cap m = 3 is soft: at the optimum w - m = D^ / (2 lambda_reg), about 0.2 for the top
    # standardised scores, plus extrapolation to latents outside the pool (measured 4.3)
    assert 2.5 < float(w.max()) < 5.0
    # rejection with w accepts about E[w] / max w, and shifts the samples towards high critic scores
    x, rstats = S.latent_rejection_sample(G, w_net, n=3000, seed=0)
    assert x.shape == (3000, 2) and rstats["generator_calls"] == 3000
    assert float(x[:, 0].mean()) > 0.5
    # latent ascent raises the mean weight
    x2, astats = S.latent_ascent_sample(G, w_net, n=500, seed=0, steps=10, step_size=0.1)
    assert astats["mean_w_after"] > astats["mean_w_before"]
    assert x2.shape == (500, 2) and astats["acceptance_rate"] == 1.0


def test_nearest_real_cosine_matches_dense_and_is_chunk_invariant():
    gen = torch.Generator().manual_seed(5)
    fake, real = torch.randn(37, 1, 4, 4, generator=gen), torch.randn(53, 1, 4, 4, generator=gen)
    dense = torch.nn.functional.cosine_similarity(fake.reshape(37, 1, -1), real.reshape(1, 53, -1), dim=2).max(1).values
    torch.testing.assert_close(S.nearest_real_cosine(fake, real, chunk=5), dense)
    torch.testing.assert_close(S.nearest_real_cosine(fake, real, chunk=1000), dense)


def test_classwise_fit_recovers_selected_latents():
    """G = identity on R^2: the kept latents of each angular class are fitted, and sampling is class-balanced."""
    G = Shift(z_dim=2)
    real = torch.randn(500, 2, generator=torch.Generator().manual_seed(6)) * 0.1 + torch.tensor([1.0, 0.0])
    fit = S.fit_classwise_latents(G, real, classifier=softmax_classifier, n_fit=6000, keep_fraction=0.5, seed=0, progress=False)
    assert fit["mu"].shape == (10, 2) and fit["shapiro_p"].shape == (10, 2)
    assert fit["acceptance_rate"] == pytest.approx(0.5, abs=0.01)
    x, stats = S.classwise_sample(G, fit, n=1003, seed=0, progress=False)
    assert x.shape == (1003, 2)
    counts = torch.bincount(softmax_classifier(x).argmax(1), minlength=10)
    assert int(counts.min()) > 60  # balanced: about 100 per class (the Gaussians overlap a little)
    assert stats["generator_calls"] == 6000 + 1003


def _samplers(G, critic, w_net, fit, threshold):
    return {
        "drs": lambda n, seed: S.drs_sample(G, critic, n, seed=seed, burn_in=500, batch_size=256, progress=False),
        "is": lambda n, seed: S.is_rejection_sample(G, n, threshold, seed=seed, classifier=softmax_classifier, batch_size=50, progress=False),
        "latent_rejection": lambda n, seed: S.latent_rejection_sample(G, w_net, n, seed=seed, burn_in=500, progress=False),
        "latent_ascent": lambda n, seed: S.latent_ascent_sample(G, w_net, n, seed=seed, steps=3, progress=False),
        "classwise": lambda n, seed: S.classwise_sample(G, fit, n, seed=seed, progress=False),
    }


def test_every_sampler_returns_exactly_n_and_is_reproducible():
    G = Shift(z_dim=2, shift=0.2)
    critic = lambda x: 0.5 * x[:, 0]  # noqa: E731
    w_net, _ = S.train_latent_weights(G, critic, seed=0, n_latents=2000, steps=50, hidden=(16,), progress=False)
    real = torch.randn(300, 2, generator=torch.Generator().manual_seed(8))
    fit = S.fit_classwise_latents(G, real, classifier=softmax_classifier, n_fit=2000, seed=0, progress=False)
    threshold, _ = S.is_threshold(G, softmax_classifier, target_acceptance=0.5, n_batches=20, batch_size=50, seed=0)
    for name, draw in _samplers(G, critic, w_net, fit, threshold).items():
        for n in (1, 77, 1001):
            x, stats = draw(n, 3)
            assert x.shape == (n, 2), name
            assert 0 < stats["acceptance_rate"] <= 1, name
            assert stats["generator_calls"] >= n and stats["wall_time_s"] >= 0, name
        x1, s1 = draw(257, 11)
        x2, s2 = draw(257, 11)
        torch.testing.assert_close(x1, x2, msg=name)
        assert s1["generator_calls"] == s2["generator_calls"], name
        x3, _ = draw(257, 12)
        assert not torch.equal(x1, x3), name


def test_bad_inputs_raise_clear_errors():
    G = Shift()
    with pytest.raises(ValueError, match="n must be"):
        S.drs_sample(G, exact_log_ratio, n=0)
    with pytest.raises(ValueError, match="z_dim"):
        S.drs_sample(lambda z: z, exact_log_ratio, n=3)
    with pytest.raises(ValueError, match="m must be"):
        S.train_latent_weights(G, exact_log_ratio, m=1.0)


def test_apply_samplers_runs_every_sampler_on_a_toy():
    G = Shift(z_dim=2, shift=0.2)
    D = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
    real = torch.randn(600, 2, generator=torch.Generator().manual_seed(9)) + 0.5
    settings = S.SamplerSettings(finetune_steps=5, burn_in=200, w_steps=5, w_pool=500, n_fit=600, is_batch_size=20,
                                 keep_rejected=4)
    results = S.apply_samplers(G, D, real, n=150, settings=settings, classifier=softmax_classifier, wasserstein=True,
                               progress=False)
    assert list(results) == ["plain", "DRS (BCE fine-tuned D)", "DRS (calibrated critic)", "IS rejection",
                             "latent rejection", "latent ascent", "class-wise refit"]
    for name, result in results.items():
        assert isinstance(result, S.SamplerResult) and result.samples.shape == (150, 2), name
    rows = S.results_rows(results, lambda x: {"fid": float(x.mean()), "precision": 0.0}, label="toy")
    table = ganlib.tables.markdown_table(rows)
    assert table.count("\n") == len(results) + 1 and "latent ascent" in table
