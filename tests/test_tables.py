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
