"""ganlib: the library behind an open GAN course on MNIST.

Plain functions over tensors: data as one tensor on the device, the lab's MLP networks, losses as
pure functions, one training function, samplers and metrics. The names below are the public
entry points; every submodule is importable as ``ganlib.<module>`` and is loaded on first use,
so that a command line that needs neither plots nor samplers does not pay for them.

Layout, one concern per module:

- ``config``: scale, device, data root, cache folder, seeding, progress bars, atomic writes
- ``presets``: every chapter's settings at the smoke / cpu / full scales, in one table
- ``data``: MNIST as tensors; ``models``: the lab's MLPs and weight loading
- ``losses``, ``regularizers``: loss pairs over D's outputs; gradient penalty, R1, clipping
- ``training``: one training function (Algorithm 1) and exact resume; ``checkpoints``: the files it
  writes and reads; ``guards``: its input checks and divergence limits
- ``callbacks``: snapshots, learning-rate schedules, FID early stopping
- ``runs``: a run described as data, built in one place, trained or reused from the cache
- ``seeds``: several seeds of one run trained as one stacked (batched) run
- ``recipes``: the course's reference runs, built from the presets
- ``results``: every method and sampler scored by one suite over seeds, as records (JSON) and tables
- ``wgan``, ``unrolled``, ``mdgan``: the papers' methods; ``diagnostics``: critic and gradient probes
- ``images``: drawing from G and image files; ``samplers``: samplers that improve a trained G
- ``features``, ``metrics``, ``degrade``: the metric suite and its sanity checks
- ``toys``: the 2D laboratory; ``plots``, ``tables``: figures and Markdown for the book
- ``cli``: ``ganlib evaluate`` (metrics of images or a checkpoint), ``ganlib toys`` (one row of the toy table)

Public names: a package (``ganlib``, ``ganlib.metrics``, ``ganlib.features``, ``ganlib.toys``) lists
them in ``__all__``; in a module, every name without a leading underscore is public. A name that
moved keeps a deprecated alias for one release.
"""

import importlib

from .config import resolve_scale, set_seed
from .data import batches, load_mnist
from .models import Discriminator, Generator, generator_from_checkpoint, load_weights
from .presets import preset
from .runs import Method, Run, RunSpec, train_or_load, train_or_load_seeds
from .images import export_pngs, sample, save_grid
from .training import DivergenceError, History, TrainConfig, train

__version__ = "0.2.0"

_SUBMODULES = {
    "callbacks", "checkpoints", "cli", "config", "data", "degrade", "diagnostics", "features", "guards", "losses", "mdgan", "metrics", "models",
    "plots", "presets", "recipes", "regularizers", "results", "runs", "samplers", "sampling", "images", "seeds", "tables", "toys", "training",
    "unrolled", "wgan",
}

__all__ = [
    "resolve_scale", "set_seed", "batches", "load_mnist", "Discriminator", "Generator", "generator_from_checkpoint",
    "load_weights", "preset", "Method", "Run", "RunSpec", "train_or_load", "train_or_load_seeds", "export_pngs", "sample", "save_grid",
    "DivergenceError", "History", "TrainConfig", "train", "evaluate", "show_source",
]


def __getattr__(name):
    """Load a submodule (``ganlib.metrics``) or a lazily imported entry point on first use."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "evaluate":
        from .metrics import evaluate

        return evaluate
    if name == "show_source":
        from .tables import show_source

        return show_source
    raise AttributeError(f"module 'ganlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(__all__))
