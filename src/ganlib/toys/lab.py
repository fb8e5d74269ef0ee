"""Experiments of the 2D toy laboratory: train the course's 2D MLPs on a toy and draw what they learn.

:func:`run_toy` trains one GAN (any loss, penalty, unrolling or MD-GAN) and returns its snapshots,
samples and mode metrics; :func:`compare_on_toys` and :func:`runs_table` repeat it over mixtures,
methods and seeds; the ``plot_*`` functions show mode collapse; :func:`widget_panel` trains live.
matplotlib is imported inside the plotting functions only.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import torch

from ..callbacks import SampleSnapshots, linear_lr_decay
from ..config import progress_bar
from ..runs import Method, RunSpec, build, build_stack, train_spec, train_stack, with_seed
from ..seeds import PerSeed
from ..images import sample
from ..training import History, TrainConfig
from .data import TOYS, make_toy
from .metrics import mean_over_seeds, mode_stats, mode_table


TOY_ARCH = dict(hidden=(128, 128))  # both 2D MLPs: 2 (or z_dim) -> 128 -> 128 -> 2 (or 1)
TOY_G_ARCH = dict(TOY_ARCH, out_shape=(2,), out_activation=None)  # ganlib.Generator's keywords: 2D points out
TOY_D_ARCH = dict(TOY_ARCH, in_shape=(2,))  # ganlib.Discriminator's keywords: 2D points in
DECAY_UPDATES = 50  # a decaying run sets its rates this many times (one short epoch each)


@dataclass(frozen=True)
class ToySettings:
    """How long and how fast a toy run trains, and how it is measured (its :class:`ganlib.runs.Method` says which GAN)."""

    steps: int = 2000  # generator steps
    batch_size: int = 256  # points per batch
    lr_g: float = 1e-3  # Adam (RMSProp for WGAN with clipping) learning rate of G
    lr_d: float = 1e-3  # ... and of D
    betas: tuple = (0.5, 0.999)  # Adam betas
    n_critic: int = 1  # D steps per G step
    lr_decay: bool = False  # both rates decay linearly to 0 over the run (updated DECAY_UPDATES times)
    hidden: tuple = TOY_ARCH["hidden"]  # hidden widths of both 2D MLPs
    z_dim: int = 2  # latent size of G
    n_eval: int = 2500  # generated points measured (VEEGAN and PacGAN use 2,500)
    min_count: int = 1  # a mode is covered by >= min_count high-quality points
    snapshots: int = 8  # snapshots of the same 1,000 latents over training


@dataclass
class ToyRun:
    """One trained toy GAN and its measurements."""

    toy: object  # the dataset
    spec: RunSpec
    G: torch.nn.Module
    D: torch.nn.Module
    history: History
    snapshots: list  # [(step, samples (1000, 2))] of the same latents
    samples: torch.Tensor  # (n_eval, 2) generated points
    metrics: dict | None  # mode_stats of the samples (mixtures only)
    seconds: float  # training wall time
    d_score: Callable  # x (N, 2) -> (N,): D's decision surface (probability, critic value or MD-GAN likelihood)

    def __getitem__(self, key):  # dict-style access (run["metrics"]) of the former dict results, kept for one release
        return getattr(self, key)


def toy_models(z_dim: int = 2, out_dim: int = 1, seed: int = 0):
    """Return (G, D): the course's 2D MLPs seeded by ``seed`` (``ganlib.runs.build``), G: (N, z_dim) -> (N, 2),
    D: (N, 2) -> (N,) or (N, out_dim)."""
    spec = RunSpec("toy", TrainConfig(z_dim=z_dim, seed=seed), g_arch=TOY_G_ARCH, d_arch=dict(TOY_D_ARCH, out_dim=out_dim))
    return build(spec)


def _split_overrides(method: Method, settings: ToySettings, overrides: dict) -> tuple[Method, ToySettings]:
    fields_m = {f.name for f in dataclasses.fields(Method)}
    fields_s = {f.name for f in dataclasses.fields(ToySettings)}
    unknown = sorted(set(overrides) - fields_m - fields_s)
    if unknown:
        raise TypeError(f"run_toy got unknown settings {unknown}: Method has {sorted(fields_m)}, ToySettings {sorted(fields_s)}")
    method = dataclasses.replace(method, **{k: v for k, v in overrides.items() if k in fields_m})
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if k in fields_s})
    return method, settings


def toy_spec(toy, method: Method = Method(), settings: ToySettings = ToySettings(), seed: int = 0, progress: bool = False) -> RunSpec:
    """Return the RunSpec of a toy run: the 2D MLPs, ``settings.steps`` generator steps in short epochs.

    Epoch ends take the ``settings.snapshots`` snapshots (every few epochs) and, with ``settings.lr_decay``,
    set the decaying rates, so a decaying run has at least DECAY_UPDATES epochs.
    """
    s = settings
    if s.steps < 1:
        raise ValueError(f"steps must be >= 1, got {s.steps}")
    epochs_wanted = max(s.snapshots, DECAY_UPDATES if s.lr_decay else 1, 1)
    steps_per_epoch = max(1, math.ceil(s.steps / epochs_wanted))
    epochs = math.ceil(s.steps / steps_per_epoch)
    optimizer = "rmsprop" if method.clip else "adam"
    cfg = TrainConfig(epochs=epochs, batch_size=s.batch_size, lr_g=s.lr_g, lr_d=s.lr_d,
                      betas=tuple(s.betas), n_critic=s.n_critic, z_dim=s.z_dim, seed=seed, device="cpu", max_steps=s.steps,
                      log_every=max(1, s.steps // 50), progress=progress, optimizer=optimizer)
    hidden = dict(hidden=tuple(int(h) for h in s.hidden))
    return RunSpec(f"toy-{toy.name}", cfg, method, g_arch=dict(TOY_G_ARCH, **hidden), d_arch=dict(TOY_D_ARCH, **hidden),
                   n_train=steps_per_epoch * s.n_critic * s.batch_size, lr_decay=(epochs, 0) if s.lr_decay else None)


def _callbacks(spec: RunSpec, settings: ToySettings, snapshots: list, stacked: bool) -> list:
    """A toy run's callbacks: its snapshots (every few epochs, ``settings.snapshots`` in all; one per seed of a
    stack), then its rate decay."""
    every = max(1, spec.cfg.epochs // max(settings.snapshots, 1))
    for snap in snapshots:
        snap.every = every
    callbacks = [PerSeed(snapshots) if stacked else snapshots[0]]
    if spec.lr_decay is not None:
        callbacks.append(linear_lr_decay(*spec.lr_decay))
    return callbacks


def _as_toy(toy):
    """A toy dataset, given as one or as its name in ``TOYS`` (``run_toy("ring")``)."""
    if isinstance(toy, str):
        toy = make_toy(toy)
    if not hasattr(toy, "sample"):
        raise TypeError(f"toy must be a toy dataset (e.g. ganlib.toys.ring()) or one of the names {sorted(TOYS)}, "
                        f"got {type(toy).__name__}")
    return toy


def run_toy(toy, method: Method = Method(), settings: ToySettings = ToySettings(), seed: int = 0, progress: bool = False,
            **overrides) -> ToyRun:
    """Train the 2D MLPs on ``toy`` with ``method`` and ``settings`` (seeded by ``seed``); returns a :class:`ToyRun`.

    ``toy`` is a dataset or its name in ``TOYS``; ``overrides`` are fields of Method or ToySettings
    (``run_toy("ring", steps=500, unroll=5)``).
    Toy runs take seconds, so they are not cached.
    """
    toy = _as_toy(toy)
    method, settings = _split_overrides(method, settings, overrides)
    spec = toy_spec(toy, method, settings, seed, progress)
    G, D = build(spec)
    data = toy.sample(spec.n_train, seed=10_000 + seed)
    snap = SampleSnapshots(n=1000, seed=seed, key="step")  # (step, (1000, 2)) of the same latents
    t0 = time.perf_counter()
    history = train_spec(spec, G, D, data, callbacks=_callbacks(spec, settings, [snap], stacked=False))
    seconds = time.perf_counter() - t0
    return _toy_result(toy, spec, G, D, history, snap, seed, settings, method, seconds)


def run_toy_seeds(toy, method: Method = Method(), settings: ToySettings = ToySettings(), seeds=(0, 1, 2),
                  progress: bool = False, **overrides) -> list[ToyRun]:
    """:func:`run_toy` for several seeds at once, trained as one stack (``ganlib.seeds``): one ToyRun per seed.

    Run s equals ``run_toy(toy, method, settings, seed=seeds[s])`` up to float rounding (tests/test_seeds.py);
    its ``seconds`` is the stack's wall time divided by the number of seeds (the cost of one seed).
    """
    toy = _as_toy(toy)
    seeds = tuple(int(s) for s in seeds)
    method, settings = _split_overrides(method, settings, overrides)
    spec = toy_spec(toy, method, settings, seeds[0], progress)
    G, D = build_stack(spec, seeds)
    data = torch.stack([toy.sample(spec.n_train, seed=10_000 + s) for s in seeds])  # each seed's own points, as run_toy
    snaps = [SampleSnapshots(n=1000, seed=s, key="step") for s in seeds]
    t0 = time.perf_counter()
    histories = train_stack(spec, G, D, data, callbacks=_callbacks(spec, settings, snaps, stacked=True))
    seconds = (time.perf_counter() - t0) / len(seeds)
    runs = []
    for i, seed in enumerate(seeds):
        g, d = G.member(i).eval(), D.member(i).eval()
        runs.append(_toy_result(toy, with_seed(spec, seed), g, d, histories[i], snaps[i], seed, settings, method, seconds))
    return runs


def _toy_result(toy, spec, G, D, history, snap, seed, settings, method, seconds) -> ToyRun:
    """A finished toy run's ToyRun: its snapshots (``snap``, a SampleSnapshots), samples, mode metrics and D's decision surface."""
    if not snap.snapshots or snap.snapshots[-1][0] < settings.steps:  # stopped at max_steps before an epoch end
        snap.snapshots.append((settings.steps, sample(G, snap.n, seed=snap.seed).cpu()))  # the same latents
    samples = sample(G, settings.n_eval, seed=123_456 + seed).cpu()
    metrics = mode_stats(samples, toy.modes, toy.std, min_count=settings.min_count) if toy.modes is not None else None
    md = method.mdgan_losses()
    if md is not None:
        d_score = partial(_md_score, md, D)
    elif method.pack > 1:
        d_score = partial(_pack_score, method.pack, D)
    elif method.loss != "wasserstein":
        d_score = partial(_sigmoid_score, D)
    else:
        d_score = D
    return ToyRun(toy, spec, G, D, history, snap.snapshots, samples, metrics, seconds, d_score)


# D's decision surface, as functions (not lambdas) so that a ToyRun can be pickled to another process
def _md_score(md, D, x):  # MD-GAN: lk(D(x)) / lambda in [0, 1)
    return md.likelihood(D(x)) / md.lam


def _pack_score(pack, D, x):  # PacGAN: D's verdict on a pack of m copies of x
    return torch.sigmoid(D(x.repeat_interleave(pack, 0)))


def _sigmoid_score(D, x):
    return torch.sigmoid(D(x))


# The published rows on the standard protocol, typed from the papers: {row: {dataset: (modes covered,
# % high quality, reverse KL or None)}} (VEEGAN: Srivastava et al. 2017, Table 1; PacGAN: Lin et al. 2018, Table 1)
PUBLISHED = {
    "GAN (VEEGAN paper)": {"ring": (1.0, 99.3, None), "grid": (3.3, 0.5, None)},
    "unrolled GAN (VEEGAN paper)": {"ring": (7.6, 35.6, None), "grid": (23.6, 16.0, None)},
    "VEEGAN (VEEGAN paper)": {"ring": (8.0, 52.9, None), "grid": (24.6, 40.0, None)},
    "GAN (PacGAN paper)": {"ring": (6.3, 98.2, 0.45), "grid": (17.3, 94.8, 0.70)},
    "best PacGAN (PacGAN paper)": {"ring": (7.9, 95.6, 0.07), "grid": (24.8, 93.6, 0.04)},
}
# The methods of the mode-collapse part, in the order the toy table lists them (names of presets.TOY_METHODS)
PROTOCOL_METHODS = ("plain", "r1", "unrolled", "mdgan", "pacgan")
METHOD_LABELS = {"plain": "GAN", "r1": "GAN + R1", "unrolled": "unrolled GAN", "mdgan": "MD-GAN", "pacgan": "PacGAN2",
                 "wgan-gp": "WGAN-GP"}


@dataclass
class ProtocolRow:
    """One method on one dataset of a toy protocol: its settings, one ToyRun per seed, and the stack's wall time."""

    dataset: str  # 'ring' or 'grid'
    method: str  # a name of presets.TOY_METHODS
    preset: str  # 'standard' or 'collapse'
    scale: str
    settings: ToySettings
    seeds: list
    runs: list  # [ToyRun], one per seed
    wall: float  # seconds for all seeds (one stack)

    def metrics(self) -> list[dict]:
        return [r.metrics for r in self.runs]


