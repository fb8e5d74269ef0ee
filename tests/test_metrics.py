"""FID, Inception Score, precision/recall, density/coverage and evaluate(): known values,
the reference implementation ``prdc``, invariances, real-data sanity values and the cache."""

import math

import pytest
import torch

from ganlib import metrics as M
from ganlib.models import Generator


# ----------------------------------------------------------------------------- FID
def _random_orthogonal(d, seed):
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def test_fid_of_two_gaussians_equals_closed_form():
    # 1D: N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 * sqrt(1 * 4) = 2
    assert M.frechet_distance([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(2.0, abs=1e-12)
    # Commuting covariances S = Q diag(s^2) Q^T: FID = |mu1 - mu2|^2 + sum (s1 - s2)^2
    d = 16
    g = torch.Generator().manual_seed(1)
    mu1, mu2 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    s1, s2 = torch.rand(d, generator=g, dtype=torch.float64) + 0.1, torch.rand(d, generator=g, dtype=torch.float64) * 3
    q = _random_orthogonal(d, 2)
    sigma1, sigma2 = q @ torch.diag(s1**2) @ q.T, q @ torch.diag(s2**2) @ q.T
    closed = float(((mu1 - mu2) ** 2).sum() + ((s1 - s2) ** 2).sum())
    for method in ("eigh", "sqrtm"):
        assert M.frechet_distance(mu1, sigma1, mu2, sigma2, method=method) == pytest.approx(closed, rel=1e-9, abs=1e-9)


def test_fid_methods_agree_on_non_commuting_covariances():
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(32, 32, generator=g, dtype=torch.float64), torch.randn(32, 32, generator=g, dtype=torch.float64)
    s1, s2 = a @ a.T / 32, b @ b.T / 32 + 0.1 * torch.eye(32, dtype=torch.float64)
    mu = torch.zeros(32, dtype=torch.float64)
    eigh = M.frechet_distance(mu, s1, mu, s2, method="eigh")
    sqrtm = M.frechet_distance(mu, s1, mu, s2, method="sqrtm")
    assert eigh == pytest.approx(sqrtm, rel=1e-8)
    assert eigh > 1.0


def test_fid_rejects_non_psd_covariances():
    with pytest.raises(ValueError, match="positive semi-definite"):
        M.trace_sqrt_product(torch.diag(torch.tensor([1.0, -1.0])), torch.eye(2))


def test_fid_of_a_set_with_itself_is_zero_and_fid_is_symmetric(real_features):
    f_test, f_train = real_features["test_f"], real_features["train_f"]
    assert M.fid_from_features(f_test, f_test) == pytest.approx(0.0, abs=1e-6)
    # 35 of the classifier's 128 post-ReLU units are exactly 0 on MNIST. FID drops them (an exact
    # reduction), so no exact zero eigenvalue is left to turn into rounding noise: the two orders then
    # differ by float64 rounding of a 93-dimensional eigen-decomposition (measured 4e-12; a bound of
    # F * eps * ||S|| / sqrt(lambda_min) stays below 1e-9 here), where they used to differ by 3e-6
    # depending on the CPU's BLAS.
    assert M.fid_from_features(f_test, f_train) == pytest.approx(M.fid_from_features(f_train, f_test), abs=1e-8)


def test_fid_drops_dead_units_exactly():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 12, generator=gen, dtype=torch.float64), torch.randn(400, 12, generator=gen, dtype=torch.float64) + 0.3
    a[:, :4] = 0.0  # units dead in both sets
    b[:, :4] = 0.0
    b[:, 4] = 0.0  # a unit dead in one set only: its variance in the other still counts in Tr(S1)
    live = M.fid_from_features(a[:, 4:], b[:, 4:])
    full = M.fid_from_features(a, b)
    assert full == pytest.approx(live, rel=1e-12)
    assert full == pytest.approx(M.fid_from_features(a, b, method="sqrtm"), rel=1e-6)  # pytorch-fid's way, regularised


def test_fid_real_vs_real_is_small_and_real_vs_noise_is_large(mnist_test, real_features):
    # Measured on the shipped classifier (CPU): FID(test 10k vs train subset 10k) = 2.17,
    # FID(test vs N(0,1) noise clipped to [-1, 1]) = 977.5.
    fid_real = M.fid_from_features(real_features["test_f"], real_features["train_f"])
    assert 0.5 < fid_real < 5.0, fid_real
    noise = torch.randn(10_000, 1, 28, 28, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    from ganlib.features import extract_features

    fid_noise = M.fid_from_features(real_features["test_f"], extract_features(noise))
    assert 500.0 < fid_noise < 2000.0, fid_noise


# ----------------------------------------------------------------------------- Inception Score
def test_inception_score_of_uniform_and_confident_predictions():
    uniform = torch.full((1000, 10), 0.1)
    torch.testing.assert_close(M.inception_score(uniform), {"is_mean": 1.0, "is_std": 0.0})
    confident = torch.eye(10).repeat(100, 1)  # each split holds 10 of every class, all one-hot
    torch.testing.assert_close(M.inception_score(confident), {"is_mean": 10.0, "is_std": 0.0})
    # a single class everywhere: no diversity, IS = 1
    torch.testing.assert_close(M.inception_score(torch.eye(10)[[3] * 100])["is_mean"], 1.0)


def test_inception_score_of_real_test_digits_is_above_9_5(real_features):
    # Measured: 9.585 +- 0.140 on the 10,000 test digits.
    score = M.inception_score(real_features["test_p"])
    assert 9.5 < score["is_mean"] <= 10.0
    assert 0.0 < score["is_std"] < 0.5


@pytest.mark.parametrize("n", [10_005, 1_003, 200])
def test_inception_score_splits_as_torch_fidelity_when_n_is_not_a_multiple(real_features, n):
    # the original code and torch-fidelity cut split i at rows [i N // splits, (i + 1) N // splits)
    p = real_features["test_p"].double()
    p = torch.cat([p, p])[:n]
    scores = []
    for i in range(10):
        part = p[i * n // 10 : (i + 1) * n // 10]
        kl = (part * (torch.log(part.clamp_min(1e-300)) - torch.log(part.mean(0, keepdim=True)))).sum(1)
        scores.append(math.exp(float(kl.mean())))
    out = M.inception_score(p, splits=10)
    assert out["is_mean"] == pytest.approx(sum(scores) / 10, rel=1e-12)
    assert out["is_std"] == pytest.approx(float(torch.tensor(scores, dtype=torch.float64).std(unbiased=False)), rel=1e-9)


def test_inception_score_rejects_logits():
    with pytest.raises(ValueError, match="softmax"):
        M.inception_score(torch.randn(100, 10))


# ----------------------------------------------------------------------------- precision/recall, density/coverage
def _reference_prdc(real, fake):
    prdc = pytest.importorskip("prdc")
    pr = prdc.compute_prdc(real.numpy(), fake.numpy(), nearest_k=3)
    dc = prdc.compute_prdc(real.numpy(), fake.numpy(), nearest_k=5)
    return {"precision": pr["precision"], "recall": pr["recall"], "density": dc["density"], "coverage": dc["coverage"]}


def test_knn_radii_are_exact():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(700, 24, generator=g) * 5 + 30  # large offset: a hard case for the Gram trick
    brute = torch.cdist(x.double(), x.double(), compute_mode="donot_use_mm_for_euclid_dist")
    for k in (3, 5):
        expected = brute.topk(k + 1, dim=1, largest=False).values[:, -1]
        torch.testing.assert_close(M.knn_radii(x, k, block_rows=64), expected, rtol=0, atol=1e-10)
    both = M.knn_radii(x, (3, 5))  # one pass for several k gives the same radii
    torch.testing.assert_close(both[3], M.knn_radii(x, 3), rtol=0, atol=0)
    torch.testing.assert_close(both[5], M.knn_radii(x, 5), rtol=0, atol=0)


def test_prdc_equals_reference_on_gaussian_features(capsys):
    g = torch.Generator().manual_seed(0)
    real = torch.randn(800, 32, generator=g)
    fake = torch.randn(600, 32, generator=g) * 1.1 + 0.2
    ours = M.prdc(real, fake)
    ref = _reference_prdc(real, fake)
    for key in ref:
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-12), key
    assert 0.3 < ours["precision"] < 1.0 and 0.3 < ours["recall"] < 1.0  # a non-trivial case


def test_prdc_equals_reference_on_mnist_features(real_features):
    real, fake = real_features["test_f"][:1000], real_features["train_f"][:800]
    ours = {**M.precision_recall(real, fake, k=3), **M.density_coverage(real, fake, k=5)}
    ref = _reference_prdc(real, fake)
    for key in ref:
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-12), key


def test_identical_sets_give_precision_recall_coverage_one(real_features):
    f = real_features["test_f"][:1000]
    out = M.prdc(f, f)
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["coverage"] == 1.0


def _brute_prdc(real, fake, k_pr=3, k_dc=5):
    """Float64 brute force: every pairwise squared distance by differences, squared radii, strict <."""
    center = real.double().mean(0)
    r, f = real.double() - center, fake.double() - center

    def d2(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)

    rr, ff, rf = d2(r, r), d2(f, f), d2(r, f)
    r_pr, r_dc, f_pr = rr.sort(1).values[:, k_pr], rr.sort(1).values[:, k_dc], ff.sort(1).values[:, k_pr]
    inside_dc = rf < r_dc[:, None]
    return {
        "precision": float((rf < r_pr[:, None]).any(0).double().mean()),
        "recall": float((rf < f_pr[None, :]).any(1).double().mean()),
        "density": float(inside_dc.sum(0).double().mean()) / k_dc,
        "coverage": float(inside_dc.any(1).double().mean()),
    }


def _collapsed(f, n_unique, seed=0):
    g = torch.Generator().manual_seed(seed)
    return f[torch.randperm(f.shape[0], generator=g)[:n_unique]][torch.randint(n_unique, (f.shape[0],), generator=g)]


@pytest.mark.parametrize("case", ["itself", "every second", "collapsed to 40", "lattice"])
def test_prdc_at_exact_ties_equals_a_float64_brute_force(real_features, case):
    # Identical, half-identical and duplicated sets put fakes at exactly a real ball's radius; the
    # papers' strict < must then hold exactly (a set against itself has density 1.0, not 1.08).
    # The integer lattice has more equidistant neighbours than candidates, which exercises the widened exact recompute.
    real = real_features["test_f"][:600].double()
    if case == "lattice":
        # {0, 1, 2}^6: a point with j coordinates equal to 1 has 6 + j neighbours at distance 1, more
        # than the 10 candidates kept per row, so the k-th radius is decided among the widened set
        real = torch.cartesian_prod(*[torch.arange(3.0)] * 6).double() * 3.0 + 7.0
    fake = {"itself": real, "every second": real[::2], "collapsed to 40": _collapsed(real, 40), "lattice": real[::3]}[case]
    ours = M.prdc(real, fake)
    assert ours == _brute_prdc(real, fake)
    if case == "itself":
        assert ours == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_squared_radii_are_the_exact_squared_distances(real_features):
    f = _collapsed(real_features["test_f"][:500].double(), 60)
    c = f - f.mean(0)  # distances are computed on centred points (smaller norms, smaller rounding)
    d2 = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1).sort(1).values
    radii = M.knn_radii(f, (3, 5), squared=True)
    assert torch.equal(radii[3], d2[:, 3]) and torch.equal(radii[5], d2[:, 5])
    assert torch.equal(M.knn_radii(f, 5), d2[:, 5].sqrt())


