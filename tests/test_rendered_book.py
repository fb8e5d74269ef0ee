"""The rendered book as a reader sees it: every page of the built HTML book opened in headless Chromium.

The book must first be built (``scripts/test.sh`` and ``scripts/check_book.sh`` build it at the smoke
scale into ``_build/html`` and set ``GANLIB_BOOK_HTML``). Each page fails on what a reader would see
as broken: a JavaScript error, an equation left as raw LaTeX, a Markdown table left as pipes and
dashes, an image that does not load, a request to the network (the book must read offline), a path
of the build machine, progress-bar residue, an object's repr left by a cell without its ";", a
warning the chapter did not mean to show (cells that
mean to show one carry the tag ``show-warning``), a code or output line or a table hidden behind
a horizontal scroll bar, or a figure shrunk so far that its text is too small to read. One
full-page screenshot per page goes to ``_build/screenshots/`` for people to look at.

Without ``GANLIB_BOOK_HTML`` these tests are skipped with the command that runs them.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = os.environ.get("GANLIB_BOOK_HTML")
CHROMIUM = os.environ.get("GANLIB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "_build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}  # a laptop screen: the content column is about 700 pixels wide there
# Figures are saved at 100 dpi (matplotlib's default figure.dpi, which the inline backend keeps), so a figure shown at a fraction
# f of its pixel width shows 10-point text at about 14 * f pixels; below 0.7 labels fall under ~10 pixels.
MIN_FIGURE_SCALE = 0.7


def _pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


def _machine_paths() -> list[str]:
    """Absolute paths of the machine that built the book: none may appear on a page."""
    candidates = [str(ROOT), os.path.expanduser("~"), tempfile.gettempdir(), os.environ.get("GANLIB_CACHE"),
                  os.environ.get("GANLIB_DATA"), str(Path(HTML).resolve()) if HTML else None]
    return sorted({p.rstrip("/") + "/" for p in candidates if p and len(p) > 1}, key=len, reverse=True)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, as set up for this machine (no network, no sandbox as root)."""
    if not CHROMIUM:
        message = "Chromium not found: install Debian's package (apt-get install chromium) or set GANLIB_CHROMIUM"
        if HTML:  # scripts/test.sh and check_book.sh install it: there a missing browser is a failure
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def book(browser):
    """The built book's folder (``GANLIB_BOOK_HTML``); skips with the command to build it when unset."""
    if not HTML:
        pytest.skip("the book is not built: run `bash scripts/check_book.sh` (builds it at smoke scale, then runs these checks)")
    if not Path(HTML, "index.html").is_file():
        pytest.fail(f"GANLIB_BOOK_HTML={HTML} holds no built book (index.html missing): build it with scripts/build_book.sh")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return Path(HTML)


