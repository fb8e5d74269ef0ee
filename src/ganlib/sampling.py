"""Drawing samples from a generator, and writing them as images.

``tanh`` outputs live in [-1, 1]; an image file holds [0, 1] (or 0..255). The lab template
called ``torchvision.utils.save_image`` on the raw tanh output, which clamps to [0, 1] and so
turns every value below 0 (the dark half of the grey range) into pure black, and writes RGB.
Here :func:`to_unit` maps x -> (x + 1) / 2 first and PNGs are written as 8-bit grey.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm


def sample(G, n: int, seed: int = 0, batch_size: int = 1000, z: torch.Tensor | None = None) -> torch.Tensor:
    """Return ``n`` samples G(z), z ~ N(0, I) drawn with ``seed``: (n, *G.out_shape) on G's device."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    device = next(G.parameters()).device
    if z is None:
        gen = torch.Generator(device="cpu").manual_seed(seed)
        z = torch.randn(n, G.z_dim, generator=gen).to(device)
    elif z.shape[0] != n:
        raise ValueError(f"z holds {z.shape[0]} latents but n={n}")
    was_training = G.training
    G.eval()  # batch norm uses its running statistics when sampling
    try:
        with torch.no_grad():
            return torch.cat([G(z[i : i + batch_size].to(device)) for i in range(0, n, batch_size)])
    finally:
        G.train(was_training)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Map tanh outputs in [-1, 1] to [0, 1] (clamped): same shape."""
    return ((x + 1) / 2).clamp(0, 1)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Map [-1, 1] to uint8 grey levels 0..255 by rounding: same shape."""
    return (to_unit(x) * 255).round().to(torch.uint8)


def save_grid(images: torch.Tensor, path, nrow: int = 8) -> Path:
    """Write images (N, 1, H, W) in [-1, 1] as one PNG grid; returns the path."""
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(to_unit(images.detach().cpu()), path, nrow=nrow, padding=2, pad_value=1.0)
    return path


def export_pngs(source, folder, n: int = 10_000, seed: int = 0, batch_size: int = 1000) -> Path:
    """Write ``n`` samples as ``folder/0.png`` .. ``folder/{n-1}.png`` (28x28 8-bit grey), as the lab's platform grades them.

    ``source`` is a generator or a tensor (N, 1, H, W) in [-1, 1]; returns the folder.
    """
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(source, torch.Tensor):
        if source.dim() != 4 or source.shape[1] != 1:
            raise ValueError(f"expected images (N, 1, H, W), got {tuple(source.shape)}")
        if source.shape[0] < n:
            raise ValueError(f"asked for {n} images but the tensor holds {source.shape[0]}")
        chunks = (source[i : i + batch_size] for i in range(0, n, batch_size))
    else:
        gen = torch.Generator(device="cpu").manual_seed(seed)
        z = torch.randn(n, source.z_dim, generator=gen)
        chunks = (sample(source, min(batch_size, n - i), z=z[i : i + batch_size]) for i in range(0, n, batch_size))
    k = 0
    with tqdm(total=n, desc="export PNG", unit="img") as bar:
        for chunk in chunks:
            pixels = to_uint8(chunk.detach().cpu())[:, 0].numpy()
            for img in pixels:
                Image.fromarray(img, mode="L").save(folder / f"{k}.png")
                k += 1
            bar.update(len(pixels))
    return folder


def load_pngs(folder, n: int | None = None) -> torch.Tensor:
    """Read ``folder/0.png`` .. (numbered files, grey or RGB) as a tensor (N, 1, H, W) in [-1, 1]."""
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of PNG files")
    files = sorted((p for p in folder.glob("*.png") if p.stem.isdigit()), key=lambda p: int(p.stem))
    if not files:
        raise FileNotFoundError(f"{folder} holds no numbered PNG files (0.png, 1.png, ...)")
    files = files[:n] if n is not None else files
    arrays = []
    for p in tqdm(files, desc="read PNG", unit="img", disable=len(files) < 2000):
        try:
            arrays.append(np.asarray(Image.open(p).convert("L"), dtype=np.uint8))
        except Exception as err:
            raise ValueError(f"{p} is not a readable image: {err}") from err
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"images in {folder} have different sizes: {sorted(shapes)}")
    x = torch.from_numpy(np.stack(arrays)).float().div_(127.5).sub_(1.0)
    return x.unsqueeze(1)
