"""Run-wide settings: the scale a chapter runs at, the device, the data root and seeding.

Three scales, chosen by a papermill parameter or the environment variable ``GANLIB_SCALE``:

- ``smoke``: seconds; used by the tests and CI.
- ``cpu``: minutes per chapter on a laptop CPU; real results at reduced size.
- ``full``: the lab reports' protocols (e.g. 100 epochs on 60,000 images), for a GPU.

With nothing set, the default is ``full`` when CUDA is available, else ``cpu``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

SCALES = ("smoke", "cpu", "full")


def resolve_scale(scale: str | None = None) -> str:
    """Return the effective scale: ``scale`` if given, else ``$GANLIB_SCALE``, else full/cpu by CUDA."""
    if scale is None or scale == "":
        scale = os.environ.get("GANLIB_SCALE") or ("full" if torch.cuda.is_available() else "cpu")
    scale = str(scale).strip().lower()
    if scale not in SCALES:
        raise ValueError(
            f"unknown scale {scale!r}: use one of {', '.join(SCALES)} "
            "(papermill parameter SCALE or environment variable GANLIB_SCALE)"
        )
    return scale


def by_scale(scale: str, smoke, cpu, full):
    """Return the value for ``scale`` among the three given (one per scale)."""
    return {"smoke": smoke, "cpu": cpu, "full": full}[resolve_scale(scale)]


def default_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` as a torch.device; ``None`` picks CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, str) and device.strip().lower() in ("gpu", "cuda0"):
        raise ValueError(f"device {device!r} is not a torch device name: use 'cuda' (or 'cuda:0') for the GPU, 'cpu' for the CPU")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device {device!r} is not a torch device: use 'cpu', 'cuda' or 'cuda:0' ({err})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available: use device='cpu'")
    return device


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Return the data root: ``root`` if given, else ``$GANLIB_DATA``, else ``~/.cache/ganlib/data``."""
    if root is None:
        root = os.environ.get("GANLIB_DATA") or Path.home() / ".cache" / "ganlib" / "data"
    return Path(root).expanduser()


def cache_dir() -> Path:
    """Return the folder for cached statistics and checkpoints (``$GANLIB_CACHE`` or ~/.cache/ganlib)."""
    path = Path(os.environ.get("GANLIB_CACHE") or Path.home() / ".cache" / "ganlib").expanduser()
    source = "$GANLIB_CACHE" if os.environ.get("GANLIB_CACHE") else "the default cache folder"
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{source} {os.fspath(path)!r} is a file, not a folder: set GANLIB_CACHE to a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PermissionError(f"cannot create {source} {os.fspath(path)!r} ({err.strerror}): set GANLIB_CACHE to a writable folder") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{source} {os.fspath(path)!r} is not writable: set GANLIB_CACHE to a writable folder")
    return path


def display_path(path: str | os.PathLike) -> str:
    """Return ``path`` as a reader may see it: under ``$GANLIB_CACHE``, ``$GANLIB_DATA``, ``$TMPDIR`` or ``~``.

    Chapters print where a run or a file went; the built book must not show the build machine's
    folders, and a student's own run shows the same short form.
    """
    import tempfile

    path = Path(path).expanduser().resolve()
    roots = [("$GANLIB_CACHE", cache_dir()), ("$GANLIB_DATA", data_root()), ("$TMPDIR", Path(tempfile.gettempdir())),
             ("~", Path.home())]
    for name, root in roots:
        root = root.expanduser().resolve()
        if path == root or root in path.parents:
            return str(Path(name) / path.relative_to(root))
    return str(path)


def env_flag(name: str) -> bool:
    """Return whether the environment variable ``name`` is set to something other than '', 0, false or no."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def progress_bar(iterable=None, enabled: bool = True, **kwargs):
    """Return a ``tqdm.auto`` progress bar: every long loop of ganlib shows one to a person.

    ``enabled=False`` (a function's ``progress=False``) or the environment variable ``TQDM_DISABLE=1``
    (set by the book build, so that no bar is left on a rendered page) turns it off. tqdm reads that
    variable only when ``disable`` is not passed; ganlib's loops pass it, so it is honoured here.
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=env_flag("TQDM_DISABLE") or not enabled, **kwargs)


def _install_warning_format() -> None:
    """Show ganlib's own warnings as ``ganlib/recipes.py:71: UserWarning: ...``, without the install folder.

    A warning names the file it comes from; for ganlib that file's full path is the reader's (or
    the book builder's) site-packages or checkout, which says nothing and leaks the machine's folders
    into the built book. Other libraries' warnings keep Python's format.
    """
    import warnings

    package = str(Path(__file__).resolve().parent)
    previous = warnings.formatwarning
    if getattr(previous, "_ganlib", False):
        return

    def formatwarning(message, category, filename, lineno, line=None):
        if str(filename).startswith(package):
            filename = "ganlib" + str(filename)[len(package):]
        return previous(message, category, filename, lineno, line)

    formatwarning._ganlib = True
    warnings.formatwarning = formatwarning


_install_warning_format()


def atomic_save(obj, path: str | os.PathLike, text: bool = False) -> Path:
    """Write ``obj`` to ``path`` atomically and return the path: a temporary file in the same folder,
    then a rename, so that a reader (or a run killed half-way) never sees a partial file.

    ``obj`` is saved with ``torch.save``, or written as it is when ``text`` is true (a str) or when it
    is a ``Path`` to copy (a file copied into place atomically).
    """
    import shutil
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w" if text else "wb") as f:
            if text:
                f.write(obj)
            elif isinstance(obj, Path):
                with open(obj, "rb") as src:
                    shutil.copyfileobj(src, f)
            else:
                torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def moved_attribute(module: str, name: str, moved: dict):
    """Return ``name`` from the module it moved to (``moved``: {name: module under ganlib}) with a
    DeprecationWarning, for a module's ``__getattr__``; raise AttributeError for any other name.

    Names that moved when the library was split by concern stay importable from their old place for
    one release.
    """
    import importlib
    import warnings

    if name not in moved:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(f"{module}.{name} moved to ganlib.{moved[name]}.{name}; the old name goes in the next release",
                  DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(f"ganlib.{moved[name]}"), name)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) in one place."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
