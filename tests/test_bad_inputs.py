"""A student's first-week mistakes: each bad input gets a clear error (its type and the key words of
its message are asserted) or an honest warning, nothing is silently wrong, and no file that ganlib
did not write is overwritten. No message advises deleting a file.

Families (the closing note of issue 12 counts them): sample sizes, pixel range and dtype, image
files, checkpoint files, overwriting, runaway training, resume, hyperparameters and losses,
device and cache, samplers. Metric exactness on degenerate sets is in test_metrics.py.
"""

import os
import sys
import time
import types
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import ganlib
from ganlib import losses as L
from ganlib.cli import main as cli
from ganlib.config import cache_dir, default_device
from ganlib.images import export_pngs, load_pngs, to_uint8
from ganlib.metrics import evaluate, minimum_samples, real_statistics
from ganlib.models import Discriminator, Generator, read_checkpoint
from ganlib.samplers import drs_sample, is_rejection_sample
from ganlib.training import DivergenceError, TrainConfig, load_checkpoint, train


def _models(seed=0):
    ganlib.set_seed(seed)
    return Generator(), Discriminator()


def _cfg(**kw):
    base = dict(epochs=1, batch_size=64, log_every=4, progress=False)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def real(mnist_test):
    return mnist_test[0][:1000]


def _no_delete_advice(err):
    assert "delete" not in str(err.value).lower()


class SigmoidG(nn.Module):
    """A student's generator that ends in a sigmoid: samples in [0, 1]."""

    z_dim = 100

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 784)

    def forward(self, z):
        return torch.sigmoid(self.fc(z)).view(-1, 1, 28, 28)


# --------------------------------------------------------------------------- sample sizes
def test_minimum_sample_sizes_are_documented_values():
    need = minimum_samples()
    assert need["FID"] == 129  # more than the 128 feature dimensions
    assert need["Inception Score (10 splits)"] == 200  # 20 images per split
    assert need["precision/recall/density/coverage"] == 100
    assert minimum_samples(splits=5)["Inception Score (5 splits)"] == 100


def test_evaluate_refuses_ten_images(real):
    with pytest.raises(ValueError, match=r"only 10 fake images.*at least 200") as err:
        evaluate(real[:10], real=real)
    assert "Inception Score" in str(err.value) and "FID" in str(err.value)


def test_evaluate_refuses_too_few_real_images(real):
    with pytest.raises(ValueError, match="only 10 real images"):
        evaluate(real[:300], real=real[:10])


def test_evaluate_n_below_the_minimum_is_refused(real):
    with pytest.raises(ValueError, match="only 50 fake"):
        evaluate(real, real=real, n=50)


def test_cli_refuses_a_folder_of_ten_pngs(real, tmp_path, capsys):
    export_pngs(real[:10], tmp_path / "few", n=10)
    assert cli(["evaluate", str(tmp_path / "few"), "--n", "1000"]) == 2
    assert "too few" in capsys.readouterr().err


def test_evaluate_warns_when_the_sets_differ_in_size(real, mnist_train):
    with pytest.warns(UserWarning, match=r"compare values only at equal sizes.*n=300"):
        evaluate(mnist_train[0][:300], real=real, n=1000)


def test_equal_sizes_give_no_warning(real, mnist_train):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate(mnist_train[0][:300], real=real, n=300)


def test_evaluate_refuses_zero_splits(real):
    with pytest.raises(ValueError, match="splits"):
        evaluate(real[:300], real=real, n=300, splits=0)


# --------------------------------------------------------------------------- pixel range and dtype
@pytest.mark.parametrize(
    "convert, words",
    [
        (lambda x: (x + 1) / 2, r"x \* 2 - 1"),  # [0, 1] floats
        (lambda x: (x + 1) * 127.5, r"x / 127.5 - 1"),  # [0, 255] floats
        (lambda x: to_uint8(x), "dtype torch.uint8"),  # 0..255 integers
    ],
    ids=["unit", "0-255-float", "uint8"],
)
def test_evaluate_refuses_images_outside_minus_one_one(real, convert, words):
    with pytest.raises(ValueError, match=words):
        evaluate(convert(real[:300]), real=real, n=300)
    with pytest.raises(ValueError, match=words):  # the real set is checked the same way
        evaluate(real[:300], real=convert(real), n=300)


