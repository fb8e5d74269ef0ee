"""ganlib.results: the results chapter's rows are the chapters' own runs, and its table is rebuilt from data."""

import ast
import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from ganlib import preset, results
from ganlib.runs import Method

BOOK = Path(__file__).resolve().parents[1] / "book"


def _parameters(chapter: str) -> dict:
    """The literal defaults of a chapter's papermill parameters cell."""
    nb = json.loads((BOOK / f"{chapter}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    values = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            expr = compile(ast.Expression(node.value), chapter, "eval")
            values[node.targets[0].id] = eval(expr, {"__builtins__": {}, "dict": dict})  # literals and dict(...)
    return values


def test_the_recommended_settings_are_the_chapters_defaults():
    assert results.R1_GAMMA == _parameters("r1")["MNIST_R1_GAMMA"]
    un = _parameters("unrolled")
    assert results.UNROLLED == dict(unroll=un["MNIST_UNROLL_K"], lr_unroll=un["LOOKAHEAD_LRS"]["working"])
    slow_d = [(kw, lr) for label, (kw, lr) in _parameters("mdgan")["MNIST_MD"].items() if "edge 1, sigma=0.15" in label and lr
              and not kw.get("balance")]
    assert slow_d == [(results.MDGAN, results.MDGAN_LR_D)]
    assert results.COLLAPSE == dict(lr_d=un["COLLAPSE_LR_D"], unroll=un["COLLAPSE_K"])
    for scale in ("smoke", "cpu", "full"):  # one of the clip values the WGAN chapter compares
        assert results.WGAN_CLIP in preset("wgan", scale, show=False).clip_values


def test_every_row_is_a_chapter_run(monkeypatch, tmp_path):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path))
    specs = results.training_specs("smoke")
    names = {spec.name for spec, _ in specs.values()}
    assert names == {"vanilla", "vanilla-lab", "WGAN-clip0.01", "WGAN-clip0.01-paper", "WGAN-GP", "WGAN-SN", "r1",
                     "unrolled", "mdgan", "collapse-plain", "collapse-unrolled"}
    for spec, real in specs.values():
        assert spec.n_train == real.shape[0]  # the images each row trains on are its spec's
    r1 = next(spec for spec, _ in specs.values() if spec.name == "r1")
    assert r1.method == Method(r1_gamma=results.R1_GAMMA)
    plain = [spec for label, (spec, _) in specs.items() if label.startswith("plain GAN") and "slower" not in label]
    assert len(plain) == 1 and plain[0].cfg.epochs == r1.cfg.epochs and plain[0].cfg == r1.cfg  # the same budget
    slow = [spec for label, (spec, _) in specs.items() if "slower" in label]  # the unrolled chapter's collapse rows
    assert [sp.name for sp in slow] == ["collapse-plain", "collapse-unrolled"]
    assert all(sp.cfg == dataclasses.replace(r1.cfg, lr_d=results.COLLAPSE["lr_d"]) for sp in slow)
    assert slow[1].method == Method(unroll=results.COLLAPSE["unroll"])


def _records():
    rows = []
    for seed, (fid_a, fid_b) in enumerate([(100.0, 150.0), (110.0, 160.0), (90.0, 140.0)]):
        for method, fid in (("A", fid_a), ("B", fid_b)):
            rows.append({"method": method, "kind": "training", "scale": "cpu", "seed": seed, "fid": fid,
                         "precision": 0.5, "train_min": math.nan})
    return rows


def test_records_round_trip_through_json_and_rebuild_the_table(tmp_path):
    records = _records()
    path = results.save(records, tmp_path / "r.json")
    text = path.read_text()
    assert "NaN" not in text and "null" in text  # standard JSON
    back = results.load(path)
    assert math.isnan(back[0]["train_min"]) and back[1]["fid"] == 150.0
    table = results.table(back, ("fid", "precision"))
    assert "| A | 3 | 100 ± 8 | 0.5 |" in table.replace("\u00a0", " ")
    assert table.index("| A |") < table.index("| B |")  # the order the methods first appear in
    with pytest.raises(FileNotFoundError, match="results chapter"):
        results.load(tmp_path / "missing.json")


def test_words_and_changes_follow_the_seeds():
    records = _records()
    assert results.fids(records, "B") == [150.0, 160.0, 140.0]
    assert results.fid_words(records, "A", "B").startswith("A (FID 100")
    assert " is ahead of B " in results.fid_words(records, "A", "B")  # lower FID by more than the spread
    assert results.relative_change(records, "B", "A") == pytest.approx(sum([100 / 150, 110 / 160, 90 / 140]) / 3 - 1)
    assert results.percent(-0.004) == "0%" and results.percent(-0.42) == "-42%" and results.percent(0.031) == "+3%"


def test_inception_is_skipped_without_a_gpu_and_says_why():
    fids, why = results.inception_column({}, use=None, device="cpu")
    assert fids == {} and "without a GPU" in why


def test_sample_rows_need_equal_rows():
    from ganlib import plots

    ax = plots.show_rows({"a": torch.zeros(4, 1, 28, 28), "b": torch.ones(4, 1, 28, 28)}, title="t")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"] and ax.get_title() == "t"
    with pytest.raises(ValueError, match="same number"):
        plots.show_rows({"a": torch.zeros(4, 1, 28, 28), "b": torch.ones(3, 1, 28, 28)}, title="t")
