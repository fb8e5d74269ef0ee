"""The course's reference runs, shared by the chapter that trains them and the chapters that reuse them.

A recipe builds a ``TrainConfig`` for a scale and trains (or, when its finished checkpoint is in
the cache, reloads) the run, so that e.g. the samplers chapter applies its samplers to exactly the
generator the vanilla-GAN chapter trained.

Vanilla GAN (Goodfellow et al. 2014), the lab's protocol at ``full``: Adam lr 2e-4 with PyTorch's
default betas (0.9, 0.999), batch 64, 100 epochs, non-saturating loss. At ``smoke`` and ``cpu``
the budget is ~2,000 generator steps, far too few for those settings (measured: the lab's loop
still draws noise after 2,340 steps), so these scales default to lr 1e-3 with beta1 = 0.5.
"""

from __future__ import annotations

import json
import warnings

import torch

from .callbacks import SampleSnapshots
from .config import by_scale, resolve_scale, run_path, set_seed
from .losses import get_losses
from .models import Discriminator, Generator
from .training import TrainConfig, train

LAB_LR, LAB_BETAS = 2e-4, (0.9, 0.999)


def vanilla_config(scale=None, lr=None, betas=None, epochs=None, batch_size=64, seed=0, device=None, record_grad_norm=False) -> TrainConfig:
    """Return the vanilla GAN's TrainConfig at ``scale``; a ``None`` argument takes the scale's default."""
    scale = resolve_scale(scale)
    return TrainConfig(
        epochs=epochs or by_scale(scale, 1, 15, 100),
        batch_size=batch_size,
        lr_g=lr or by_scale(scale, 1e-3, 1e-3, LAB_LR),
        lr_d=lr or by_scale(scale, 1e-3, 1e-3, LAB_LR),
        betas=tuple(betas or by_scale(scale, (0.5, 0.999), (0.5, 0.999), LAB_BETAS)),
        seed=seed,
        device=None if device is None else str(device),
        log_every=by_scale(scale, 2, 25, 200),
        record_grad_norm=record_grad_norm,
    )


def vanilla_gan(real: torch.Tensor, cfg: TrainConfig, loss: str = "non-saturating", name: str = "vanilla", snapshots: int = 32) -> dict:
    """Train (or reload) the lab's MLP GAN on ``real``; returns ``{G, D, history, path, snapshots}``.

    The checkpoint lives at ``ganlib.config.run_path(name, cfg, loss, n_train)``; ``snapshots``
    samples of fixed latents are kept after every epoch (``SampleSnapshots``) beside it.
    """
    return method_gan(real, cfg, name=name, loss=loss, snapshots=snapshots)


def method_kwargs(loss: str = "non-saturating", r1_gamma: float = 0.0, gp_weight: float = 0.0, unroll: int = 0,
                  lr_unroll: float | None = None, lookahead: str = "adam", mdgan: dict | None = None) -> tuple[dict, int, object]:
    """Return ``(train keywords, D's out_dim, MD-GAN losses or None)`` for one of the mode-collapse chapters' methods.

    ``loss`` names a pair in ``ganlib.losses.LOSSES``; ``r1_gamma`` adds gamma/2 R1 (Mescheder et
    al. 2018), ``gp_weight`` a WGAN-GP penalty; ``unroll`` = k > 0 replaces the generator step by
    :func:`ganlib.unrolled.unrolled_g_step` with ``lookahead`` ('adam': D's own Adam replayed, the
    paper's code; 'sgd') and lookahead step ``lr_unroll`` (None: D's learning rate); ``mdgan`` =
    keywords of :func:`ganlib.mdgan.mdgan_losses` trains an MD-GAN (D outputs an embedding of size
    ``d``) instead. The same keywords serve the 2D toys (``toys.run_toy``) and MNIST (:func:`method_gan`).
    """
    from . import regularizers as R

    md = None
    if mdgan is not None:
        from .mdgan import mdgan_losses

        md = mdgan_losses(**mdgan)
        d_loss, g_loss, out_dim = md.d_loss, md.g_loss, md.d
    else:
        d_loss, g_loss = get_losses(loss)
        out_dim = 1
    penalties = ([R.r1(r1_gamma)] if r1_gamma else []) + ([R.wgan_gp(gp_weight)] if gp_weight else [])
    penalty = (lambda D, real, fake: sum(p(D, real, fake) for p in penalties)) if penalties else None
    g_step = None
    if unroll:
        from .unrolled import unrolled_g_step

        g_step = unrolled_g_step(unroll, d_loss, lr_unroll, lookahead=lookahead)
    return dict(d_loss=d_loss, g_loss=g_loss, penalty=penalty, g_step=g_step), out_dim, md