def test_batch_size_does_not_change_any_result(real_features):
    real, fake = real_features["test_f"][:600], real_features["train_f"][:500]
    base = M.prdc(real, fake)
    for block_rows in (64, 5000):
        assert M.prdc(real, fake, block_rows=block_rows) == base


def test_prdc_on_disjoint_sets_is_zero():
    real = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    out = M.prdc(real, real + 100.0)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


# ----------------------------------------------------------------------------- evaluate() and the cache
def test_evaluate_keys_cache_and_sources(mnist_test, tmp_cache):
    real = mnist_test[0][:600]
    fake = mnist_test[0][600:1200]
    out = M.evaluate(fake, real=real, n=600, device="cpu")
    assert tuple(out) == M.METRIC_KEYS
    assert out["n_real"] == 600 and out["n_fake"] == 600
    files = list((tmp_cache / "metrics").glob("real-stats-*.pt"))
    assert len(files) == 1  # written once, atomically (no leftover .tmp files)
    assert not list((tmp_cache / "metrics").glob("*.tmp"))
    mtime = files[0].stat().st_mtime_ns
    stats = M.real_statistics(real)
    assert stats["cached"] and files[0].stat().st_mtime_ns == mtime
    assert M.evaluate(fake, real=real, n=600, device="cpu") == out  # reused: identical numbers
    # a different real set gets its own entry
    M.real_statistics(mnist_test[0][:500])
    assert len(list((tmp_cache / "metrics").glob("real-stats-*.pt"))) == 2
    # cache off gives the same numbers
    assert M.evaluate(fake, real=real, n=600, cache=False) == out


