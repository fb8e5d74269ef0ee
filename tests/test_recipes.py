"""The shared reference runs (ganlib.recipes): the WGAN-GP recipe's checkpoint is the chapter's, and reloads."""

import pytest
import torch

from ganlib import recipes, wgan
from ganlib.training import load_checkpoint


def _tiny_data(n=128):
    gen = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1


def test_wgan_gp_recipe_path_is_the_chapters_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path))
    real = _tiny_data()
    # the WGAN-GP chapter's own construction at smoke scale, before the recipe existed
    cfg, _ = wgan.wgan_gp_config(10.0, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.9), epochs=2, n_critic=2, batch_size=64, seed=0, log_every=1)
    expected = wgan.run_path("WGAN-GP", cfg, real.shape[0], gp=10.0, clip=0.01, arch={"g_norm": "batch"})
    assert expected.parent == tmp_path / "runs"

    first = recipes.wgan_gp(real, scale="smoke", seed=0)
    assert first["path"] == expected and expected.exists()
    assert first["history"].step[-1] == 2  # 128 images, batch 64, n_critic 2: one generator step per epoch, 2 epochs
    mtime = expected.stat().st_mtime_ns

    calls = []
    monkeypatch.setattr("ganlib.training.train", lambda *a, **k: calls.append(1))  # a reload must not train
    second = recipes.wgan_gp(real, scale="smoke", seed=0)
    assert calls == [] and second["path"] == expected and expected.stat().st_mtime_ns == mtime
    for a, b in zip(first["G"].state_dict().values(), second["G"].state_dict().values()):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(second["G"].state_dict()["fc1.weight"], load_checkpoint(expected)["G"]["fc1.weight"])
    assert second["history"].step == first["history"].step

    other = recipes.wgan_gp_config("smoke", seed=1)[0]  # another seed is another run
    assert wgan.run_path("WGAN-GP", other, real.shape[0], gp=10.0, clip=0.01, arch={"g_norm": "batch"}) != expected


def test_wgan_gp_config_presets():
    cfg, kw, arch = recipes.wgan_gp_config("cpu")
    assert (cfg.lr_g, cfg.lr_d, cfg.betas, cfg.n_critic, cfg.epochs, cfg.batch_size) == (1e-3, 1e-3, (0.5, 0.9), 2, 4, 64)
    assert arch == {"g_norm": "batch"} and kw["penalty"] is not None
    cfg, _, arch = recipes.wgan_gp_config("full")
    assert (cfg.lr_g, cfg.betas, cfg.n_critic, cfg.epochs) == (1e-4, (0.0, 0.9), 5, 100) and arch == {"g_norm": None}
    with pytest.raises(ValueError, match="g_norm"):
        recipes.wgan_gp_config("smoke", g_norm="instance")


class _EpochLog:
    """A callback keeping a log (like FIDEarlyStopping): the epochs it saw."""

    def __init__(self):
        self.epochs = []

    def __call__(self, state):
        self.epochs.append(state.epoch)

    def log(self):
        return self.epochs

    def load_log(self, log):
        self.epochs = list(log)


def test_wgan_gp_recipe_retrains_a_run_cached_without_the_callbacks_log(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path))
    real = _tiny_data()
    plain = recipes.wgan_gp(real, scale="smoke")  # e.g. the samplers chapter ran first
    with pytest.warns(UserWarning, match="without the callbacks' logs"):
        logged = recipes.wgan_gp(real, scale="smoke", callbacks=[_EpochLog()])
    assert logged["path"] == plain["path"]
    cb = _EpochLog()
    monkeypatch.setattr("ganlib.training.train", lambda *a, **k: pytest.fail("a cached run with its logs must reload"))
    recipes.wgan_gp(real, scale="smoke", callbacks=[cb])
    assert cb.epochs == [1, 2]
