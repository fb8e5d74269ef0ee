import math

import pytest
import torch
from torch.testing import assert_close

from ganlib import losses as L


def test_d_loss_at_half_is_log4():
    # D(x) = 1/2 everywhere (logit 0): -log(1/2) - log(1/2) = log 4, the template's summed BCE.
    zeros = torch.zeros(16)
    assert_close(L.d_loss_bce(zeros, zeros), torch.tensor(math.log(4.0)))


def test_losses_match_bce_on_sigmoid_outputs():
    torch.manual_seed(0)
    real, fake = torch.randn(32) * 3, torch.randn(32) * 3
    bce = torch.nn.functional.binary_cross_entropy
    expected_d = bce(torch.sigmoid(real), torch.ones(32)) + bce(torch.sigmoid(fake), torch.zeros(32))
    assert_close(L.d_loss_bce(real, fake), expected_d, rtol=1e-5, atol=1e-6)
    assert_close(L.g_loss_nonsaturating(fake), bce(torch.sigmoid(fake), torch.ones(32)), rtol=1e-5, atol=1e-6)
    assert_close(L.g_loss_minimax(fake), torch.log1p(-torch.sigmoid(fake)).mean(), rtol=1e-5, atol=1e-6)


def test_known_values():
    t = torch.tensor([2.0])
    assert_close(L.g_loss_nonsaturating(t), torch.tensor(math.log1p(math.exp(-2.0))))
    assert_close(L.g_loss_minimax(t), torch.tensor(-math.log1p(math.exp(2.0))))
    assert_close(L.d_loss_wasserstein(torch.tensor([3.0, 1.0]), torch.tensor([0.5])), torch.tensor(-1.5))
    assert_close(L.g_loss_wasserstein(torch.tensor([0.5, 1.5])), torch.tensor(-1.0))


def test_stable_at_extreme_logits():
    big = torch.tensor([200.0, -200.0])
    for value in (L.d_loss_bce(big, big), L.g_loss_nonsaturating(big), L.g_loss_minimax(big)):
        assert torch.isfinite(value)
    # A D that rejects fakes with logit -200 leaves the minimax loss flat (gradient ~0) but not the
    # non-saturating one (gradient -1/2 per sample): the vanishing gradient of Goodfellow et al. 2014.
    fake = torch.full((2,), -200.0, requires_grad=True)
    (g_mm,) = torch.autograd.grad(L.g_loss_minimax(fake), fake)
    (g_ns,) = torch.autograd.grad(L.g_loss_nonsaturating(fake), fake)
    assert_close(g_mm, torch.zeros(2))
    assert_close(g_ns, torch.full((2,), -0.5))


def test_get_losses():
    assert L.get_losses("non-saturating") == (L.d_loss_bce, L.g_loss_nonsaturating)
    with pytest.raises(ValueError, match="unknown loss"):
        L.get_losses("hinge-ish")