def protocol_row(dataset: str, method: str, seeds=None, steps: int | None = None, preset_name: str = "standard",
                 scale: str | None = None, threads: int | None = None, progress: bool = False) -> ProtocolRow:
    """Train ``method`` (a name of ``presets.TOY_METHODS``) on ``dataset`` ('ring' or 'grid') of the toy
    protocol ``preset_name`` ('standard': PacGAN's mixtures; 'collapse': the course's collapsing setup),
    every seed in one stack, on ``threads`` CPU threads (default: torch's setting; restored after)."""
    from ..presets import TOY_METHODS, TOY_PRESETS, preset

    if preset_name not in TOY_PRESETS:
        raise ValueError(f"unknown toy preset {preset_name!r}: use one of {sorted(TOY_PRESETS)}")
    if method not in TOY_METHODS:
        raise ValueError(f"unknown toy method {method!r}: use one of {sorted(TOY_METHODS)}")
    if dataset not in ("ring", "grid"):
        raise ValueError(f"unknown toy dataset {dataset!r}: use 'ring' or 'grid' (the mixtures with modes to count)")
    p = preset(TOY_PRESETS[preset_name], scale, show=False)
    seeds = list(p.seeds) if seeds is None else list(seeds)
    toy = make_toy(dataset, **p[dataset])
    method_kw, settings_kw = TOY_METHODS[method]
    settings = ToySettings(steps=int(steps or p.steps), batch_size=p.batch_size, lr_g=p.lr_g, lr_d=p.lr_d,
                           z_dim=p.z_dim, lr_decay=p.get("lr_decay", False), hidden=tuple(p.get("hidden", TOY_ARCH["hidden"])),
                           n_eval=p.get("n_eval", 2_500), min_count=p.get("min_count", 1), **settings_kw)
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        t0 = time.perf_counter()
        runs = run_toy_seeds(toy, Method(**method_kw), settings, seeds=seeds, progress=progress)
        wall = time.perf_counter() - t0
    finally:
        torch.set_num_threads(before)
    return ProtocolRow(dataset, method, preset_name, p.scale, settings, seeds, runs, wall)


