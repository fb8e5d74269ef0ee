"""Samplers that improve a trained generator without retraining it.

Every sampler is a plain function ``f(G, ..., n, seed, ...) -> (samples, stats)`` returning
exactly ``n`` samples (n, *out_shape) and a dict with at least ``acceptance_rate`` (accepted /
proposed), ``generator_calls`` (samples pushed through G by this call, burn-in and fitting
included) and ``wall_time_s``. One-off training (fine-tuning D, training w) is reported by the
function that does it, under the same keys where they apply.

- :mod:`.drs`: discriminator rejection sampling (Azadi et al. 2019), for a BCE discriminator or a
  calibrated WGAN critic;
- :mod:`.is_rejection`: Inception-Score rejection of whole batches (lab report 000);
- :mod:`.latent`: latent reweighting (Issenhuth et al. 2022) and its two samplers;
- :mod:`.classwise`: the class-wise latent refit (lab report 002);
- :mod:`.compare`: all four on one generator, their settings, results and costs.
"""

from ..config import moved_attribute
from .classwise import classwise_sample, fit_classwise_latents, nearest_real_cosine
from .compare import COST_KEYS, QUALITY_KEYS, SamplerResult, SamplerSettings, apply_samplers, results_rows
from .drs import CalibratedCritic, calibrate_critic, drs_acceptance_prob, drs_gamma, drs_sample, finetune_discriminator
from .is_rejection import batch_inception_score, is_rejection_sample, is_threshold
from .latent import LatentWeightNet, latent_ascent_sample, latent_rejection_sample, latent_weight_loss, train_latent_weights

__all__ = [
    "finetune_discriminator", "CalibratedCritic", "calibrate_critic", "drs_acceptance_prob", "drs_gamma", "drs_sample",
    "batch_inception_score", "is_threshold", "is_rejection_sample",
    "LatentWeightNet", "latent_weight_loss", "train_latent_weights", "latent_rejection_sample", "latent_ascent_sample",
    "nearest_real_cosine", "fit_classwise_latents", "classwise_sample",
    "SamplerSettings", "SamplerResult", "apply_samplers", "results_rows", "QUALITY_KEYS", "COST_KEYS",
]


def __getattr__(name):
    """``show_accepted_rejected`` moved to ganlib.plots (method modules hold only their method); kept one release."""
    return moved_attribute(__name__, name, {"show_accepted_rejected": "plots"})
