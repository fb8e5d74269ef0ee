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
    set_seed(cfg.seed)
    G, D = Generator(), Discriminator()
    path = run_path(name, cfg=cfg, loss=loss, n_train=int(real.shape[0]))
    snaps = SampleSnapshots(n=snapshots, seed=cfg.seed, path=path.with_suffix(".snapshots.pt"))
    history = train(G, D, real, cfg, *get_losses(loss), callbacks=[snaps], checkpoint=path)
    return {"G": G.eval(), "D": D.eval(), "history": history, "path": path, "snapshots": snaps}
