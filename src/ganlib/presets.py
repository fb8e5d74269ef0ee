"""Every chapter's settings at the three scales, in one table, and the one function that resolves them.

``PRESETS[chapter][setting]`` is either one value (the same at every scale) or ``S(smoke, cpu,
full)``. A chapter's parameter cell holds ``None`` for "the preset" and passes its parameters to
:func:`preset`, which applies the ones that are not None and prints what it resolved:

    settings = ganlib.preset("wgan_gp", SCALE, lr=LR, n_critic=N_CRITIC)
    settings.lr, settings.n_critic, settings.scale

Why the smoke and cpu columns differ from the papers' (the ``full`` column): at ~2,000 generator
steps the papers' settings have not left noise (measured in the chapters: the lab's Adam 2e-4 with
betas (0.9, 0.999) still draws noise after 2,340 steps; WGAN-GP with Adam 1e-4, betas (0, 0.9),
n_critic 5 and no normalisation in G draws blobs after 4 epochs, FID ~700), so those scales use
larger rates, beta1 = 0.5, n_critic 2 and batch norm in G. Each chapter also trains the papers'
settings on the same budget beside them where they differ.
"""

from __future__ import annotations

import textwrap
from typing import Any, NamedTuple

from .config import resolve_scale


class S(NamedTuple):
    """A setting that differs by scale."""

    smoke: Any
    cpu: Any
    full: Any


N_TRAIN = S(512, 10_000, None)  # MNIST training images (None: all; the shared data holds 10,000)
SEEDS = S([0], [0, 1, 2], [0, 1, 2, 3, 4])
# The seeds of every MNIST comparison (a table of mean ± std; a gap inside the spread is a tie). At cpu the
# three seeds are paid for with shorter runs where a chapter compares many settings (mode_collapse below).
MNIST_SEEDS = S([0], [0, 1, 2], [0, 1, 2])

