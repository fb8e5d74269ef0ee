"""The lab's imposed MLP architecture, and the variants later chapters need.

Generator: Linear 100-256-512-1024-784, LeakyReLU(0.2) between layers, tanh at the end.
Discriminator: Linear 784-1024-512-256-1, LeakyReLU(0.2) between layers, returning *logits*
(the lab template applied a sigmoid and BCELoss; the losses here apply it stably instead).

Linear layers are named ``fc1`` .. ``fcK`` exactly as in the lab template, so a template
``state_dict`` (``torch.save(G.state_dict(), 'checkpoints/G.pth')``, optionally with the
``module.`` prefix of DataParallel) loads with :func:`load_weights`.

Variants, all off by default: ``norm`` ('batch' or 'layer') after each hidden linear layer
(report 001 used WGAN + batch norm in G), ``spectral_norm`` on every critic layer (Miyato et
al. 2018), ``out_dim > 1`` for an embedding head (MD-GAN), and other widths/shapes for 2D toys.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

_NORMS = {None: None, "none": None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


def _norm_layer(norm, width):
    if norm not in _NORMS:
        raise ValueError(f"unknown norm {norm!r}: use None, 'batch' or 'layer'")
    cls = _NORMS[norm]
    return None if cls is None else cls(width)


class _MLP(nn.Module):
    """Linear layers ``fc1``..``fcK`` with LeakyReLU(0.2) (and optional norm) between them."""

    def __init__(self, dims, norm=None, spectral_norm=False):
        super().__init__()
        if len(dims) < 2 or any(int(d) < 1 for d in dims):
            raise ValueError(f"layer widths must be positive integers, got {list(dims)}")
        self.n_layers = len(dims) - 1
        for i in range(self.n_layers):
            layer = nn.Linear(int(dims[i]), int(dims[i + 1]))
            if spectral_norm:
                layer = nn.utils.parametrizations.spectral_norm(layer)
            self.add_module(f"fc{i + 1}", layer)
            if i < self.n_layers - 1:
                norm_layer = _norm_layer(norm, int(dims[i + 1]))
                if norm_layer is not None:
                    self.add_module(f"norm{i + 1}", norm_layer)

    def _trunk(self, x):
        for i in range(1, self.n_layers + 1):
            x = getattr(self, f"fc{i}")(x)
            if i < self.n_layers:
                norm = getattr(self, f"norm{i}", None)
                if norm is not None:
                    x = norm(x)
                x = F.leaky_relu(x, 0.2)
        return x


class Generator(_MLP):
    """G(z): (N, z_dim) -> (N, *out_shape); the default is the lab's 100-256-512-1024-784 tanh MLP."""

    def __init__(self, z_dim=100, hidden=(256, 512, 1024), out_shape=(1, 28, 28), norm=None, out_activation="tanh"):
        self.out_shape = tuple(int(s) for s in out_shape)
        super().__init__([z_dim, *hidden, math.prod(self.out_shape)], norm=norm)
        if out_activation not in ("tanh", None):
            raise ValueError(f"out_activation must be 'tanh' or None, got {out_activation!r}")
        self.z_dim = int(z_dim)
        self.out_activation = out_activation
        self.arch = dict(z_dim=self.z_dim, hidden=tuple(hidden), out_shape=self.out_shape, norm=norm, out_activation=out_activation)

    def forward(self, z):
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"G expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        x = self._trunk(z)
        if self.out_activation == "tanh":
            x = torch.tanh(x)
        return x.view(z.shape[0], *self.out_shape)


