"""Several seeds as one stacked run (ganlib.seeds): seed s of a stack is the single run with seed s.

Tolerances. A stack computes its layers with batched matrix products (``baddbmm``) where a single
run uses ``addmm``: the same sums in another order, so results differ by float32 rounding, about
1e-7 relative per operation (measured after 20 steps: 2e-7 on losses and weights for the
non-saturating, minimax, R1, WGAN-GP, unrolled and MD-GAN runs, with 1 and with 2 threads). Adam
and RMSprop amplify that rounding where a gradient is exactly 0 in exact arithmetic: they divide
each coordinate by its running RMS, so such a coordinate steps by about +-lr on rounding noise
alone, differently in the two runs. Three places in the course have such coordinates, and their
tests allow for it:
- the critic's last bias under a Wasserstein loss (E f(fake) - E f(real) does not depend on it): the
  critic's output, hence the losses, may drift by up to lr_d per step (the spectral-norm and
  clipping runs; measured 2e-3 and 2e-6 after 10 and 20 steps), weights by 1e-2 in norm;
- a bias followed by batch norm (which subtracts it): left out of the comparison with its running
  mean (the losses still agree to 2e-7).
Weights are compared per tensor as ||stack - single|| / ||single||.
"""

import dataclasses

import pytest
import torch

from ganlib import seeds as SD
from ganlib.models import Discriminator, Generator
from ganlib.runs import Method, RunSpec, build, build_stack, train_spec, train_stack, with_seed
from ganlib.toys import ring
from ganlib.training import DivergenceError, TrainConfig, load_checkpoint

SEEDS = (0, 1, 2)


def _spec(method=Method(), g_arch=None, d_arch=None, steps=20, **cfg):
    base = dict(epochs=2, batch_size=64, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999), z_dim=2, device="cpu",
                progress=False, log_every=5, max_steps=steps)
    base.update(cfg)
    return RunSpec("t", TrainConfig(**base), method,
                   g_arch=dict(hidden=(32, 32), out_shape=(2,), out_activation=None, **(g_arch or {})),
                   d_arch=dict(hidden=(32, 32), in_shape=(2,), **(d_arch or {})), n_train=640)


@pytest.fixture(scope="module")
def data():
    toy = ring()
    return torch.stack([toy.sample(640, seed=10_000 + s) for s in SEEDS])  # one data set per seed, as run_toy


def _rel(a, b):
    return float((a.float() - b.float()).norm() / (b.float().norm() + 1e-12))


# --------------------------------------------------------------------------- the stacked model
@pytest.mark.parametrize("kind, arch", [
    (Generator, dict()), (Generator, dict(norm="layer")), (Generator, dict(norm="batch")),
    (Discriminator, dict()), (Discriminator, dict(spectral_norm=True)), (Discriminator, dict(out_dim=3)),
])
@pytest.mark.parametrize("train_mode", [True, False])
def test_a_stack_computes_what_its_members_compute(kind, arch, train_mode):
    shape = dict(hidden=(16, 8))
    shape.update(dict(z_dim=4, out_shape=(1, 3, 3)) if kind is Generator else dict(in_shape=(1, 3, 3)))
    models = []
    for s in SEEDS:
        torch.manual_seed(s)
        models.append(kind(**shape, **arch).train(train_mode))
    stack = SD.stack(models, SEEDS).train(train_mode)
    for s, m in enumerate(models):  # the members come back exactly
        assert all(torch.equal(v, stack.member_state_dict(s)[k]) for k, v in m.state_dict().items())
    x = torch.randn(5 * len(SEEDS), 4) if kind is Generator else torch.randn(5 * len(SEEDS), 1, 3, 3)
    out = stack(x)
    for s, m in enumerate(models):
        torch.testing.assert_close(out[s :: len(SEEDS)], m(x[s :: len(SEEDS)]), rtol=1e-5, atol=1e-6)
    for s, m in enumerate(models):  # running statistics and power-iteration vectors move as the members'
        for k, v in m.state_dict().items():
            torch.testing.assert_close(stack.member_state_dict(s)[k].float(), v.float(), rtol=1e-5, atol=1e-6)


