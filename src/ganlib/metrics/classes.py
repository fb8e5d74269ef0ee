"""MNIST mode metrics: the share of each digit among generated images, by the evaluation suite's classifier.

:func:`class_mode_stats` is the 2D toys' mode count (:func:`ganlib.toys.mode_stats`) with a digit
classifier (``ganlib.features.class_probs`` by default) in place of the nearest mode;
:func:`mnist_mode_report` adds the metrics of :func:`ganlib.metrics.evaluate` for several generators,
and :func:`mnist_seed_report` for several seeds of each (tables of mean and spread: ``ganlib.tables.spread_table``).
"""

from __future__ import annotations

from typing import Callable

import torch

from ..features.mnist import class_probs as _suite_class_probs
from ..images import sample
from .evaluation import evaluate


def class_mode_stats(images: torch.Tensor, class_probs: Callable | None = None, n_classes: int = 10, min_count: int = 1) -> dict:
    """Return the classifier-based mode count of images (N, 1, 28, 28).

    Each image is assigned its most probable class under ``class_probs(images) -> (N, n_classes)``
    (default: the evaluation suite's ``ganlib.features.class_probs``). Keys: ``shares``
    (n_classes,) share of each class, ``counts``, ``modes_covered`` (classes with at least
    ``min_count`` images), ``kl_to_uniform`` = sum_k p_k log(n_classes p_k) (0 for a perfectly
    balanced generator, log 10 = 2.303 for one digit only).
    """
    if class_probs is None:
        class_probs = _suite_class_probs  # the evaluation suite
    probs = class_probs(images)
    if probs.dim() != 2 or probs.shape != (images.shape[0], n_classes):
        raise ValueError(f"class_probs must return ({images.shape[0]}, {n_classes}), got {tuple(probs.shape)}")
    counts = torch.bincount(probs.argmax(1).cpu(), minlength=n_classes)
    p = counts.double() / counts.sum()
    nz = p > 0
    return {
        "shares": p.float(),
        "counts": counts,
        "modes_covered": int((counts >= min_count).sum()),
        "kl_to_uniform": float((p[nz] * torch.log(p[nz] * n_classes)).sum()),
    }


def mnist_mode_report(generators: dict, n: int = 2500, seed: int = 0) -> dict:
    """Return ``{label: {digits, kl_to_uniform, fid, precision, recall, density, coverage, shares}}`` for MNIST generators.

    Each generator draws ``n`` samples from ``seed``; ``digits`` and ``kl_to_uniform`` are
    :func:`class_mode_stats` (the evaluation suite's classifier), the rest ``ganlib.metrics.evaluate``
    against the MNIST test set. Render it with ``ganlib.metrics.results_table(report, keys=...)``.
    """
    return {label: images_report(sample(G, n, seed=seed)) for label, G in generators.items()}


def images_report(fake: torch.Tensor) -> dict:
    """Return ``{digits, kl_to_uniform, fid, ..., shares}`` of generated images (N, 1, 28, 28): :func:`class_mode_stats`
    and ``ganlib.metrics.evaluate`` against the MNIST test set, on the same N images."""
    modes = class_mode_stats(fake)
    scores = evaluate(fake, n=fake.shape[0])
    return {"digits": modes["modes_covered"], "kl_to_uniform": modes["kl_to_uniform"], **scores, "shares": modes["shares"]}


def mnist_seed_report(runs: dict, n: int = 2500) -> dict:
    """Return ``{label: [report, one per seed]}`` for ``{label: [Run, one per seed]}`` (``ganlib.train_or_load_seeds``).

    Each report is :func:`mnist_mode_report`'s for that seed's generator, whose ``n`` samples are
    drawn from the run's own training seed (seed 0's are the samples a single-seed chapter draws).
    Tabulate it with ``ganlib.tables.spread_table`` (mean and spread over seeds).
    """
    return {label: [mnist_mode_report({label: r.G}, n=n, seed=r.spec.cfg.seed)[label] for r in seed_runs]
            for label, seed_runs in runs.items()}
