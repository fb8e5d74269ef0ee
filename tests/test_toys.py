"""Tests of the 2D toy laboratory: samplers, mode metrics, R1 on a linear critic, a smoke run."""

import math

import pytest
import torch
from torch.testing import assert_close

from ganlib import toys


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny 2D MLPs: see conftest.one_thread

N = 100_000
HQ_TRUE = 1 - math.exp(-4.5)  # P(||x - mu|| <= 3 sigma) for an isotropic 2D Gaussian


@pytest.mark.parametrize("toy", [toys.ring(), toys.grid(), toys.ring(8, radius=2.0, std=0.02), toys.grid(5, 1.0, 0.02)], ids=lambda t: f"{t.name}")
def test_mixture_components_have_stated_means_and_std(toy):
    x = toy.sample(N, seed=0)
    assert x.shape == (N, 2)
    k = torch.cdist(x, toy.modes).argmin(1)
    for j in range(toy.n_modes):
        xj = x[k == j]
        assert abs(len(xj) / N - 1 / toy.n_modes) < 4 * math.sqrt(1 / toy.n_modes / N) + 1e-3
        assert_close(xj.mean(0), toy.modes[j], atol=5 * toy.std / math.sqrt(len(xj)), rtol=0)
        assert_close(xj.std(0), torch.full((2,), toy.std), atol=0, rtol=0.05)
    assert_close(x.mean(0), toy.modes.mean(0), atol=0.02 * float(toy.modes.abs().max()), rtol=0)


def test_protocol_geometry():
    r = toys.ring()
    assert_close(r.modes.norm(dim=1), torch.ones(8))  # radius 1
    assert r.std == 0.01
    g = toys.grid()
    ticks = sorted(set(g.modes[:, 0].tolist()))
    assert ticks == [-4.0, -2.0, 0.0, 2.0, 4.0] and g.std == 0.05 and g.n_modes == 25


def test_curves_have_closed_form_moments():
    # circle: mean 0, each coordinate variance r^2/2 + noise^2
    c = toys.circle(radius=1.5, noise=0.1).sample(N, seed=1)
    assert_close(c.mean(0), torch.zeros(2), atol=0.02, rtol=0)
    assert_close(c.var(0), torch.full((2,), 1.5**2 / 2 + 0.01), atol=0, rtol=0.02)
    assert_close(c.norm(dim=1).mean(), torch.tensor(1.5), atol=0.005, rtol=0)
    # s-curve: E sin^2 t = 1/2, E (cos t - 1)^2 = 3/2 + 4/(3 pi) over t ~ U(-3pi/2, 3pi/2); means 0
    s = toys.s_curve(noise=0.05).sample(N, seed=2)
    assert_close(s.mean(0), torch.zeros(2), atol=0.02, rtol=0)
    assert_close(s.var(0), torch.tensor([0.5 + 0.0025, 1.5 + 4 / (3 * math.pi) + 0.0025]), atol=0, rtol=0.02)
    # half moons: mean (1/2, 1/4); var x = 3/4, var y = 1/2 - 4/pi^2 + (4/pi - 1/2)^2 / 4
    m = toys.half_moons(noise=0.05).sample(N, seed=3)
    assert_close(m.mean(0), torch.tensor([0.5, 0.25]), atol=0.01, rtol=0)
    var_y = 0.5 - 4 / math.pi**2 + (4 / math.pi - 0.5) ** 2 / 4
    assert_close(m.var(0), torch.tensor([0.75 + 0.0025, var_y + 0.0025]), atol=0, rtol=0.02)


def test_samplers_are_seeded():
    for name in toys.TOYS:
        toy = toys.make_toy(name)
        assert torch.equal(toy.sample(100, seed=5), toy.sample(100, seed=5))
        assert not torch.equal(toy.sample(100, seed=5), toy.sample(100, seed=6))
    with pytest.raises(ValueError, match="unknown toy"):
        toys.make_toy("spiral")


@pytest.mark.parametrize("toy", [toys.ring(), toys.grid()], ids=lambda t: t.name)
def test_metrics_on_true_distribution(toy):
    m = toys.mode_stats(toy.sample(N, seed=0), toy.modes, toy.std)
    assert m["modes_covered"] == toy.n_modes
    # binomial standard error at N=100k is 0.00033: allow 5 of them either side
    assert abs(m["hq_fraction"] - HQ_TRUE) < 0.0017
    assert 0 <= m["reverse_kl"] < 0.002


def test_metrics_on_single_mode_generator():
    toy = toys.grid()
    fake = toy.modes[7] + toy.std * torch.randn(5000, 2, generator=torch.Generator().manual_seed(0))
    m = toys.mode_stats(fake, toy.modes, toy.std)
    assert m["modes_covered"] == 1
    assert m["counts"][7] == m["counts"].sum()
    assert_close(m["reverse_kl"], math.log(25))


def test_min_count_threshold_and_no_hq():
    toy = toys.ring()
    fake = torch.cat([toy.modes[:1].repeat(10, 1), toy.modes[1:2].repeat(2, 1)])
    assert toys.mode_stats(fake, toy.modes, toy.std, min_count=1)["modes_covered"] == 2
    assert toys.mode_stats(fake, toy.modes, toy.std, min_count=3)["modes_covered"] == 1
    far = toys.mode_stats(torch.full((10, 2), 5.0), toy.modes, toy.std)
    assert far["modes_covered"] == 0 and far["hq_fraction"] == 0 and math.isnan(far["reverse_kl"])
    # two modes, 10 and 2 HQ samples: KL(p || U_8) = sum p log(8 p)
    p = torch.tensor([10 / 12, 2 / 12], dtype=torch.float64)
    assert_close(toys.mode_stats(fake, toy.modes, toy.std)["reverse_kl"], float((p * torch.log(8 * p)).sum()))


