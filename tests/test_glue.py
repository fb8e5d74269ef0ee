"""A page quotes itself: the prose of a chapter holds no measured number typed by hand.

Measured numbers reach the prose through glue (``ganlib.tables.glue`` in a code cell, ``{glue:text}`key```
in the Markdown), so they are the page's own run at the scale it was built. This check strips glue roles,
inline code and math from a chapter's Markdown and looks for digits next to the words that name a
measurement; what remains must be in the chapter's allow-list: numbers quoted from papers or reports (with
their source in the sentence), settings, and constants of the protocol. Chapters join GLUED as they are
converted.
"""

import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
# chapter -> typed numbers that are not measurements of this page (papers, settings, constants)
GLUED = {
    "metrics": [
        "accuracy on the real 10,000",  # the size of the MNIST test set
        "FID 0,",  # what two sets of the same distribution should score: a definition
        "Inception Score needs 20", "density and\ncoverage need 100", "25%",  # evaluate's rules (minimum_samples, size warning)
        "FID with Inception-v3,",  # a section title
    ],
    "mdgan": [
        "of the 8 ring modes", "of the 25 grid modes",  # the mixtures' sizes
        "at least 5%",  # the threshold of a cluster in use (a definition)
    ],
    "r1": [
        "of the 8 ring modes", "of the 25 grid modes",  # the mixtures' sizes
    ],
    "unrolled": [
        "of the 8 ring modes", "of the 25 grid modes",  # the mixtures' sizes
    ],
    "wgan": [],
    "wgan_gp": [
        "FID from 28 to 16", "FID 28 to 16",  # lab report 001's full-scale result, quoted with its source
    ],
    "vanilla_gan": [
        "10% each",  # the share of each digit for a perfect generator: a definition
    ],
    "samplers": [
        "Inception Score (report 000",  # a source, not a number
        "density ratio**: it is a 1",  # "1-Lipschitz"
        "seconds\nof sampling per 10,000",  # what the cost columns mean
        "FID 38 -> 22",  # lab report 001's result, quoted with its source
        "at 5%",  # the Shapiro-Wilk test's level
    ],
    "results": [
        "an Inception FID of 20 is not a classifier FID of\n20",  # an example of units, not a measurement
        "FID 38 to 22",  # lab report 001's result, quoted with its source
    ],
    "toy_lab": [
        "98.9%",  # P(||x - mu|| <= 3 sigma) for samples of the data, a constant of the protocol
        "95.6%", "93.6%",  # the best PacGAN row of the PacGAN paper, Table 1
        "400 epochs of 100,000 points (400,000 steps of batch 100",  # PacGAN's config.py
        "mode <math>: 0 for an even spread", "a reverse KL near 0",  # definitions of the metric
        "of the 8 ring modes", "of the 25 grid modes",  # the mixtures' sizes
    ],
}
MEASURE_WORDS = r"(FID|Inception Score|IS|precision|recall|density|coverage|high[- ]quality|reverse KL|KL|modes?|acceptance|seconds?|minutes?|accuracy)"
NUMBER = r"\d[\d,]*(\.\d+)?"
PATTERNS = [
    re.compile(r"\b" + MEASURE_WORDS + r"\b[^.\d]{0,25}?" + NUMBER),  # "FID 159", "reverse KL of 0.23" (not "MNIST, 10")
    re.compile(NUMBER + r"\s*(%|s\b|seconds|minutes)"),  # "47.8%", "35 s"
]


