"""Figures are designed for the book's page: as wide as the content column, at most four panels a row."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ganlib import degrade, plots, toys  # noqa: E402
from ganlib.plots import MAX_PER_ROW, PAGE_WIDTH  # noqa: E402


def _rows_and_cols(fig):
    """Rows and columns of panels (colorbars left out; positions to a tenth of the figure)."""
    boxes = [ax.get_position() for ax in fig.axes if not hasattr(ax, "_colorbar")]
    return len({round(b.y0, 1) for b in boxes}), len({round(b.x0, 1) for b in boxes})


@pytest.mark.parametrize("n, rows, cols", [(1, 1, 1), (4, 1, 4), (5, 2, 4), (8, 2, 4), (9, 3, 4)])
def test_panels_wrap_at_four_a_row_and_keep_the_page_width(n, rows, cols):
    fig, axes = plots.panels(n)
    assert len(axes) == n == len(fig.axes)  # unused cells of the last row are removed
    assert _rows_and_cols(fig) == (rows, cols)
    assert fig.get_size_inches()[0] == pytest.approx(PAGE_WIDTH)
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one panel"):
        plots.panels(0)


def test_digit_grids_go_two_a_row_within_the_page():
    grids = {f"run {i}": torch.rand(32, 1, 28, 28) * 2 - 1 for i in range(3)}
    fig = plots.show_grids(grids, title="three runs")
    assert fig.get_size_inches()[0] <= PAGE_WIDTH + 1e-9
    assert _rows_and_cols(fig)[1] == 2 and len(fig.axes) == 3
    plt.close(fig)


def test_chapter_figures_fit_the_page():
    """The figures that used to be 13-18 inches wide: toy result, toy datasets, snapshots, sanity lab."""
    toy = toys.ring()
    result = toys.run_toy(toy, steps=10, batch_size=64, snapshots=8, n_eval=300, seed=0)
    entry = {"values": [0, 1], "xlabel": "strength", "results": [
        {"fid": 1.0, "precision": 0.9, "recall": 0.8, "density": 1.0, "coverage": 0.9, "is_mean": 9.0}] * 2}
    figures = {"toy result": toys.plot_toy_result(result), "datasets": toys.plot_datasets(n=200),
               "snapshots": toys.plot_snapshots(result["snapshots"], toy),
               "sanity lab": degrade.plot_sanity_lab({name: entry for name in ("a", "b", "c", "d", "e")})}
    for name, fig in figures.items():
        assert fig.get_size_inches()[0] <= PAGE_WIDTH + 1e-9, name
        assert _rows_and_cols(fig)[1] <= MAX_PER_ROW, name
        plt.close(fig)


def test_class_shares_over_seeds_draw_the_mean_and_the_range():
    one = torch.full((10,), 0.1)
    seeds = [torch.tensor([0.2] + [0.8 / 9] * 9), torch.tensor([0.0] + [1 / 9] * 9)]
    ax = plots.plot_class_shares({"single": one, "two seeds": seeds}, title="shares")
    bars = [p.get_height() for p in ax.patches]
    assert bars[10] == pytest.approx(0.1)  # digit 0 of the two seeds: the mean of 0.2 and 0.0
    (lines,) = ax.collections  # one range line per digit, for the row with seeds only
    assert len(lines.get_segments()) == 10 and lines.get_segments()[0][:, 1].tolist() == pytest.approx([0.0, 0.2])
    assert "range over seeds" in ax.get_ylabel()
    plt.close(ax.figure)
