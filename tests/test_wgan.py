"""Tests of the Wasserstein pieces: penalty, clipping, spectral norm, losses, schedules, FID early stopping, resume.

The run cache (train or reuse) is tested in test_runs.py."""

import copy

import pytest
import torch
from torch.testing import assert_close

from ganlib import losses as L
from ganlib import callbacks, diagnostics, wgan
from ganlib.models import Discriminator, Generator
from ganlib.training import load_checkpoint, train
from test_regularizers import LinearCritic  # D(x) = w . x + b, input gradient w everywhere


def toy_models(seed=0, spectral_norm=False):
    torch.manual_seed(seed)
    G = Generator(z_dim=2, hidden=(32, 32), out_shape=(2,), out_activation=None)
    D = Discriminator(in_shape=(2,), hidden=(32, 32), spectral_norm=spectral_norm)
    return G, D


def toy_data(n=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=gen) * 0.5 + torch.tensor([2.0, -1.0])


# ---- losses -------------------------------------------------------------------------------


def test_wasserstein_loss_values_and_signs():
    real, fake = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 1.0])
    assert_close(L.d_loss_wasserstein(real, fake), torch.tensor(-1.5))  # 0.5 - 2
    # the critic loss decreases by exactly as much as the real scores rise, and rises with the fake scores
    assert_close(L.d_loss_wasserstein(real + 1, fake), torch.tensor(-2.5))
    assert_close(L.d_loss_wasserstein(real, fake + 1), torch.tensor(-0.5))
    # the generator loss decreases when the critic scores the fakes higher
    assert_close(L.g_loss_wasserstein(fake), torch.tensor(-0.5))
    assert_close(L.g_loss_wasserstein(fake + 2), torch.tensor(-2.5))


def test_paper_defaults():
    cfg, kw = wgan.wgan_config()
    assert (cfg.optimizer, cfg.lr_g, cfg.lr_d, cfg.n_critic, cfg.batch_size) == ("rmsprop", 5e-5, 5e-5, 5, 64)
    assert kw["d_loss"] is L.d_loss_wasserstein and kw["g_loss"] is L.g_loss_wasserstein and "penalty" not in kw
    cfg, kw = wgan.wgan_gp_config(epochs=3)
    assert (cfg.optimizer, cfg.lr_g, cfg.lr_d, cfg.betas, cfg.n_critic, cfg.batch_size, cfg.epochs) == ("adam", 1e-4, 1e-4, (0.0, 0.9), 5, 64, 3)
    assert "d_constraint" not in kw
    # the penalty in the kwargs is weighted by lambda = 10: 10 * (5 - 1)^2 on a linear critic of norm 5
    D = LinearCritic(torch.tensor([3.0, 4.0], dtype=torch.float64))
    x = torch.zeros(3, 2, dtype=torch.float64)
    assert_close(kw["penalty"](D, x, x + 1), torch.tensor(160.0, dtype=torch.float64))


# ---- weight clipping ------------------------------------------------------------------------


def test_weight_clipping_keeps_every_parameter_in_range_after_training():
    c = 0.01
    G, D = toy_models()
    cfg, kw = wgan.wgan_config(c=c, epochs=1, batch_size=32, z_dim=2, progress=False)
    train(G, D, toy_data(), cfg, **kw)
    biggest = max(float(p.detach().abs().max()) for p in D.parameters())
    # every parameter within [-c, c], and the bound is reached (the initial weights are far larger than c)
    assert_close(torch.tensor(biggest), torch.tensor(c))
    assert all(bool((p.abs() <= c).all()) for p in D.parameters())


# ---- spectral norm --------------------------------------------------------------------------


def test_spectral_norms_measures_the_largest_singular_value():
    D = Discriminator(in_shape=(3,), hidden=(3,))
    with torch.no_grad():
        D.fc1.weight.copy_(torch.diag(torch.tensor([3.0, -2.0, 1.0])))
        D.fc2.weight.copy_(torch.tensor([[0.6, 0.0, 0.8]]))
    assert diagnostics.spectral_norms(D) == pytest.approx({"fc1": 3.0, "fc2": 1.0}, rel=1e-6)


def test_spectrally_normalised_layers_have_unit_norm_after_power_iterations():
    G, D = toy_models(spectral_norm=True)
    cfg, kw = wgan.wgan_sn_config(epochs=1, batch_size=32, z_dim=2, lr_d=1e-2, progress=False)
    train(G, D, toy_data(), cfg, **kw)  # large steps move the raw weights away from the last estimate
    D.train()
    with torch.no_grad():
        for _ in range(10):  # each training-mode forward runs one power iteration per layer
            D(toy_data(8))
    sigmas = diagnostics.spectral_norms(D)
    assert set(sigmas) == {"fc1", "fc2", "fc3"}
    assert_close(torch.tensor(list(sigmas.values())), torch.ones(3), atol=0.05, rtol=0)
    # the raw weights themselves are not normalised: the constraint comes from the parametrisation
    raw = [float(torch.linalg.matrix_norm(getattr(D, f"fc{i}").parametrizations.weight.original.detach(), 2)) for i in (1, 2, 3)]
    assert max(abs(s - 1) for s in raw) > 0.05


