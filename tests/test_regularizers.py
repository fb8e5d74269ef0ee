"""ganlib.regularizers: the gradient penalty and R1 at exactly known values, for points and images alike."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from ganlib import regularizers as R
from ganlib.models import Discriminator


class LinearCritic(nn.Module):
    """D(x) = w . flatten(x) + b, whose input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.fc = nn.Linear(w.numel(), 1, dtype=torch.float64)
        with torch.no_grad():
            self.fc.weight.copy_(w.reshape(1, -1))
            self.fc.bias.fill_(b)

    def forward(self, x):
        return self.fc(x.flatten(1)).squeeze(1)


@pytest.mark.parametrize("shape, w_value, expected", [
    ((2,), [3.0, 4.0], 10 * (5.0 - 1) ** 2),  # ||w|| = 5
    ((1, 28, 28), None, 10 * (0.5 - 1) ** 2),  # 784 entries of 1/56: ||w|| = 28/56 = 0.5
])
def test_gradient_penalty_on_linear_critic_is_exact(shape, w_value, expected):
    n = 16
    numel = torch.Size(shape).numel()
    w = torch.tensor(w_value, dtype=torch.float64) if w_value else torch.full((numel,), 1 / 56, dtype=torch.float64)
    D = LinearCritic(w)
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(n, *shape, generator=gen, dtype=torch.float64)
    fake = torch.randn(n, *shape, generator=gen, dtype=torch.float64)
    penalty = R.gp_penalty(gp_weight=10)(D, real, fake)
    assert_close(penalty, torch.tensor(expected, dtype=torch.float64))


def test_one_sided_penalty_ignores_norms_below_one():
    real, fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    small = LinearCritic(torch.tensor([0.3, 0.4], dtype=torch.float64))  # ||w|| = 0.5
    large = LinearCritic(torch.tensor([3.0, 4.0], dtype=torch.float64))  # ||w|| = 5
    assert_close(R.gp_penalty(10, one_sided=True)(small, real, fake), torch.tensor(0.0, dtype=torch.float64))
    assert_close(R.gp_penalty(10, one_sided=False)(small, real, fake), torch.tensor(2.5, dtype=torch.float64))
    assert_close(R.gp_penalty(10, one_sided=True)(large, real, fake), torch.tensor(160.0, dtype=torch.float64))


def test_gradient_penalty_backpropagates_through_the_image_critic():
    # the imposed MLP critic on MNIST-shaped tensors: finite, positive, and it backpropagates into D
    torch.manual_seed(0)
    D = Discriminator(hidden=(32, 16))
    real, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    gp = R.gradient_penalty(D, real, fake)
    gp.backward()
    assert torch.isfinite(gp) and gp > 0
    # every weight matrix gets a finite gradient (biases of the last layer do not change grad_x D, so may get none)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for n, p in D.named_parameters() if n.endswith("weight"))



def test_r1_on_linear_critic_is_half_gamma_w_squared():
    w = torch.tensor([0.3, -1.2])
    D = torch.nn.Linear(2, 1, bias=True)
    with torch.no_grad():
        D.weight.copy_(w[None])
        D.bias.fill_(0.7)
    real = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    for gamma in (0.1, 10.0):
        assert_close(R.r1(gamma)(D, real, None), torch.tensor(gamma / 2 * float(w @ w)))


def test_input_grad_norm_is_the_norm_of_w_for_a_linear_critic():
    D = LinearCritic(torch.tensor([3.0, 4.0], dtype=torch.float64))
    x = torch.randn(5, 2, dtype=torch.float64)
    assert_close(R.input_grad_norm(D, x, create_graph=False), torch.full((5,), 5.0, dtype=torch.float64))


def test_wgan_gp_is_a_deprecated_alias_of_gp_penalty():
    with pytest.warns(DeprecationWarning, match="gp_penalty"):
        R.wgan_gp(10.0)