def protocol_runs(methods=PROTOCOL_METHODS, datasets=("ring", "grid"), seeds=None, steps: int | None = None,
                  preset_name: str = "standard", scale: str | None = None, threads: int | None = 2,
                  workers: int = 1, progress: bool = True) -> dict:
    """:func:`protocol_row` for every method on every dataset: ``{(method, dataset): ProtocolRow}``, with a progress bar.

    Two threads by default: a stack of 10 toy seeds gains from the second core (``benchmarks/bench_seeds.py``).
    ``workers`` > 1 trains that many rows at once instead, each in its own process on one thread
    (``threads`` is then ignored): the toy MLPs are too small to keep two threads busy, two processes
    keep two cores busy (the toy table at 300 steps: 49.0 s on two threads, 37.1 s in two workers,
    spawning included). A row is the same either way up to float rounding (one thread or two sum in
    a different order). In a script (not a notebook), call it under ``if __name__ == "__main__":``:
    each worker imports the script that started it.
    """
    if workers > 1:
        from ..config import resolve_scale

        scale, threads = resolve_scale(scale), 1  # the workers see this scale, not only their environment's
    jobs = {(method, dataset): (dataset, method, seeds, steps, preset_name, scale, threads)
            for dataset in datasets for method in methods}
    with progress_bar(total=len(jobs), desc="toy table rows", enabled=progress) as bar:
        return _run_jobs(protocol_row, jobs, workers, bar, slow_first=lambda key: key[0] == "unrolled")