# ---- gradient-norm diagnostics --------------------------------------------------------------


def test_critic_layer_grad_norms_known_values():
    torch.manual_seed(0)
    D = Discriminator(in_shape=(2,), hidden=(16, 8))
    x = torch.randn(32, 2)
    norms = diagnostics.critic_layer_grad_norms(D, x)
    assert list(norms) == ["fc1", "fc2", "fc3"]
    # the gradient of the output with respect to the last layer's input is that layer's weight row
    assert norms["fc3"] == pytest.approx(float(D.fc3.weight.detach().norm()), rel=1e-6)
    # the first layer's input is x: the mean of the per-sample input-gradient norms
    assert norms["fc1"] == pytest.approx(float(diagnostics.critic_grad_norm(D, x).mean()), rel=1e-6)
    assert all(p.grad is None for p in D.parameters())  # measuring does not touch the weights' gradients


# ---- learning-rate schedules ----------------------------------------------------------------


def _lr_recorder(log):
    def callback(state):
        log.append((state.epoch, state.opt_G.param_groups[0]["lr"], state.opt_D.param_groups[0]["lr"]))
    return callback


def test_decay_lr_multiplies_both_rates_each_epoch():
    G, D = toy_models()
    cfg, kw = wgan.wgan_gp_config(epochs=3, batch_size=64, n_critic=1, z_dim=2, progress=False)
    log = []
    train(G, D, toy_data(), cfg, callbacks=[callbacks.decay_lr(0.5), _lr_recorder(log)], **kw)
    assert log == [(1, 5e-5, 5e-5), (2, 2.5e-5, 2.5e-5), (3, 1.25e-5, 1.25e-5)]


def test_linear_lr_decay_reaches_final_fraction():
    G, D = toy_models()
    cfg, kw = wgan.wgan_gp_config(epochs=5, batch_size=64, n_critic=1, z_dim=2, lr_g=2e-4, lr_d=4e-4, progress=False)
    log = []
    train(G, D, toy_data(), cfg, callbacks=[callbacks.linear_lr_decay(epochs=4, final=0.5), _lr_recorder(log)], **kw)
    factors = [1 - 0.5 * min(1, e / 4) for e in range(1, 6)]  # 0.875, 0.75, 0.625, 0.5, 0.5
    assert [e for e, _, _ in log] == [1, 2, 3, 4, 5]
    assert_close(torch.tensor([g for _, g, _ in log]), 2e-4 * torch.tensor(factors))
    assert_close(torch.tensor([d for _, _, d in log]), 4e-4 * torch.tensor(factors))


def test_schedules_reject_bad_arguments():
    with pytest.raises(ValueError, match="gamma"):
        callbacks.decay_lr(1.5)
    with pytest.raises(ValueError, match="final"):
        callbacks.linear_lr_decay(10, final=2)
    with pytest.raises(ValueError, match="patience"):
        callbacks.FIDEarlyStopping(lambda G: 0.0, patience=0)


# ---- FID early stopping and resume ----------------------------------------------------------


def _fake_fids(values):
    it = iter(values)
    return lambda G: {"fid": next(it), "precision": 0.5}


def _weight_snapshots(store):
    def callback(state):
        store[state.epoch] = copy.deepcopy(state.G.state_dict())
    return callback


def test_fid_early_stopping_stops_after_patience_and_keeps_best(tmp_path):
    G, D = toy_models()
    cfg, kw = wgan.wgan_gp_config(epochs=20, batch_size=64, n_critic=1, z_dim=2, progress=False)
    best_path = tmp_path / "best.pt"
    stopper = callbacks.FIDEarlyStopping(_fake_fids([50.0, 40.0, 42.0, 41.0, 43.0, 30.0]), every=1, patience=3, path=best_path)
    snaps = {}
    history = train(G, D, toy_data(), cfg, callbacks=[stopper, _weight_snapshots(snaps)], **kw)
    assert [s["fid"] for s in stopper.scores] == [50.0, 40.0, 42.0, 41.0, 43.0]  # 30 never reached
    assert stopper.stopped_epoch == 5 and max(history.epoch) == pytest.approx(5.0)
    assert stopper.best == 40.0 and stopper.best_epoch == 2
    ckpt = load_checkpoint(best_path)
    assert ckpt["epoch"] == 2
    for k, v in snaps[2].items():
        assert_close(ckpt["G"][k], v)
        assert_close(stopper.best_state["G"][k], v)
    assert any(not torch.equal(ckpt["G"][k], v) for k, v in snaps[5].items())  # the final weights differ from the best


