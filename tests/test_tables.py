"""ganlib.tables: the one Markdown table formatter and the source listings the chapters show."""

import subprocess
import sys

import pytest

from ganlib import regularizers
from ganlib.tables import format_value, markdown_table, source_markdown


def test_format_value_rounds_to_three_digits_and_separates_thousands():
    assert [format_value(v) for v in (0.123456, 38.71, 1234.5, 12345, None, True, "x")] == [
        "0.123", "38.7", "1,234", "12,345", "-", "True", "x"]


def test_markdown_table_from_rows_and_from_labelled_dicts():
    rows = [{"model": "a", "fid": 1.23456}, {"model": "b", "fid": 20.0}]
    assert markdown_table(rows) == "| model | fid |\n|---|---|\n| a | 1.23 |\n| b | 20 |"
    labelled = {"GAN": {"fid": 5.0, "recall": 0.5}, "WGAN": {"fid": 4.0}}
    table = markdown_table(labelled, ["fid", "recall"], label="variant", extra={"steps": {"GAN": 10}})
    assert table.splitlines() == ["| variant | fid | recall | steps |", "|---|---|---|---|", "| GAN | 5 | 0.5 | 10 |",
                                  "| WGAN | 4 | - | - |"]
    with pytest.raises(ValueError, match="no rows"):
        markdown_table([])


def test_source_markdown_is_the_librarys_own_code():
    md = source_markdown(regularizers.r1_penalty)
    assert md.startswith("From `ganlib.regularizers, line ") and "```python\ndef r1_penalty(D, real):" in md
    with pytest.raises(ValueError, match="no source"):
        source_markdown(len)


def test_the_command_line_starts_without_plots_or_the_metric_suite():
    code = "import sys, ganlib.cli; print(sorted(m for m in ('matplotlib', 'ganlib.metrics', 'ganlib.plots') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_format_spread_gives_the_mean_to_the_precision_of_its_spread():
    from ganlib.tables import format_spread

    nb = "\u00a0"  # a cell that wraps breaks before the ±
    assert format_spread([170.0, 180.0, 190.0]) == f"180 ±{nb}8"  # std 8.16: one significant digit
    assert format_spread([160.0, 180.0, 200.0]) == f"180 ±{nb}16"  # std 16.3: two, as it starts with 1
    assert format_spread([0.70, 0.72, 0.75]) == f"0.723 ±{nb}0.021"
    assert format_spread([1234.0, 1334.0]) == f"1,284 ±{nb}50"
    assert format_spread([10, 10, 10]) == "10"  # equal on every seed: the value
    assert format_spread([0.713]) == "0.713"  # one seed: the value, no spread
    assert format_spread([150.0, float("nan"), 160.0]) == f"155 ±{nb}5 (1 diverged)"
    assert format_spread([float("nan")]) == "- (1 diverged)"


def test_spread_table_counts_the_seeds_and_keeps_extra_columns():
    from ganlib.tables import mean_of, spread_table

    rows = {"a": [{"fid": 100.0, "digits": 10}, {"fid": 110.0, "digits": 9}], "b": [{"fid": 50.0, "digits": 10}]}
    table = spread_table(rows, ("fid", "digits"), extra={"G steps": {"a": 780, "b": 780}}).splitlines()
    assert table[0] == "| run | seeds | fid | digits | G steps |"
    assert table[2] == "| a | 2 | 105 ±\u00a05 | 9.5 ±\u00a00.5 | 780 |"
    assert table[3] == "| b | 1 | 50 | 10 | 780 |"
    assert mean_of(rows["a"], "fid") == 105.0
