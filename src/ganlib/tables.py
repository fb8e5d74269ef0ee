"""Markdown for the book: one table formatter and the library's own source, shown in a chapter.

A chapter displays both with ``IPython.display.Markdown``, so the built book renders a real table
and a highlighted code block:

    display(Markdown(ganlib.tables.markdown_table(scores, label="run")))
    ganlib.show_source(ganlib.regularizers.gradient_penalty)

and hands a measured number to its prose with :func:`glue` (the page quotes its own run). Several
seeds of each row (``{row label: [metrics dict, one per seed]}``) tabulate as mean ± std with
:func:`spread_table`, and :func:`versus` says in words whether two rows differ beyond that spread.
"""

from __future__ import annotations

import inspect
import math
import textwrap
from typing import Callable, Iterable



def glue(name: str, value, fmt: str | None = None) -> None:
    """Record ``value`` under ``name`` for the page's prose, as myst-nb's ``glue(name, value, display=False)``.

    With ``fmt`` (e.g. ".2f") a number is glued as its formatted text, and NaN as "undefined", so a
    value that can be missing at some scale (a reverse KL without any high-quality point) reads as a word.

    The prose quotes it with ``{glue:text}`name``` (a number with a format: ``{glue:text}`name:.1f```).
    A string renders without its quotes (myst-nb reads the repr back with ``ast.literal_eval``; a string
    of digits such as "3,000" therefore stays a string). This writes myst-nb's record format itself (a hidden display output
    of mimetype ``application/papermill.record/text/plain`` with ``scrapbook`` metadata), so a chapter
    also runs where myst-nb is not installed (Colab); the book build reads the record.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    if fmt is not None and isinstance(value, (int, float)):
        value = "undefined" if math.isnan(value) else format(value, fmt)
    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = dict(name=name, mime_prefix="application/papermill.record/")
    display({"application/papermill.record/" + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def versus(a, b, higher_is_better: bool = True, paired: bool = False) -> str:
    """How per-seed values ``a`` compare with ``b``, in words a chapter's prose can glue:
    'ahead of' / 'behind' (the means differ by more than the larger standard deviation over seeds),
    'level with' (inside the spread: a tie), or 'not comparable with' (fewer than 2 seeds on a side:
    no spread). Diverged seeds (NaN) are left out, as in ``ganlib.seeds.mean_and_spread``.

    ``paired``: ``a[s]`` and ``b[s]`` measure the same seed (a sampler applied to generator s, and
    plain sampling from it), so the test is on the differences ``a[s] - b[s]``: ahead or behind when
    their mean is larger than their standard deviation. Pairing removes the spread between
    generators, which is not what the comparison is about."""
    from .seeds import mean_and_spread

    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired values need one of each per seed, got {len(a)} and {len(b)}")
        d = mean_and_spread([x - y for x, y in zip(a, b)])
        if d["n"] < 2:
            return "not comparable with"
        gap, spread = d["mean"], d["std"]
    else:
        sa, sb = mean_and_spread(a), mean_and_spread(b)
        if sa["n"] < 2 or sb["n"] < 2:
            return "not comparable with"
        gap, spread = sa["mean"] - sb["mean"], max(sa["std"], sb["std"])
    if abs(gap) <= spread:
        return "level with"
    return "ahead of" if (gap > 0) == higher_is_better else "behind"


def versus_note(a, b, higher_is_better: bool = True) -> str:
    """:func:`versus` as a parenthetical about ``b`` ("it"): 'ahead of it over seeds', 'level with it over
    seeds', ..., or 'one seed per row: no spread to compare' where there is no spread."""
    word = versus(a, b, higher_is_better)
    return "one seed per row: no spread to compare" if word == "not comparable with" else f"{word} it over seeds"


def change_words(before, after, higher_is_better: bool = True, noise_range=None, over: str = "the seeds") -> str:
    """How per-seed values changed from ``before`` to ``after`` on the same seeds (a sampler applied to each
    generator), in words a chapter can glue: 'a -> b (change c ± s), better beyond the spread over the
    seeds' / 'worse beyond ...' / 'a tie (inside the spread over the seeds)', means over the seeds and the
    spread of the paired differences (:func:`versus` with ``paired=True``). With one seed, ``noise_range``
    = (lo, hi), the range of re-draws of the before value, judges the change instead."""
    from .seeds import mean_and_spread

    d = mean_and_spread([x - y for x, y in zip(after, before)])
    c = round(d["mean"])
    text = (f"{mean_and_spread(before)['mean']:.0f} -> {mean_and_spread(after)['mean']:.0f} (change "
            f"{f'{c:+d}' if c else '0'}" + (f" ± {d['std']:.0f}" if d["n"] > 1 else "") + "), ")
    if d["n"] > 1:
        word = versus(after, before, higher_is_better, paired=True)
        return text + {"ahead of": f"better beyond the spread over {over}", "behind": f"worse beyond the spread over {over}",
                       "level with": f"a tie (inside the spread over {over})"}[word]
    if noise_range is None:
        return text + "one seed: no spread to judge it by"
    x, (lo, hi) = after[0], noise_range
    better = x > hi if higher_is_better else x < lo
    return text + ("a tie (inside the plain draws' range)" if lo <= x <= hi else
                   "better than every plain draw" if better else "worse than every plain draw")