class Discriminator(_MLP):
    """D(x): (N, *in_shape) -> logits (N,) (or an embedding (N, out_dim) when out_dim > 1).

    ``pack`` = m > 1 makes a PacGAN discriminator (Lin et al. 2018, "PacGAN: The power of two
    samples in generative adversarial networks", Sec. 3): it judges m samples at once, rows
    m k .. m k + m - 1 of a batch concatenated into one input of m * prod(in_shape) values, and
    returns one logit per pack, (N / m,). m = 1 is the plain discriminator.
    """

    def __init__(self, in_shape=(1, 28, 28), hidden=(1024, 512, 256), out_dim=1, norm=None, spectral_norm=False, pack=1):
        self.in_shape = tuple(int(s) for s in in_shape)
        if int(pack) != pack or pack < 1:
            raise ValueError(f"pack (samples per PacGAN input) must be an integer >= 1, got {pack}")
        self.pack = int(pack)
        super().__init__([self.pack * math.prod(self.in_shape), *hidden, out_dim], norm=norm, spectral_norm=spectral_norm)
        self.out_dim = int(out_dim)
        self.arch = dict(in_shape=self.in_shape, hidden=tuple(hidden), out_dim=self.out_dim, norm=norm, spectral_norm=spectral_norm)
        if self.pack > 1:
            self.arch["pack"] = self.pack

    def forward(self, x):
        if tuple(x.shape[1:]) != self.in_shape and x[0].numel() != math.prod(self.in_shape):
            raise ValueError(f"D expects inputs of shape (N, {', '.join(map(str, self.in_shape))}), got {tuple(x.shape)}")
        if x.shape[0] % self.pack:
            raise ValueError(f"a PacGAN D with pack={self.pack} takes batches of a multiple of {self.pack} samples, got {x.shape[0]}")
        out = self._trunk(x.reshape(x.shape[0] // self.pack, -1))  # m consecutive samples side by side
        return out.squeeze(1) if self.out_dim == 1 else out


def _unreadable_reason(path, err: Exception) -> str:
    """Say what a file that ``torch.load`` cannot read is, and how to get a file ganlib reads."""
    path = Path(path)
    if path.is_dir():
        return "it is a folder: give the path of a checkpoint file (.pt/.pth)"
    head = path.read_bytes()[:8] if path.stat().st_size else b""
    if not head:
        return "the file is empty (0 bytes): a save that was interrupted, or the wrong file"
    if head.startswith(b"\x89PNG"):
        return "it is a PNG image, not a checkpoint: pass a .pt/.pth file (to evaluate images, pass their folder)"
    if head.startswith(b"\xff\xd8\xff"):
        return "it is a JPEG image, not a checkpoint: pass a .pt/.pth file (to evaluate images, pass their folder)"
    text = str(err)
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except zipfile.BadZipFile:
            return "it is an incomplete file (a torch.save that was interrupted, or a copy cut short): save it again"
        if not any(n.endswith("data.pkl") for n in names):
            return f"it is a zip archive of {len(names)} files, not a file written by torch.save: unpack it and pass the .pt/.pth file inside"
    if isinstance(err, EOFError) or "truncated" in text or "central directory" in text:
        return "it is an incomplete file (a torch.save that was interrupted, or a copy cut short): save it again"
    if isinstance(err, (AttributeError, ModuleNotFoundError, ImportError)) or "Can't get attribute" in text:
        return (
            f"it holds a whole model object saved with torch.save(model), whose class cannot be found here ({text}). "
            "Such a file can only be read where the class is defined: there, save the weights with "
            "torch.save(G.state_dict(), 'G.pth') and pass that file"
        )
    return f"torch.load failed ({type(err).__name__}: {text}); the file may be incomplete or not written by torch.save"


def read_checkpoint(path):
    """Return the object saved at ``path`` by ``torch.save`` (on the CPU); raises ValueError saying what the file is if it cannot be read."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {os.fspath(path)!r}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise ValueError(f"could not read the checkpoint {os.fspath(path)!r}: {_unreadable_reason(path, err)}") from err


def describe_checkpoint(obj) -> str:
    """Say in words what a loaded checkpoint object is (for error messages)."""
    if isinstance(obj, nn.Module):
        return f"a whole model object of class {type(obj).__name__} (saved with torch.save(model))"
    if isinstance(obj, dict):
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return f"a state_dict of {len(obj)} weight tensors (e.g. the lab template's G.pth), not a training run"
        keys = sorted(map(str, obj))
        return f"a dict with keys {keys[:8]}{' ...' if len(keys) > 8 else ''}"
    return f"a {type(obj).__name__}"


def generator_from_checkpoint(source, device="cpu") -> "Generator":
    """Return the Generator stored in ``source`` (a path or a loaded object), in eval mode on ``device``.

    Accepts a ganlib checkpoint (the generator under ``'G'``, its architecture under ``'G_arch'``),
    the lab template's ``G.pth`` (a plain state_dict, with or without DataParallel's ``module.``
    prefix: the widths and normalisation are read from the weights' shapes), or a whole saved module.
    """
    obj = read_checkpoint(source) if isinstance(source, (str, os.PathLike)) else source
    if isinstance(obj, dict) and "G" in obj:
        arch, obj = obj.get("G_arch"), obj["G"]
        if isinstance(obj, dict) and arch:
            return load_weights(Generator(**arch), obj).to(device).eval()
    if isinstance(obj, nn.Module):
        return obj.to(device).eval()
    if not isinstance(obj, dict):
        raise ValueError(f"expected a state_dict or a ganlib checkpoint dict, got {type(obj).__name__}")
    return generator_from_state_dict(obj).to(device).eval()


def generator_from_state_dict(state: dict) -> "Generator":
    """Return a Generator whose widths (and norm) are read from a state dict's shapes, with its weights loaded."""
    state = strip_prefix(state)
    n_layers = 0
    while f"fc{n_layers + 1}.weight" in state:
        n_layers += 1
    if n_layers < 1:
        raise ValueError(
            "this checkpoint has no fc1.weight: expected the lab template's generator "
            "(Linear layers fc1..fcK, saved with torch.save(G.state_dict(), 'G.pth'))"
        )
    widths = [state["fc1.weight"].shape[1]] + [state[f"fc{i}.weight"].shape[0] for i in range(1, n_layers + 1)]
    if widths[-1] != 784:
        raise ValueError(f"the generator's last layer outputs {widths[-1]} values, not 784 = 1 x 28 x 28 (MNIST)")
    norm = None
    if any(k.startswith("norm") for k in state):
        norm = "batch" if any(k.endswith("running_mean") for k in state) else "layer"
    G = Generator(z_dim=widths[0], hidden=tuple(widths[1:-1]), norm=norm)
    G.load_state_dict(state)
    return G


def strip_prefix(state_dict):
    """Return ``state_dict`` without DataParallel's ``module.`` prefix on its keys."""
    return OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in state_dict.items())


def load_weights(model: nn.Module, source, key: str | None = None) -> nn.Module:
    """Load weights into ``model`` from a path or dict; returns ``model``.

    Accepts a plain ``state_dict`` (the lab template's ``G.pth``/``D.pth``, with or without the
    DataParallel ``module.`` prefix) or a ganlib checkpoint, from which ``key`` ('G' or 'D') is taken.
    """
    if isinstance(source, (str, os.PathLike)):
        source = read_checkpoint(source)
    if not isinstance(source, dict):
        raise ValueError(f"expected a state_dict or a ganlib checkpoint dict, got {type(source).__name__}")
    if key is not None and key in source and isinstance(source[key], dict):
        source = source[key]
    state = strip_prefix(source)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or mismatched:
        details = []
        if missing:
            details.append(f"missing keys {missing[:6]}")
        if unexpected:
            details.append(f"unexpected keys {unexpected[:6]}")
        if mismatched:
            details.append("shape mismatch " + ", ".join(f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}" for k in mismatched[:4]))
        raise ValueError(
            f"checkpoint does not match {type(model).__name__}: " + "; ".join(details)
            + ". Build the model with the same architecture (widths, norm, spectral_norm, out_dim) as the one that was saved."
        )
    model.load_state_dict(state)
    return model