def toy_row(dataset: str, method: str, seeds=None, steps: int | None = None, preset_name: str = "standard",
            scale: str | None = None, threads: int | None = None) -> dict:
    """One row of the toy table as plain data, as ``ganlib toys`` prints it (:func:`protocol_row`'s run):
    the settings, per-seed and mean/std modes covered, high-quality fraction and reverse KL, and the wall time."""
    row = protocol_row(dataset, method, seeds, steps, preset_name, scale, threads)
    keys = ("modes_covered", "hq_fraction", "reverse_kl")
    per_seed = [{"seed": s, **{k: float(m[k]) for k in keys}} for s, m in zip(row.seeds, row.metrics())]
    summary = mean_over_seeds(row.metrics(), keys)
    return {
        "dataset": row.runs[0].toy.name, "method": method, "preset": preset_name, "scale": row.scale,
        "steps": row.settings.steps, "seeds": row.seeds, "n_modes": int(row.runs[0].metrics["n_modes"]),
        "per_seed": per_seed,
        "mean": {k: mean for k, (mean, _) in summary.items()},
        "std": {k: std for k, (_, std) in summary.items()},
        "wall_time_s": round(row.wall, 2), "threads": torch.get_num_threads() if threads is None else threads,
    }


def protocol_table(rows: dict, methods=None, datasets=("ring", "grid"), extra: dict | None = None,
                   published: bool = True) -> list[dict]:
    """The toy table as a list of dicts (one per row, ready for ``ganlib.tables`` or Markdown): the published
    rows (typed, with their source), then ours, mean ± std over seeds, with the seconds each method's seeds
    took on both datasets ('-' where not measured here).

    ``rows``: {(method, dataset): ProtocolRow}; ``extra``: {label: {dataset: [mode_stats dicts]}} for
    rows that are not a training method (a sampler applied to a method's generators).
    """
    def cells(results):
        s = mean_over_seeds(results)
        return (f"{s['modes_covered'][0]:.2f} ± {s['modes_covered'][1]:.2f}",
                f"{100 * s['hq_fraction'][0]:.1f} ± {100 * s['hq_fraction'][1]:.1f}",
                "-" if math.isnan(s["reverse_kl"][0]) else f"{s['reverse_kl'][0]:.2f} ± {s['reverse_kl'][1]:.2f}")

    def table_row(label, by_ds, seconds="-"):  # by_ds: {dataset: (modes, HQ %, reverse KL) as text}
        row = {"row": label}
        for ds in datasets:
            row.update(zip((f"{ds}: modes", f"{ds}: HQ %", f"{ds}: reverse KL"), by_ds[ds]))
        return dict(row, seconds=seconds)

    table = []
    if published:
        for label, by_ds in PUBLISHED.items():
            table.append(table_row(label, {ds: (f"{m:g}", f"{hq:g}", "-" if kl is None else f"{kl:g}")
                                           for ds, (m, hq, kl) in by_ds.items()}))
    methods = methods or list(dict.fromkeys(m for m, _ in rows))
    for m in methods:
        table.append(table_row(f"{METHOD_LABELS.get(m, m)} (ours)", {ds: cells(rows[(m, ds)].metrics()) for ds in datasets},
                               seconds=f"{sum(rows[(m, ds)].wall for ds in datasets):.0f}"))
    for label, by_ds in (extra or {}).items():
        table.append(table_row(label, {ds: cells(by_ds[ds]) for ds in datasets}))
    return table


