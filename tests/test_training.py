import math

import pytest
import torch

import ganlib
from ganlib import DivergenceError, Discriminator, Generator, TrainConfig, train
from ganlib import losses as L
from ganlib.training import load_checkpoint


def _models(seed=0):
    ganlib.set_seed(seed)
    return Generator(), Discriminator()


def _cfg(**kw):
    base = dict(epochs=2, batch_size=64, log_every=4, progress=False)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def real(mnist_train):
    return mnist_train[0][:1024]


def _params(model):
    return [p.detach().clone() for p in model.state_dict().values()]


def test_training_lowers_discriminator_loss(real):
    G, D = _models()
    with torch.no_grad():
        z = torch.randn(512, 100, generator=torch.Generator().manual_seed(5))
        initial = L.d_loss_bce(D(real[:512]), D(G(z))).item()
    assert initial == pytest.approx(math.log(4), abs=0.05)  # an untrained D is near 1/2 everywhere
    history = train(G, D, real, _cfg(epochs=5))
    assert history.step == list(range(1, 5 * 1024 // 64 + 1))  # one entry per generator step
    assert len(history.d_loss) == len(history.g_loss) == len(history.epoch) == 80 and history.epoch[-1] == 5
    assert all(math.isfinite(v) for v in history.d_loss + history.g_loss)
    # GAN losses oscillate, so compare the run as a whole: D learns to separate real from fake.
    assert sum(history.d_loss) / len(history.d_loss) < initial - 0.2
    assert min(history.d_loss) < 0.7


def test_history_means_average_blocks_of_steps():
    h = ganlib.History(step=[1, 2, 3, 4, 5], epoch=[0.2, 0.4, 0.6, 0.8, 1.0], d_loss=[1.0, 3.0, 5.0, 7.0, 9.0],
                       g_loss=[0.0, 2.0, 4.0, 6.0, 8.0])
    m = h.means(2)
    assert m.step == [2, 4, 5] and m.epoch == [0.4, 0.8, 1.0]
    assert m.d_loss == [2.0, 6.0, 9.0] and m.g_loss == [1.0, 5.0, 8.0] and m.g_grad_norm == []


def test_n_critic_groups_batches_and_drops_an_incomplete_group(real):
    # 5 batches of 64 with n_critic 2: two generator steps an epoch, the fifth batch is not used
    G, D = _models()
    history = train(G, D, real[:320], _cfg(epochs=2, n_critic=2))
    assert history.step == [1, 2, 3, 4] and history.epoch == [0.4, 0.8, 1.4, 1.8]


def test_same_seed_same_run(real):
    runs = []
    for _ in range(2):
        G, D = _models(1)
        train(G, D, real[:256], _cfg(epochs=1, seed=3))
        runs.append(_params(G) + _params(D))
    for a, b in zip(*runs):
        assert torch.equal(a, b)


@pytest.mark.parametrize("stop", ["epoch", "mid-epoch"])
def test_resume_reproduces_uninterrupted_run(real, tmp_path, stop):
    data = real[:512]
    G, D = _models()
    full_history = train(G, D, data, _cfg(epochs=3, n_critic=2, record_grad_norm=True))
    G1, D1 = _models()
    first = _cfg(epochs=1, n_critic=2, record_grad_norm=True) if stop == "epoch" else _cfg(epochs=3, n_critic=2, max_steps=5, record_grad_norm=True)
    train(G1, D1, data, first, checkpoint=tmp_path / "run.pt")
    G2, D2 = _models(seed=99)  # different initial weights: everything must come from the checkpoint
    history = train(G2, D2, data, _cfg(epochs=3, n_critic=2, record_grad_norm=True), checkpoint=tmp_path / "run.pt")
    for a, b in zip(_params(G) + _params(D), _params(G2) + _params(D2)):
        assert torch.equal(a, b)
    assert history.as_dict() == full_history.as_dict()
    ckpt = load_checkpoint(tmp_path / "run.pt")
    assert ckpt["epoch"] == 3 and ckpt["step"] == 3 * (512 // 64 // 2)


def test_resume_with_new_learning_rates(real, tmp_path):
    G, D = _models()
    train(G, D, real[:256], _cfg(epochs=1), checkpoint=tmp_path / "c.pt")
    G, D = _models()
    train(G, D, real[:256], _cfg(epochs=2, lr_g=1e-4, lr_d=1e-4), checkpoint=tmp_path / "c.pt")
    ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt["opt_G"]["param_groups"][0]["lr"] == 1e-4 and ckpt["opt_D"]["param_groups"][0]["lr"] == 1e-4


def test_divergence_guard_keeps_last_good_checkpoint(real, tmp_path):
    calls = {"n": 0}

    def d_loss_that_explodes(real_out, fake_out):
        calls["n"] += 1
        loss = L.d_loss_bce(real_out, fake_out)
        return loss * float("nan") if calls["n"] > 6 else loss  # epoch 1 has 4 D steps, NaN in epoch 2

    G, D = _models()
    with pytest.raises(DivergenceError, match="diverged") as err:
        train(G, D, real[:256], _cfg(epochs=3), d_loss=d_loss_that_explodes, checkpoint=tmp_path / "c.pt")
    assert "last good checkpoint" in str(err.value)
    ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["D"].values())


def test_callback_can_stop_and_sees_state(real, capsys):
    seen = []

    def cb(state):
        seen.append((state.epoch, state.step))
        return state.epoch == 2

    G, D = _models()
    train(G, D, real[:256], _cfg(epochs=5), callbacks=[cb])
    assert seen == [(1, 4), (2, 8)]
    assert "stopped by the callback cb after epoch 2" in capsys.readouterr().out


def test_only_an_explicit_stop_stops_training(real):
    # a callback that plots returns matplotlib's list of lines: truthy, and it must not end the run
    def plots_something(state):
        return [object()]

    G, D = _models()
    history = train(G, D, real[:256], _cfg(epochs=3), callbacks=[plots_something])
    assert history.epoch[-1] == 3


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(lr_g=0.0), "lr_g"),
        (dict(lr_d=-1e-3), "lr_d"),
        (dict(n_critic=0), "n_critic"),
        (dict(batch_size=10_000), "larger than the training data"),
        (dict(epochs=0), "epochs"),
        (dict(betas=(0.5, 1.0)), "betas"),
        (dict(optimizer="adamw2"), "optimizer"),
        (dict(z_dim=64), "z_dim"),
    ],
)
def test_invalid_hyperparameters_raise_before_work(real, kw, message):
    G, D = _models()
    before = _params(G)
    with pytest.raises(ValueError, match=message):
        train(G, D, real[:256], _cfg(**kw))
    assert all(torch.equal(a, b) for a, b in zip(before, _params(G)))