def test_a_nan_pixel_is_named_not_a_linalg_error(real):
    x = real[:300].clone()
    x[3, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="1 NaN or inf pixel"):
        evaluate(x, real=real, n=300)


def test_a_sigmoid_generator_is_refused_by_evaluate_and_export(real, tmp_path):
    with pytest.raises(ValueError, match="tanh, not sigmoid"):
        evaluate(SigmoidG(), real=real, n=300)
    with pytest.raises(ValueError, match="tanh, not sigmoid"):
        export_pngs(SigmoidG(), tmp_path / "s", n=20)


def test_real_statistics_refuse_unit_range(real):
    with pytest.raises(ValueError, match="look like \\[0, 1\\] images"):
        real_statistics((real + 1) / 2, cache=False)


def test_train_refuses_unit_range_images(real):
    G, D = _models()
    before = [p.clone() for p in G.parameters()]
    with pytest.raises(ValueError, match=r"x \* 2 - 1"):
        train(G, D, (real + 1) / 2, _cfg())
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))


def test_train_refuses_flat_unit_range_images(real):
    G, D = _models()
    with pytest.raises(ValueError, match="look like \\[0, 1\\]"):
        train(G, D, ((real + 1) / 2).view(-1, 784), _cfg())


def test_train_refuses_float64_and_uint8_data(real):
    G, D = _models()
    with pytest.raises(TypeError, match=r"float64.*data\.float\(\)"):
        train(G, D, real.double(), _cfg())
    with pytest.raises(TypeError, match="x.float\\(\\) / 127.5 - 1"):
        train(G, D, to_uint8(real), _cfg())


def test_train_on_2d_points_has_no_pixel_check():
    points = torch.rand(256, 2)  # toy data: any range is fine
    G = Generator(z_dim=2, hidden=(16,), out_shape=(2,), out_activation=None)
    D = Discriminator(in_shape=(2,), hidden=(16,))
    train(G, D, points, _cfg(z_dim=2, batch_size=32))


def test_export_refuses_unit_range_and_writes_nothing(real, tmp_path):
    with pytest.raises(ValueError, match=r"x \* 2 - 1"):
        export_pngs((real[:20] + 1) / 2, tmp_path / "out", n=20)
    assert not (tmp_path / "out").exists()


def test_save_grid_refuses_unit_range(real, tmp_path):
    from ganlib.images import save_grid

    with pytest.raises(ValueError, match=r"x \* 2 - 1"):
        save_grid((real[:16] + 1) / 2, tmp_path / "grid.png")
    assert save_grid(real[:16], tmp_path / "grid.png").exists()


# --------------------------------------------------------------------------- image files
def _write(folder, arrays, save):
    folder.mkdir()
    for i, a in enumerate(arrays):
        save(a, folder / f"{i}.png")
    return folder


def test_sixteen_bit_pngs_are_scaled_by_their_depth(real, tmp_path):
    from PIL import Image

    u8 = to_uint8(real[:20])[:, 0].numpy()
    f8 = _write(tmp_path / "8", u8, lambda a, p: Image.fromarray(a, "L").save(p))
    f16 = _write(tmp_path / "16", u8, lambda a, p: Image.fromarray(a.astype(np.uint16) * 257).save(p))
    with Image.open(f16 / "0.png") as img:
        assert img.mode.startswith("I")  # really a 16-bit file
    torch.testing.assert_close(load_pngs(f16), load_pngs(f8), rtol=0, atol=0)


