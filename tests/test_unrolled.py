"""Tests of the unrolled generator step (Metz et al. 2016)."""

import copy

import pytest
import torch
from torch.testing import assert_close

from ganlib import losses as L
from ganlib import toys
from ganlib.training import TrainConfig, generator_step, train
from ganlib.unrolled import unrolled_d_params, unrolled_g_step


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny 2D MLPs: see conftest.one_thread


def _setup(seed=0):
    G, D = toys.toy_models(seed=seed)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(32, 2, generator=gen)
    real = toys.ring().sample(32, seed=seed)
    return G, D, z, real


def _after_step(step, G, D, z, real):
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-2)
    loss = step(G, D, opt_G, z, L.g_loss_nonsaturating, real)
    return loss, G, D


def test_k0_equals_plain_generator_step_exactly():
    G, D, z, real = _setup()
    for _ in range(3):  # several steps: Adam's state must match too
        loss_a, Ga, Da = _after_step(generator_step, G, D, z, real)
        loss_b, Gb, Db = _after_step(unrolled_g_step(0, L.d_loss_bce, 0.1), G, D, z, real)
        assert_close(loss_a, loss_b, rtol=0, atol=0)
        for pa, pb in zip(Ga.parameters(), Gb.parameters()):
            assert_close(pa, pb, rtol=0, atol=0)
        for pa, pb in zip(Da.parameters(), Db.parameters()):
            assert_close(pa, pb, rtol=0, atol=0)
        G = Ga


def test_k_steps_change_the_update_and_leave_D_untouched():
    G, D, z, real = _setup()
    D_before = copy.deepcopy(D.state_dict())
    _, G0, _ = _after_step(unrolled_g_step(0, L.d_loss_bce, 0.5), G, D, z, real)
    _, G3, D3 = _after_step(unrolled_g_step(3, L.d_loss_bce, 0.5), G, D, z, real)
    assert any(not torch.equal(a, b) for a, b in zip(G0.parameters(), G3.parameters()))
    for k, v in D3.state_dict().items():
        assert torch.equal(v, D_before[k])
    assert all(p.grad is None for p in D3.parameters())


def test_one_lookahead_step_is_gradient_descent():
    G, D, z, real = _setup()
    fake = G(z).detach()
    params = unrolled_d_params(D, real, fake, L.d_loss_bce, k=1, lr_d=0.3)
    D.zero_grad()
    L.d_loss_bce(D(real), D(fake)).backward()
    for name, p in D.named_parameters():
        assert_close(params[name], p.detach() - 0.3 * p.grad)


def test_lookahead_depends_on_G():
    """The unrolled D's weights carry gradients to G (the term that makes unrolling matter)."""
    G, D, z, real = _setup()
    params = unrolled_d_params(D, real, G(z), L.d_loss_bce, k=2, lr_d=0.5)
    grads = torch.autograd.grad(params["fc3.weight"].sum(), list(G.parameters()))
    assert sum(float(g.abs().sum()) for g in grads) > 0


def _ring(n_batches, log_every):
    """Ring data for ``n_batches`` batches of 64 and a one-epoch TrainConfig for the toy MLPs: (data, cfg)."""
    return toys.ring().sample(64 * n_batches, seed=0), TrainConfig(epochs=1, batch_size=64, z_dim=2, progress=False, device="cpu",
                                                                     log_every=log_every)


def _trained(data, cfg, **kwargs):
    """Train the toy MLPs from seed 1 on ``data`` (``kwargs`` go to ``train``): (G, history)."""
    G, D = toys.toy_models(seed=1)
    return G, train(G, D, data, cfg, **kwargs)


def test_train_with_unrolled_step_runs_and_k0_matches_plain_training():
    data, cfg = _ring(10, 5)
    G1, h1 = _trained(data, cfg)
    G2, h2 = _trained(data, cfg, g_step=unrolled_g_step(0, L.d_loss_bce, 1e-3))
    assert h1.g_loss == h2.g_loss and h1.d_loss == h2.d_loss
    for a, b in zip(G1.parameters(), G2.parameters()):
        assert_close(a, b, rtol=0, atol=0)
    _, h3 = _trained(data, cfg, g_step=unrolled_g_step(2, L.d_loss_bce, 0.1))
    assert len(h3.g_loss) == 10 and h3.g_loss != h1.g_loss  # one entry per generator step