def format_value(v) -> str:
    """Return a cell: floats to 3 significant digits (thousands as integers), ints with separators, None as '-'."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def markdown_table(rows, columns: Iterable[str] | None = None, label: str = "run", extra: dict | None = None) -> str:
    """Return a Markdown table.

    ``rows`` is a list of dicts (one per row) or ``{row label: dict}`` (the label becomes the first
    column, headed ``label``). ``columns`` picks the keys (default: all keys of the first row);
    ``extra`` adds columns ``{name: {row label: value}}``. A missing value shows as '-'.
    """
    extra = extra or {}
    if isinstance(rows, dict):
        rows = [{label: name, **values, **{col: vals.get(name) for col, vals in extra.items()}}
                for name, values in rows.items()]
        columns = [label, *(columns or [k for k in rows[0] if k != label and k not in extra]), *extra] if rows else [label]
    if not rows:
        raise ValueError("no rows to tabulate")
    columns = list(columns or rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(format_value(r.get(k)) for k in columns) + " |" for r in rows]
    return "\n".join(lines)


def format_spread(values) -> str:
    """Return per-seed ``values`` as one cell: 'mean ± std' over seeds, the std rounded to one significant
    digit (two when that digit is 1 or 2) and the mean to the same decimal place ('186 ± 17',
    '0.80 ± 0.03'); values equal on every seed, or one value alone, as :func:`format_value`; diverged seeds
    (NaN) are left out and counted ('181 ± 4 (1 diverged)'). A cell that must wrap breaks before the ±, not after it."""
    from .seeds import mean_and_spread

    values = list(values)
    s = mean_and_spread(values)
    lost = len(values) - s["n"]
    note = f" ({lost} diverged)" if lost else ""
    if s["n"] == 0:
        return "-" + note
    mean, std = s["mean"], s["std"]
    if s["n"] == 1 or std == 0:
        return format_value(next(v for v in values if v is not None and math.isfinite(float(v)))) + note
    digits = 2 if f"{std:e}"[0] in "12" else 1
    decimals = max(0, digits - 1 - math.floor(math.log10(std)))
    return f"{mean:,.{decimals}f} ±\u00a0{std:,.{decimals}f}{note}"


def spread_table(rows: dict, columns: Iterable[str], label: str = "run", extra: dict | None = None) -> str:
    """Return a Markdown table of ``{row label: [metrics dict, one per seed]}``: each cell of ``columns``
    is :func:`format_spread` over the seeds, and a column 'seeds' counts them. ``extra`` adds columns
    ``{name: {row label: value}}`` (one value per row, e.g. the generator steps)."""
    columns = list(columns)
    table = {name: {"seeds": len(per_seed), **{k: format_spread([r[k] for r in per_seed]) for k in columns}}
             for name, per_seed in rows.items()}
    return markdown_table(table, ["seeds", *columns], label=label, extra=extra)


def mean_of(per_seed, key: str) -> float:
    """The mean of ``key`` over per-seed metric dicts (diverged seeds, NaN, left out: ``ganlib.seeds.mean_and_spread``)."""
    from .seeds import mean_and_spread

    return mean_and_spread([r[key] for r in per_seed])["mean"]


def source_markdown(fn: Callable) -> str:
    """Return the source of ``fn`` (a function, method or class of ganlib) as a Markdown code block with its origin."""
    try:
        code = textwrap.dedent(inspect.getsource(fn))
        where = f"{inspect.getmodule(fn).__name__}, line {inspect.getsourcelines(fn)[1]}"
    except (TypeError, OSError) as err:
        raise ValueError(f"no source for {fn!r}: pass a function, method or class defined in a .py file") from err
    return f"From `{where}`:\n\n```python\n{code.rstrip()}\n```"


def show_source(fn: Callable):
    """Display the source of ``fn`` in a notebook (a chapter shows the library code it teaches; it is written once)."""
    from IPython.display import Markdown, display

    display(Markdown(source_markdown(fn)))
