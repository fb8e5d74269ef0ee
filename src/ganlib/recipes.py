"""The course's reference runs as :class:`ganlib.runs.RunSpec` built from :mod:`ganlib.presets`.

A chapter resolves its settings once (``ganlib.preset(...)``) and turns them into specs here; a
later chapter that reuses a run (the samplers chapter takes the vanilla and WGAN-GP generators)
calls :func:`train_vanilla` / :func:`train_wgan_gp`, which build the same spec from the same
preset and so find the same cached checkpoint.

Vanilla GAN (Goodfellow et al. 2014) with the lab's MLPs; at ``full`` the lab's protocol (Adam
2e-4 with PyTorch's default betas (0.9, 0.999), batch 64, 100 epochs, non-saturating loss).
"""

from __future__ import annotations

import dataclasses
import warnings

import torch

from .callbacks import resume_config
from .config import default_device
from .data import load_mnist
from .presets import Settings, preset
from .runs import EarlyStopping, Method, Run, RunSpec, train_or_load
from .toys.data import grid, ring
from .training import TrainConfig

LAB_LR, LAB_BETAS = 2e-4, (0.9, 0.999)  # the lab template's Adam (report 000)


def vanilla_config(settings: Settings, seed: int = 0, **overrides) -> TrainConfig:
    """Return the vanilla GAN's TrainConfig from the ``'vanilla'`` preset's ``settings`` (``overrides`` replace fields)."""
    cfg = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr_g=settings.lr, lr_d=settings.lr,
                      betas=tuple(settings.betas), seed=seed, log_every=settings.log_every)
    return dataclasses.replace(cfg, **overrides)


def lab_config(cfg: TrainConfig) -> TrainConfig:
    """Return ``cfg`` with the lab template's Adam settings (lr 2e-4, betas (0.9, 0.999))."""
    return dataclasses.replace(cfg, lr_g=LAB_LR, lr_d=LAB_LR, betas=LAB_BETAS)


def mnist_spec(name: str, cfg: TrainConfig, n_train: int, method: Method = Method(), **arch) -> RunSpec:
    """Return the spec of a run of the lab's MLPs on ``n_train`` MNIST images (``arch``: RunSpec's g_arch / d_arch)."""
    return RunSpec(name, cfg, method, n_train=int(n_train), **arch)


def train_vanilla(real: torch.Tensor, scale: str | None = None, seed: int = 0) -> Run:
    """Train (or reuse) the vanilla chapter's run with its preset at ``scale``; returns the Run."""
    settings = preset("vanilla", scale, show=False)
    cfg = vanilla_config(settings, seed=seed)
    return train_or_load(mnist_spec("vanilla", cfg, real.shape[0], Method(loss=settings.loss)), real)


def wgan_gp_spec(settings: Settings, n_train: int, seed: int = 0) -> RunSpec:
    """Return the WGAN-GP chapter's run (Gulrajani et al. 2017) from the ``'wgan_gp'`` preset's ``settings``.

    Adam, the Wasserstein loss with the gradient penalty, FID early stopping every ``fid_every``
    epochs with ``patience``; its best epoch is kept beside the run.
    """
    s = settings
    cfg = TrainConfig(optimizer="adam", lr_g=s.lr, lr_d=s.lr, betas=tuple(s.betas), n_critic=s.n_critic,
                      epochs=s.epochs, batch_size=s.batch_size, seed=seed, log_every=s.log_every)
    return RunSpec("WGAN-GP", cfg, Method(loss="wasserstein", gp_weight=s.gp_weight), g_arch=_g_norm(s.g_norm),
                   n_train=int(n_train), early_stopping=EarlyStopping(s.fid_every, s.patience, s.n_eval_train))


