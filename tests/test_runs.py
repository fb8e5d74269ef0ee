"""ganlib.runs: a run described as data, built in one place, trained once and then reused from the cache."""

import dataclasses

import pytest
import torch

import ganlib
from ganlib import runs
from ganlib.runs import EarlyStopping, Method, RunSpec
from ganlib.training import TrainConfig, load_checkpoint


def _data(n=128):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


def _spec(**kw):
    cfg = TrainConfig(epochs=2, batch_size=64, seed=0, progress=False, log_every=1)
    base = dict(name="tiny", cfg=cfg, n_train=128)
    base.update(kw)
    return RunSpec(**base)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path))
    monkeypatch.delenv("GANLIB_RETRAIN", raising=False)
    return tmp_path


def test_train_then_reuse_says_so_and_stores_the_spec(cache, monkeypatch, capsys):
    spec = _spec(method=Method(r1_gamma=1.0))
    first = runs.train_or_load(spec, _data())
    assert not first.reused and first.path == spec.path and first.path.parent == cache / "runs"
    assert first.history.step == [1, 2, 3, 4] and len(first.snapshots.snapshots) == 2
    ckpt = load_checkpoint(spec.path)
    assert ckpt["finished"] and ckpt["run"] == spec.identity() and ckpt["run"]["method"]["r1_gamma"] == 1.0
    assert "reusing" not in capsys.readouterr().out

    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("a finished run must be reused, not trained"))
    again = runs.train_or_load(spec, _data())
    out = capsys.readouterr().out
    assert again.reused and "reusing tiny" in out and "retrain=True or GANLIB_RETRAIN=1" in out
    assert again.history.as_dict() == first.history.as_dict() and len(again.snapshots.snapshots) == 2
    for a, b in zip(first.G.state_dict().values(), again.G.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_retrain_trains_again(cache, monkeypatch, how):
    spec = _spec()
    runs.train_or_load(spec, _data())
    calls = []
    real_train = runs.train
    monkeypatch.setattr(runs, "train", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    if how == "environment":
        monkeypatch.setenv("GANLIB_RETRAIN", "1")
        run = runs.train_or_load(spec, _data())
    else:
        run = runs.train_or_load(spec, _data(), retrain=True)
    assert calls == [1] and not run.reused


def test_the_cache_key_covers_what_changes_the_result_and_nothing_else(cache, monkeypatch):
    spec = _spec()
    different = [
        dataclasses.replace(spec, method=Method(loss="minimax")),
        dataclasses.replace(spec, method=Method(unroll=1, lr_unroll=1e-4)),
        dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, seed=1)),
        dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, n_critic=2)),
        dataclasses.replace(spec, g_arch=dict(norm="batch")),
        dataclasses.replace(spec, d_arch=dict(spectral_norm=True)),
        dataclasses.replace(spec, n_train=256),
        dataclasses.replace(spec, early_stopping=EarlyStopping()),
        dataclasses.replace(spec, lr_decay=(2, 0)),
        dataclasses.replace(spec, name="other"),
    ]
    paths = {spec.path} | {s.path for s in different}
    assert len(paths) == len(different) + 1
    same = dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, device="cpu", progress=True, log_every=7,
                                                             checkpoint_every=3))
    assert same.path == spec.path
    monkeypatch.setattr(runs, "RUN_VERSION", runs.RUN_VERSION + 1)  # a library change that alters results
    assert _spec().path not in paths


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(cache):
    spec = _spec()
    G, D = runs.build(spec)
    half = dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, epochs=1))
    runs.train_spec(half, G, D, _data(), checkpoint=spec.path)  # killed after epoch 1: an unfinished checkpoint
    resumed = runs.train_or_load(spec, _data())
    assert not resumed.reused
    fresh = runs.train_or_load(dataclasses.replace(spec, name="fresh"), _data())
    assert resumed.history.as_dict() == fresh.history.as_dict()
    for a, b in zip(resumed.G.state_dict().values(), fresh.G.state_dict().values()):
        assert torch.equal(a, b)


def test_build_is_seeded_and_leaves_the_callers_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    G1, D1 = runs.build(_spec(method=Method(mdgan=dict(d=3, sigma=0.2))))
    assert torch.equal(torch.get_rng_state(), before)
    G2, _ = runs.build(_spec())
    G3, _ = runs.build(_spec(cfg=dataclasses.replace(_spec().cfg, seed=1)))
    assert torch.equal(G1.fc1.weight, G2.fc1.weight) and not torch.equal(G1.fc1.weight, G3.fc1.weight)
    assert D1(_data(5)).shape == (5, 3)  # an MD-GAN's D outputs its embedding


