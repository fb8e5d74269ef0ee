"""The book's structure: every chapter in the table of contents, committed without outputs,
with a Colab install cell pointing at the repository, a papermill `parameters` cell, and no
model code defined in the notebook."""

import ast
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        assert part.get("caption"), "every part needs a caption"
        files += [ch["file"] for ch in part["chapters"]]
    return files


def test_toc_and_notebooks_agree():
    toc = set(_toc_files())
    on_disk = {f"book/{p.stem}" for p in NOTEBOOKS} | {f"book/{p.stem}" for p in (ROOT / "book").glob("*.md")}
    assert toc == on_disk


def test_config_lets_papermill_execute():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_shape(path):
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "commit notebooks without outputs"
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# "), "a chapter starts with its title"
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    install = "".join(code[0]["source"])
    assert "google.colab" in install and f"git+{url}" in install and "remove-cell" in code[0]["metadata"].get("tags", [])
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and "SCALE = None" in "".join(params[0]["source"])
    for cell in code[1:]:
        tree = ast.parse("\n".join(line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!"))))
        for node in ast.walk(tree):
            assert not isinstance(node, ast.ClassDef), f"{path.name}: classes belong in ganlib, not in a chapter"
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 10, f"{path.name}: function {node.name} is longer than 10 lines; move it into ganlib"


CODE_COLUMN = 77  # characters of code the rendered page shows without a horizontal scroll bar (1280-pixel window)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_fits_the_page(path):
    """A reader of the built book sees every code line whole (tests/test_rendered_book.py measures it in Chromium)."""
    cells = json.loads(path.read_text())["cells"]
    long = [line for c in cells if c["cell_type"] == "code" and "remove-cell" not in c["metadata"].get("tags", [])
            for line in "".join(c["source"]).splitlines() if len(line) > CODE_COLUMN]
    assert not long, f"{path.name}: {len(long)} code lines longer than {CODE_COLUMN} characters, e.g. {long[0]!r}"


TAUGHT = {  # chapter: the library functions it shows under its equation (ganlib.show_source)
    "vanilla_gan.ipynb": {"ganlib.training.discriminator_step", "ganlib.training.generator_step"},
    "wgan.ipynb": {"ganlib.regularizers.clip_weights"},
    "wgan_gp.ipynb": {"ganlib.regularizers.gradient_penalty"},
    "r1.ipynb": {"ganlib.regularizers.r1_penalty"},
    "unrolled.ipynb": {"ganlib.unrolled.unrolled_d_params"},
    "mdgan.ipynb": {"ganlib.mdgan.MDGANLosses.d_loss", "ganlib.mdgan.MDGANLosses.g_loss"},
    "samplers.ipynb": {"samplers.drs_acceptance_prob"},
}


@pytest.mark.parametrize("name", sorted(TAUGHT))
def test_chapters_show_the_code_they_teach_and_it_fits_the_page(name):
    """The code is written once, in the library; the chapter renders it (hidden input) and a reader sees it whole."""
    import importlib

    from ganlib.tables import source_markdown

    cells = json.loads((ROOT / "book" / name).read_text())["cells"]
    shown = set()
    for c in cells:
        src = "".join(c["source"])
        if c["cell_type"] == "code" and "show_source(" in src:
            assert "hide-input" in c["metadata"].get("tags", []), f"{name}: a source listing hides its input cell"
            for call in ast.walk(ast.parse(src)):
                if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "show_source":
                    shown.add(ast.unparse(call.args[0]))
    assert shown == TAUGHT[name]
    for dotted in shown:
        parts = dotted.replace("samplers.", "ganlib.samplers.", 1).split(".") if dotted.startswith("samplers.") else dotted.split(".")
        obj = importlib.import_module(".".join(parts[:2]))
        for attr in parts[2:]:
            obj = getattr(obj, attr)
        long = [line for line in source_markdown(obj).splitlines() if len(line) > CODE_COLUMN]
        assert not long, f"{dotted}: {len(long)} lines longer than {CODE_COLUMN} characters, e.g. {long[0]!r}"