def wgan_gp_variants(settings: Settings, n_train: int, seed: int = 0) -> dict[str, RunSpec]:
    """Return the WGAN-GP chapter's runs: WGAN-GP, its clipping and spectral-norm siblings on the same budget,
    and (with ``paper_baseline``) WGAN-GP with the paper's settings."""
    s = settings
    gp = wgan_gp_spec(s, n_train, seed)
    wasserstein = Method(loss="wasserstein")
    # the clipping sibling is the WGAN chapter's run at c = s.clip with this budget (one checkpoint for both)
    clip = Settings(s, lr=s.lr_clip)
    variants = {
        "WGAN-GP": gp,
        "WGAN clip": wgan_clip_spec(clip, s.clip, n_train, seed),
        "WGAN-SN": dataclasses.replace(
            gp, name="WGAN-SN", method=wasserstein, early_stopping=None, d_arch=dict(spectral_norm=True),
            cfg=dataclasses.replace(gp.cfg, lr_g=s.lr_sn, lr_d=s.lr_sn)),
    }
    if s.paper_baseline:
        paper = preset("wgan_gp", "full", show=False)
        variants["WGAN-GP, paper defaults"] = dataclasses.replace(
            gp, name="WGAN-GP-paper", g_arch=_g_norm(paper.g_norm), early_stopping=None,
            cfg=dataclasses.replace(gp.cfg, lr_g=paper.lr, lr_d=paper.lr, betas=paper.betas, n_critic=paper.n_critic))
    return variants


def restart_spec(run: Run, lr_factor: float, epochs: int) -> RunSpec:
    """Return the spec continuing ``run``'s best epoch (FID early stopping) for ``epochs`` more epochs at
    ``lr_factor`` times its rates, decaying linearly to 0 (report 001's restart)."""
    best = run.early_stopping
    if best is None or best.best_epoch is None:
        raise ValueError(f"run {run.spec.name!r} has no best epoch: give its spec early_stopping")
    cfg = resume_config(best.path, lr_factor=lr_factor, extra_epochs=epochs)
    return dataclasses.replace(run.spec, name=f"{run.spec.name}-restart", cfg=cfg, early_stopping=None,
                               lr_decay=(epochs, best.best_epoch), init_from=str(best.path))


def train_wgan_gp(real: torch.Tensor, scale: str | None = None, seed: int = 0) -> Run:
    """Train (or reuse) the WGAN-GP chapter's run with its preset at ``scale``; returns the Run."""
    return train_or_load(wgan_gp_spec(preset("wgan_gp", scale, show=False), real.shape[0], seed), real)


def wgan_clip_spec(settings: Settings, c: float, n_train: int, seed: int = 0, paper: bool = False) -> RunSpec:
    """Return a WGAN run with weight clipping at ``c`` (Arjovsky et al. 2017) from the ``'wgan'`` preset's
    ``settings``; ``paper``: the paper's RMSProp 5e-5, n_critic 5 and no normalisation in G on the same epochs."""
    s = settings if not paper else Settings(settings, **{k: preset("wgan", "full", show=False)[k]
                                                          for k in ("lr", "n_critic", "g_norm")})
    cfg = TrainConfig(optimizer="rmsprop", lr_g=s.lr, lr_d=s.lr, n_critic=s.n_critic, epochs=s.epochs,
                      batch_size=s.batch_size, seed=seed, log_every=s.log_every)
    return RunSpec(f"WGAN-clip{c}" + ("-paper" if paper else ""), cfg, Method(loss="wasserstein", clip=c),
                   g_arch=_g_norm(s.g_norm), n_train=int(n_train))


def _g_norm(g_norm: str) -> dict:
    if g_norm not in ("batch", "layer", "none"):
        raise ValueError(f"g_norm must be 'batch', 'layer' or 'none', got {g_norm!r}")
    return {} if g_norm == "none" else {"norm": g_norm}


