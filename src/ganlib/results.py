"""The results chapter: every method the course trains and every sampler, one metric suite, the same seeds.

:func:`train_rows` trains (or reloads from the cache) the run each training chapter recommends, as
the same :class:`ganlib.runs.RunSpec` the chapter builds, so a book built in order reuses every
checkpoint. :func:`training_records` and :func:`sampler_records` score them into *records*: plain
dicts, one per (method, seed), with the metric suite (``ganlib.evaluate`` and the digit classes of
``ganlib.metrics.class_mode_stats`` on the same samples) and the cost. :func:`save` / :func:`load`
write and read records as JSON next to the run cache, and :func:`table` rebuilds a chapter's table
from records alone::

    records = ganlib.results.load()            # <cache>/results/results-<scale>.json
    print(ganlib.results.table(records, ganlib.results.QUALITY))
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
from pathlib import Path

import torch

from . import recipes
from .config import atomic_save, cache_dir, default_device, display_path, resolve_scale
from .data import load_mnist
from .images import sample
from .presets import preset
from .runs import Method, Run, train_or_load, train_or_load_seeds

QUALITY = ("fid", "is_mean", "precision", "recall", "density", "coverage", "digits", "kl_to_uniform")
COST = ("epochs", "steps", "train_min", "samples_per_s")
LABELS = {"fid": "FID", "is_mean": "IS", "kl_to_uniform": "KL to uniform", "train_min": "training min",
          "samples_per_s": "samples / s"}

# The MNIST settings each chapter recommends: its parameters cell's defaults (tests/test_results.py checks them)
R1_GAMMA = 10.0  # r1.ipynb: MNIST_R1_GAMMA
UNROLLED = dict(unroll=1, lr_unroll=1e-4)  # unrolled.ipynb: MNIST_UNROLL_K and LOOKAHEAD_LRS["working"]
MDGAN = dict(d=9, sigma=0.15, g_objective="nonsaturating")  # mdgan.ipynb: MNIST_MD's slow-D row ...
MDGAN_LR_D = 2e-4  # ... with D's learning rate lr_G / 5
WGAN_CLIP = 0.01  # wgan.ipynb: the paper's c, one of its CLIP_VALUES
COLLAPSE = dict(lr_d=1e-4, unroll=5)  # unrolled.ipynb: COLLAPSE_LR_D (D ten times slower) and COLLAPSE_K


def _epochs(n: int) -> str:
    return f"{n} epoch" + "s" * (n != 1)


def _mnist(n_train, cache: dict) -> torch.Tensor:
    if n_train not in cache:
        cache[n_train] = load_mnist(train=True, device=default_device(), limit=n_train)[0]
    return cache[n_train]


def training_specs(scale: str | None = None) -> dict:
    """Return ``{row label: (RunSpec, training images)}``: the run each training chapter recommends."""
    v, w, gp, mc = (preset(name, scale, show=False) for name in ("vanilla", "wgan", "wgan_gp", "mode_collapse"))
    data = {}
    real, real_w, real_gp, real_mc = (_mnist(p.n_train, data) for p in (v, w, gp, mc))
    course = recipes.vanilla_config(v)
    short = dataclasses.replace(course, epochs=mc.mnist_epochs)  # the mode-collapse chapters' MNIST runs
    rows = {"vanilla GAN, course recipe": (recipes.mnist_spec("vanilla", course, len(real), Method(v.loss)), real)}
    if recipes.lab_config(course) != course:
        rows["vanilla GAN, lab settings"] = (
            recipes.mnist_spec("vanilla-lab", recipes.lab_config(course), len(real), Method(v.loss)), real)
    norm = {"batch": "batch norm in G", "layer": "layer norm in G", "none": "no norm in G"}[w.g_norm]
    rows[f"WGAN clip c={WGAN_CLIP:g}, {norm}"] = (recipes.wgan_clip_spec(w, WGAN_CLIP, len(real_w)), real_w)
    if w.paper_baseline:
        rows[f"WGAN clip c={WGAN_CLIP:g}, paper settings"] = (
            recipes.wgan_clip_spec(w, WGAN_CLIP, len(real_w), paper=True), real_w)
    variants = recipes.wgan_gp_variants(gp, len(real_gp))
    rows["WGAN-GP (FID early stopping)"] = (variants["WGAN-GP"], real_gp)
    rows["WGAN-SN (spectral norm)"] = (variants["WGAN-SN"], real_gp)
    rows[f"plain GAN, {_epochs(short.epochs)}"] = (recipes.mnist_spec("vanilla", short, len(real_mc), Method()), real_mc)
    rows[f"R1 gamma={R1_GAMMA:g}, {_epochs(short.epochs)}"] = (
        recipes.mnist_spec("r1", short, len(real_mc), Method(r1_gamma=R1_GAMMA)), real_mc)
    rows[f"unrolled k={UNROLLED['unroll']}, {_epochs(short.epochs)}"] = (
        recipes.mnist_spec("unrolled", short, len(real_mc), Method(**UNROLLED)), real_mc)
    rows[f"MD-GAN d={MDGAN['d']}, slow D, {_epochs(short.epochs)}"] = (
        recipes.mnist_spec("mdgan", dataclasses.replace(short, lr_d=MDGAN_LR_D), len(real_mc), Method(mdgan=MDGAN)),
        real_mc)
    slow = dataclasses.replace(short, lr_d=COLLAPSE["lr_d"])  # the unrolled chapter's collapse setting
    rows[f"plain GAN, D 10x slower, {_epochs(short.epochs)}"] = (
        recipes.mnist_spec("collapse-plain", slow, len(real_mc), Method()), real_mc)
    rows[f"unrolled k={COLLAPSE['unroll']}, D 10x slower, {_epochs(short.epochs)}"] = (
        recipes.mnist_spec("collapse-unrolled", slow, len(real_mc), Method(unroll=COLLAPSE["unroll"])), real_mc)
    return rows


RESTART = "WGAN-GP, best epoch + decaying lr"


def train_rows(seeds, scale: str | None = None, specs: dict | None = None) -> dict[str, list[Run]]:
    """Train or reload every row of ``specs`` (default :func:`training_specs` at ``scale``) for ``seeds``;
    returns ``{label: [Run, one per seed]}``.

    The WGAN-GP row is followed by its restart (report 001's recipe): each seed's best epoch trained
    on at a lower, linearly decaying learning rate (``ganlib.recipes.restart_spec``).
    """
    gp = preset("wgan_gp", scale, show=False)
    out, said = {}, io.StringIO()
    with contextlib.redirect_stdout(said):  # one line per reused run would fill the page
        for label, (spec, real) in (specs or training_specs(scale)).items():
            out[label] = train_or_load_seeds(spec, seeds, real)
            if spec.name == "WGAN-GP":
                out[RESTART] = [train_or_load(recipes.restart_spec(r, gp.lr_factor, gp.resume_epochs), real)
                                for r in out[label]]
    for line in said.getvalue().splitlines():
        if not line.startswith("reusing "):
            print(line)
    runs = [r for per_seed in out.values() for r in per_seed]
    print(f"{len(out)} rows, {len(runs)} runs: {sum(r.reused for r in runs)} reused from the cache "
          f"({display_path(cache_dir() / 'runs')}), {sum(not r.reused for r in runs)} trained here")
    return out


def score(images: torch.Tensor) -> dict:
    """The metric suite on ``images`` (N, 1, 28, 28): ``ganlib.metrics.images_report``'s FID, IS, precision,
    recall, density, coverage, digits drawn and KL of the class shares to uniform, and the shares."""
    from .metrics import images_report

    report = images_report(images)
    return {**{k: report[k] for k in QUALITY}, "shares": report["shares"].tolist()}


def training_records(runs: dict, n: int, scale: str | None = None) -> list[dict]:
    """Score every run of ``{label: [Run, ...]}`` on ``n`` samples of its own seed; one record per run."""
    scale = resolve_scale(scale)
    records = []
    for label, per_seed in runs.items():
        for r in per_seed:
            seed = r.spec.cfg.seed
            steps = r.history.step[-1] if r.history.step else 0
            minutes = r.train_seconds / 60 if r.train_seconds is not None else math.nan
            records.append({"method": label, "kind": "training", "scale": scale, "seed": seed, "n": n,
                            **score(sample(r.G, n, seed=seed)), "epochs": r.spec.cfg.epochs,
                            "steps": steps, "train_min": minutes, "samples_per_s": math.nan,
                            "checkpoint": r.path.name})
    return records


def sampler_records(runs: dict, data: dict, n: int, settings, scale: str | None = None) -> list[dict]:
    """Apply every sampler (``ganlib.samplers.apply_samplers``) to each seed's generator of ``runs``
    (``{label: [Run, ...]}``, with ``data[label]`` its training images) and score ``n`` accepted samples."""
    from .samplers import apply_samplers

    scale = resolve_scale(scale)
    records = []
    for label, per_seed in runs.items():
        for r in per_seed:
            seed = r.spec.cfg.seed
            out = apply_samplers(r.G, r.D, data[label], n=n, seed=seed, settings=settings,
                                 wasserstein=r.spec.method.loss == "wasserstein")
            for name, (x, stats, _setup) in out.items():
                records.append({"method": f"{label} + {name}", "kind": "sampler", "scale": scale, "seed": seed,
                                "n": n, **score(x), "epochs": r.spec.cfg.epochs, "steps": math.nan,
                                "train_min": math.nan, "samples_per_s": x.shape[0] / stats["wall_time_s"],
                                "acceptance": stats["acceptance_rate"], "checkpoint": r.path.name})
    return records


def by_method(records: list[dict]) -> dict[str, list[dict]]:
    """Group records ``{method: [record, one per seed]}``, in the order the methods first appear."""
    out = {}
    for r in records:
        out.setdefault(r["method"], []).append(r)
    return out


def table(records: list[dict], keys=QUALITY, kind: str | None = None) -> str:
    """The Markdown table of ``records`` (only those of ``kind``, 'training' or 'sampler', if given):
    one row per method, each cell mean ± std over its seeds (``ganlib.tables.format_spread``; a value the
    records lack, such as a training time not recorded, is left out and a cell with none reads '-')."""
    from .tables import format_spread, markdown_table

    def cell(values):  # a value a record does not have (a time not recorded) is left out, not 'diverged'
        values = [v for v in values if v is not None and math.isfinite(float(v))]
        return format_spread(values) if values else "-"

    rows = by_method([r for r in records if kind is None or r["kind"] == kind])
    cells = {m: {"seeds": len(per_seed), **{LABELS.get(k, k): cell([r.get(k) for r in per_seed]) for k in keys}}
             for m, per_seed in rows.items()}
    return markdown_table(cells, ["seeds", *(LABELS.get(k, k) for k in keys)], label="method")


def default_path(scale: str | None = None) -> Path:
    """``<cache>/results/results-<scale>.json``: where the results chapter writes its records."""
    return cache_dir() / "results" / f"results-{resolve_scale(scale)}.json"


def save(records: list[dict], path: str | Path | None = None) -> Path:
    """Write ``records`` as JSON (NaN as null); returns the path (default :func:`default_path` at their scale)."""
    path = Path(path) if path is not None else default_path(records[0]["scale"] if records else None)
    clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
             for r in records]
    return atomic_save(json.dumps(clean, indent=1), path, text=True)


def load(path: str | Path | None = None) -> list[dict]:
    """Read records written by :func:`save` (null back to NaN); default :func:`default_path` at ``$GANLIB_SCALE``."""
    path = Path(path) if path is not None else default_path()
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}: run the results chapter (book/results.ipynb) at this scale first")
    return [{k: (math.nan if v is None else v) for k, v in r.items()} for r in json.loads(path.read_text())]


def inception_column(runs: dict, n: int = 10_000, use: bool | None = None, device=None) -> tuple[dict, str]:
    """:func:`inception_fids` where it can run: ``use`` None computes it on a GPU only (10,000 Inception
    passes per run take hours on a laptop's CPU). Returns ``(fids, "")``, or ``({}, why it was skipped)``."""
    device = default_device(device)
    if use is None:
        use = device.type == "cuda"
    if not use:
        return {}, "the page was built without a GPU (set INCEPTION = True to force it)"
    try:
        return inception_fids(runs, n, device), ""
    except (OSError, RuntimeError) as err:  # no weights in the cache and no internet to fetch them
        return {}, f"pytorch-fid's Inception weights could not be had ({err})"


def inception_fids(runs: dict, n: int = 10_000, device=None) -> dict[str, list[float]]:
    """Inception FID the reports' way: ``n`` samples of each run, quantised to 8 bits as PNG files are, against
    the first ``n`` images of the MNIST test set, with pytorch-fid's Inception-v3 (``ganlib.metrics.inception_fid``).

    Needs the Inception weights (downloaded once into the cache; on Colab) and, in practice, a GPU:
    returns ``{label: [FID, one per run]}``.
    """
    from .degrade import png_roundtrip
    from .metrics import default_real, inception_features, load_inception
    from .metrics.fid import fid_from_features

    model = load_inception(device=device)
    real_f = inception_features(default_real()[:n], model)

    return {label: [fid_from_features(real_f, inception_features(png_roundtrip(sample(r.G, n, seed=r.spec.cfg.seed)), model))
                    for r in per_seed]
            for label, per_seed in runs.items()}


# What the five lab reports measured, typed from the course's summary of them (issue 10 of the course's
# tracker) with the report where the course's notes name it. Their protocol: Inception FID (pytorch-fid)
# of 10,000 generated images against MNIST, after up to 100-200 epochs on 60,000 images, sometimes saved
# as JPEG. The course's suite uses its own MNIST classifier's features, on fewer images and epochs.
REPORTED = [
    {"method": "vanilla GAN", "FID": "38", "report": "001"},
    {"method": "vanilla GAN", "FID": "42.5", "report": "not named"},
    {"method": "vanilla GAN", "FID": "27.96", "report": "002"},
    {"method": "vanilla GAN, the best run", "FID": "12.3", "report": "003"},
    {"method": "WGAN, weight clipping", "FID": "69.8; 31.99", "report": "not named (two reports)"},
    {"method": "WGAN, batch norm in G", "FID": "27", "report": "not named"},
    {"method": "WGAN-GP", "FID": "35.5; 28", "report": "not named; 001"},
    {"method": "WGAN-GP, best epoch + decaying lr", "FID": "16 (from 28)", "report": "001"},
    {"method": "vanilla GAN + DRS", "FID": "22 (from 38)", "report": "001"},
    {"method": "WGAN-GP + DRS", "FID": "15 (from 16)", "report": "001"},
    {"method": "R1", "FID": "42", "report": "not named"},
    {"method": "vanilla GAN + IS rejection", "FID": "24.43 (1,000 samples)", "report": "000"},
    {"method": "vanilla GAN + class-wise refit", "FID": "24.17 (from 27.96)", "report": "002"},
    {"method": "unrolled GAN", "FID": "inf (failed)", "report": "001"},
    {"method": "MD-GAN", "FID": "inf (failed)", "report": "001"},
]


def fids(records: list[dict], method: str) -> list[float]:
    """The FID of ``method``'s records, one per seed in seed order."""
    rows = sorted(by_method(records)[method], key=lambda r: r["seed"])
    return [r["fid"] for r in rows]


def fid_words(records: list[dict], a: str, b: str) -> str:
    """``a`` against ``b`` in words for the prose: both mean FIDs over seeds and
    ``ganlib.tables.versus`` (lower is better; a gap inside the spread is a tie)."""
    from .tables import format_spread, versus

    fa, fb = fids(records, a), fids(records, b)
    word = versus(fa, fb, higher_is_better=False)
    word = "not comparable (one seed each) with" if word == "not comparable with" else word
    return f"{a} (FID {format_spread(fa)}) is {word} {b} (FID {format_spread(fb)})"


def relative_change(records: list[dict], before: str, after: str) -> float:
    """The mean over seeds of (FID after / FID before - 1), seed by seed: a change comparable across suites."""
    pairs = list(zip(fids(records, before), fids(records, after)))
    return sum(a / b - 1 for b, a in pairs) / len(pairs)


def percent(change: float) -> str:
    """A relative change as signed whole percent ('-42%', '+3%'), and '0%' when it rounds to nothing."""
    return "0%" if round(change * 100) == 0 else f"{change:+.0%}"