def test_evaluate_generator_is_seeded_and_batch_invariant(mnist_test, tmp_cache):
    torch.manual_seed(0)
    G = Generator()
    real = mnist_test[0][:300]
    a = M.evaluate(G, real=real, n=300, seed=1)
    assert a == M.evaluate(G, real=real, n=300, seed=1, batch_size=64)
    assert a["fid"] != M.evaluate(G, real=real, n=300, seed=2)["fid"]
    assert a["fid"] > 100  # an untrained generator is far from digits


def test_evaluate_rejects_unknown_sources():
    with pytest.raises(TypeError, match="Generator"):
        M.evaluate(42, real=torch.zeros(20, 1, 28, 28), n=20)
    with pytest.raises(ValueError, match="z_dim"):
        M.evaluate(lambda z: z, real=torch.zeros(20, 1, 28, 28), n=20)


# ----------------------------------------------------------------------------- Inception FID path
def _random_inception_state_dict(seed=0):
    """A state dict in pytorch-fid's layout with random weights (what the test writes to disk)."""
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in M.fid_inception_net().state_dict().items()}
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, shape in shapes.items():
        if k.endswith("running_var"):
            state[k] = torch.ones(shape)
        elif k.endswith("running_mean") or k.endswith("bias"):
            state[k] = torch.zeros(shape)
        elif k.endswith("num_batches_tracked"):
            state[k] = torch.zeros(shape, dtype=torch.long)
        elif k.endswith("bn.weight"):
            state[k] = torch.ones(shape)
        else:  # conv / linear weights, He-scaled so activations stay O(1) through 40+ layers
            fan_in = math.prod(shape[1:])
            state[k] = torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in)
    return state


