import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

import ganlib
from ganlib.images import export_pngs, load_pngs, sample, to_uint8, to_unit


def test_to_unit_maps_the_whole_tanh_range():
    x = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])
    assert_close(to_unit(x), torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))
    assert to_uint8(x).tolist() == [0, 64, 128, 191, 255]


def test_png_export_round_trips(tmp_path):
    torch.manual_seed(0)
    images = torch.rand(12, 1, 28, 28) * 2 - 1
    export_pngs(images, tmp_path, n=12)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.png" for k in range(12))
    with Image.open(tmp_path / "3.png") as img:
        assert img.mode == "L" and img.size == (28, 28)
        assert_close(torch.from_numpy(np.array(img)), to_uint8(images[3, 0]))
    back = load_pngs(tmp_path)
    assert back.shape == images.shape
    assert (back - images).abs().max() <= 1 / 255 + 1e-6  # only the 8-bit quantisation is lost


def test_export_from_generator_is_seeded(tmp_path):
    ganlib.set_seed(0)
    G = ganlib.Generator()
    export_pngs(G, tmp_path / "a", n=5, seed=7)
    export_pngs(G, tmp_path / "b", n=5, seed=7)
    assert torch.equal(load_pngs(tmp_path / "a"), load_pngs(tmp_path / "b"))
    assert_close(load_pngs(tmp_path / "a"), sample(G, 5, seed=7), atol=1 / 255 + 1e-6, rtol=0)


def test_sample_keeps_training_mode_and_batches():
    G = ganlib.Generator(norm="batch").train()
    a = sample(G, 10, seed=1, batch_size=3)
    assert a.shape == (10, 1, 28, 28) and G.training
    assert_close(a, sample(G, 10, seed=1, batch_size=10))  # batching changes only float rounding
    with pytest.raises(ValueError):
        sample(G, 0)


def test_load_pngs_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .png"):
        load_pngs(tmp_path)


def test_home_folder_paths_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = export_pngs(torch.zeros(3, 1, 28, 28), "~/samples", n=3)
    assert folder == tmp_path / "samples" and len(list(folder.glob("*.png"))) == 3