def test_training_does_not_depend_on_the_global_rng(cache):
    spec = _spec(method=Method(loss="wasserstein", gp_weight=10.0))  # the penalty draws from the global RNG
    weights = []
    for noise in (0, 1000):
        torch.manual_seed(noise)  # whatever ran before in the kernel
        before = torch.get_rng_state()
        weights.append(runs.train_or_load(spec, _data(), retrain=True).G.state_dict())
        assert torch.equal(torch.get_rng_state(), before)
    for k, v in weights[0].items():
        torch.testing.assert_close(weights[1][k], v)


def test_method_builds_the_train_keywords():
    kw = Method(r1_gamma=10.0, unroll=2).train_kwargs()
    assert kw["penalty"] is not None and kw["g_step"].k == 2 and kw["d_constraint"] is None
    kw = Method(loss="wasserstein", clip=0.01).train_kwargs()
    assert kw["d_loss"] is ganlib.losses.d_loss_wasserstein and kw["d_constraint"] is not None and kw["penalty"] is None
    md = Method(mdgan=dict(d=4, sigma=0.2))
    assert md.d_out_dim == 4 and md.mdgan_losses().d == 4 and Method().mdgan_losses() is None


def test_early_stopping_is_part_of_the_spec_and_its_log_is_reused(cache, monkeypatch):
    scores = iter([5.0, 4.0, 6.0])
    spec = _spec(cfg=dataclasses.replace(_spec().cfg, epochs=3), early_stopping=EarlyStopping(patience=5))
    run = runs.train_or_load(spec, _data(), evaluate_fn=lambda G: next(scores))
    assert run.early_stopping.best_epoch == 2 and run.early_stopping.path.exists()
    again = runs.train_or_load(spec, _data(), evaluate_fn=lambda G: pytest.fail("a reused run is not evaluated"))
    assert again.reused and again.early_stopping.scores == run.early_stopping.scores


def test_data_of_another_size_than_the_spec_raises(cache):
    with pytest.raises(ValueError, match="n_train"):
        runs.train_or_load(_spec(n_train=64), _data())


def test_a_run_keeps_its_training_time_over_resumes_and_reloads(cache, monkeypatch):
    spec = _spec()
    G, D = runs.build(spec)
    half = dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, epochs=1))
    runs.train_spec(half, G, D, _data(), checkpoint=spec.path)
    first_part = load_checkpoint(spec.path)["train_seconds"]
    assert first_part > 0
    resumed = runs.train_or_load(spec, _data())
    assert resumed.train_seconds > first_part  # the second epoch adds to the first
    assert runs.train_or_load(spec, _data()).train_seconds == resumed.train_seconds
    ckpt = load_checkpoint(spec.path)  # a checkpoint written before ganlib kept the time says nothing
    del ckpt["train_seconds"]
    torch.save(ckpt, spec.path)
    assert runs.train_or_load(spec, _data()).train_seconds is None


def test_a_longer_run_goes_on_from_the_same_run_with_fewer_epochs(cache, capsys):
    short = _spec(cfg=TrainConfig(epochs=1, batch_size=64, seed=0, progress=False, log_every=1))
    runs.train_or_load(short, _data())
    longer = _spec()  # the same run, 2 epochs
    assert runs.shorter_run(longer) == short
    went_on = runs.train_or_load(longer, _data())
    assert "going on from the same run's first 1 epoch" in capsys.readouterr().out
    straight = runs.train_or_load(dataclasses.replace(longer, name="straight"), _data())  # no shorter run
    assert went_on.history.as_dict() == straight.history.as_dict()
    for a, b in zip(went_on.G.state_dict().values(), straight.G.state_dict().values()):
        assert torch.equal(a, b)
    assert [e for e, _ in went_on.snapshots.snapshots] == [1, 2]
    assert load_checkpoint(short.path)["finished"]  # the shorter run stays as it was
    # where the first epochs depend on the total, nothing is shared
    assert runs.shorter_run(dataclasses.replace(longer, lr_decay=(2, 0))) is None
    assert runs.shorter_run(dataclasses.replace(longer, early_stopping=EarlyStopping())) is None