PRESETS: dict[str, dict[str, Any]] = {
    # Goodfellow et al. 2014 with the lab's MLPs; full: the lab's protocol (Adam 2e-4, default betas,
    # batch 64, 100 epochs)
    "vanilla": dict(
        n_train=N_TRAIN,
        epochs=S(1, 15, 100),
        lr=S(1e-3, 1e-3, 2e-4),  # Adam, G and D
        betas=S((0.5, 0.999), (0.5, 0.999), (0.9, 0.999)),
        batch_size=64,
        loss="non-saturating",  # or 'minimax'
        log_every=S(2, 25, 200),
        seeds=MNIST_SEEDS,  # seeds of the comparison of the course recipe with the lab's settings
        compare_epochs=S(1, 3, 10),  # epochs of the minimax vs non-saturating comparison
        head_start=S(20, 200, 200),  # D-only steps of the saturation experiment
        n_export=S(100, 1_000, 10_000),  # PNG files written
        n_eval=S(200, 5_000, 10_000),  # samples per evaluation
    ),
    # Arjovsky et al. 2017: RMSProp 5e-5, c = 0.01, n_critic 5 (full)
    "wgan": dict(
        n_train=S(320, 10_000, None),
        epochs=S(1, 4, 100),
        lr=S(2e-4, 2e-4, 5e-5),  # RMSProp, G and D
        n_critic=S(2, 2, 5),
        g_norm=S("batch", "batch", "none"),  # normalisation in G
        batch_size=64,
        clip_values=(0.001, 0.01, 0.1),  # c too small, the paper's c, c too large
        seeds=MNIST_SEEDS,  # seeds of every run
        paper_baseline=S(True, True, False),  # also train the paper's settings on the same epochs
        log_every=S(1, 5, 50),
        n_eval=S(300, 5_000, 10_000),
    ),
    # Gulrajani et al. 2017: Adam 1e-4, betas (0, 0.9), lambda 10, n_critic 5 (full); the spectral-norm
    # and clipping variants train on the same budget
    "wgan_gp": dict(
        n_train=S(320, 10_000, None),
        epochs=S(2, 4, 100),
        lr=S(1e-3, 1e-3, 1e-4),  # Adam, WGAN-GP
        lr_sn=S(5e-4, 5e-4, 1e-4),  # Adam, WGAN-SN
        lr_clip=S(2e-4, 2e-4, 5e-5),  # RMSProp, the clipping baseline
        betas=S((0.5, 0.9), (0.5, 0.9), (0.0, 0.9)),
        gp_weight=10.0,
        n_critic=S(2, 2, 5),
        g_norm=S("batch", "batch", "none"),
        batch_size=64,
        clip=0.01,
        paper_baseline=S(True, True, False),
        seeds=MNIST_SEEDS,  # seeds of every variant (and of its restart)
        fid_every=1,  # epochs between FID evaluations (early stopping)
        patience=3,  # evaluations without improvement before stopping
        lr_factor=0.5,  # restart from the best epoch at these times its rates
        resume_epochs=S(1, 2, 30),
        log_every=S(1, 5, 50),
        n_eval=S(300, 5_000, 10_000),  # samples of the final evaluation
        n_eval_train=S(300, 2_000, 10_000),  # samples per FID during training
        timing_rounds=S(1, 5, 5),
        timing_steps=S(2, 10, 20),
    ),
    # The 2D laboratory: a plain GAN on the ring and the grid
    "toy_lab": dict(
        datasets=("ring", "grid"),
        ring=dict(radius=2.0, std=0.02),  # Metz et al. 2016 (PacGAN: radius 1, std 0.01, the same ratio)
        grid=dict(spacing=2.0, std=0.05),  # PacGAN / MD-GAN: {-4,-2,0,2,4}^2
        steps=S(40, 1_000, 5_000),  # generator steps per run
        seeds=SEEDS,
        batch_size=256,
        z_dim=64,
        lr_g=1e-3,
        lr_d=1e-4,  # G 10x faster than D: the regime where the plain GAN collapses
        n_eval=2_500,  # generated points per evaluation (VEEGAN, PacGAN)
        min_count=1,  # a mode is covered by >= min_count high-quality points
    ),
    # The published toy protocol (VEEGAN, PacGAN): ring of 8 Gaussians, radius 1, std 0.01; grid of 25
    # on {-4,-2,0,2,4}^2, std 0.05; 2,500 generated points; high quality within 3 std of a mode; 10 seeds.
    # The training settings (2D MLPs of width 64, equal rates decaying to 0) are the course's choice, not the papers'.
    "toy_standard": dict(
        ring=dict(radius=1.0, std=0.01),
        grid=dict(spacing=2.0, std=0.05),
        steps=S(100, 3_000, 20_000),  # cpu: the 5 methods x 2 mixtures x 10 seeds in about 10 minutes on 2 cores
        seeds=S([0], list(range(10)), list(range(10))),
        batch_size=128,  # at equal wall time, more steps of smaller batches give sharper modes than 256
        z_dim=2,
        hidden=(64, 64),  # 2-64-64-2 and 2-64-64-1: at equal wall time sharper than 128 wide
        lr_g=3e-3,
        lr_d=3e-3,
        lr_decay=True,  # linearly to 0 over the run: sharp modes at the end
        workers=S(1, 2, 2),  # rows trained at once, one process of one thread each (smoke: the build's lanes)
        n_eval=2_500,
        min_count=1,
    ),
    # The three mode-collapse chapters (R1, unrolled GAN, MD-GAN): toys, then MNIST with the lab's MLPs
    "mode_collapse": dict(
        ring=dict(radius=2.0, std=0.02),
        grid=dict(spacing=2.0, std=0.05),
        steps=S(30, 800, 5_000),
        seeds=SEEDS,
        batch_size=256,
        z_dim=64,
        lr_g=1e-3,
        lr_d=1e-4,
        n_train=N_TRAIN,
        # MNIST: 3 seeds of every row at cpu cost what one seed of the vanilla chapter's 15 epochs did
        mnist_epochs=S(1, 5, 100),
        mnist_seeds=MNIST_SEEDS,
        n_eval=S(200, 2_500, 10_000),
        # the unrolled chapter's collapse setting: the plain GAN's epochs at the unrolled run's cost
        # (cpu: k=5 costs about 9 plain steps on 2 cores, so 9 x 5 epochs)
        equal_time_epochs=S(2, 45, 300),
    ),
    # Samplers on the vanilla and WGAN-GP chapters' generators
    "samplers": dict(
        seeds=MNIST_SEEDS,  # the generators: the vanilla and WGAN-GP chapters' seeds
        n_eval=S(200, 2_000, 10_000),
        drs_acceptance=0.3,
        is_acceptance=0.5,
        is_batch_size=100,
        w_cap=3.0,
        keep_fraction=0.5,
        finetune_steps=S(5, 300, 2_000),
        w_steps=S(20, 1_000, 3_000),
        n_fit=S(500, 10_000, 50_000),
        burn_in=S(500, 5_000, 10_000),
        w_pool=S(500, 10_000, 50_000),
        is_burn_in_batches=S(4, 30, 100),
    ),
    # The results chapter: every chapter's recommended run and every sampler, one suite on the same seeds
    "results": dict(
        seeds=MNIST_SEEDS,
        n_eval=S(200, 5_000, 10_000),  # samples per evaluation, every row (the chapters' own n differ)
        n_inception=10_000,  # the reports' Inception FID: 10,000 samples against the MNIST test set
        n_show=8,  # samples per method in the grid
    ),
    # The metric suite's sanity checks
    "metrics": dict(
        n_eval=S(1_000, 10_000, 10_000),
        n_lab=S(300, 3_000, 10_000),
        floor_sizes=S((100, 300), (100, 300, 1_000, 3_000, 10_000), (100, 300, 1_000, 3_000, 10_000)),
        n_inception=S(100, 1_000, 10_000),
    ),
}


