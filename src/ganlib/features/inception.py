"""pytorch-fid's Inception-v3 pool3 feature extractor, for FID comparable with the lab reports.

The network is torchvision's Inception-v3 with pytorch-fid's patches that match TensorFlow's FID
graph (:func:`fid_inception_net`); its weights are pytorch-fid's, downloaded once into
:func:`ganlib.config.cache_dir` (:func:`inception_weights`). ganlib's default metrics use the MNIST
classifier of :mod:`ganlib.features.mnist` instead; :func:`ganlib.metrics.inception_fid` computes
FID with these features.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..config import cache_dir, default_device, progress_bar

INCEPTION_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


def _fid_inception_blocks():
    """Return torchvision Inception blocks patched as in TensorFlow's FID graph (as pytorch-fid does).

    TensorFlow's average pooling ignores padded zeros (``count_include_pad=False``) and the last
    block (Mixed_7c) max-pools its pool branch; torchvision's blocks differ on exactly these points.
    """
    from torchvision.models import inception as tv

    def pool_avg(x):
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)

    def pool_max(x):
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)

    class BlockA(tv.InceptionA):
        def _forward(self, x):
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            return [self.branch1x1(x), b5, b3, self.branch_pool(pool_avg(x))]

    class BlockC(tv.InceptionC):
        def _forward(self, x):
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for name in ("branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"):
                d = getattr(self, name)(d)
            return [self.branch1x1(x), b7, d, self.branch_pool(pool_avg(x))]

    class BlockE(tv.InceptionE):
        pool = staticmethod(pool_avg)

        def _forward(self, x):
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
            return [self.branch1x1(x), b3, d, self.branch_pool(self.pool(x))]

    class BlockEMax(BlockE):
        pool = staticmethod(pool_max)

    return BlockA, BlockC, BlockE, BlockEMax


def fid_inception_net() -> nn.Module:
    """Return an untrained torchvision Inception3 with pytorch-fid's FID patches and 1008 classes (its state-dict layout)."""
    import torchvision

    BlockA, BlockC, BlockE, BlockEMax = _fid_inception_blocks()
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
    for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        setattr(net, name, BlockA(getattr(net, name).branch1x1.conv.in_channels, pool_features))
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        setattr(net, name, BlockC(768, c7))
    net.Mixed_7b = BlockE(1280)
    net.Mixed_7c = BlockEMax(2048)
    return net


class InceptionPool3(nn.Module):
    """pytorch-fid's feature extractor: images (N, C, H, W) in [-1, 1] -> pool3 features (N, 2048)."""

    LAYERS = (
        "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2",
        "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
        "Mixed_7a", "Mixed_7b", "Mixed_7c",
    )

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grey -> RGB, as PIL's convert('RGB') in pytorch-fid
        # pytorch-fid's order: [0, 1] images, bilinear resize to 299 (align_corners=False), then 2x - 1.
        x = (x + 1) / 2
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        for name in self.LAYERS:
            x = getattr(self.net, name)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def inception_weights(path=None, download: bool = True) -> Path:
    """Return the path of pytorch-fid's Inception weights, downloading them into ``cache_dir()`` if needed."""
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"Inception weights not found at {path}")
        return path
    path = cache_dir() / INCEPTION_FILE
    if path.exists():
        return path
    if not download:
        raise FileNotFoundError(
            f"pytorch-fid's Inception weights are not in the cache ({path}) and download=False. "
            f"On a machine with internet (e.g. Colab) they are fetched from {INCEPTION_URL}; "
            "offline, copy that file to the path above."
        )
    tmp = path.with_suffix(".part")
    try:
        torch.hub.download_url_to_file(INCEPTION_URL, str(tmp), hash_prefix="6726825d", progress=True)
        os.replace(tmp, path)
    except Exception as err:
        if tmp.exists():
            tmp.unlink()
        raise RuntimeError(
            f"could not download pytorch-fid's Inception weights from {INCEPTION_URL} ({err}). "
            f"Inception FID needs internet once (Colab has it); offline, copy the file to {path}. "
            "ganlib's default metrics (MNIST classifier features) need no download."
        ) from err
    return path


def load_inception(path=None, device=None, download: bool = True) -> InceptionPool3:
    """Return the pytorch-fid Inception-v3 pool3 extractor (eval mode) with weights from ``path`` or the cache."""
    state = torch.load(inception_weights(path, download), map_location="cpu", weights_only=True)
    with torch.device("meta"):  # no time spent initialising 27M weights that are overwritten
        net = fid_inception_net()
    net.load_state_dict(state, assign=True)  # strict: the file must have exactly pytorch-fid's layout
    return InceptionPool3(net).eval().requires_grad_(False).to(default_device(device))


@torch.no_grad()
def inception_features(images: torch.Tensor, model: InceptionPool3 | None = None, batch_size: int = 50, device=None, progress: bool = False) -> torch.Tensor:
    """Return pool3 features (N, 2048) float32 of images (N, 1 or 3, H, W) in [-1, 1]."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    model = model if model is not None else load_inception(device=device)
    device = next(model.parameters()).device
    return torch.cat([
        model(images[i : i + batch_size].to(device).float())
        for i in progress_bar(range(0, images.shape[0], batch_size), desc="inception", enabled=progress)
    ])
