"""Drawing samples from a generator, and writing them as images.

``tanh`` outputs live in [-1, 1]; an image file holds [0, 1] (or 0..255). The lab template
called ``torchvision.utils.save_image`` on the raw tanh output, which clamps to [0, 1] and so
turns every value below 0 (the dark half of the grey range) into pure black, and writes RGB.
Here :func:`to_unit` maps x -> (x + 1) / 2 first and PNGs are written as 8-bit grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .config import progress_bar


def sample(G, n: int, seed: int = 0, batch_size: int = 1000, z: torch.Tensor | None = None, device=None, progress: bool = False) -> torch.Tensor:
    """Return ``n`` samples G(z), z ~ N(0, I) drawn on the CPU with ``seed`` (the same z on every device): (n, *out_shape).

    ``G`` is a Generator or any callable with an integer attribute ``z_dim``; the samples stay on
    ``device`` (default: G's device). A flat (n, 784) output is returned as (n, 1, 28, 28).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    z_dim = getattr(G, "z_dim", None)
    if z_dim is None:
        raise ValueError("the generator needs an integer attribute z_dim (the latent size) so that z can be drawn")
    if device is None:
        params = list(G.parameters()) if isinstance(G, torch.nn.Module) else []
        device = params[0].device if params else torch.device("cpu")
    if z is None:
        z = torch.randn(n, int(z_dim), generator=torch.Generator(device="cpu").manual_seed(seed))
    elif z.shape[0] != n:
        raise ValueError(f"z holds {z.shape[0]} latents but n={n}")
    was_training = getattr(G, "training", False)
    if isinstance(G, torch.nn.Module):
        G.eval()  # batch norm uses its running statistics: samples do not depend on the batch
    try:
        with torch.no_grad():
            x = torch.cat([G(z[i : i + batch_size].to(device)) for i in progress_bar(range(0, n, batch_size), desc="sample", enabled=progress)])
    finally:
        if isinstance(G, torch.nn.Module):
            G.train(was_training)
    return x.view(-1, 1, 28, 28) if x.dim() == 2 and x.shape[1] == 784 else x


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

    folder = Path(folder).expanduser()  # "~/samples" is the home folder, not a folder named "~"
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
    with progress_bar(total=n, desc="export PNG", unit="img") as bar:
        for chunk in chunks:
            pixels = to_uint8(chunk.detach().cpu())[:, 0].numpy()
            for img in pixels:
                Image.fromarray(img, mode="L").save(folder / f"{k}.png")
                k += 1
            bar.update(len(pixels))
    return folder


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _sort_key(path: Path):
    # 0.png, 1.png, ..., 10.png in numeric order (the lab platform's layout), other names after them
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.name)


def load_pngs(folder, n: int | None = None, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Read the PNG/JPEG files of ``folder`` (0.png, 1.png, ... first; grey or RGB) as (N, 1, H, W) in [-1, 1].

    With ``size=(W, H)`` every image must have that size.
    """
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of images")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_sort_key)
    if not files:
        raise FileNotFoundError(f"no .png/.jpg files in {folder}: expected 0.png, 1.png, ... (grey or RGB)")
    files = files[:n] if n is not None else files
    arrays = []
    for p in progress_bar(files, desc="read images", unit="img", enabled=len(files) >= 2000):
        try:
            with Image.open(p) as img:
                if size is not None and img.size != tuple(size):
                    raise ValueError(f"{p} is {img.size[0]}x{img.size[1]}; expected {size[0]}x{size[1]}")
                arrays.append(np.asarray(img.convert("L"), dtype=np.uint8))
        except ValueError:
            raise
        except Exception as err:
            raise ValueError(f"{p} is not a readable image: {err}") from err
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"images in {folder} have different sizes: {sorted(shapes)}")
    return torch.from_numpy(np.stack(arrays)).float().div_(127.5).sub_(1.0).unsqueeze(1)