def test_a_stack_refuses_mixed_architectures_and_odd_batches():
    with pytest.raises(TypeError, match="share one architecture"):
        SD.stack([Generator(hidden=(8,)), Generator(hidden=(16,))], (0, 1))
    with pytest.raises(ValueError, match="one model per seed"):
        SD.stack([Generator()], (0, 1))
    stack = SD.stack([Generator(hidden=(8,)), Generator(hidden=(8,))], (0, 1))
    with pytest.raises(ValueError, match="S \\* B rows"):
        stack(torch.randn(3, 100))
    with pytest.raises(ValueError, match="must differ"):
        build_stack(_spec(), (1, 1))


# --------------------------------------------------------------------------- training
CASES = {
    "non-saturating": (Method(), {}),
    "WGAN-GP, n_critic 5": (Method(loss="wasserstein", gp_weight=10.0), dict(n_critic=5)),
    "R1": (Method(r1_gamma=1.0), {}),
    "unrolled, Adam lookahead": (Method(unroll=3, lookahead="adam"), {}),
    "MD-GAN": (Method(mdgan=dict(d=2, sigma=0.2)), {}),
    "minimax, G layer norm": (Method(loss="minimax"), dict(g_arch=dict(norm="layer"))),
    "PacGAN, packs of 4": (Method(pack=4), {}),
}


def _compare(spec, data, skip=(), w_tol=1e-5, loss_tol=1e-5):
    G, D = build_stack(spec, SEEDS)
    histories = train_stack(spec, G, D, data)
    for i, s in enumerate(SEEDS):
        g, d = build(with_seed(spec, s))
        h = train_spec(with_seed(spec, s), g, d, data[i])
        assert h.step == histories[i].step
        for a, b in zip(h.d_loss + h.g_loss, histories[i].d_loss + histories[i].g_loss):
            assert abs(a - b) <= loss_tol * max(1.0, abs(a))
        for model, stack in ((g, G), (d, D)):
            for k, v in model.state_dict().items():
                if k not in skip:
                    assert _rel(stack.member_state_dict(i)[k], v) <= w_tol, k


@pytest.mark.parametrize("case", list(CASES))
def test_seed_s_of_a_stack_is_the_single_run_with_seed_s(case, data):
    method, extra = CASES[case]
    arch = {k: extra.pop(k) for k in ("g_arch", "d_arch") if k in extra}
    _compare(_spec(method, **arch, **extra), data)


def test_with_batch_norm_in_g_every_loss_and_the_live_weights_agree(data):
    # fc1.bias, fc2.bias feed batch norm, which subtracts them: exact gradient 0 (see the module docstring)
    skip = {"fc1.bias", "fc2.bias", "norm1.running_mean", "norm2.running_mean"}
    _compare(_spec(g_arch=dict(norm="batch")), data, skip=skip)


@pytest.mark.parametrize("arch, extra", [(dict(d_arch=dict(spectral_norm=True)), {}),
                                         ({}, dict(optimizer="rmsprop"))], ids=["spectral norm", "clipping, RMSprop"])
def test_a_wasserstein_critic_agrees_up_to_its_free_last_bias(data, arch, extra):
    steps, lr = 10, 1e-3  # the free bias walks at most lr per step (see the module docstring)
    method = Method(loss="wasserstein", clip=0.05 if extra else 0.0)
    _compare(_spec(method, **arch, steps=steps, lr_d=lr, **extra), data, w_tol=2e-2, loss_tol=steps * lr)


def test_shared_data_is_shared_and_per_seed_data_is_per_seed(data):
    spec = _spec(steps=5)
    G, D = build_stack(spec, (0, 1))
    shared = train_stack(spec, G, D, data[0])  # both seeds on the same points, in their own orders
    g, d = build(with_seed(spec, 1))
    single = train_spec(with_seed(spec, 1), g, d, data[0])
    assert shared[1].d_loss == pytest.approx(single.d_loss, abs=1e-5)
    with pytest.raises(ValueError, match="one per seed"):
        train_stack(spec, *build_stack(spec, (0, 1)), data)  # 3 data sets for 2 seeds