def test_class_mode_stats_with_given_classifier():
    labels = torch.tensor([3] * 50 + [5] * 30 + [7] * 20)
    images = labels.float().view(-1, 1, 1, 1).expand(-1, 1, 28, 28).clone()
    onehot = lambda x: torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 10).float()  # noqa: E731
    m = toys.class_mode_stats(images, class_probs=onehot)
    assert m["modes_covered"] == 3
    assert_close(m["shares"][[3, 5, 7]], torch.tensor([0.5, 0.3, 0.2]))
    p = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    assert_close(m["kl_to_uniform"], float((p * torch.log(10 * p)).sum()))
    uniform = torch.arange(100) % 10
    imgs = uniform.float().view(-1, 1, 1, 1).expand(-1, 1, 28, 28)
    assert_close(toys.class_mode_stats(imgs, class_probs=onehot)["kl_to_uniform"], 0.0)
    with pytest.raises(ValueError, match="class_probs must return"):
        toys.class_mode_stats(images, class_probs=lambda x: torch.zeros(len(x), 3))


def test_run_toy_smoke_and_snapshot_callback():
    toy = toys.ring()
    res = toys.run_toy(toy, steps=30, batch_size=64, snapshots=3, n_eval=500, seed=0)
    assert [s for s, _ in res["snapshots"]] == [10, 20, 30]
    assert all(x.shape == (1000, 2) for _, x in res["snapshots"])
    assert res["samples"].shape == (500, 2)
    assert 0 <= res["metrics"]["modes_covered"] <= 8
    again = toys.run_toy(toy, steps=30, batch_size=64, snapshots=3, n_eval=500, seed=0)
    assert torch.equal(res["samples"], again["samples"])  # seeded end to end


def test_widget_panel_renders_without_training_and_trains_on_click():
    import matplotlib

    matplotlib.use("Agg")
    panel = toys.widget_panel(steps=50)
    assert len(panel.output.outputs) == 0  # nothing trains until the button is pressed
    steps_slider = panel.children[0].children[-2]
    steps_slider.value = 50
    panel.train_button.click()  # trains 50 steps and draws into the output area


def test_compare_on_toys_runs_every_method_and_seed_and_restores_threads():
    threads = torch.get_num_threads()
    runs = toys.compare_on_toys({"ring": toys.ring()}, {"plain": {}, "R1": dict(r1_gamma=0.1)}, seeds=[0, 1], steps=3, batch_size=32,
                                n_eval=200, progress=False)
    assert set(runs) == {("plain", "ring"), ("R1", "ring")} and all(len(rs) == 2 for rs in runs.values())
    assert torch.get_num_threads() == threads
    assert not torch.equal(runs[("plain", "ring")][0]["samples"], runs[("plain", "ring")][1]["samples"])  # seeds differ
    table = toys.runs_table(runs)
    assert "| plain, ring |" in table and "| R1, ring |" in table and table.count("\n") == 3  # header, separator, 2 rows


def test_mean_over_seeds_skips_nan():
    s = toys.mean_over_seeds([{"modes_covered": 1, "hq_fraction": 0.0, "reverse_kl": float("nan")},
                              {"modes_covered": 3, "hq_fraction": 0.5, "reverse_kl": 1.0}])
    assert s["modes_covered"] == (2.0, 1.0) and s["reverse_kl"] == (1.0, 0.0)
    assert all(math.isnan(v) for v in toys.mean_over_seeds([{"modes_covered": 0, "hq_fraction": 0, "reverse_kl": float("nan")}])["reverse_kl"])


def test_widget_panel_preview_draws_the_default_result_as_a_figure():
    import matplotlib

    matplotlib.use("Agg")
    panel = toys.widget_panel(steps=50, preview=True)
    assert len(panel.output.outputs) == 0  # the preview is an ordinary figure, outside the live output area
    fig = panel.preview
    assert len(fig.axes) >= 4 and "default result" in fig._suptitle.get_text()
    assert any("modes covered" in t.get_text() for ax in fig.axes for t in ax.texts)


@pytest.mark.parametrize("make, kw, message", [
    (toys.circle, dict(radius=0), "radius=0"),
    (toys.circle, dict(noise=-0.1), "noise=-0.1"),
    (toys.s_curve, dict(scale=-1), "scale=-1"),
    (toys.half_moons, dict(noise=-1), "noise >= 0"),
])
def test_curves_validate_their_parameters_like_the_mixtures(make, kw, message):
    with pytest.raises(ValueError, match=message):
        make(**kw)


def test_run_toy_takes_a_dataset_or_its_name():
    run = toys.run_toy("ring", steps=2, batch_size=16, snapshots=1, n_eval=50)
    assert run.toy.name == "ring8" and run.samples.shape == (50, 2)
    with pytest.raises(ValueError, match="unknown toy dataset 'rings'"):
        toys.run_toy("rings", steps=2)
    with pytest.raises(TypeError, match="toy dataset"):
        toys.run_toy(3, steps=2)


def test_compare_on_toys_applies_method_fields_in_overrides_to_every_run():
    runs = toys.compare_on_toys({"ring": toys.ring()}, {"plain": {}}, seeds=[0], steps=2, batch_size=16,
                                snapshots=1, n_eval=50, r1_gamma=1.0, progress=False)
    assert runs[("plain", "ring")][0].spec.method.r1_gamma == 1.0  # not silently dropped
    with pytest.raises(TypeError, match="unknown settings"):
        toys.compare_on_toys({"ring": toys.ring()}, {"plain": {}}, seeds=[0], stepz=2, progress=False)
