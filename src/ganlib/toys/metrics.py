"""Mode-coverage metrics of 2D samples against the modes of a Gaussian mixture, and their tables.

Mode metrics follow VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018), evaluated
on 2,500 generated samples by default:

- a sample is *high quality* (HQ) if it lies within ``3 * std`` of its nearest mode; for an
  isotropic 2D Gaussian, P(||x - mu|| <= 3 sigma) = 1 - exp(-9/2) = 98.89%;
- a mode is *covered* if it is the nearest mode of at least ``min_count`` HQ samples
  (``min_count=1`` is the papers' choice; a larger value ignores stray samples);
- the *reverse KL* is KL(p_G || uniform) = sum_k p_k log(K p_k), with p_k the share of HQ
  samples whose nearest mode is k: 0 when G spreads evenly over all modes, log K when it
  puts everything on one mode.

For MNIST, :func:`ganlib.metrics.class_mode_stats` is the same count with a digit classifier
(``ganlib.features.class_probs`` by default) in place of the nearest mode.
"""

from __future__ import annotations

import math

import torch

from ..seeds import mean_and_spread
from ..tables import markdown_table


def mode_stats(samples: torch.Tensor, modes: torch.Tensor, std: float, min_count: int = 1, hq_radius: float = 3.0) -> dict:
    """Return VEEGAN/PacGAN mode metrics of samples (N, 2) against modes (K, 2).

    Keys: ``modes_covered`` (int), ``n_modes``, ``hq_fraction`` (share of samples within
    ``hq_radius * std`` of their nearest mode), ``reverse_kl`` (KL of the HQ mode histogram to
    uniform; nan when no sample is HQ), ``counts`` (K,) HQ samples per mode, ``min_count``.
    """
    if samples.dim() != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples must be (N, {modes.shape[1]}), got {tuple(samples.shape)}")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    samples = samples.detach().float().cpu()
    modes = torch.as_tensor(modes).float().cpu()
    dist = torch.cdist(samples, modes)  # (N, K)
    nearest_dist, nearest = dist.min(1)
    hq = nearest_dist <= hq_radius * std
    counts = torch.bincount(nearest[hq], minlength=len(modes))
    n_hq = int(hq.sum())
    if n_hq:
        p = counts.double() / n_hq
        nz = p > 0
        reverse_kl = float((p[nz] * torch.log(p[nz] * len(modes))).sum())
    else:
        reverse_kl = float("nan")
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "n_modes": len(modes),
        "hq_fraction": n_hq / samples.shape[0],
        "reverse_kl": reverse_kl,
        "counts": counts,
        "min_count": min_count,
    }


def mean_over_seeds(results: list[dict], keys=("modes_covered", "hq_fraction", "reverse_kl")) -> dict:
    """Return {key: (mean, std)} over a list of metric dicts (one per seed); NaN values (a reverse KL
    without any high-quality point) are skipped, and a key that is NaN for every seed gives (nan, nan)."""
    spreads = {k: mean_and_spread([r[k] for r in results]) for k in keys}
    return {k: (m["mean"], m["std"]) for k, m in spreads.items()}


def _pm(mean: float, std: float, missing: str) -> str:
    return missing if math.isnan(mean) else f"{mean:.2f} ± {std:.2f}"


def mode_table(rows: dict) -> str:
    """Return a Markdown table of {label: list of mode_stats dicts (one per seed)}: mean ± std over seeds.

    Show it with ``display(Markdown(...))``: the built book renders it as a table.
    """
    table = []
    for label, results in rows.items():
        s = mean_over_seeds(results)
        table.append({
            "run": label, "seeds": len(results),
            "modes covered": f"{s['modes_covered'][0]:.1f} ± {s['modes_covered'][1]:.1f} / {results[0]['n_modes']}",
            "% high quality": f"{100 * s['hq_fraction'][0]:.1f} ± {100 * s['hq_fraction'][1]:.1f}",
            "reverse KL": _pm(*s["reverse_kl"], "n/a (no high-quality point)"),
        })
    return markdown_table(table)
