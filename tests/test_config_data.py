import os
from pathlib import Path

import pytest
import torch

from ganlib import batches, load_mnist
from ganlib.config import by_scale, resolve_scale


def test_resolve_scale(monkeypatch):
    monkeypatch.setenv("GANLIB_SCALE", "smoke")
    assert resolve_scale() == "smoke"
    assert resolve_scale("CPU") == "cpu"  # an explicit parameter wins over the environment
    monkeypatch.delenv("GANLIB_SCALE")
    assert resolve_scale() == ("full" if torch.cuda.is_available() else "cpu")
    assert by_scale("cpu", 1, 2, 3) == 2
    with pytest.raises(ValueError, match="GANLIB_SCALE"):
        resolve_scale("huge")


def test_mnist_tensor(mnist_train):
    images, labels = mnist_train
    assert images.dtype == torch.float32 and images.shape[1:] == (1, 28, 28)
    assert images.shape[0] == labels.shape[0] >= 1000  # the offline subset holds 10,000; the real set 60,000
    assert images.min() == -1 and images.max() == 1
    # uint8 grey levels map exactly onto k / 127.5 - 1
    assert torch.allclose((images + 1) * 127.5, ((images + 1) * 127.5).round(), atol=1e-4)
    assert set(labels.unique().tolist()) == set(range(10))
    test_images, _ = load_mnist(train=False, limit=100)
    assert test_images.shape == (100, 1, 28, 28)


def test_missing_data_names_the_variable(tmp_path):
    with pytest.raises(FileNotFoundError, match="GANLIB_DATA") as err:
        load_mnist(root=tmp_path, download=False)
    assert "MNIST/raw" in str(err.value)


def test_batches_cover_a_permutation():
    data = torch.arange(10.0).unsqueeze(1)
    out = list(batches(data, 3, torch.Generator().manual_seed(0)))
    assert [b.shape[0] for b in out] == [3, 3, 3]  # the last partial batch is dropped
    assert len(set(torch.cat(out).flatten().tolist())) == 9
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(data, 11))


def test_display_path_hides_the_machine_folders(tmp_cache, monkeypatch, tmp_path):
    from ganlib.config import cache_dir, display_path

    assert display_path(cache_dir() / "runs" / "vanilla-1.pt") == "$GANLIB_CACHE/runs/vanilla-1.pt"
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path / "data"))
    assert display_path(tmp_path / "data" / "MNIST") == "$GANLIB_DATA/MNIST"
    assert display_path("/opt/elsewhere/file") == "/opt/elsewhere/file"  # outside the known roots: unchanged


def test_progress_bar_obeys_tqdm_disable_even_when_enabled(monkeypatch):
    from ganlib.config import progress_bar

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert not progress_bar(range(3), enabled=True, file=open(os.devnull, "w")).disable
    assert progress_bar(range(3), enabled=False).disable
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert progress_bar(range(3), enabled=True).disable  # the book build sets it: no bar left on a page


def test_ganlib_warnings_name_the_module_not_the_install_folder():
    import warnings

    import ganlib
    from ganlib.mdgan import mdgan_losses

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mdgan_losses(d=9, sigma=0.25)  # a trapped mixture: warns from ganlib/mdgan.py
    w = next(w for w in caught if "local maximum" in str(w.message))
    text = warnings.formatwarning(w.message, w.category, str(Path(ganlib.__file__).parent / "mdgan.py"), 156)
    assert text.startswith("ganlib/mdgan.py:156: UserWarning") and str(Path(ganlib.__file__).parent) not in text
    other = warnings.formatwarning("m", UserWarning, "/somewhere/else.py", 3)
    assert other.startswith("/somewhere/else.py:3")


@pytest.mark.parametrize("module, name, new", [
    ("ganlib.wgan", "FIDEarlyStopping", "ganlib.callbacks"),
    ("ganlib.wgan", "spectral_norms", "ganlib.diagnostics"),
    ("ganlib.mdgan", "plot_centroid_profiles", "ganlib.plots"),
    ("ganlib.samplers", "show_accepted_rejected", "ganlib.plots"),
])
def test_moved_names_stay_importable_for_one_release(module, name, new):
    import importlib

    with pytest.warns(DeprecationWarning, match=f"{module}.{name} moved to {new}"):
        obj = getattr(importlib.import_module(module), name)
    assert obj is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        getattr(importlib.import_module(module), "no_such_name")