def mode_collapse_setup(scale: str | None = None, seed: int = 0, **overrides) -> Settings:
    """Resolve the ``'mode_collapse'`` preset for the R1, unrolled and MD-GAN chapters and load their data.

    Returns the settings (``mnist_seeds``: the seeds of every MNIST row) plus ``mixtures`` ({'ring', 'grid'}), ``toy`` (the keywords of
    ``ganlib.toys.compare_on_toys``), ``real`` (MNIST training images on the device), ``course``
    (the vanilla chapter's TrainConfig with this preset's epochs) and ``lab`` (the same with the
    lab's Adam settings). Prints the resolved settings.
    """
    s = preset("mode_collapse", scale, **overrides)
    device = default_device()
    s.mixtures = {"ring": ring(**s.ring), "grid": grid(**s.grid)}
    s.toy = dict(steps=s.steps, batch_size=s.batch_size, lr_g=s.lr_g, lr_d=s.lr_d, z_dim=s.z_dim)
    s.real = load_mnist(train=True, device=device, limit=s.n_train)[0]
    s.course = vanilla_config(preset("vanilla", s.scale, show=False), seed=seed, epochs=s.mnist_epochs)
    s.lab = lab_config(s.course)
    print(f"device {device}; {s.real.shape[0]:,} MNIST training images; MNIST runs: {s.course.epochs} epochs "
          f"of batch {s.course.batch_size}")
    return s


def toy_setup_words(s: Settings) -> str:
    """The toy runs of :func:`mode_collapse_setup`'s settings ``s`` in words, for a chapter's prose to glue."""
    seeds = ", ".join(map(str, s.seeds))
    return (f"{s.steps:,} generator steps of batch {s.batch_size}, seed{'s' * (len(s.seeds) > 1)} {seeds}, Adam with "
            f"beta1 = 0.5, lr_G = {s.lr_g:g} and lr_D = {s.lr_d:g}, a {s.z_dim}-dimensional latent, at the {s.scale} scale")


def mnist_setup_words(s: Settings, run) -> str:
    """The MNIST runs of :func:`mode_collapse_setup`'s settings ``s`` in words (``run``: one of them, a
    ``ganlib.runs.Run``, for its step count), for a chapter's prose to glue."""
    epochs = f"{s.course.epochs} epoch{'s' * (s.course.epochs > 1)}"
    seeds = s.mnist_seeds
    return (f"{epochs} of batch {s.course.batch_size} = {run.history.step[-1]:,} generator steps on "
            f"{s.real.shape[0]:,} training images, seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))} "
            f"per row, {s.n_eval:,} samples per model, at the {s.scale} scale")


# ---------------------------------------------------------------- former names, kept for one release


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"ganlib.recipes.{old} is replaced by {new}; the old name goes in the next release",
                  DeprecationWarning, stacklevel=3)


def vanilla_gan(real: torch.Tensor, cfg: TrainConfig, loss: str = "non-saturating", name: str = "vanilla",
                snapshots: int = 32) -> Run:
    """Deprecated: ``ganlib.train_or_load(recipes.mnist_spec(name, cfg, len(real), Method(loss=loss)), real)``."""
    _deprecated("vanilla_gan", "ganlib.train_or_load(recipes.mnist_spec(...), real)")
    return train_or_load(mnist_spec(name, cfg, real.shape[0], Method(loss=loss)), real, snapshots=snapshots)


def method_gan(real: torch.Tensor, cfg: TrainConfig, name: str, snapshots: int = 32, **method) -> Run:
    """Deprecated: ``ganlib.train_or_load(recipes.mnist_spec(name, cfg, len(real), Method(**method)), real)``."""
    _deprecated("method_gan", "ganlib.train_or_load(recipes.mnist_spec(...), real)")
    return train_or_load(mnist_spec(name, cfg, real.shape[0], Method(**method)), real, snapshots=snapshots)


def wgan_gp(real: torch.Tensor, scale=None, seed: int = 0, **_ignored) -> Run:
    """Deprecated: :func:`train_wgan_gp` (settings now come from ``ganlib.presets``)."""
    _deprecated("wgan_gp", "ganlib.recipes.train_wgan_gp")
    return train_wgan_gp(real, scale, seed)
