"""All four samplers on one trained (G, D), with their costs: what the samplers chapter tabulates.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import torch

from ..images import sample
from ._common import _stats
from .classwise import classwise_sample, fit_classwise_latents
from .drs import calibrate_critic, drs_sample, finetune_discriminator
from .is_rejection import _default_classifier, is_rejection_sample, is_threshold
from .latent import latent_ascent_sample, latent_rejection_sample, train_latent_weights


@dataclass(frozen=True)
class SamplerSettings:
    """The settings of every sampler, for :func:`apply_samplers` (``from_preset`` reads the samplers preset)."""

    drs_acceptance: float = 0.3  # DRS: gamma is set so that this share of the burn-in is accepted
    finetune_steps: int = 300  # DRS: BCE steps on D with G frozen
    burn_in: int = 10_000  # DRS and latent rejection: burn-in samples
    is_acceptance: float = 0.5  # IS rejection: the threshold passes this share of burn-in batches
    is_batch_size: int = 100  # IS rejection: samples per scored batch
    is_burn_in_batches: int = 50  # IS rejection: batches scored to set the threshold
    w_cap: float = 3.0  # latent reweighting: weight cap m (latent rejection keeps about 1/m)
    w_steps: int = 1000  # latent reweighting: training steps of w(z)
    w_pool: int = 20_000  # latent reweighting: latents in the training pool
    ascent_steps: int = 10  # latent ascent: gradient steps on z
    ascent_step_size: float = 0.05
    keep_fraction: float = 0.5  # class-wise refit: share of each class kept by similarity
    n_fit: int = 20_000  # class-wise refit: generated samples classified
    keep_rejected: int = 32  # examples of rejected samples kept for the figures

    @classmethod
    def from_preset(cls, settings) -> "SamplerSettings":
        """Return the settings of a resolved ``ganlib.preset('samplers', ...)`` (keys it lacks keep their defaults)."""
        return cls(**{f.name: settings[f.name] for f in dataclasses.fields(cls) if f.name in settings})


@dataclass
class SamplerResult:
    """What a sampler returns in :func:`apply_samplers`; unpacks as ``samples, stats, setup``."""

    samples: torch.Tensor  # (n, ...) accepted samples
    stats: dict  # acceptance_rate, generator_calls, wall_time_s, ...; 'rejected' (or 'before'/'after') examples
    setup: dict  # the one-off cost before sampling: generator_calls, wall_time_s, and what the sampler fitted

    def __iter__(self):
        return iter((self.samples, self.stats, self.setup))


def apply_samplers(G, D, real: torch.Tensor, n: int, seed: int = 0, settings: SamplerSettings = SamplerSettings(),
                   classifier: Callable | None = None, wasserstein: bool = False, progress: bool = True) -> dict:
    """Run every sampler on one (G, D) pair with ``settings``; returns ``{name: SamplerResult}``.

    ``setup`` holds the one-off cost (generator calls and seconds) of what the sampler needs
    before sampling: D fine-tuning, critic calibration, w training, IS threshold, class-wise fit.
    ``real`` (N, ...) is the training data (fine-tuning D, nearest-real similarity). With
    ``wasserstein`` set, D is a critic: DRS is run twice, on the BCE-fine-tuned critic and on a
    logistic calibration of the frozen critic; latent reweighting uses the raw critic scores.
    """
    classifier = classifier or _default_classifier()
    c = settings
    t0 = time.perf_counter()
    x = sample(G, n, seed=seed)
    out = {"plain": SamplerResult(x, _stats(n, n, n, t0), {"generator_calls": 0, "wall_time_s": 0.0})}

    t0 = time.perf_counter()
    D_ft, _ = finetune_discriminator(G, D, real, steps=c.finetune_steps, seed=seed, progress=progress)
    setup = {"generator_calls": c.finetune_steps * 64, "wall_time_s": time.perf_counter() - t0}
    x, st = drs_sample(G, D_ft, n, seed=seed, target_acceptance=c.drs_acceptance, burn_in=c.burn_in,
                       keep_rejected=c.keep_rejected, progress=progress)
    out["DRS (BCE fine-tuned D)" if wasserstein else "DRS"] = SamplerResult(x, st, setup)
    if wasserstein:
        t0 = time.perf_counter()
        D_cal, _ = calibrate_critic(G, D, real, seed=seed)
        setup = {"generator_calls": min(5000, real.shape[0]), "wall_time_s": time.perf_counter() - t0}
        x, st = drs_sample(G, D_cal, n, seed=seed, target_acceptance=c.drs_acceptance, burn_in=c.burn_in,
                           keep_rejected=c.keep_rejected, progress=progress)
        out["DRS (calibrated critic)"] = SamplerResult(x, st, setup)

    t0 = time.perf_counter()
    threshold, _ = is_threshold(G, classifier, c.is_acceptance, n_batches=c.is_burn_in_batches, batch_size=c.is_batch_size, seed=seed + 1)
    setup = {"generator_calls": c.is_burn_in_batches * c.is_batch_size, "wall_time_s": time.perf_counter() - t0}
    x, st = is_rejection_sample(G, n, threshold, seed=seed, classifier=classifier, batch_size=c.is_batch_size,
                                keep_rejected=c.keep_rejected, progress=progress)
    out["IS rejection"] = SamplerResult(x, st, setup)

    w_net, w_stats = train_latent_weights(G, D, seed=seed, n_latents=c.w_pool, steps=c.w_steps, m=c.w_cap, progress=progress)
    setup = {k: w_stats[k] for k in ("generator_calls", "wall_time_s", "mean_weight", "max_weight", "score_weight_corr")}
    out["latent rejection"] = SamplerResult(*latent_rejection_sample(G, w_net, n, seed=seed, burn_in=c.burn_in, keep_rejected=c.keep_rejected,
                                                        progress=progress), setup)
    x, st = latent_ascent_sample(G, w_net, n, seed=seed, steps=c.ascent_steps, step_size=c.ascent_step_size, progress=progress)
    st["before"] = latent_ascent_sample(G, w_net, c.keep_rejected or 1, seed=seed, steps=0, progress=False)[0]
    st["after"] = x[:c.keep_rejected or 1]
    out["latent ascent"] = SamplerResult(x, st, setup)

    fit = fit_classwise_latents(G, real, classifier, n_fit=c.n_fit, keep_fraction=c.keep_fraction, seed=seed,
                                keep_examples=c.keep_rejected, progress=progress)
    x, st = classwise_sample(G, fit, n, seed=seed, progress=progress)
    st["wall_time_s"], st["generator_calls"] = st["sample_wall_time_s"], st["sample_generator_calls"]  # the fit is one-off
    st["rejected"], st["fit"] = fit["examples_rejected"], fit
    out["class-wise refit"] = SamplerResult(x, st, {"generator_calls": fit["generator_calls"], "wall_time_s": fit["wall_time_s"],
                                       "normal_fraction": fit["normal_fraction"]})
    return out


def results_rows(results: dict, evaluate: Callable, label: str = "") -> list[dict]:
    """Return one table row (dict) per sampler: ``evaluate(samples)``'s metrics plus cost per 10,000 accepted samples."""
    rows = []
    for name, (x, stats, setup) in results.items():
        scale = 10_000 / x.shape[0]
        row = {"model": label, "sampler": name, **{k: v for k, v in evaluate(x).items() if k in
                                                   ("fid", "precision", "recall", "density", "coverage")}}
        row.update({"acceptance": stats["acceptance_rate"], "G calls / 10k": stats["generator_calls"] * scale,
                    "s / 10k": stats["wall_time_s"] * scale, "setup G calls": setup["generator_calls"],
                    "setup s": setup["wall_time_s"]})
        rows.append(row)
    return rows


QUALITY_KEYS = ("model", "sampler", "fid", "precision", "recall", "density", "coverage")
COST_KEYS = ("model", "sampler", "acceptance", "G calls / 10k", "s / 10k", "setup G calls", "setup s")