def test_inception_path_with_a_state_dict_written_here(tmp_path, tmp_cache):
    state = _random_inception_state_dict()
    # pytorch-fid's layout: 1008-class fc, no auxiliary head
    assert state["fc.weight"].shape == (1008, 2048) and not any(k.startswith("AuxLogits") for k in state)
    path = tmp_path / "inception_random.pth"
    torch.save(state, path)
    model = M.load_inception(path, device="cpu")  # strict load: every key and shape must match
    torch.testing.assert_close(model.net.Mixed_7c.branch_pool.conv.weight, state["Mixed_7c.branch_pool.conv.weight"])
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    f = M.inception_features(x, model, batch_size=1)
    assert f.shape == (2, 2048) and torch.isfinite(f).all() and (f >= 0).all() and f.abs().sum() > 0
    assert not torch.allclose(f[0], f[1])
    # The TF-style patch is active: Mixed_7c max-pools its pool branch where torchvision averages.
    from torchvision.models.inception import InceptionE

    block = model.net.Mixed_7c
    h = torch.randn(1, 2048, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert not torch.allclose(block(h), torch.cat(InceptionE._forward(block, h), 1))
    with pytest.raises(RuntimeError, match="Missing key|Unexpected key|size mismatch"):
        torch.save({k: v for k, v in state.items() if k != "fc.weight"}, path)
        M.load_inception(path)


def test_inception_weights_offline_error(tmp_cache):
    with pytest.raises(FileNotFoundError, match="pytorch-fid"):
        M.inception_weights(download=False)
    with pytest.raises(FileNotFoundError, match="not found"):
        M.inception_weights(path=tmp_cache / "missing.pth")
