"""The sanity-lab degradations: each does what its name says, with known values where they exist."""

import torch

from ganlib import degrade


def _digits(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, 1, 28, 28), generator=g).float() / 127.5 - 1)


def test_noise_is_seeded_clipped_and_zero_noise_is_identity():
    x = _digits()
    torch.testing.assert_close(degrade.add_noise(x, 0.0), x)
    a, b = degrade.add_noise(x, 0.3, seed=1), degrade.add_noise(x, 0.3, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, degrade.add_noise(x, 0.3, seed=2))
    assert a.min() >= -1 and a.max() <= 1


def test_blur_keeps_constant_images_and_spreads_a_point():
    const = torch.full((2, 1, 28, 28), 0.25)
    torch.testing.assert_close(degrade.blur(const, 1.5), const)  # weights sum to 1, edges replicated
    point = torch.full((1, 1, 28, 28), -1.0)
    point[0, 0, 14, 14] = 1.0
    out = degrade.blur(point, 1.0)
    assert out[0, 0, 14, 14] < 1.0 and out[0, 0, 14, 15] > -1.0
    torch.testing.assert_close(out[0, 0, 14, 13], out[0, 0, 14, 15])  # symmetric kernel
    torch.testing.assert_close(degrade.blur(point, 0.0), point)


def test_drop_classes_and_collapse():
    x = _digits(20)
    labels = torch.arange(20) % 10
    kept = degrade.drop_classes(x, labels, range(5, 10))
    assert kept.shape[0] == 10
    torch.testing.assert_close(kept, x[labels < 5])
    c = degrade.collapse(x, 3, seed=0)
    assert c.shape == x.shape and torch.unique(c.flatten(1), dim=0).shape[0] <= 3


def test_png_is_lossless_and_jpeg_is_not():
    x = _digits()
    torch.testing.assert_close(degrade.png_roundtrip(x), x, rtol=0, atol=1e-6)
    j = degrade.jpeg_roundtrip(x, quality=50)
    assert j.shape == x.shape and (j - x).abs().max() > 0.05
    # higher quality: closer to the original
    assert (degrade.jpeg_roundtrip(x, 95) - x).abs().mean() < (j - x).abs().mean()
