"""Wasserstein GANs: the papers' default configurations, schedules, FID early stopping, Lipschitz diagnostics.

- Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN", Algorithm 1: the critic f maximises
  E_x[f(x)] - E_z[f(G(z))] (Eq. 3, the Kantorovich-Rubinstein dual of the Earth-Mover distance)
  over weight-clipped networks; defaults alpha = 5e-5 (RMSProp), c = 0.01, m = 64, n_critic = 5.
- Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1: the same critic
  loss plus lambda * E[(||grad D(x^)||_2 - 1)^2] (Eq. 3); defaults lambda = 10, n_critic = 5,
  Adam alpha = 1e-4, beta1 = 0, beta2 = 0.9.
- Miyato et al. 2018, "Spectral Normalization for GANs", Eq. (8): W / sigma(W), sigma the largest
  singular value estimated by power iteration; :func:`spectral_norms` measures sigma of each layer.

A configuration function returns ``(TrainConfig, kwargs)`` for ``ganlib.train(G, D, data, cfg, **kwargs)``,
with the paper's defaults; the course's runs describe the same methods as data
(``ganlib.runs.Method(loss="wasserstein", clip=0.01)`` or ``gp_weight=10``) with the rates of
``ganlib.presets``. Schedules and FID early stopping are in ``ganlib.callbacks``, the Lipschitz
diagnostics in ``ganlib.diagnostics``, their figures in ``ganlib.plots``.
"""

from __future__ import annotations

import dataclasses

from . import losses as L
from . import regularizers as R
from .config import moved_attribute
from .training import TrainConfig

# --------------------------------------------------------------------------------------------
# The papers' defaults
# --------------------------------------------------------------------------------------------


def wgan_config(c: float = 0.01, **overrides) -> tuple[TrainConfig, dict]:
    """Return (TrainConfig, train kwargs) of WGAN with weight clipping: RMSProp 5e-5, c=0.01, n_critic=5, batch 64."""
    cfg = dataclasses.replace(TrainConfig(optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, n_critic=5, batch_size=64), **overrides)
    return cfg, dict(d_loss=L.d_loss_wasserstein, g_loss=L.g_loss_wasserstein, d_constraint=R.clip_weights(c))


def wgan_gp_config(gp_weight: float = 10.0, one_sided: bool = False, **overrides) -> tuple[TrainConfig, dict]:
    """Return (TrainConfig, train kwargs) of WGAN-GP: Adam 1e-4, betas (0, 0.9), gp_weight=10, n_critic=5, batch 64."""
    cfg = dataclasses.replace(TrainConfig(optimizer="adam", lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), n_critic=5, batch_size=64), **overrides)
    return cfg, dict(d_loss=L.d_loss_wasserstein, g_loss=L.g_loss_wasserstein, penalty=R.gp_penalty(gp_weight, one_sided=one_sided))


def wgan_sn_config(**overrides) -> tuple[TrainConfig, dict]:
    """Return (TrainConfig, train kwargs) of a Wasserstein critic with spectral norm (build D with spectral_norm=True).

    Same optimiser and n_critic as WGAN-GP, so the two compare on the same budget; the Lipschitz
    bound comes from the architecture, not from a penalty or a constraint.
    """
    cfg = dataclasses.replace(TrainConfig(optimizer="adam", lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), n_critic=5, batch_size=64), **overrides)
    return cfg, dict(d_loss=L.d_loss_wasserstein, g_loss=L.g_loss_wasserstein)


_MOVED = {  # names that lived here before the library was split by concern
    "decay_lr": "callbacks", "linear_lr_decay": "callbacks", "FIDEarlyStopping": "callbacks", "resume_config": "callbacks",
    "spectral_norms": "diagnostics", "critic_layer_grad_norms": "diagnostics", "critic_grad_norm": "diagnostics",
    "clipped_fraction": "diagnostics", "critic_gap": "diagnostics", "LipschitzMonitor": "diagnostics",
    "time_critic_step": "diagnostics", "critic_step_times": "diagnostics",
    "plot_layer_grad_norms": "plots", "plot_critic_estimate": "plots", "plot_fid_curve": "plots",
}


def __getattr__(name):
    """Moved names stay importable from here for one release, with a DeprecationWarning."""
    return moved_attribute(__name__, name, _MOVED)