def drs_metrics(runs: list, target_acceptance: float = 0.5, burn_in: int = 5_000) -> list[dict]:
    """Discriminator rejection sampling (``ganlib.samplers.drs_sample``) applied to each run's G with its own D
    (a BCE discriminator's logits), its shift gamma chosen on the burn-in to accept ``target_acceptance`` of the
    proposals: the mode metrics of as many accepted points as the run's samples, with the acceptance rate
    under the key 'acceptance'."""
    from ..samplers.drs import drs_sample

    out = []
    for r in runs:
        if r.spec.method.loss == "wasserstein" or r.spec.method.mdgan is not None:
            raise ValueError("DRS reads a BCE discriminator's logit as log p_data / p_G: use the runs of a BCE method")
        x, stats = drs_sample(r.G, r.D, r.samples.shape[0], seed=r.spec.cfg.seed, target_acceptance=target_acceptance,
                              burn_in=burn_in, progress=False)
        m = mode_stats(x, r.toy.modes, r.toy.std, min_count=r.metrics["min_count"])
        m["acceptance"] = stats["acceptance_rate"]
        out.append(m)
    return out


def compare_on_toys(mixtures: dict, methods: dict, seeds, settings: ToySettings = ToySettings(), threads: int | None = None,
                    progress: bool = True, workers: int = 1, **overrides) -> dict:
    """Run every method on every mixture with every seed: ``{(method label, mixture): [ToyRun, one per seed]}``.

    ``mixtures``: ``{name: toy}``; ``methods``: ``{label: Method}`` (or a dict of Method fields);
    ``settings`` and ``overrides`` (fields of ToySettings, or of Method: then they apply to every
    method, e.g. ``n_critic``) are shared by all runs. The seeds of one method on one mixture train
    as one stack (:func:`run_toy_seeds`), on ``threads`` CPU threads (default: torch's setting); the count is restored.
    ``workers`` > 1 trains that many stacks at once, each in its own one-thread process (as :func:`protocol_runs`).
    """
    methods = {label: m if isinstance(m, Method) else Method(**m) for label, m in methods.items()}
    jobs = {(label, name): (toy, method, settings, tuple(seeds), False) for name, toy in mixtures.items()
            for label, method in methods.items()}
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        with progress_bar(total=len(jobs) * len(seeds), desc="toy runs", enabled=progress) as bar:
            # all seeds of one method on one mixture train together, as one stack
            return _run_jobs(partial(run_toy_seeds, **overrides), jobs, workers, bar, step=len(seeds),
                             slow_first=lambda key: methods[key[0]].unroll > 0)
    finally:
        torch.set_num_threads(before)