def test_bad_arguments():
    with pytest.raises(ValueError, match="k"):
        unrolled_g_step(-1, L.d_loss_bce, 0.1)
    with pytest.raises(ValueError, match="lr_d"):
        unrolled_g_step(1, L.d_loss_bce, 0.0)


def test_adam_lookahead_matches_torch_adam_numerically():
    """One differentiable Adam lookahead step from D's optimiser state equals torch.optim.Adam's own step."""
    from ganlib.unrolled import _adam_state_of

    G, D, z, real = _setup()
    fake = G(z).detach()
    opt_D = torch.optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999))
    for _ in range(2):  # give the optimiser a non-trivial state (step 2, non-zero moments)
        opt_D.zero_grad()
        L.d_loss_bce(D(real), D(fake)).backward()
        opt_D.step()
    state, lr, betas, eps = _adam_state_of(D, opt_D)
    params = unrolled_d_params(D, real, fake, L.d_loss_bce, k=1, lr_d=lr, adam=dict(state=state, betas=betas, eps=eps))
    opt_D.zero_grad()
    L.d_loss_bce(D(real), D(fake)).backward()
    opt_D.step()  # the real third step
    for name, p in D.named_parameters():
        assert_close(params[name], p.detach(), rtol=1e-5, atol=1e-7)
        assert not torch.equal(params[name], state[name][1])  # sanity: a real update happened


def test_adam_lookahead_first_step_from_empty_state_is_lr_times_sign():
    """From Adam's initial state, one step moves each weight by lr * g / (|g| + eps / ...) ~ lr * sign(g)."""
    from ganlib.unrolled import adam_lookahead

    p = {"w": torch.tensor([1.0, -2.0, 0.5])}
    g = [torch.tensor([0.3, -4.0, 0.0])]
    state = {"w": (0.0, torch.zeros(3), torch.zeros(3))}
    new, new_state = adam_lookahead(p, g, state, lr=0.1, betas=(0.5, 0.999), eps=1e-8)
    assert_close(new["w"], torch.tensor([0.9, -1.9, 0.5]), rtol=0, atol=1e-6)
    assert new_state["w"][0] == 1.0


def test_unrolled_adam_step_in_train_differs_from_plain_and_needs_adam():
    data, cfg = _ring(6, 3)
    _, h1 = _trained(data, cfg)
    G2, h2 = _trained(data, cfg, g_step=unrolled_g_step(2, L.d_loss_bce, lookahead="adam"))
    assert len(h2.g_loss) == 6 and h2.g_loss != h1.g_loss
    assert all(torch.isfinite(p).all() for p in G2.parameters())
    with pytest.raises(ValueError, match="Adam"):
        G3, D3 = toys.toy_models(seed=1)
        train(G3, D3, data, TrainConfig(epochs=1, batch_size=64, z_dim=2, progress=False, device="cpu", optimizer="sgd"),
              g_step=unrolled_g_step(2, L.d_loss_bce, lookahead="adam"))
    with pytest.raises(ValueError, match="optimiser"):  # not bound to an optimiser
        G4, D4 = toys.toy_models(seed=1)
        unrolled_g_step(1, L.d_loss_bce, lookahead="adam")(G4, D4, torch.optim.Adam(G4.parameters()), torch.randn(8, 2), L.g_loss_nonsaturating, data[:8])


def test_adam_lookahead_refuses_a_state_at_mixed_steps():
    """The lookahead steps all of D's weights as one vector: an Adam state whose parameters are at different steps
    (some never trained) is refused with a message instead of replayed wrongly."""
    from ganlib.unrolled import _adam_state_of

    G, D, z, real = _setup()
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-3)
    D.zero_grad()
    D(real).sum().backward()
    D.fc1.bias.grad = None  # this parameter skips Adam's step
    opt_D.step()
    state, lr, betas, eps = _adam_state_of(D, opt_D)
    with pytest.raises(ValueError, match="different step counts"):
        unrolled_d_params(D, real, G(z), L.d_loss_bce, k=1, lr_d=lr, adam=dict(state=state, betas=betas, eps=eps))
