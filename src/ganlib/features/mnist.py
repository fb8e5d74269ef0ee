"""The feature network every ganlib metric uses: a small CNN trained on MNIST, shipped with ganlib.

FID (Heusel et al. 2017) and the Inception Score (Salimans et al. 2016) were defined with the
Inception-v3 ImageNet network. Its features are a poor fit for 28x28 grey digits and its weights
cannot be downloaded offline, so ganlib's default backbone is this classifier, trained by
``scripts/train_classifier.py`` with a fixed seed. Its weights live in
``ganlib/weights/mnist_classifier.pt`` with a JSON record of how they were produced beside them,
so every machine computes the same numbers. "Features" are the 128-d penultimate layer (after
ReLU, like Inception's pool3); ``class_probs`` is the softmax of the last layer.

Numbers computed with these features are *not* comparable with Inception-based FID/IS from
papers or the lab reports; ``ganlib.metrics.inception_fid`` exists for that comparison.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..images import check_pixel_range

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"  # src/ganlib/weights, beside this package
WEIGHTS_PATH = WEIGHTS_DIR / "mnist_classifier.pt"
RECORD_PATH = WEIGHTS_DIR / "mnist_classifier.json"
FEATURE_DIM = 128


class MNISTClassifier(nn.Module):
    """Small CNN: (N, 1, 28, 28) in [-1, 1] -> logits (N, 10); ``features`` gives (N, 128)."""

    def __init__(self, width: int = 16, feature_dim: int = FEATURE_DIM):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)  # 28x28 -> pool -> 14x14
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)  # 14x14 -> pool -> 7x7
        self.fc1 = nn.Linear(2 * width * 7 * 7, feature_dim)
        self.dropout = nn.Dropout(0.3)
        self.fc2 = nn.Linear(feature_dim, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (N, feature_dim), non-negative (after ReLU)."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc1(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(self.features(x)))


def weights_hash(path: str | Path = WEIGHTS_PATH) -> str:
    """Return the SHA-256 hex digest of a weights file (keys the real-data statistics cache)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def classifier_record() -> dict:
    """Return the JSON record of how the shipped weights were produced (data, seed, epochs, accuracy)."""
    return json.loads(RECORD_PATH.read_text())


_CACHE: dict = {}


def load_classifier(device: str | torch.device | None = None, path: str | Path | None = None) -> MNISTClassifier:
    """Return the shipped ``MNISTClassifier`` (eval mode, no grad) on ``device`` (default: CPU)."""
    path = Path(path) if path is not None else WEIGHTS_PATH
    device = torch.device(device) if device is not None else torch.device("cpu")
    key = (str(path), str(device))
    if key not in _CACHE:
        if not path.exists():
            raise FileNotFoundError(
                f"classifier weights not found at {path}: reinstall ganlib, or run "
                "`python scripts/train_classifier.py` from the repository root to produce them"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = MNISTClassifier()
        model.load_state_dict(state)
        model.eval().requires_grad_(False)
        _CACHE[key] = model.to(device)
    return _CACHE[key]


def check_images(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Return ``images`` as float (N, 1, 28, 28) after checking shape and range [-1, 1]."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 1, 28, 28), got {type(images).__name__}")
    if images.dim() == 3 and images.shape[1:] == (28, 28):
        raise ValueError(f"{name} has shape {tuple(images.shape)}: add the channel axis with images.unsqueeze(1)")
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(
            f"{name} must have shape (N, 1, 28, 28), got {tuple(images.shape)}; "
            "convert RGB to grey and resize to 28x28 first"
        )
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty: need at least one image")
    check_pixel_range(images, name)
    return images.float()


@torch.no_grad()
def _apply(fn, images, batch_size, model, device):
    images = check_images(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    device = torch.device(device) if device is not None else images.device
    model = model if model is not None else load_classifier(device)
    outs = [fn(model, images[i : i + batch_size].to(device)) for i in range(0, images.shape[0], batch_size)]
    return torch.cat(outs)


def extract_features(images: torch.Tensor, batch_size: int = 1000, model: MNISTClassifier | None = None, device=None) -> torch.Tensor:
    """Return penultimate-layer features (N, 128) float32 of images (N, 1, 28, 28) in [-1, 1], on their device."""
    return _apply(lambda m, x: m.features(x), images, batch_size, model, device)


def class_probs(images: torch.Tensor, batch_size: int = 1000, model: MNISTClassifier | None = None, device=None) -> torch.Tensor:
    """Return class probabilities (N, 10) float32 (softmax of the classifier) of images (N, 1, 28, 28)."""
    return _apply(lambda m, x: F.softmax(m(x), dim=1), images, batch_size, model, device)


@torch.no_grad()
def features_and_probs(images: torch.Tensor, batch_size: int = 1000, model: MNISTClassifier | None = None, device=None):
    """Return ``(features (N, 128), probs (N, 10))`` in one pass over the images."""
    def both(m, x):
        f = m.features(x)
        return torch.cat([f, F.softmax(m.fc2(f), dim=1)], dim=1)

    out = _apply(both, images, batch_size, model, device)
    return out[:, :-10].contiguous(), out[:, -10:].contiguous()
