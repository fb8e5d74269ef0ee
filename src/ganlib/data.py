"""MNIST and Fashion-MNIST as one tensor on the training device.

The whole dataset is 47 MB as float32, so it lives on the device once and training batches
are taken by random permutation: no DataLoader, no per-sample transforms, no host-to-device
copy on the critical path.
"""

from __future__ import annotations

import os
from typing import Iterator

import torch

from .config import data_root, default_device

_DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def _torchvision_dataset(name: str, root, train: bool, download: bool):
    import torchvision

    cls = getattr(torchvision.datasets, _DATASETS[name])
    return cls(str(root), train=train, download=download)


def load_mnist(
    root: str | os.PathLike | None = None,
    train: bool = True,
    dataset: str = "mnist",
    device: str | torch.device | None = "cpu",
    limit: int | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(images, labels)``: images (N, 1, 28, 28) float32 in [-1, 1], labels (N,) int64.

    ``root`` defaults to ``$GANLIB_DATA`` (torchvision layout: ``<root>/MNIST/raw/...``).
    ``limit`` keeps the first ``limit`` images. N is whatever the files hold: the offline
    subset in ``shared/data`` has 10,000 training images, the real training set 60,000.
    """
    name = dataset.lower().replace("_", "-")
    if name not in _DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: use one of {sorted(_DATASETS)}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of images, got {limit}")
    root = data_root(root)
    folder = _DATASETS[name]
    try:
        ds = _torchvision_dataset(name, root, train, download)
    except Exception as err:  # no internet, corrupt files, permission problems
        raise FileNotFoundError(
            f"could not load {folder} ({'train' if train else 'test'} split) from {root}: {err}\n"
            f"Without internet the download fails. Point GANLIB_DATA (or root=) at a folder that holds "
            f"the uncompressed IDX files in torchvision's layout, i.e. {folder}/raw/train-images-idx3-ubyte, "
            f"train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte "
            f"(in this repository's CI: GANLIB_DATA=../shared/data)."
        ) from err
    images, labels = ds.data, ds.targets
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    device = default_device(device)
    images = images.to(device=device, dtype=torch.float32).div_(127.5).sub_(1.0).unsqueeze(1)
    return images.contiguous(), labels.to(device=device, dtype=torch.int64)


def batches(
    data: torch.Tensor, batch_size: int, generator: torch.Generator | None = None
) -> Iterator[torch.Tensor]:
    """Yield batches (batch_size, ...) of ``data`` in a random order; the last partial batch is dropped."""
    n = data.shape[0]
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and the number of samples ({n}), got {batch_size}")
    device = generator.device if generator is not None else data.device
    perm = torch.randperm(n, generator=generator, device=device).to(data.device)
    for start in range(0, n - batch_size + 1, batch_size):
        yield data[perm[start : start + batch_size]]
