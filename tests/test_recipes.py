"""ganlib.presets and ganlib.recipes: one table of settings per chapter, and the reference runs built from it."""

import pytest
import torch

from ganlib import recipes
from ganlib.presets import PRESETS, S, preset


def test_preset_resolves_the_scale_and_applies_only_given_overrides(capsys):
    p = preset("wgan_gp", "cpu", lr=None, n_critic=3)
    assert (p.scale, p.lr, p.betas, p.n_critic, p.epochs, p.gp_weight) == ("cpu", 1e-3, (0.5, 0.9), 3, 4, 10.0)
    out = capsys.readouterr().out
    assert "wgan_gp settings at cpu scale (changed: n_critic)" in out and "lr 0.001" in out
    full = preset("wgan_gp", "full", show=False)
    assert (full.lr, full.betas, full.n_critic, full.g_norm) == (1e-4, (0.0, 0.9), 5, "none")  # Gulrajani et al.
    assert capsys.readouterr().out == ""


def test_preset_rejects_unknown_names_and_settings():
    with pytest.raises(ValueError, match="no preset 'wgan-gp'"):
        preset("wgan-gp", "smoke")
    with pytest.raises(ValueError, match="has no setting lr_gg"):
        preset("wgan_gp", "smoke", lr_gg=1.0)
    with pytest.raises(ValueError, match="unknown scale"):
        preset("vanilla", "gpu")


def test_every_per_scale_setting_has_three_values():
    for name, table in PRESETS.items():
        for key, value in table.items():
            if isinstance(value, S):
                assert len(value) == 3, (name, key)


def test_wgan_gp_spec_is_the_chapters_and_the_samplers_reuse_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path))
    real = torch.rand(128, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    spec = recipes.wgan_gp_spec(preset("wgan_gp", "smoke", show=False), real.shape[0])
    assert (spec.cfg.lr_g, spec.cfg.betas, spec.cfg.n_critic, spec.method.gp_weight, spec.g_arch) == (
        1e-3, (0.5, 0.9), 2, 10.0, {"norm": "batch"})
    assert spec.early_stopping is not None and spec.method.loss == "wasserstein"
    fids = iter([3.0, 2.0])
    from ganlib import runs

    first = runs.train_or_load(spec, real, evaluate_fn=lambda G: next(fids))
    assert first.history.step[-1] == 2  # 128 images, batch 64, n_critic 2: one generator step per epoch, 2 epochs
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("the samplers chapter must reuse the run"))
    again = recipes.train_wgan_gp(real, scale="smoke")
    assert again.reused and again.path == first.path


def test_wgan_gp_variants_share_the_budget():
    v = recipes.wgan_gp_variants(preset("wgan_gp", "cpu", show=False), 10_000)
    assert set(v) == {"WGAN-GP", "WGAN clip", "WGAN-SN", "WGAN-GP, paper defaults"}
    assert len({s.path for s in v.values()}) == 4 and len({s.cfg.epochs for s in v.values()}) == 1
    assert v["WGAN clip"].cfg.optimizer == "rmsprop" and v["WGAN clip"].method.clip == 0.01
    assert v["WGAN-SN"].d_arch == {"spectral_norm": True} and v["WGAN-GP, paper defaults"].cfg.n_critic == 5
    with pytest.raises(ValueError, match="g_norm"):
        recipes.wgan_gp_spec(preset("wgan_gp", "cpu", show=False, g_norm="instance"), 10)


def test_deprecated_recipes_still_train(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path))
    real = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    cfg = recipes.vanilla_config(preset("vanilla", "smoke", show=False), epochs=1)
    with pytest.warns(DeprecationWarning, match="method_gan"):
        run = recipes.method_gan(real, cfg, name="r1", r1_gamma=1.0)
    assert run["G"] is run.G and run.spec.method.r1_gamma == 1.0
