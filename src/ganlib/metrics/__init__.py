"""GAN evaluation metrics as chains of small pure functions: features -> statistics -> metric.

Features come from ganlib's shipped MNIST classifier (:mod:`ganlib.features`) unless given;
:func:`evaluate` is the one entry point the chapters use, and :func:`inception_fid` computes FID
with pytorch-fid's Inception-v3 features for comparison with the lab reports.

- :mod:`.fid`: FID (Heusel et al. 2017) from features or statistics, and :func:`inception_fid`.
- :mod:`.is_score`: the Inception Score (Salimans et al. 2016) of class probabilities.
- :mod:`.knn`: exact blocked k-NN; precision/recall (Kynkaanniemi et al. 2019), density/coverage (Naeem et al. 2020).
- :mod:`.evaluation`: :func:`evaluate`, its image sources and the cached real-data statistics.
- :mod:`.classes`: MNIST mode metrics, the digit-class shares by the classifier.

The Inception-v3 extractor lives in :mod:`ganlib.features.inception` and is re-exported here.
Tables of results: ``ganlib.tables.markdown_table``.
"""

from __future__ import annotations

from ..features.inception import (
    INCEPTION_FILE, INCEPTION_URL, InceptionPool3, fid_inception_net, inception_features, inception_weights,
    load_inception,
)
from .classes import class_mode_stats, images_report, mnist_mode_report, mnist_seed_report
from .evaluation import (
    METRIC_KEYS, STATS_VERSION, check_sample_sizes, default_real, evaluate, images_from, load_image_folder,
    metrics_from_features, minimum_samples,
    real_statistics, tensor_hash,
)
from .fid import feature_statistics, fid_from_features, fid_from_statistics, frechet_distance, inception_fid, trace_sqrt_product
from .is_score import inception_score
from ..tables import markdown_table
from .knn import BLOCK_ELEMENTS, density_coverage, knn_radii, manifold_counts, prdc, precision_recall

__all__ = [
    # fid.py
    "feature_statistics", "trace_sqrt_product", "frechet_distance", "fid_from_statistics", "fid_from_features",
    "inception_fid",
    # is_score.py
    "inception_score",
    # knn.py
    "BLOCK_ELEMENTS", "knn_radii", "manifold_counts", "prdc", "precision_recall", "density_coverage",
    # evaluation.py
    "METRIC_KEYS", "STATS_VERSION", "load_image_folder", "images_from", "tensor_hash", "real_statistics",
    "default_real", "metrics_from_features", "evaluate", "minimum_samples", "check_sample_sizes",
    # classes.py
    "class_mode_stats", "images_report", "mnist_mode_report", "mnist_seed_report",
    # ganlib.features.inception
    "INCEPTION_URL", "INCEPTION_FILE", "fid_inception_net", "InceptionPool3", "inception_weights", "load_inception",
    "inception_features",
    # a thin wrapper of ganlib.tables.markdown_table
    "results_table",
]


def results_table(results: dict, keys=("fid", "precision", "recall", "density", "coverage"), extra: dict | None = None,
                  label: str = "run") -> str:
    """Return a Markdown table of ``{row label: metrics dict}``: ``ganlib.tables.markdown_table`` (the one formatter)."""
    return markdown_table(results, columns=keys, label=label, extra=extra)