# --------------------------------------------------------------------------- divergence, checkpoints, resume
def test_one_diverging_seed_is_reported_and_the_others_go_on(data, capsys):
    spec = _spec(steps=20)
    G, D = build_stack(spec, SEEDS)
    bad = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in D.member_state_dict(1).items()}
    D.load_member(1, bad)
    histories = train_stack(spec, G, D, data)
    assert "seed 1 of the stack: training diverged" in capsys.readouterr().out
    assert histories[1].step == [] and len(histories[0].step) == 20 and len(histories[2].step) == 20
    g, d = build(with_seed(spec, 2))
    h = train_spec(with_seed(spec, 2), g, d, data[2])  # seed 2 is untouched by seed 1's NaN
    assert histories[2].d_loss == pytest.approx(h.d_loss, abs=1e-5)
    for s in SEEDS:
        D.load_member(s, bad)
    with pytest.raises(DivergenceError, match="every seed of the stack"):
        train_stack(spec, G, D, data)


def _stack_trained_one_of_two_epochs(data, folder):
    """(the 2-epoch spec, one checkpoint path per seed) after training its stack for the first epoch."""
    spec = _spec(steps=None, epochs=2)
    one_epoch = dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, epochs=1))
    paths = [folder / f"s{s}.pt" for s in SEEDS]
    train_stack(one_epoch, *build_stack(one_epoch, SEEDS), data, checkpoints=paths)
    return spec, paths


def test_a_stack_writes_single_run_checkpoints_that_resume(data, tmp_path):
    spec, paths = _stack_trained_one_of_two_epochs(data, tmp_path)
    ckpt = load_checkpoint(paths[1])
    assert ckpt["config"]["seed"] == 1 and ckpt["epoch"] == 1 and ckpt["G"]["fc1.weight"].shape == (32, 2)
    # each seed's share of the stack's training time: the same for both, above zero
    assert ckpt["train_seconds"] > 0 and ckpt["train_seconds"] == load_checkpoint(paths[0])["train_seconds"]
    # the single run with seed 1 resumes the stack's checkpoint ...
    g, d = build(with_seed(spec, 1))
    resumed = train_spec(with_seed(spec, 1), g, d, data[1], checkpoint=paths[1])
    # ... and matches the single run trained straight through
    g2, d2 = build(with_seed(spec, 1))
    straight = train_spec(with_seed(spec, 1), g2, d2, data[1])
    assert resumed.step == straight.step
    assert resumed.d_loss == pytest.approx(straight.d_loss, abs=1e-5)
    for k, v in g2.state_dict().items():
        assert _rel(g.state_dict()[k], v) <= 1e-5


def test_a_stack_resumes_its_own_checkpoints_exactly(data, tmp_path):
    spec, paths = _stack_trained_one_of_two_epochs(data, tmp_path)
    G, D = build_stack(spec, SEEDS)
    resumed = train_stack(spec, G, D, data, checkpoints=paths)
    G2, D2 = build_stack(spec, SEEDS)
    straight = train_stack(spec, G2, D2, data)
    assert [h.d_loss for h in resumed] == [h.d_loss for h in straight]  # bit-exact, as a single run's resume
    assert all(torch.equal(a, b) for a, b in zip(G.parameters(), G2.parameters()))
    paths[2].unlink()
    with pytest.raises(ValueError, match="every seed's checkpoint exists at the same step"):
        train_stack(spec, *build_stack(spec, SEEDS), data, checkpoints=paths)