def test_fid_early_stopping_evaluates_every_k_epochs(tmp_path):
    G, D = toy_models()
    cfg, kw = wgan.wgan_gp_config(epochs=6, batch_size=64, n_critic=1, z_dim=2, progress=False)
    stopper = callbacks.FIDEarlyStopping(_fake_fids([9.0, 8.0, 7.0]), every=2, patience=1)
    train(G, D, toy_data(), cfg, callbacks=[stopper], **kw)
    assert [s["epoch"] for s in stopper.scores] == [2, 4, 6] and stopper.best_epoch == 6 and stopper.stopped_epoch is None


def test_resume_from_best_with_new_learning_rates(tmp_path):
    G, D = toy_models()
    cfg, kw = wgan.wgan_gp_config(epochs=4, batch_size=64, n_critic=1, z_dim=2, progress=False)
    best_path, run = tmp_path / "best.pt", tmp_path / "resumed.pt"
    stopper = callbacks.FIDEarlyStopping(_fake_fids([50.0, 40.0, 45.0, 46.0]), patience=10, path=best_path)
    train(G, D, toy_data(), cfg, callbacks=[stopper], **kw)

    new_cfg = callbacks.resume_config(best_path, run, lr_factor=0.5, extra_epochs=3)
    assert (new_cfg.lr_g, new_cfg.lr_d, new_cfg.epochs) == (5e-5, 5e-5, 5)
    G2, D2 = toy_models(seed=123)  # different weights: the resumed run must load the best ones
    log = []
    train(G2, D2, toy_data(), new_cfg, callbacks=[_lr_recorder(log)], checkpoint=run, **kw)
    assert log == [(3, 5e-5, 5e-5), (4, 5e-5, 5e-5), (5, 5e-5, 5e-5)]  # epochs 3..5 after the best epoch 2, halved rates
    final = load_checkpoint(run)
    assert final["epoch"] == 5 and final["config"]["lr_g"] == 5e-5
    # two runs resumed from the best checkpoint, from different initialisations, end identical: both loaded the best weights
    G3, D3 = toy_models(seed=7)
    run2 = tmp_path / "again.pt"
    cfg3 = callbacks.resume_config(best_path, run2, lr_factor=0.5, extra_epochs=1)
    train(G3, D3, toy_data(), cfg3, checkpoint=run2, **kw)
    G4, D4 = toy_models(seed=8)
    run3 = tmp_path / "again2.pt"
    cfg4 = callbacks.resume_config(best_path, run3, lr_factor=0.5, extra_epochs=1)
    train(G4, D4, toy_data(), cfg4, checkpoint=run3, **kw)
    for k, v in G3.state_dict().items():
        assert_close(G4.state_dict()[k], v)
    for k, v in stopper.best_state["G"].items():
        assert not torch.equal(G3.state_dict()[k], v)  # and they did train on from it


def test_time_critic_step_returns_positive_times():
    G, D = toy_models()
    cfg, kw = wgan.wgan_gp_config(z_dim=2)
    times = diagnostics.time_critic_step(G, D, toy_data(64), cfg, kw, repeats=3, warmup=1)
    assert len(times) == 3 and all(t > 0 for t in times)


def test_clipped_fraction_counts_parameters_at_the_bound():
    D = Discriminator(in_shape=(2,), hidden=(2,))  # 2*2 + 2 + 2 + 1 = 9 parameters
    with torch.no_grad():
        for p in D.parameters():
            p.fill_(0.005)
        D.fc1.weight.copy_(torch.tensor([[0.01, -0.01], [0.0, 0.02]]))
    assert diagnostics.clipped_fraction(D, 0.01) == pytest.approx(3 / 9)


def test_lipschitz_monitor_records_each_epoch():
    G, D = toy_models()
    cfg, kw = wgan.wgan_config(c=0.05, epochs=2, batch_size=64, n_critic=1, z_dim=2, progress=False)
    real, z = toy_data(16, seed=1), torch.randn(16, 2, generator=torch.Generator().manual_seed(2))
    monitor = diagnostics.LipschitzMonitor(real, z)
    train(G, D, toy_data(), cfg, callbacks=[monitor], **kw)
    assert [r["epoch"] for r in monitor.records] == [1, 2]
    last = monitor.records[-1]
    assert last["grad_real"]["fc3"] == pytest.approx(float(D.fc3.weight.detach().norm()), rel=1e-6)
    assert last["sigma"] == pytest.approx(diagnostics.spectral_norms(D))
    with torch.no_grad():
        assert last["gap"] == pytest.approx(float(D(real).mean() - D(G(z)).mean()), rel=1e-5, abs=1e-7)