# The toy methods of the mode-collapse part, by the name `ganlib toys --method` takes: the keywords
# of ganlib.runs.Method, and of ganlib.toys.ToySettings where a method needs other training settings.
TOY_METHODS: dict[str, tuple[dict, dict]] = {
    "plain": ({}, {}),
    "r1": ({"r1_gamma": 0.1}, {}),  # the R1 chapter's toy gamma
    "unrolled": ({"unroll": 5, "lookahead": "adam"}, {}),  # the unrolled chapter's k
    "mdgan": ({"mdgan": {"d": 2, "sigma": 0.25}}, {}),  # the MD-GAN chapter's toy embedding
    "pacgan": ({"pack": 2}, {}),  # PacGAN2 (Lin et al. 2018)
    "wgan-gp": ({"loss": "wasserstein", "gp_weight": 0.1}, {"n_critic": 5}),
}
# The presets `ganlib toys --preset` takes: the published protocol, and the course's collapsing setup
TOY_PRESETS = {"standard": "toy_standard", "collapse": "mode_collapse"}


class Settings(dict):
    """A chapter's resolved settings: a dict that also reads as attributes (``settings.lr``)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"no setting {key!r}; the settings are {sorted(self)}") from None

    __setattr__ = dict.__setitem__  # settings.extra = value adds a setting

    def __repr__(self):
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in self.items()) + ")"


def preset(name: str, scale: str | None = None, show: bool = True, **overrides) -> Settings:
    """Return ``PRESETS[name]`` at ``scale`` with the ``overrides`` that are not None; prints it when ``show``.

    ``scale`` None reads ``$GANLIB_SCALE`` (see ``ganlib.config.resolve_scale``); the result also
    holds ``scale``. An override that names no setting raises ValueError listing the settings.
    """
    if name not in PRESETS:
        raise ValueError(f"no preset {name!r}: use one of {sorted(PRESETS)}")
    scale = resolve_scale(scale)
    table = PRESETS[name]
    unknown = sorted(set(overrides) - set(table))
    if unknown:
        raise ValueError(f"preset {name!r} has no setting {', '.join(unknown)}; its settings are {sorted(table)}")
    settings = Settings(scale=scale)
    for key, value in table.items():
        settings[key] = getattr(value, scale) if isinstance(value, S) else value
    changed = {k: v for k, v in overrides.items() if v is not None}
    settings.update(changed)
    if show:
        print(f"{name} settings at {scale} scale"
              + (f" (changed: {', '.join(changed)})" if changed else " (the preset)") + ":")
        print(textwrap.fill("; ".join(f"{k} {v}" for k, v in settings.items() if k != "scale"), width=76))
    return settings