def test_mean_and_spread_leave_out_diverged_seeds():
    out = SD.mean_and_spread([1.0, 3.0, float("nan"), None])
    assert out == {"mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0, "n": 2}
    assert SD.mean_and_spread([])["n"] == 0


def test_batch_mean_is_the_plain_mean_outside_a_stack_and_per_seed_inside():
    x = torch.arange(12.0)
    assert torch.equal(SD.batch_mean(x), x.mean())
    with SD.seed_stack(3):
        torch.testing.assert_close(SD.batch_mean(x), torch.stack([x[s::3].mean() for s in range(3)]))
        with pytest.raises(ValueError, match="cannot be split"):
            SD.batch_mean(torch.ones(7))


# --------------------------------------------------------------------------- front ends
def test_run_toy_seeds_gives_each_seed_its_single_run():
    from ganlib import toys

    settings = toys.ToySettings(steps=40, snapshots=2, n_eval=500)
    stacked = toys.run_toy_seeds("ring", settings=settings, seeds=(3, 4))
    for run, seed in zip(stacked, (3, 4)):
        single = toys.run_toy("ring", settings=settings, seed=seed)
        assert run.spec.cfg.seed == seed and [s for s, _ in run.snapshots] == [s for s, _ in single.snapshots]
        torch.testing.assert_close(run.samples, single.samples, rtol=1e-4, atol=1e-4)
        assert run.metrics["modes_covered"] == single.metrics["modes_covered"]


def test_train_or_load_seeds_shares_the_single_runs_cache(tmp_cache, mnist_train, capsys):
    from ganlib.recipes import mnist_spec
    from ganlib.runs import train_or_load, train_or_load_seeds

    real = mnist_train[0][:256]
    spec = mnist_spec("v", TrainConfig(epochs=1, batch_size=64, progress=False, device="cpu"), len(real), Method())
    runs = train_or_load_seeds(spec, (0, 1), real, stack=True)
    assert "as one stack" in capsys.readouterr().out
    assert [r.reused for r in runs] == [False, False] and [r.spec.cfg.seed for r in runs] == [0, 1]
    assert len(runs[1].snapshots.snapshots) == 1 and len(runs[1].history.step) == 4
    single = train_or_load(with_seed(spec, 1), real)  # the single run finds the stack's checkpoint
    assert single.reused and torch.equal(single.G.fc1.weight, runs[1].G.fc1.weight)
    again = train_or_load_seeds(spec, (0, 1, 2), real, stack=True)  # seed 2 alone is new
    assert [r.reused for r in again] == [True, True, False]


def test_a_stack_records_gradient_norms_per_seed_and_cannot_be_sampled_by_mistake(data):
    from ganlib.images import sample

    spec = _spec(steps=5, record_grad_norm=True)
    G, D = build_stack(spec, SEEDS)
    histories = train_stack(spec, G, D, data)
    g, d = build(with_seed(spec, 1))
    single = train_spec(with_seed(spec, 1), g, d, data[1])
    assert histories[1].g_grad_norm == pytest.approx(single.g_grad_norm, rel=1e-5)
    with pytest.raises(ValueError, match="G.member\\(s\\)"):
        sample(G, 6)


def test_per_seed_copies_a_seeds_models_only_for_a_callback_that_is_due(data, monkeypatch):
    """PerSeed builds seed s's G and D (a copy each) only at the epochs where the callback acts (its ``due``)."""
    from ganlib.callbacks import SampleSnapshots

    spec = _spec(steps=12)
    spec = dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, epochs=6, max_steps=None),
                               n_train=2 * spec.cfg.batch_size)  # 6 epochs of 2 steps
    copies = []
    original = SD.StackedMLP.member
    monkeypatch.setattr(SD.StackedMLP, "member", lambda self, s: copies.append(s) or original(self, s))
    snaps = [SampleSnapshots(n=5, seed=s, every=3, key="step") for s in (0, 1)]
    G, D = build_stack(spec, (0, 1))
    train_stack(spec, G, D, data[:2, : spec.n_train], callbacks=[SD.PerSeed(snaps)])
    assert [step for step, _ in snaps[0].snapshots] == [6, 12]  # epochs 3 and 6
    assert len(copies) == 2 * 2 * 2  # 2 snapshot epochs x 2 seeds x (G, D)


def test_mnist_seed_report_scores_each_seed_with_its_own_samples(tmp_cache, mnist_train):
    """One report per seed, each seed's generator sampled from its own seed; the table shows mean ± std."""
    from ganlib.metrics import mnist_mode_report, mnist_seed_report
    from ganlib.recipes import mnist_spec
    from ganlib.runs import train_or_load_seeds
    from ganlib.tables import spread_table

    real = mnist_train[0][:128]
    spec = mnist_spec("v", TrainConfig(epochs=1, batch_size=64, progress=False, device="cpu"), len(real), Method())
    runs = train_or_load_seeds(spec, (0, 1), real)
    report = mnist_seed_report({"plain": runs}, n=200)
    assert len(report["plain"]) == 2
    alone = mnist_mode_report({"seed 1": runs[1].G}, n=200, seed=1)["seed 1"]
    assert report["plain"][1]["fid"] == pytest.approx(alone["fid"]) and report["plain"][0]["fid"] != alone["fid"]
    assert "| plain | 2 | " in spread_table(report, ("fid", "digits")) and " ±\u00a0" in spread_table(report, ("fid",))