def test_colour_mapped_pngs_are_refused_and_grey_ones_read(real, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    u8 = to_uint8(real[:5])[:, 0].numpy()
    colour = _write(tmp_path / "viridis", u8, lambda a, p: plt.imsave(p, a))
    with pytest.raises(ValueError, match=r"colour image.*cmap='gray'"):
        load_pngs(colour)
    grey = _write(tmp_path / "grey", u8, lambda a, p: plt.imsave(p, a, cmap="gray", vmin=0, vmax=255))
    expected = torch.from_numpy(u8).float().div(127.5).sub(1).unsqueeze(1)
    assert float((load_pngs(grey) - expected).abs().max()) <= 2 / 255 + 1e-6  # matplotlib rounds by a level


def test_evaluate_accepts_a_checkpoint_path_like_the_cli(real, tmp_path):
    G = Generator()
    torch.save(G.state_dict(), tmp_path / "G.pth")
    a = evaluate(str(tmp_path / "G.pth"), real=real, n=200)
    b = evaluate(G, real=real, n=200)
    assert a == b


# --------------------------------------------------------------------------- checkpoint files
def _whole_model_of_a_missing_class(path):
    mod = types.ModuleType("student_gan")
    exec("import torch\nclass MyGenerator(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.fc = torch.nn.Linear(100, 784)\n", mod.__dict__)
    sys.modules["student_gan"] = mod
    try:
        torch.save(mod.MyGenerator(), path)
    finally:
        del sys.modules["student_gan"]


@pytest.mark.parametrize(
    "make, words",
    [
        (_whole_model_of_a_missing_class, r"whole model object.*torch\.save\(G\.state_dict\(\), 'G\.pth'\)"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100), "PNG image"),
        (lambda p: __import__("zipfile").ZipFile(p, "w").writestr("notes.txt", "hello"), "zip archive"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: (torch.save(Generator().state_dict(), p), p.write_bytes(p.read_bytes()[:5000])), "incomplete"),
    ],
    ids=["whole-module", "png", "zip", "empty", "truncated"],
)
def test_unreadable_checkpoints_say_what_the_file_is(tmp_path, make, words, real, capsys):
    path = tmp_path / "G.pth"
    make(path)
    content = path.read_bytes()
    with pytest.raises(ValueError, match=words) as err:
        read_checkpoint(path)
    _no_delete_advice(err)
    G, D = _models()
    with pytest.raises(ValueError, match=words) as err:
        train(G, D, real[:256], _cfg(), checkpoint=path)
    _no_delete_advice(err)
    assert path.read_bytes() == content
    assert cli(["evaluate", str(path)]) == 2
    assert "delete" not in capsys.readouterr().err.lower()


# --------------------------------------------------------------------------- overwriting
@pytest.mark.parametrize("resume", [False, True])
def test_train_never_overwrites_a_lab_template_state_dict(real, tmp_path, resume):
    path = tmp_path / "G.pth"
    torch.save(Generator().state_dict(), path)
    content = path.read_bytes()
    G, D = _models()
    with pytest.raises(ValueError, match="state_dict.*does not overwrite") as err:
        train(G, D, real[:256], _cfg(), checkpoint=path, resume=resume)
    _no_delete_advice(err)
    assert path.read_bytes() == content


def test_train_with_resume_false_overwrites_its_own_checkpoint(real, tmp_path):
    path = tmp_path / "run.pt"
    G, D = _models()
    train(G, D, real[:256], _cfg(), checkpoint=path)
    G, D = _models(1)
    train(G, D, real[:256], _cfg(seed=1), checkpoint=path, resume=False)
    assert load_checkpoint(path)["config"]["seed"] == 1


def test_export_into_a_folder_with_images_is_refused_unless_overwrite(real, tmp_path):
    folder = export_pngs(real[:30], tmp_path / "s", n=30)
    with pytest.raises(FileExistsError, match="already holds 30 image files.*overwrite=True"):
        export_pngs(real[:10], folder, n=10)
    (folder / "notes.txt").write_text("mine")
    export_pngs(real[:10], folder, n=10, overwrite=True)
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(f"{i}.png" for i in range(10))
    assert (folder / "notes.txt").read_text() == "mine"  # only image files are replaced


