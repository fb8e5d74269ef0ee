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
    if hasattr(G, "seeds"):  # a ganlib.seeds stack would spread these latents over its seeds
        raise ValueError(f"G is a stack of the seeds {G.seeds}: sample one seed's generator, G.member(s); "
                         "in a training callback, wrap one callback per seed in ganlib.seeds.PerSeed")
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


def check_pixel_range(x: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Raise ValueError unless ``x`` holds finite float pixels that can be ganlib's [-1, 1] images; returns ``x``.

    Refused, each with the fix in the message: integer pixels (uint8 0..255), NaN or inf values,
    values outside [-1, 1] (0..255 floats), and a set with no pixel below 0. In ganlib's convention
    (G's tanh output, ``load_mnist``) an MNIST background pixel is -1, so a set of digits without
    one negative value is [0, 1] data, the most common first-week mistake: it would train or be
    scored silently wrong (FID 433 instead of 39 for the test digits as (x + 1) / 2).
    """
    if not x.is_floating_point():
        raise ValueError(f"{name} has dtype {x.dtype}: ganlib expects float pixels in [-1, 1]; convert 0..255 pixels with x.float() / 127.5 - 1")
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(
            f"{name} contains {bad} NaN or inf pixel value(s) out of {x.numel()}: no metric or training step is "
            "meaningful on them. A generator that outputs NaN has diverged: use its last good checkpoint"
        )
    lo, hi = float(x.min()), float(x.max())
    if lo < -1.0 - 1e-3 or hi > 1.0 + 1e-3:
        fix = "x / 127.5 - 1" if hi > 1.5 and lo >= -1e-3 else "map them to [-1, 1] first"
        raise ValueError(
            f"{name} must lie in [-1, 1] (ganlib's convention, like G's tanh output), got values in "
            f"[{lo:.3g}, {hi:.3g}]: {fix} (0..255 pixels: x / 127.5 - 1; [0, 1] pixels: x * 2 - 1)"
        )
    if lo >= 0.0 and x.numel() > 1 and hi > lo:
        raise ValueError(
            f"{name} has no value below 0 (range [{lo:.3g}, {hi:.3g}]): these look like [0, 1] images, but ganlib's "
            "images lie in [-1, 1] with a background of -1. Convert with x * 2 - 1 (or, from 0..255 pixels, "
            "x / 127.5 - 1); a generator should end in tanh, not sigmoid"
        )
    return x


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Map tanh outputs in [-1, 1] to [0, 1] (clamped): same shape."""
    return ((x + 1) / 2).clamp(0, 1)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Map [-1, 1] to uint8 grey levels 0..255 by rounding: same shape."""
    return (to_unit(x) * 255).round().to(torch.uint8)


def save_grid(images: torch.Tensor, path, nrow: int = 8) -> Path:
    """Write images (N, 1, H, W) in [-1, 1] as one PNG grid; returns the path."""
    from torchvision.utils import save_image

    path = Path(path).expanduser()
    images = check_pixel_range(images.detach().cpu(), "the images of the grid")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(to_unit(images), path, nrow=nrow, padding=2, pad_value=1.0)
    return path


def export_pngs(source, folder, n: int = 10_000, seed: int = 0, batch_size: int = 1000, overwrite: bool = False) -> Path:
    """Write ``n`` samples as ``folder/0.png`` .. ``folder/{n-1}.png`` (28x28 8-bit grey), as the lab's platform grades them.

    ``source`` is a generator or a tensor (N, 1, H, W) in [-1, 1]; returns the folder. A folder
    that already holds images is refused (a later evaluation would mix old and new files) unless
    ``overwrite=True``, which first deletes its .png/.jpg files.
    """
    from PIL import Image

    folder = Path(folder).expanduser()  # "~/samples" is the home folder, not a folder named "~"
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file, not a folder: choose a folder name for the PNGs")
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}")
    if isinstance(source, torch.Tensor):
        if source.dim() != 4 or source.shape[1] != 1:
            raise ValueError(f"expected images (N, 1, H, W), got {tuple(source.shape)}")
        if source.shape[0] < n:
            raise ValueError(f"asked for {n} images but the tensor holds {source.shape[0]}: pass n={source.shape[0]}")
        check_pixel_range(source[:n], "the images to export")
        chunks = (source[i : i + batch_size] for i in range(0, n, batch_size))
    elif getattr(source, "z_dim", None) is not None:
        gen = torch.Generator(device="cpu").manual_seed(seed)
        z = torch.randn(n, source.z_dim, generator=gen)
        chunks = (check_pixel_range(sample(source, min(batch_size, n - i), z=z[i : i + batch_size]), "the generator's samples")
                  for i in range(0, n, batch_size))
    else:
        raise TypeError(f"cannot export a {type(source).__name__}: pass a generator (with z_dim) or a tensor (N, 1, H, W) in [-1, 1]")
    old = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES] if folder.is_dir() else []
    if old and not overwrite:
        raise FileExistsError(
            f"{folder} already holds {len(old)} image files: new and old images would be mixed in one evaluation. "
            "Choose an empty folder, or pass overwrite=True to delete its .png/.jpg files first"
        )
    for p in old:
        p.unlink()
    folder.mkdir(parents=True, exist_ok=True)
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


# How many grey levels R, G and B of an RGB file may differ by while it still counts as grey (JPEG's
# colour conversion moves grey pixels by a level or two; a colour map moves them by far more).
GREY_TOLERANCE = 3


def _grey_levels(img, path) -> tuple[np.ndarray, float]:
    """Return (pixels (H, W), highest level): uint8 with 255 or int32 with 65535; colour is refused."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey PNG: 0..65535 (PIL opens some as 32-bit "I")
        a = np.asarray(img, dtype=np.int32)
        if a.min() < 0 or a.max() > 65535:
            raise ValueError(f"{path} holds integer pixels outside 0..65535 ({a.min():.0f}..{a.max():.0f}): save 8- or 16-bit grey PNGs")
        return a, 65535.0
    if img.mode == "F":
        raise ValueError(f"{path} holds 32-bit float pixels, whose range PNG readers do not agree on: save 8-bit grey PNGs (uint8 0..255)")
    if img.mode in ("1", "L", "LA"):
        return np.asarray(img.convert("L"), dtype=np.uint8), 255.0
    rgb = np.asarray(img.convert("RGB"), dtype=np.int16)  # RGB, RGBA, palette, CMYK ...
    spread = int((rgb.max(axis=2) - rgb.min(axis=2)).max())
    if spread > GREY_TOLERANCE:
        raise ValueError(
            f"{path} is a colour image (its R, G and B differ by up to {spread} levels), e.g. written by plt.imsave with "
            "a colour map: ganlib would have to guess the grey levels. Save grey digits with "
            "plt.imsave(path, x, cmap='gray', vmin=0, vmax=1) or ganlib.export_pngs(G_or_images, folder)"
        )
    return np.asarray(img.convert("L"), dtype=np.uint8), 255.0


def load_pngs(folder, n: int | None = None, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Read the PNG/JPEG files of ``folder`` (0.png, 1.png, ... first) as (N, 1, H, W) in [-1, 1].

    8-bit and 16-bit grey files are scaled by their bit depth (0..255 or 0..65535 -> [-1, 1]); RGB
    files whose three channels agree (within ``GREY_TOLERANCE`` levels) count as grey; colour images
    raise ValueError. With ``size=(W, H)`` every image must have that size.
    """
    from PIL import Image

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of images")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_sort_key)
    if not files:
        raise FileNotFoundError(f"no .png/.jpg files in {folder}: expected 0.png, 1.png, ... (grey)")
    files = files[:n] if n is not None else files
    arrays = []
    for p in progress_bar(files, desc="read images", unit="img", enabled=len(files) >= 2000):
        try:
            with Image.open(p) as img:
                if size is not None and img.size != tuple(size):
                    raise ValueError(f"{p} is {img.size[0]}x{img.size[1]}; expected {size[0]}x{size[1]}")
                a, top = _grey_levels(img, p)
                arrays.append(torch.from_numpy(a.astype(np.float32)).div_(top / 2).sub_(1.0))  # 8-bit: x / 127.5 - 1
        except ValueError:
            raise
        except Exception as err:
            raise ValueError(f"{p} is not a readable image: {err}") from err
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"images in {folder} have different sizes: {sorted(shapes)}")
    return torch.stack(arrays).unsqueeze(1)
