"""``ganlib evaluate``: on a PNG folder as the lab platform writes it and on template-style G.pth files."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganlib import cli
from ganlib import metrics as M
from ganlib.models import Generator

N = 300


def _write_pngs(images, folder, mode="L"):
    folder.mkdir()
    pixels = ((images[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    for i, p in enumerate(pixels):
        Image.fromarray(p, mode="L").convert(mode).save(folder / f"{i}.png")
    return folder


def _run(argv, capsys):
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_on_png_folder_grey_and_rgb(mnist_test, tmp_path, tmp_cache, capsys):
    images = mnist_test[0][5000 : 5000 + N]  # "fake" digits: a different slice of the test set
    grey = _write_pngs(images, tmp_path / "grey")
    rgb = _write_pngs(images, tmp_path / "rgb", mode="RGB")
    out = _run(["evaluate", str(grey), "--n", str(N), "--device", "cpu"], capsys)
    assert out.pop("source") == str(grey)
    # PNG is lossless for 8-bit digits: the folder gives exactly the numbers of the tensor
    assert out == M.evaluate(images, n=N, device="cpu")
    assert out["n_fake"] == N and out["n_real"] == N
    rgb_out = _run(["evaluate", str(rgb), "--n", str(N)], capsys)
    rgb_out.pop("source")
    assert rgb_out == out
    # numeric file order (0, 1, ..., 10, ...), not lexicographic
    torch.testing.assert_close(M.load_image_folder(grey), images)


def test_cli_on_template_g_pth_and_ganlib_checkpoint(mnist_test, tmp_path, tmp_cache, capsys):
    torch.manual_seed(0)
    G = Generator()  # the lab template's 100-256-512-1024-784 MLP
    expected = M.evaluate(G, n=N, seed=3, device="cpu")
    plain = tmp_path / "G.pth"
    torch.save(G.state_dict(), plain)
    out = _run(["evaluate", str(plain), "--n", str(N), "--seed", "3"], capsys)
    out.pop("source")
    assert out == expected
    # DataParallel prefix and a ganlib checkpoint dict give the same numbers
    prefixed = tmp_path / "G_dp.pth"
    torch.save({"module." + k: v for k, v in G.state_dict().items()}, prefixed)
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"G": G.state_dict(), "D": {}, "step": 10}, ckpt)
    for path in (prefixed, ckpt):
        other = _run(["evaluate", str(path), "--n", str(N), "--seed", "3"], capsys)
        other.pop("source")
        assert other == expected


def test_cli_infers_other_generator_widths(tmp_path):
    G = Generator(z_dim=64, hidden=(128, 256), norm="batch")
    torch.save(G.state_dict(), tmp_path / "G.pth")
    loaded = cli.load_generator(tmp_path / "G.pth")
    assert loaded.z_dim == 64
    z = torch.randn(4, 64)
    torch.testing.assert_close(loaded.eval()(z), G.eval()(z))


def test_cli_errors_are_clear(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["evaluate", str(tmp_path / "empty")]) == 2
    assert "no .png" in capsys.readouterr().err
    torch.save({"weight": torch.zeros(3)}, tmp_path / "bad.pth")
    assert cli.main(["evaluate", str(tmp_path / "bad.pth")]) == 2
    assert "fc1.weight" in capsys.readouterr().err
    big = tmp_path / "big"
    big.mkdir()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(big / "0.png")
    assert cli.main(["evaluate", str(big)]) == 2
    assert "28x28" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([])  # a subcommand is required