def test_export_into_a_file_path_is_refused(real, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        export_pngs(real[:5], tmp_path / "f", n=5)


def test_a_checkpoint_folder_is_refused_before_training(real, tmp_path):
    G, D = _models()
    before = [p.clone() for p in G.parameters()]
    with pytest.raises(IsADirectoryError, match="is a folder"):
        train(G, D, real[:256], _cfg(), checkpoint=tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))  # nothing trained


def test_a_checkpoint_below_a_file_is_refused_before_training(real, tmp_path):
    (tmp_path / "notes").write_text("x")
    G, D = _models()
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        train(G, D, real[:256], _cfg(), checkpoint=tmp_path / "notes" / "run.pt")


def test_an_unwritable_checkpoint_folder_is_refused_before_training(real, tmp_path, monkeypatch):
    # a read-only folder: os.access says so (patched, because the tests may run as root, who can write anywhere)
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    G, D = _models()
    with pytest.raises(PermissionError, match="is not writable; choose another folder"):
        train(G, D, real[:256], _cfg(), checkpoint=tmp_path / "run.pt")


# --------------------------------------------------------------------------- runaway training
def test_an_exploding_run_stops_and_never_writes_a_checkpoint(real, tmp_path):
    G, D = _models()
    with pytest.raises(DivergenceError, match=r"ran away.*lr_g=1000.0"):
        train(G, D, real[:512], _cfg(lr_g=1e3, lr_d=1e3, epochs=3), checkpoint=tmp_path / "run.pt")
    assert not (tmp_path / "run.pt").exists()


def test_resuming_a_good_run_with_lr_1e3_keeps_the_good_checkpoint(real, tmp_path):
    path = tmp_path / "run.pt"
    G, D = _models()
    train(G, D, real[:512], _cfg(epochs=1), checkpoint=path)
    good = path.read_bytes()
    G, D = _models()
    with pytest.raises(DivergenceError, match=r"ran away.*kept unchanged"):
        train(G, D, real[:512], _cfg(epochs=3, lr_g=1e3, lr_d=1e3), checkpoint=path)
    assert path.read_bytes() == good


# --------------------------------------------------------------------------- resume with other settings
def test_resume_applies_new_betas_and_records_them(real, tmp_path, capsys):
    path = tmp_path / "run.pt"
    G, D = _models()
    train(G, D, real[:512], _cfg(epochs=1), checkpoint=path)
    G, D = _models()
    train(G, D, real[:512], _cfg(epochs=2, betas=(0.5, 0.999)), checkpoint=path)
    assert "betas: (0.9, 0.999) -> (0.5, 0.999)" in capsys.readouterr().out
    ckpt = load_checkpoint(path)
    assert tuple(ckpt["config"]["betas"]) == (0.5, 0.999)
    assert all(tuple(g["betas"]) == (0.5, 0.999) for g in ckpt["opt_G"]["param_groups"] + ckpt["opt_D"]["param_groups"])


@pytest.mark.parametrize("change, field", [(dict(seed=5), "seed"), (dict(optimizer="rmsprop"), "optimizer"),
                                           (dict(batch_size=32), "batch_size")])
def test_resume_refuses_settings_that_define_the_run(real, tmp_path, change, field):
    path = tmp_path / "run.pt"
    G, D = _models()
    train(G, D, real[:512], _cfg(epochs=1), checkpoint=path)
    good = path.read_bytes()
    G, D = _models()
    with pytest.raises(ValueError, match=f"cannot resume.*{field}: .* -> ") as err:
        train(G, D, real[:512], _cfg(epochs=2, **change), checkpoint=path)
    assert "resume=False" in str(err.value)
    assert path.read_bytes() == good