def method_gan(real: torch.Tensor, cfg: TrainConfig, name: str, snapshots: int = 32, **method) -> dict:
    """Train (or reload) the lab's MLPs on ``real`` with one method of :func:`method_kwargs` (its keywords in ``method``).

    Returns ``{G, D, history, path, snapshots, md}``: the checkpoint is at
    ``run_path(name, cfg, n_train, **method)`` (so every hyperparameter of the method is part of
    the key and a finished run is reloaded, not retrained), ``snapshots`` fixed-latent samples are
    kept after every epoch, ``md`` is the MD-GAN losses (or None).
    """
    kwargs, out_dim, md = method_kwargs(**method)
    set_seed(cfg.seed)
    G, D = Generator(), Discriminator(out_dim=out_dim)
    identity = {k: v for k, v in method.items() if k != "loss"}  # 'loss' alone keeps the vanilla runs' cache keys
    path = run_path(name, cfg=cfg, loss=method.get("loss", "non-saturating"), n_train=int(real.shape[0]), **identity)
    snaps = SampleSnapshots(n=snapshots, seed=cfg.seed, path=path.with_suffix(".snapshots.pt"))
    history = train(G, D, real, cfg, callbacks=[snaps], checkpoint=path, **kwargs)
    return {"G": G.eval(), "D": D.eval(), "history": history, "path": path, "snapshots": snaps, "md": md}


# WGAN-GP: the run of book/wgan_gp.ipynb. At ``smoke`` and ``cpu`` the paper's settings (Adam 1e-4,
# betas (0, 0.9), n_critic 5, no normalisation in G) draw blobs after 4 epochs (measured: FID ~700),
# so these scales default to Adam 1e-3, betas (0.5, 0.9), n_critic 2 and batch norm in G (FID ~171).
WGAN_GP_CLIP_KEY = 0.01  # the chapter's clip value was part of every variant's cache key; kept so cached runs are found


def wgan_gp_config(scale=None, seed=0, gp_weight=10.0, lr=None, betas=None, n_critic=None, g_norm=None, epochs=None, batch_size=64):
    """Return (TrainConfig, train kwargs, arch) of the WGAN-GP run at ``scale``; ``arch`` is ``wgan.build_models``'s keywords.

    A ``None`` argument takes the scale's default: lr smoke/cpu 1e-3, full 1e-4 (Gulrajani et al.
    2017); betas smoke/cpu (0.5, 0.9), full (0.0, 0.9); n_critic smoke/cpu 2, full 5; g_norm
    smoke/cpu 'batch', full 'none'; epochs smoke 2, cpu 4, full 100.
    """
    from . import wgan

    scale = resolve_scale(scale)
    lr = lr or by_scale(scale, 1e-3, 1e-3, 1e-4)
    betas = tuple(betas or by_scale(scale, (0.5, 0.9), (0.5, 0.9), (0.0, 0.9)))
    g_norm = g_norm or by_scale(scale, "batch", "batch", "none")
    if g_norm not in ("batch", "layer", "none"):
        raise ValueError(f"g_norm must be 'batch', 'layer' or 'none', got {g_norm!r}")
    cfg, kwargs = wgan.wgan_gp_config(gp_weight, lr_g=lr, lr_d=lr, betas=betas, epochs=epochs or by_scale(scale, 2, 4, 100),
                                      n_critic=n_critic or by_scale(scale, 2, 2, 5), batch_size=batch_size, seed=seed,
                                      log_every=by_scale(scale, 1, 5, 50))
    return cfg, kwargs, dict(g_norm=None if g_norm == "none" else g_norm)


def wgan_gp(real: torch.Tensor, scale=None, seed=0, gp_weight=10.0, lr=None, betas=None, n_critic=None, g_norm=None, epochs=None,
            callbacks=(), batch_size=64) -> dict:
    """Train (or reload) the WGAN-GP run of the WGAN-GP chapter on ``real``; returns ``{G, D, history, path}``.

    The configuration is :func:`wgan_gp_config`'s; the checkpoint is ``wgan.train_or_load``'s
    (name ``'WGAN-GP'``), so the chapter and every later chapter share one run. ``callbacks`` (e.g.
    the chapter's ``wgan.FIDEarlyStopping``) get their logs back on a reload. A cached run that was
    trained without a callback that keeps a log (another chapter reused the recipe first) is
    trained again with it, so that its log exists.
    """
    from . import wgan

    cfg, kwargs, arch = wgan_gp_config(scale, seed, gp_weight, lr, betas, n_critic, g_norm, epochs, batch_size)
    key = dict(gp=gp_weight, clip=WGAN_GP_CLIP_KEY, arch=arch)
    path = wgan.run_path("WGAN-GP", cfg, int(real.shape[0]), **key)
    done = path.with_name(path.name + ".done.json")
    if done.exists() and any(hasattr(cb, "load_log") for cb in callbacks):
        logs = json.loads(done.read_text())
        if len(logs) < len(callbacks) or any(hasattr(cb, "load_log") and log is None for cb, log in zip(callbacks, logs)):
            warnings.warn(f"{path.name} was trained without the callbacks' logs; training it again with them", stacklevel=2)
            done.unlink()
            path.unlink(missing_ok=True)
    G, D = wgan.build_models(seed, **arch)
    history, path = wgan.train_or_load("WGAN-GP", G, D, real, cfg, kwargs, callbacks=list(callbacks), **key)
    return {"G": G.eval(), "D": D.eval(), "history": history, "path": path}
