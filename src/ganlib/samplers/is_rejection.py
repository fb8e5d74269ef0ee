"""Inception-Score rejection (lab report 000): draw batches, keep a batch when its Inception
Score (Salimans et al. 2016), exp(E_x KL(p(y|x) || p(y))) under an MNIST classifier, passes
a threshold; :func:`is_rejection_sample`.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from ..config import progress_bar
from ..features import class_probs
from ..metrics import inception_score
from ._common import check_budget, _check_n, _first, _generate, _latents, _stats, _z_dim


def batch_inception_score(probs: torch.Tensor) -> float:
    """Return the Inception Score of one batch of class probabilities (N, C): ``ganlib.metrics.inception_score``
    with one split, a float in [1, C]."""
    return inception_score(probs, splits=1)["is_mean"]


def _impossible(threshold, batch_size, classes) -> str:
    return (f"threshold={threshold} can never be reached: the Inception Score of a batch of {batch_size} images over "
            f"{classes} classes is at most min({batch_size}, {classes}) = {min(batch_size, classes)}. Choose a threshold below it "
            "(is_threshold(G, target_acceptance=...) picks one that a chosen share of batches pass)")


def _default_classifier():
    """The evaluation suite's MNIST classifier: images (N, 1, 28, 28) -> class probabilities (N, 10)."""
    return class_probs


def is_threshold(G, classifier: Callable | None = None, target_acceptance: float = 0.5, n_batches: int = 50,
                 batch_size: int = 100, seed: int = 0) -> tuple[float, torch.Tensor]:
    """Return the IS threshold that ``target_acceptance`` of burn-in batches pass, and the burn-in scores (n_batches,)."""
    if not 0 < target_acceptance <= 1:
        raise ValueError(f"target_acceptance must be in (0, 1], got {target_acceptance}")
    classifier = classifier or _default_classifier()
    gen = torch.Generator().manual_seed(seed)
    scores = torch.tensor([batch_inception_score(classifier(_generate(G, _latents(gen, batch_size, _z_dim(G)))))
                           for _ in range(n_batches)])
    return float(torch.quantile(scores.double(), 1 - target_acceptance)), scores


def is_rejection_sample(G, n: int, threshold: float, seed: int = 0, classifier: Callable | None = None,
                        batch_size: int = 100, max_proposals: int | None = None, keep_rejected: int = 0, progress: bool = True):
    """Return ``n`` samples (n, *out_shape) from batches of ``batch_size`` whose Inception Score is >= ``threshold``, and stats.

    ``classifier`` maps images (B, ...) to class probabilities (B, C); default
    ``ganlib.features.class_probs``. The last accepted batch is cut to make exactly ``n``.
    """
    _check_n(n)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    default = classifier is None
    classifier = classifier or _default_classifier()
    # The Inception Score of a batch of b images over C classes is exp(mutual information) <= min(b, C):
    # a higher threshold can never be passed (checked at once for the default 10-class classifier,
    # after the first batch for another one).
    if default and threshold > min(batch_size, 10):
        raise ValueError(_impossible(threshold, batch_size, 10))
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    max_proposals = max_proposals or 1000 * n + 100_000
    kept, n_kept, proposed, accepted_batches, scores, rejected = [], 0, 0, 0, [], []
    advice = "Lower the threshold: is_threshold(G, target_acceptance=...) gives one that a chosen share of batches pass"
    with progress_bar(total=n, desc="IS rejection", unit="sample", enabled=progress) as bar:
        while n_kept < n:
            # optimistic rate per sample: (accepted + 3) / proposed batches bounds the rate when none passed yet
            rate = min(1.0, (accepted_batches + 3) / max(proposed, 1))
            check_budget("IS rejection", n, n_kept, proposed * batch_size, rate, max_proposals, advice,
                         min_proposed=20 * batch_size)
            x = _generate(G, _latents(gen, batch_size, _z_dim(G)))
            probs = classifier(x)
            if proposed == 0 and threshold > min(batch_size, probs.shape[1]):
                raise ValueError(_impossible(threshold, batch_size, probs.shape[1]))
            score = batch_inception_score(probs)
            scores.append(score)
            proposed += 1
            bar.set_postfix(batches=proposed, passed=accepted_batches + (score >= threshold), refresh=False)
            if score >= threshold:
                accepted_batches += 1
                take = x[: n - n_kept]
                kept.append(take)
                n_kept += take.shape[0]
                bar.update(take.shape[0])
            elif sum(r.shape[0] for r in rejected) < keep_rejected:
                rejected.append(x[:keep_rejected])
    return torch.cat(kept), _stats(accepted_batches, proposed, proposed * batch_size, t0, threshold=float(threshold),
                                   mean_batch_is=float(np.mean(scores)), batch_size=batch_size,
                                   rejected=_first(rejected, keep_rejected))
