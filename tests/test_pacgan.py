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


# --------------------------------------------------------------------------- the protocol's training settings
def test_a_decaying_toy_run_ends_near_rate_zero_and_keeps_its_snapshot_count():
    from ganlib.toys.lab import DECAY_UPDATES, toy_spec
    from ganlib.toys import ring

    settings = ToySettings(steps=100, snapshots=4, lr_decay=True, hidden=(16, 16), batch_size=32)
    spec = toy_spec(ring(), settings=settings)
    assert spec.cfg.epochs == DECAY_UPDATES and spec.lr_decay == (DECAY_UPDATES, 0)
    run = run_toy("ring", settings=settings, seed=0)
    steps = [s for s, _ in run.snapshots]
    assert steps[-1] == 100 and 4 <= len(steps) <= 5  # every few short epochs, not one per epoch
    assert run.G.fc1.out_features == 16 and run.D.fc1.out_features == 16
    again = run_toy("ring", settings=settings, seed=0)
    assert torch.equal(run.samples, again.samples)  # seeded end to end
    still = run_toy("ring", settings=ToySettings(steps=100, snapshots=4, hidden=(16, 16), batch_size=32), seed=0)
    assert not torch.equal(run.samples, still.samples)  # the decay changes the run


def test_the_decay_sets_the_rates_linearly_to_zero():
    from ganlib.callbacks import linear_lr_decay
    from ganlib.toys.lab import DECAY_UPDATES

    rates = []
    settings = ToySettings(steps=DECAY_UPDATES * 2, snapshots=1, lr_decay=True, hidden=(8, 8), batch_size=16, lr_g=1e-2)

    def record(state):
        rates.append(state.opt_G.param_groups[0]["lr"])

    from ganlib.toys.lab import _callbacks, toy_spec
    from ganlib.runs import build, train_spec
    from ganlib.toys import ring

    spec = toy_spec(ring(), settings=settings)
    G, D = build(spec)
    callbacks = _callbacks(spec, settings, [], stacked=True)[1:] + [record]  # the decay alone, then the recorder
    train_spec(spec, G, D, ring().sample(spec.n_train), callbacks=callbacks)
    # set after each of the first DECAY_UPDATES - 1 epochs (the last one ends the run): the last epoch runs at lr / 50
    assert len(rates) == DECAY_UPDATES - 1 and rates[-1] == pytest.approx(1e-2 / DECAY_UPDATES)
    assert rates[0] == pytest.approx(1e-2 * (1 - 1 / DECAY_UPDATES))
    assert all(a > b for a, b in zip(rates, rates[1:]))


def test_the_toy_table_lists_the_published_rows_then_ours_with_seeds():
    from ganlib.toys import PUBLISHED, drs_metrics, protocol_row, protocol_table

    rows = {(m, d): protocol_row(d, m, seeds=[0, 1], steps=20, scale="smoke") for m in ("plain", "pacgan") for d in ("ring", "grid")}
    assert rows[("plain", "ring")].settings.lr_decay and rows[("plain", "ring")].settings.hidden == (64, 64)
    assert [r.spec.cfg.seed for r in rows[("pacgan", "grid")].runs] == [0, 1]
    drs = {d: drs_metrics(rows[("plain", d)].runs) for d in ("ring", "grid")}
    assert all(0 < m["acceptance"] <= 1 and m["n_modes"] in (8, 25) for ms in drs.values() for m in ms)
    table = protocol_table(rows, extra={"GAN + DRS": drs})
    assert [r["row"] for r in table] == [*PUBLISHED, "GAN (ours)", "PacGAN2 (ours)", "GAN + DRS"]
    assert table[3]["ring: HQ %"] == "98.2" and table[3]["grid: reverse KL"] == "0.7"  # PacGAN paper's GAN, typed
    assert " ± " in table[5]["ring: modes"] and float(table[5]["seconds"]) >= 0
    with pytest.raises(ValueError, match="PacGAN"):
        drs_metrics(rows[("pacgan", "ring")].runs)


def test_samplers_refuse_a_packed_discriminator_with_advice():
    from ganlib.samplers.drs import drs_sample, finetune_discriminator

    run = run_toy("ring", settings=ToySettings(steps=10, snapshots=1, batch_size=32), seed=0, pack=2)
    with pytest.raises(ValueError, match="packs of 2 samples.*plain ganlib.Discriminator"):
        drs_sample(run.G, run.D, 10, burn_in=10, progress=False)
    with pytest.raises(ValueError, match="PacGAN one"):
        finetune_discriminator(run.G, run.D, torch.zeros(64, 2), steps=1, progress=False)


def test_toy_table_rows_in_worker_processes_equal_the_rows_of_one_process():
    """protocol_runs(workers=2) trains rows in two one-thread processes: the same rows, in the table's order,
    with the same numbers (one thread or two sum in another order: float rounding only)."""
    from ganlib.toys import protocol_runs

    kw = dict(methods=("plain", "mdgan"), datasets=("ring",), seeds=[0, 1], steps=15, scale="smoke", progress=False)
    alone, pooled = protocol_runs(threads=1, **kw), protocol_runs(workers=2, **kw)
    assert list(pooled) == list(alone) == [("plain", "ring"), ("mdgan", "ring")]
    for a, b in zip(alone.values(), pooled.values()):
        assert [r.spec.cfg.seed for r in b.runs] == [0, 1] and b.scale == "smoke"
        for ra, rb in zip(a.runs, b.runs):
            torch.testing.assert_close(rb.samples, ra.samples, rtol=1e-5, atol=1e-5)
            assert [rb.metrics[k] for k in ("modes_covered", "hq_fraction")] == [ra.metrics[k] for k in ("modes_covered", "hq_fraction")]
            torch.testing.assert_close(rb.d_score(ra.samples[:5]), ra.d_score(ra.samples[:5]))  # D came back too


def test_compare_on_toys_in_worker_processes_equals_one_process():
    from ganlib.runs import Method
    from ganlib.toys import compare_on_toys, ring

    methods = {"plain": Method(), "unrolled": Method(unroll=2)}
    kw = dict(settings=ToySettings(steps=10, snapshots=1, batch_size=32), progress=False)
    alone = compare_on_toys({"ring": ring()}, methods, [0, 1], threads=1, **kw)
    pooled = compare_on_toys({"ring": ring()}, methods, [0, 1], workers=2, **kw)
    assert list(pooled) == list(alone) == [("plain", "ring"), ("unrolled", "ring")]
    for a, b in zip(alone.values(), pooled.values()):
        for ra, rb in zip(a, b):
            torch.testing.assert_close(rb.samples, ra.samples, rtol=1e-5, atol=1e-5)
