import pytest
import torch
from torch.testing import assert_close

import lab_template
from ganlib import Discriminator, Generator, generator_from_checkpoint, load_weights


def test_shapes_and_layer_widths():
    G, D = Generator(), Discriminator()
    z = torch.randn(5, 100)
    assert G(z).shape == (5, 1, 28, 28)
    assert D(G(z)).shape == (5,)
    assert [G.fc1.in_features, G.fc1.out_features, G.fc2.out_features, G.fc3.out_features, G.fc4.out_features] == [100, 256, 512, 1024, 784]
    assert [D.fc1.in_features, D.fc1.out_features, D.fc2.out_features, D.fc3.out_features, D.fc4.out_features] == [784, 1024, 512, 256, 1]
    assert G(z).abs().max() <= 1
    assert Discriminator(out_dim=8)(G(z)).shape == (5, 8)
    toy_G = Generator(z_dim=2, hidden=(16, 16), out_shape=(2,), out_activation=None)
    assert Discriminator(in_shape=(2,), hidden=(16, 16))(toy_G(torch.randn(7, 2))).shape == (7,)


@pytest.mark.parametrize("prefix", ["", "module."])
def test_template_state_dict_loads_and_matches(tmp_path, prefix):
    torch.manual_seed(0)
    tG, tD = lab_template.Generator(784), lab_template.Discriminator(784)
    for name, model in (("G", tG), ("D", tD)):
        torch.save({prefix + k: v for k, v in model.state_dict().items()}, tmp_path / f"{name}.pth")
    G = load_weights(Generator(), tmp_path / "G.pth")
    D = load_weights(Discriminator(), tmp_path / "D.pth")
    z = torch.randn(10, 100)
    x = tG(z)
    assert_close(G(z).view(10, 784), x)
    assert_close(torch.sigmoid(D(x)), tD(x).squeeze(1))
    assert_close(generator_from_checkpoint(tmp_path / "G.pth")(z).view(10, 784), x)


def test_mismatched_or_corrupt_checkpoint_raises(tmp_path):
    torch.save(Generator(hidden=(128, 256, 512)).state_dict(), tmp_path / "small.pth")
    with pytest.raises(ValueError, match="shape mismatch"):
        load_weights(Generator(), tmp_path / "small.pth")
    with pytest.raises(ValueError, match="missing keys"):
        load_weights(Generator(norm="batch"), Generator().state_dict())
    (tmp_path / "broken.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="could not read"):
        load_weights(Generator(), tmp_path / "broken.pth")


def test_variants():
    G = Generator(norm="batch")
    assert isinstance(G.norm1, torch.nn.BatchNorm1d)
    assert isinstance(Generator(norm="layer").norm3, torch.nn.LayerNorm)
    D = Discriminator(spectral_norm=True)
    assert hasattr(D.fc1, "parametrizations")
    with pytest.raises(ValueError, match="unknown norm"):
        Generator(norm="group")
    with pytest.raises(ValueError, match="expects z of shape"):
        Generator()(torch.randn(3, 64))
    with pytest.raises(ValueError, match="D expects inputs"):
        Discriminator()(torch.randn(3, 1, 32, 32))