def _run_jobs(fn: Callable, jobs: dict, workers: int, bar, step: int = 1, slow_first: Callable = lambda key: False) -> dict:
    """``{key: fn(*args)}`` for ``jobs`` = ``{key: args}``, in this process or, with ``workers`` > 1, in that
    many fresh one-thread processes (spawned: no forked OpenMP or CUDA state), the jobs that ``slow_first``
    marks sent first so that no worker idles at the end. Results come back in the order of ``jobs``."""
    if workers <= 1:
        out = {}
        for key, args in jobs.items():
            out[key] = fn(*args)
            bar.update(step)
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    out = {}
    order = sorted(jobs, key=lambda key: not slow_first(key))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=torch.set_num_threads, initargs=(1,)) as pool:
        futures = {pool.submit(fn, *jobs[key]): key for key in order}
        for future in as_completed(futures):
            out[futures[future]] = future.result()
            bar.update(step)
    return {key: out[key] for key in jobs}


def glue_runs(runs: dict, labels: dict, prefix: str, baseline: str | None = None) -> None:
    """Glue :func:`compare_on_toys`'s ``runs`` for a chapter's prose (``ganlib.tables.glue``), per tag of
    ``labels`` ({tag: method label}) and mixture: ``{prefix}_{tag}_{mixture}`` the mean modes covered,
    ``..._kl`` the mean reverse KL and, for every tag but ``baseline`` (default: the first),
    ``..._vs`` how its modes covered compare with the baseline's over seeds (``tables.versus``); and
    ``{prefix}_max_hq`` the largest high-quality share of any run, in %."""
    from ..tables import glue, versus

    baseline = baseline or next(iter(labels))
    mixtures = list(dict.fromkeys(name for _, name in runs))
    modes = {key: [r.metrics["modes_covered"] for r in rs] for key, rs in runs.items()}
    for tag, label in labels.items():
        for name in mixtures:
            m = mean_over_seeds([r.metrics for r in runs[(label, name)]])
            glue(f"{prefix}_{tag}_{name}", m["modes_covered"][0], ".1f")
            glue(f"{prefix}_{tag}_{name}_kl", m["reverse_kl"][0], ".2f")
            if tag != baseline:
                glue(f"{prefix}_{tag}_{name}_vs", versus(modes[(label, name)], modes[(labels[baseline], name)]))
    glue(f"{prefix}_max_hq", 100 * max(r.metrics["hq_fraction"] for rs in runs.values() for r in rs), ".1f")


def runs_table(runs: dict) -> str:
    """Return :func:`mode_table` of :func:`compare_on_toys`'s runs: one row per (method, mixture), mean +- std over seeds."""
    return mode_table({f"{label}, {name}": [r.metrics for r in results] for (label, name), results in runs.items()})


# --------------------------------------------------------------------------- plots


def _frame(ax, toy, title):
    if toy is not None and hasattr(toy, "bounds"):
        x0, x1, y0, y1 = toy.bounds
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title, fontsize=9)