def _prose(chapter: str) -> str:
    nb = json.loads((BOOK / f"{chapter}.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    text = re.sub(r"\{glue:[a-z]*\}`[^`]*`", "<glued>", text)  # glued values
    text = re.sub(r"`[^`]*`", "<code>", text)  # inline code: names and settings
    text = re.sub(r"\$[^$]*\$", "<math>", text)  # formulas
    return text


def typed_measurements(chapter: str, allowed=()) -> list[str]:
    """The sentences' fragments of ``chapter`` that look like a measured number typed by hand."""
    text = _prose(chapter)
    for a in allowed:
        text = text.replace(a, "<allowed>")
    return [m.group(0) for pattern in PATTERNS for m in pattern.finditer(text)]


@pytest.mark.parametrize("chapter", sorted(GLUED))
def test_a_glued_chapter_types_no_measured_number(chapter):
    assert typed_measurements(chapter, GLUED[chapter]) == []


def test_the_check_finds_typed_numbers_and_passes_glued_ones(tmp_path, monkeypatch):
    cell = {"cell_type": "markdown", "metadata": {}, "source": [
        "The plain GAN reaches FID 159 and covers 7 modes in 35 s (47.8% high quality).\n",
        "Glued: FID {glue:text}`fid:.1f`, {glue:text}`hq:.1f`% in {glue:text}`sec` s; `steps=3000`; $3\\sigma$.\n"]}
    (tmp_path / "x.ipynb").write_text(json.dumps({"cells": [cell]}))
    monkeypatch.setattr(__import__(__name__), "BOOK", tmp_path)
    found = typed_measurements("x")
    assert "FID 159" in found and "47.8%" in found and "35 s" in found and any("7" in f for f in found)
    assert not any("glue" in f or "3000" in f for f in found)


def test_glue_writes_myst_nbs_record_and_formats_missing_values_as_a_word(monkeypatch):
    import IPython.display

    from ganlib.tables import glue
    from myst_nb.core.variables import format_plain_text

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append((obj, kw)))
    glue("steps", "3,000")
    glue("kl", float("nan"), ".2f")
    glue("hq", 0.61234)
    (steps, kw), (kl, _), (hq, _) = shown
    assert kw["raw"] and kw["metadata"]["scrapbook"] == {"name": "steps", "mime_prefix": "application/papermill.record/"}
    # the book renders the text/plain record through myst-nb's formatter: the string keeps its comma
    plain = "application/papermill.record/text/plain"
    assert format_plain_text(steps[plain], "s") == "3,000"
    assert format_plain_text(kl[plain], "s") == "undefined"
    assert format_plain_text(hq[plain], ".1f") == "0.6"


def test_versus_calls_a_difference_inside_the_spread_a_tie():
    from ganlib.tables import versus

    assert versus([0.9, 1.0, 1.1], [0.5, 0.6, 0.7]) == "ahead of"
    assert versus([0.9, 1.0, 1.1], [0.5, 0.6, 0.7], higher_is_better=False) == "behind"
    assert versus([0.9, 1.0, 1.1], [0.8, 1.0, 1.2]) == "level with"  # 0.07 apart, spread 0.16
    assert versus([1.0], [0.1]) == "not comparable with"  # one seed: no spread
    assert versus([1.0, float("nan"), 1.2], [0.1, 0.2]) == "ahead of"  # a diverged seed is left out


def test_glue_runs_records_mode_means_and_comparisons_per_tag(monkeypatch):
    """toys.glue_runs glues each method's mean modes covered and reverse KL per mixture, and how the others
    compare with the baseline over seeds."""
    from types import SimpleNamespace

    import ganlib.tables
    from ganlib import toys

    glued = {}
    monkeypatch.setattr(ganlib.tables, "glue", lambda name, value, fmt=None: glued.__setitem__(name, (value, fmt)))

    def run(modes, hq):
        return SimpleNamespace(metrics={"modes_covered": modes, "hq_fraction": hq, "reverse_kl": 0.5})

    runs = {("plain GAN", "ring"): [run(1, 0.01), run(1, 0.02)], ("R1", "ring"): [run(7, 0.03), run(8, 0.05)]}
    toys.glue_runs(runs, {"plain": "plain GAN", "r1": "R1"}, "x")
    assert glued["x_plain_ring"] == (1.0, ".1f") and glued["x_r1_ring"] == (7.5, ".1f")
    assert glued["x_r1_ring_vs"][0] == "ahead of" and "x_plain_ring_vs" not in glued
    assert glued["x_max_hq"] == (5.0, ".1f")


def test_versus_paired_compares_the_per_seed_differences():
    from ganlib.tables import versus

    before, after = [180.0, 200.0, 160.0], [171.0, 190.0, 152.0]  # each generator 8-10 better after a sampler
    assert versus(after, before) == "level with"  # unpaired: the spread between generators hides it
    assert versus(after, before, higher_is_better=False, paired=True) == "ahead of"
    assert versus([181.0, 195.0, 163.0], before, higher_is_better=False, paired=True) == "level with"  # +1, -5, +3
    assert versus([170.0], [180.0], paired=True) == "not comparable with"
    with pytest.raises(ValueError, match="one of each per seed"):
        versus([1.0, 2.0], [1.0], paired=True)


def test_change_words_judge_a_paired_change_by_its_spread_or_by_the_draws():
    from ganlib.tables import change_words

    before, after = [180.0, 200.0, 160.0], [171.0, 190.0, 152.0]
    assert change_words(before, after, higher_is_better=False) == \
        "180 -> 171 (change -9 ± 1), better beyond the spread over the seeds"
    assert change_words(before, [181.0, 195.0, 163.0], False, over="the generators").endswith(
        "a tie (inside the spread over the generators)")
    assert change_words([180.0], [170.0], False, noise_range=(178.0, 183.0)).endswith("better than every plain draw")
    assert change_words([180.0], [181.0], False, noise_range=(178.0, 183.0)) == \
        "180 -> 181 (change +1), a tie (inside the plain draws' range)"


def test_versus_note_is_versus_about_it_or_says_there_is_no_spread():
    from ganlib.tables import versus_note

    assert versus_note([0.9, 1.0, 1.1], [0.5, 0.6, 0.7]) == "ahead of it over seeds"
    assert versus_note([0.9, 1.0, 1.1], [0.8, 1.0, 1.2]) == "level with it over seeds"
    assert versus_note([1.0], [0.1]) == "one seed per row: no spread to compare"
