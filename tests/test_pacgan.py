"""PacGAN (Lin et al. 2018): D judges packs of m samples; m = 1 is the plain GAN exactly."""

import pytest
import torch

from ganlib.models import Discriminator
from ganlib.runs import Method, RunSpec, build
from ganlib.toys import ToySettings, run_toy
from ganlib.training import TrainConfig


def test_a_pack_is_m_consecutive_samples_side_by_side():
    torch.manual_seed(0)
    D = Discriminator(in_shape=(2,), hidden=(8,), pack=3)
    x = torch.randn(6, 2)
    assert D.fc1.in_features == 6 and D(x).shape == (2,)
    torch.testing.assert_close(D(x)[1], D.fc2(torch.nn.functional.leaky_relu(D.fc1(x[3:].reshape(-1)), 0.2))[0])
    with pytest.raises(ValueError, match="multiple of 3"):
        D(torch.randn(4, 2))
    with pytest.raises(ValueError, match="integer >= 1"):
        Discriminator(pack=0)


def test_pack_one_is_the_plain_gan_exactly_and_keeps_its_cache_key():
    plain = run_toy("ring", settings=ToySettings(steps=30, snapshots=1), seed=0)
    packed = run_toy("ring", settings=ToySettings(steps=30, snapshots=1), seed=0, pack=1)
    assert torch.equal(plain.samples, packed.samples)
    spec = RunSpec("x", TrainConfig(), Method())
    assert "pack" not in spec.identity()["method"]  # runs cached before PacGAN existed keep their files
    assert RunSpec("x", TrainConfig(), Method(pack=2)).path != spec.path


def test_a_pacgan_toy_run_trains_and_scores_points():
    run = run_toy("grid", settings=ToySettings(steps=30, snapshots=1, batch_size=64), seed=1, pack=4)
    assert run.D.pack == 4 and run.D.fc1.in_features == 8
    assert len(run.history.step) == 30 and run.metrics["n_modes"] == 25
    assert run.d_score(torch.zeros(5, 2)).shape == (5,)  # a pack of 4 copies of each point


def test_a_pacgan_mnist_discriminator_builds_from_a_spec():
    G, D = build(RunSpec("p", TrainConfig(), Method(pack=2)))
    assert D.fc1.in_features == 2 * 784 and D(torch.zeros(4, 1, 28, 28)).shape == (2,)


# --------------------------------------------------------------------------- the toy table from a terminal
def test_ganlib_toys_prints_one_row_as_json(capsys):
    import json

    from ganlib.cli import main

    assert main(["toys", "--dataset", "grid", "--method", "pacgan", "--seeds", "2", "--steps", "20", "--scale", "smoke"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["dataset"] == "grid25" and row["method"] == "pacgan" and row["preset"] == "standard"
    assert [r["seed"] for r in row["per_seed"]] == [0, 1] and row["steps"] == 20 and row["n_modes"] == 25
    assert set(row["mean"]) == {"modes_covered", "hq_fraction", "reverse_kl"} and row["wall_time_s"] > 0


@pytest.mark.parametrize("args, valid", [
    (["--dataset", "moons", "--method", "plain"], ["ring", "grid"]),
    (["--dataset", "ring", "--method", "vegan"], ["mdgan", "pacgan", "plain", "r1", "unrolled", "wgan-gp"]),
    (["--dataset", "ring", "--method", "plain", "--preset", "paper"], ["collapse", "standard"]),
])
def test_ganlib_toys_rejects_unknown_names_listing_the_valid_ones(args, valid, capsys):
    from ganlib.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["toys", *args])
    err = capsys.readouterr().err
    choices = err[err.index("invalid choice"):]  # argparse's wording; quoting differs between Python versions
    assert exit_.value.code == 2 and all(name in choices for name in valid)


def test_the_standard_preset_is_the_published_protocol():
    from ganlib.presets import preset
    from ganlib.toys import make_toy

    p = preset("toy_standard", "cpu", show=False)
    ring, grid = make_toy("ring", **p.ring), make_toy("grid", **p.grid)
    assert ring.std == 0.01 and torch.allclose(ring.modes.norm(dim=1), torch.ones(8))
    assert grid.std == 0.05 and sorted(set(grid.modes[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert p.n_eval == 2_500 and len(p.seeds) == 10