# Run in the page after MathJax has finished: everything the checks need, measured as displayed.
_INSPECT = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const main = document.querySelector("main") || document.body;
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const text = (sel) => [...main.querySelectorAll(sel)].filter(visible).map(e => e.innerText);
  const overflow = [...main.querySelectorAll("pre")].filter(visible)
    .filter(e => e.scrollWidth > e.clientWidth + 2)
    .map(e => e.innerText.split("\n").reduce((a, b) => (b.length > a.length ? b : a), ""));
  const wide_tables = [...main.querySelectorAll("table")].filter(visible).filter(t => {
    const box = t.closest(".pst-scrollable-table-container, .table-wrapper") || t.parentElement;
    return t.getBoundingClientRect().width > box.clientWidth + 2;
  }).map(t => t.innerText.split("\n")[0].slice(0, 100));
  const imgs = [...main.querySelectorAll("img")].map(e => ({
    src: e.getAttribute("src"), ok: e.complete && e.naturalWidth > 0, natural: e.naturalWidth,
    shown: e.getBoundingClientRect().width, output: !!e.closest("div.cell_output")}));
  const outputs = [...main.querySelectorAll("div.cell")].filter(c => !c.classList.contains("tag_show-warning"))
    .flatMap(c => [...c.querySelectorAll("div.cell_output")]).filter(visible);
  return {
    text: main.innerText,
    prose_and_outputs: [...text("section > p, section li, div.cell_output")].join("\n"),
    outputs: outputs.map(e => e.innerText).join("\n"),
    stderr: outputs.flatMap(o => [...o.querySelectorAll(".stderr")]).map(e => e.innerText),
    untypeset: [...main.querySelectorAll("span.math, div.math")].filter(e => !e.querySelector("mjx-container")).length,
    typeset: main.querySelectorAll("mjx-container").length,
    overflow, wide_tables, imgs,
  };
}
"""

RAW_TABLE = re.compile(r"\|\s*:?[-\u2013\u2014]{1,}:?\s*\|")  # a Markdown separator row; smartquotes turn --- into a dash
PROGRESS = re.compile(r"\d+%\|| \d+/\d+ \[\d|it/s\]|s/it\]")
WARNING = re.compile(r"\b[A-Z]\w*Warning\b")
OBJECT_REPR = re.compile(r"<[\w.]+(?: object)? at 0x[0-9a-f]+>")  # what a cell ending in a plot call shows without ";"


def inspect(browser, html_file: Path, screenshot: Path | None = None):
    """Open one page; return (findings, info). Findings are the reader-visible defects, one string each."""
    url = html_file.resolve().as_uri()
    page = browser.new_page(viewport=VIEWPORT)
    findings, network = [], []
    page.on("console", lambda m: m.type == "error" and findings.append(f"console error: {m.text[:200]}"))
    page.on("pageerror", lambda e: findings.append(f"JavaScript error: {str(e)[:200]}"))
    page.on("requestfailed", lambda r: r.url.startswith("file:") and findings.append(f"failed to load {r.url[-80:]}"))

    def offline(route):  # the book must read offline: nothing leaves the machine
        network.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^(?!file:|data:|blob:|about:).*"), offline)
    page.goto(url, wait_until="load")
    info = page.evaluate(_INSPECT)
    page.wait_for_timeout(200)
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()

    findings += [f"network request (the book must work offline): {u[:120]}" for u in dict.fromkeys(network)]
    text, outputs = info["text"], info["outputs"]
    if info["untypeset"] or re.search(r"\\\(|\\\[", text):
        raw = re.findall(r"\\[(\[].{0,40}", text)[:3]
        findings.append(f"{info['untypeset']} equations not typeset; raw LaTeX on the page: {raw}")
    for m in RAW_TABLE.finditer(info["prose_and_outputs"]):
        findings.append(f"Markdown table shown as text: ...{info['prose_and_outputs'][max(0, m.start() - 60):m.end() + 20]!r}")
    for img in info["imgs"]:
        if not img["ok"]:
            findings.append(f"image does not load: {img['src']}")
        elif img["output"] and img["shown"] < MIN_FIGURE_SCALE * img["natural"]:
            findings.append(f"figure shrunk to {img['shown'] / img['natural']:.0%} of its size ({img['natural']} px shown in "
                            f"{img['shown']:.0f}): its text is too small to read; draw it narrower ({img['src']})")
    for path in _machine_paths():
        if path in text:
            i = text.index(path)
            findings.append(f"path of the build machine on the page: {text[max(0, i - 60):i + 60]!r}")
    for m in PROGRESS.finditer(outputs):
        findings.append(f"progress-bar residue: {outputs[max(0, m.start() - 40):m.end() + 20]!r}")
    for m in OBJECT_REPR.finditer(outputs):
        findings.append(f"an object's repr in an output (end the cell with ';'): {outputs[max(0, m.start() - 40):m.end() + 20]!r}")
    for m in WARNING.finditer(outputs):
        findings.append(f"warning in an output (tag the cell show-warning if it is meant): {outputs[max(0, m.start() - 80):m.end() + 80]!r}")
    findings += [f"stderr output: {s[:160]!r}" for s in info["stderr"] if not WARNING.search(s)]
    findings += [f"line hidden behind a horizontal scroll bar: {line[:100]!r}" for line in info["overflow"]]
    findings += [f"table wider than the column (its right part hides behind a scroll bar): {head!r}" for head in info["wide_tables"]]
    return findings, info


@pytest.mark.parametrize("page_name", _pages())
def test_page_reads_well(browser, book, page_name):
    shot = SCREENSHOTS / (page_name.replace("/", "_") + ".png")
    findings, info = inspect(browser, book / (page_name + ".html"), screenshot=shot)
    assert not findings, f"{page_name}: {len(findings)} problems a reader sees:\n  " + "\n  ".join(findings)


def test_book_has_typeset_math(browser, book):
    """The check above must be able to fail: the chapters do contain equations, and MathJax typeset them."""
    _, info = inspect(browser, book / "book" / "vanilla_gan.html")
    assert info["typeset"] > 10, "MathJax typeset almost nothing on the vanilla chapter: is it shipped with the build?"


# A page with one of each defect, laid out as myst-nb lays out a chapter (no built book needed).
_BROKEN_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="https://cdn.example.org/mathjax/tex-chtml.js"></script>
<style>main {{ width: 700px; }} pre {{ overflow-x: auto; }} .wrap {{ overflow-x: auto; }}</style></head>
<body><main><section>
<p>An equation: <span class="math notranslate nohighlight">\\(\\min_G \\max_D V(D, G)\\)</span></p>
<p>| run | fid | |---|---| | a | 1 |</p>
<div class="highlight"><pre>bash scripts/build_book.sh   # {long_code}</pre></div>
<div class="cell"><div class="cell_input"><pre>{long_code}</pre></div>
<div class="cell_output"><pre>train:  40%|████      | 4/10 [00:01&lt;00:02, 3.1step/s]
checkpoint {root}/runs/vanilla-123.pt
/site-packages/ganlib/recipes.py:71: UserWarning: something the chapter did not mean to show
&lt;matplotlib.legend.Legend at 0x7f2cb4e4be90&gt;</pre>
<img src="missing.png"><img src="wide.png" style="max-width: 100%">
<div class="wrap"><table><tr>{cells}</tr></table></div></div></div>
<script>undefinedFunction();</script>
</section></main></body></html>"""


def test_the_check_finds_each_defect_a_reader_would_see(browser, tmp_path):
    """The checks are real: a page with one defect of each kind gets one finding of each kind."""
    from PIL import Image

    Image.new("L", (1600, 400), 255).save(tmp_path / "wide.png")  # a 16-inch figure shown in a 7-inch column
    page = tmp_path / "broken.html"
    page.write_text(_BROKEN_PAGE.format(long_code="x = " + "1 + " * 60 + "1", root=ROOT,
                                        cells="".join(f"<td>column {i} of a table too wide</td>" for i in range(30))))
    findings, _ = inspect(browser, page)
    expected = ["JavaScript error", "network request", "not typeset", "Markdown table shown as text", "image does not load",
                "figure shrunk", "path of the build machine", "progress-bar residue", "warning in an output", "an object's repr",
                "line hidden behind a horizontal scroll bar", "table wider than the column"]
    missed = [kind for kind in expected if not any(kind in f for f in findings)]
    assert not missed, f"the check missed: {missed}; it found: {findings}"
    assert sum("scroll bar: 'bash scripts" in f for f in findings) == 1, "a code block of the prose scrolls too"