def plot_snapshots(snapshots, toy=None, title: str = "Generator samples over training", max_panels: int = 8):
    """Plot samples (n, 2) at each snapshot as small multiples, modes marked; returns the Figure."""
    if not snapshots:
        raise ValueError("no snapshots to plot: pass the SampleSnapshots callback's .snapshots after training")
    from ..plots import panels  # ganlib.plots imports matplotlib: only when a figure is drawn

    idx = np.unique(np.linspace(0, len(snapshots) - 1, min(max_panels, len(snapshots))).round().astype(int))
    fig, axes = panels(len(idx), panel_height=2.0)
    for ax, i in zip(axes, idx):
        step, x = snapshots[i]
        if toy is not None and getattr(toy, "modes", None) is not None:
            ax.scatter(toy.modes[:, 0], toy.modes[:, 1], s=30, c="tab:red", marker="x", linewidths=1, label="modes")
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, c="tab:blue", label="G(z)")
        _frame(ax, toy, f"step {step}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_density(samples: torch.Tensor, toy=None, title: str = "Density of the generator (KDE)", ax=None, bw: float | None = None):
    """Plot a Gaussian KDE of generator samples (N, 2) as a heat map; returns the Axes."""
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    x = samples.detach().cpu().double().numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    x0, x1, y0, y1 = toy.bounds if toy is not None else (x[:, 0].min(), x[:, 0].max(), x[:, 1].min(), x[:, 1].max())
    gx, gy = np.meshgrid(np.linspace(x0, x1, 150), np.linspace(y0, y1, 150))
    kde = gaussian_kde(x.T, bw_method=bw)
    dens = kde(np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    mesh = ax.pcolormesh(gx, gy, dens, shading="auto", cmap="viridis")
    plt.colorbar(mesh, ax=ax, label="estimated density")
    _frame(ax, toy, title)
    return ax


def plot_decision_surface(score: Callable, toy=None, real=None, fake=None, title: str = "Discriminator's decision surface", ax=None, label: str = "D(x) = sigmoid(logit)"):
    """Plot ``score(x (M, 2)) -> (M,)`` over the plane, with real and fake points; returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    if toy is not None:
        x0, x1, y0, y1 = toy.bounds
    else:
        pts = torch.cat([t for t in (real, fake) if t is not None])
        (x0, y0), (x1, y1) = pts.min(0).values.tolist(), pts.max(0).values.tolist()
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, 150), torch.linspace(y0, y1, 150), indexing="xy")
    with torch.no_grad():
        s = score(torch.stack([gx.ravel(), gy.ravel()], 1)).reshape(gx.shape)
    mesh = ax.contourf(gx.numpy(), gy.numpy(), s.numpy(), levels=20, cmap="RdBu_r")
    plt.colorbar(mesh, ax=ax, label=label)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="k", alpha=0.3, label="real")
    if fake is not None:
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="gold", alpha=0.5, label="fake")
    if real is not None or fake is not None:
        ax.legend(loc="upper right", fontsize=8, markerscale=4)
    _frame(ax, toy, title)
    return ax


def plot_toy_result(result: "ToyRun", title: str = ""):
    """Plot one :func:`run_toy` result on a 2x2 page-wide grid: samples, KDE, decision surface, metrics; returns the Figure."""
    from ..plots import PAGE_WIDTH, panels  # ganlib.plots imports matplotlib: only when a figure is drawn

    toy = result.toy
    fig, axes = panels(4, max_per_row=2, panel_height=0.42 * PAGE_WIDTH)
    real = toy.sample(1000, seed=1)
    fake = result.samples[:1000]
    axes[0].scatter(real[:, 0], real[:, 1], s=2, c="k", alpha=0.3, label="real")
    axes[0].scatter(fake[:, 0], fake[:, 1], s=2, c="tab:blue", alpha=0.4, label="G(z)")
    axes[0].legend(loc="upper right", fontsize=8, markerscale=4)
    _frame(axes[0], toy, "samples: real and generated")
    plot_density(result.samples, toy, title="generator density (KDE)", ax=axes[1])
    plot_decision_surface(result.d_score, toy, real=real[:300], fake=fake[:300], title="discriminator", ax=axes[2],
                          label="D score")
    m = result.metrics
    lines = [f"{toy.name}, {result.seconds:.1f} s of training"]
    if m:
        lines += [f"modes covered: {m['modes_covered']} of {m['n_modes']}", f"high quality: {100 * m['hq_fraction']:.1f}%",
                  f"reverse KL: {m['reverse_kl']:.2f}"]
    axes[3].text(0.05, 0.9, "\n".join(lines), va="top", ha="left", fontsize=11, transform=axes[3].transAxes, linespacing=1.6)
    axes[3].set_title(f"mode metrics ({len(result.samples):,} samples)" if m else "run", fontsize=9)
    axes[3].axis("off")
    fig.suptitle(title or f"{toy.name}: {result.seconds:.1f} s of training")
    fig.tight_layout()
    return fig


def plot_datasets(n: int = 2000, seed: int = 0, names=None):
    """Scatter n samples of each toy dataset (default: all of ``TOYS``) in one row; returns the Figure."""
    from ..plots import panels  # ganlib.plots imports matplotlib: only when a figure is drawn

    names = list(names or TOYS)

    fig, axes = panels(len(names), max_per_row=3)
    for ax, name in zip(axes, names):
        toy = make_toy(name)
        x = toy.sample(n, seed=seed)
        ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4)
        _frame(ax, toy, name)
    fig.suptitle(f"The toy datasets ({n} samples each)")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- widgets


def widget_panel(steps: int = 400, seed: int = 0, preview: bool = False):
    """Return (and display) an ipywidgets panel to train a 2D GAN live (dataset, loss, rates, n_critic, penalty, unroll).

    Nothing trains until the button is pressed, so a headless run (papermill, nbval) only renders
    the controls. A static page cannot run the panel: with ``preview=True`` the panel's default
    settings are trained once, exactly as pressing **Train** would, and drawn as an ordinary figure
    below the panel, so the built book shows what the panel produces in its default state.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    style = {"description_width": "110px"}
    dataset = w.Dropdown(options=sorted(TOYS), value="ring", description="dataset", style=style)
    loss = w.Dropdown(options=["non-saturating", "minimax", "wasserstein", "md-gan"], value="non-saturating", description="loss", style=style)
    lr_g = w.FloatLogSlider(value=1e-3, base=10, min=-5, max=-1, description="lr_g", style=style)
    lr_d = w.FloatLogSlider(value=1e-3, base=10, min=-5, max=-1, description="lr_d", style=style)
    n_critic = w.IntSlider(value=1, min=1, max=10, description="n_critic", style=style)
    penalty = w.Dropdown(options=["none", "R1", "gradient penalty"], value="none", description="penalty", style=style)
    weight = w.FloatLogSlider(value=1.0, base=10, min=-2, max=2, description="penalty weight", style=style)
    unroll = w.IntSlider(value=0, min=0, max=10, description="unroll steps", style=style)
    lookahead = w.Dropdown(options=["adam", "sgd"], value="adam", description="lookahead", style=style)
    lr_unroll = w.FloatLogSlider(value=0.02, base=10, min=-4, max=0, description="sgd unroll step", style=style)
    n_steps = w.IntSlider(value=steps, min=50, max=3000, step=50, description="G steps", style=style)
    button = w.Button(description="Train", button_style="primary")
    out = w.Output()

    def train_and_plot(title: str = ""):
        method = Method(
            loss="non-saturating" if loss.value == "md-gan" else loss.value,
            r1_gamma=weight.value if penalty.value == "R1" else 0.0,
            gp_weight=weight.value if penalty.value == "gradient penalty" else 0.0,
            clip=0.01 if loss.value == "wasserstein" and penalty.value == "none" else 0.0,
            unroll=unroll.value, lookahead=lookahead.value,
            lr_unroll=lr_unroll.value if lookahead.value == "sgd" else None,
            mdgan=dict(d=2, sigma=0.25) if loss.value == "md-gan" else None)
        settings = ToySettings(steps=n_steps.value, lr_g=lr_g.value, lr_d=lr_d.value, n_critic=n_critic.value)
        return plot_toy_result(run_toy(make_toy(dataset.value), method, settings, seed=seed), title=title)

    def on_click(_):
        with out:
            out.clear_output(wait=True)
            train_and_plot()
            plt.show()

    button.on_click(on_click)
    controls = w.VBox([dataset, loss, lr_g, lr_d, n_critic, penalty, weight, unroll, lookahead, lr_unroll, n_steps, button])
    panel = w.HBox([controls, out])
    panel.train_button, panel.output = button, out  # so a test can press it: panel.train_button.click()
    display(panel)
    if preview:
        panel.preview = train_and_plot(f"The panel's default result: {loss.value} GAN on the {dataset.value}, "
                                       f"{n_steps.value} G steps, lr_g = lr_d = {lr_g.value:g}, seed {seed}")
    return panel
