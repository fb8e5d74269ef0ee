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


def test_method_gan_caches_by_every_hyperparameter(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path))
    from ganlib.training import TrainConfig

    real = _tiny_data()
    cfg = TrainConfig(epochs=1, batch_size=64, seed=0, progress=False, log_every=1)
    first = recipes.method_gan(real, cfg, name="unrolled", unroll=1, lr_unroll=1e-4)
    again = recipes.method_gan(real, cfg, name="unrolled", unroll=1, lr_unroll=1e-4)  # reloaded, not retrained
    assert again["path"] == first["path"] and again["history"].step == first["history"].step
    for a, b in zip(first["G"].parameters(), again["G"].parameters()):
        assert torch.equal(a, b)
    other = recipes.method_gan(real, cfg, name="unrolled", unroll=1, lr_unroll=1e-3)
    assert other["path"] != first["path"]
    md = recipes.method_gan(real, cfg, name="mdgan", mdgan=dict(d=3, sigma=0.2))
    assert md["md"].d == 3 and md["D"](real[:5]).shape == (5, 3)
    # the vanilla recipe keeps the cache key it had before method_gan existed
    from ganlib.config import run_path

    assert recipes.vanilla_gan(real, cfg)["path"] == run_path("vanilla", cfg=cfg, loss="non-saturating", n_train=real.shape[0])


def test_method_kwargs_build_the_pieces():
    kw, out_dim, md = recipes.method_kwargs(r1_gamma=10.0, unroll=2, lookahead="adam")
    assert out_dim == 1 and md is None and kw["penalty"] is not None and kw["g_step"].k == 2
    kw, out_dim, md = recipes.method_kwargs(mdgan=dict(d=4, sigma=0.2))
    assert out_dim == 4 and kw["d_loss"] == md.d_loss and kw["penalty"] is None and kw["g_step"] is None
