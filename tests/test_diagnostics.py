"""ganlib.diagnostics: the saturation experiment of the vanilla chapter (the Lipschitz probes are in test_wgan.py)."""

import torch

import ganlib
from ganlib import Discriminator, Generator


def test_saturation_curve_shows_the_minimax_gradient_vanishing():
    # 2D data far from a fresh generator's output: D learns to reject the fakes within a few steps.
    torch.manual_seed(0)
    real = torch.randn(512, 2) * 0.1 + 4.0
    ganlib.set_seed(0)
    G = Generator(z_dim=2, hidden=(16, 16), out_shape=(2,), out_activation=None)
    D = Discriminator(in_shape=(2,), hidden=(16, 16))
    curve = ganlib.diagnostics.saturation_curve(G, D, real, steps=150, every=50, lr=5e-3)
    assert curve["step"] == [0, 50, 100, 150]
    assert curve["d_fake"][-1] < 0.05 < curve["d_fake"][0]
    assert curve["minimax"][-1] < 0.1 * curve["non-saturating"][-1]