def test_wrong_data_shape_raises():
    G, D = _models()
    with pytest.raises(ValueError, match="D expects"):
        train(G, D, torch.zeros(128, 1, 32, 32), _cfg())
    with pytest.raises(ValueError, match="NaN"):
        train(G, D, torch.full((128, 1, 28, 28), float("nan")), _cfg())


def test_corrupt_checkpoint_raises(real, tmp_path):
    (tmp_path / "c.pt").write_bytes(b"garbage")
    G, D = _models()
    with pytest.raises(ValueError, match="incomplete") as err:
        train(G, D, real[:256], _cfg(), checkpoint=tmp_path / "c.pt")
    assert "delete" not in str(err.value).lower()
    assert (tmp_path / "c.pt").read_bytes() == b"garbage"  # never overwritten


def test_trains_2d_points_with_the_same_function():
    points = torch.randn(512, 2) * 0.1 + 2.0
    ganlib.set_seed(0)
    G = Generator(z_dim=2, hidden=(32, 32), out_shape=(2,), out_activation=None)
    D = Discriminator(in_shape=(2,), hidden=(32, 32))
    train(G, D, points, _cfg(epochs=30, z_dim=2, lr_g=1e-3, lr_d=1e-3))
    mean = ganlib.sample(G, 2000).mean(0)
    assert torch.linalg.vector_norm(mean - 2.0) < 0.6  # started near 0, moved towards the data at (2, 2)


def test_a_home_folder_checkpoint_path_is_expanded(real, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    G, D = _models()
    train(G, D, real[:128], _cfg(epochs=1), checkpoint="~/runs/x.pt")
    assert (tmp_path / "runs" / "x.pt").exists()
