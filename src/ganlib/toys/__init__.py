"""The 2D toy laboratory: toy datasets, mode-coverage metrics and the figures that show mode collapse.

- :mod:`.data`: the 2D datasets (Gaussian mixtures, circle, s-curve, half-moons) and the course's protocol for them.
- :mod:`.metrics`: VEEGAN/PacGAN mode metrics (modes covered, high quality, reverse KL) and their tables.
- :mod:`.lab`: training on a toy (:func:`run_toy`, :func:`compare_on_toys`), the plots and the live widget panel.

The MNIST counterparts :func:`class_mode_stats` and :func:`mnist_mode_report` live in
:mod:`ganlib.metrics.classes` and are re-exported here.
"""

from ..metrics.classes import class_mode_stats, mnist_mode_report
from .data import TOYS, Circle, GaussianMixture2D, HalfMoons, SCurve, circle, grid, half_moons, make_toy, ring, s_curve
from .lab import (
    compare_on_toys, plot_datasets, plot_decision_surface, plot_density, plot_snapshots, plot_toy_result, run_toy, run_toy_seeds,
    TOY_ARCH, TOY_D_ARCH, TOY_G_ARCH, ToyRun, ToySettings, runs_table, toy_models, toy_spec, widget_panel,
    PROTOCOL_METHODS, PUBLISHED, ProtocolRow, drs_metrics, protocol_row, protocol_runs, protocol_table,
    toy_row, METHOD_LABELS, glue_runs,
)
from .metrics import mean_over_seeds, mode_stats, mode_table

__all__ = [
    # data.py
    "GaussianMixture2D", "Circle", "SCurve", "HalfMoons", "ring", "grid", "circle", "s_curve", "half_moons", "TOYS",
    "make_toy",
    # metrics.py
    "mode_stats", "mean_over_seeds", "mode_table",
    # lab.py
    "TOY_ARCH", "TOY_G_ARCH", "TOY_D_ARCH", "ToySettings", "ToyRun", "toy_models", "toy_spec", "run_toy", "run_toy_seeds", "compare_on_toys", "runs_table", "plot_snapshots", "plot_density",
    "plot_decision_surface", "plot_toy_result", "plot_datasets", "widget_panel",
    "PROTOCOL_METHODS", "PUBLISHED", "ProtocolRow", "protocol_row", "protocol_runs", "toy_row", "METHOD_LABELS", "protocol_table", "drs_metrics", "glue_runs",
    # ganlib.metrics.classes
    "class_mode_stats", "mnist_mode_report",
]