# --------------------------------------------------------------------------- hyperparameters and losses
@pytest.mark.parametrize(
    "kw, error, words",
    [
        (dict(lr_g="2e-4"), TypeError, "lr_g=2e-4, without quotes"),
        (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(epochs=1.5), TypeError, "epochs must be an integer"),
        (dict(betas=(0.5,)), TypeError, "betas must be two numbers"),
        (dict(max_steps=2.5), TypeError, "max_steps"),
        (dict(n_critic=True), TypeError, "n_critic must be an integer"),
    ],
)
def test_wrong_types_and_impossible_values_are_named(real, kw, error, words):
    G, D = _models()
    with pytest.raises(error, match=words):
        train(G, D, real[:256], _cfg(**kw))


def test_a_dict_config_is_accepted_and_unknown_keys_are_named(real):
    G, D = _models()
    history = train(G, D, real[:256], dict(epochs=1, batch_size=64, progress=False))
    assert len(history.step) == 4
    with pytest.raises(TypeError, match=r"unknown TrainConfig field\(s\) \['lr'\]"):
        train(G, D, real[:256], dict(epochs=1, lr=1e-3))
    with pytest.raises(TypeError, match="must be a ganlib.TrainConfig"):
        train(G, D, real[:256], [1, 2])


def test_a_swapped_loss_pair_is_named(real):
    G, D = _models()
    with pytest.raises(TypeError, match="look swapped"):
        train(G, D, real[:256], _cfg(), d_loss=L.g_loss_nonsaturating, g_loss=L.d_loss_bce)
    with pytest.raises(TypeError, match="d_loss must take"):
        train(G, D, real[:256], _cfg(), d_loss=L.g_loss_nonsaturating)
    with pytest.raises(TypeError, match="d_loss must be a function"):
        train(G, D, real[:256], _cfg(), d_loss="bce")


# --------------------------------------------------------------------------- device and cache
@pytest.mark.parametrize("name, words", [("gpu", "use 'cuda'"), ("tpu9", "not a torch device")])
def test_device_names_are_checked(name, words, capsys, tmp_path):
    with pytest.raises(ValueError, match=words):
        default_device(name)
    assert cli(["evaluate", str(tmp_path), "--device", name]) == 2
    assert words.split()[-1].strip("'") in capsys.readouterr().err


def test_a_cache_that_is_a_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "c").write_text("x")
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "c"))
    with pytest.raises(NotADirectoryError, match="GANLIB_CACHE.*is a file"):
        cache_dir()


def test_an_unwritable_cache_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # as above: root could write anyway
    with pytest.raises(PermissionError, match="GANLIB_CACHE .* is not writable"):
        cache_dir()


# --------------------------------------------------------------------------- samplers
@pytest.mark.parametrize("kw, words", [(dict(threshold=11.0), "at most min\\(100, 10\\) = 10"),
                                       (dict(threshold=5.0, batch_size=4), "at most min\\(4, 10\\) = 4")])
def test_an_impossible_is_threshold_fails_at_once(kw, words):
    t = time.perf_counter()
    with pytest.raises(ValueError, match=words):
        is_rejection_sample(Generator(), 10_000, progress=False, **kw)
    assert time.perf_counter() - t < 1.0


def test_an_impossible_threshold_for_another_classifier_fails_after_one_batch():
    def three_classes(x):
        return torch.full((x.shape[0], 3), 1 / 3)

    with pytest.raises(ValueError, match="over 3 classes"):
        is_rejection_sample(Generator(), 100, threshold=5.0, classifier=three_classes, progress=False)


def test_an_unlikely_is_threshold_fails_with_a_projection():
    with pytest.raises(RuntimeError, match="would need about .* beyond max_proposals"):
        is_rejection_sample(Generator(), 1000, threshold=9.9, batch_size=20, max_proposals=2000, progress=False)


def test_an_unreachable_drs_target_fails_before_proposing():
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"DRS: 0 of 10000 samples accepted after 0 proposals.*Lower gamma"):
        drs_sample(Generator(), Discriminator(), 10_000, gamma=50.0, burn_in=1000, progress=False)
    assert time.perf_counter() - t < 10.0
