"""The Inception Score of class probabilities.

Salimans et al. 2016, "Improved Techniques for Training GANs", Sec. 4:
``exp(E_x KL(p(y|x) || p(y)))``, averaged over 10 splits.

A split of m images has an Inception Score of at most m (p(y) is the mean of m rows): 1 image per
split gives exactly 1.0. Measured on the real MNIST test digits with the shipped classifier
(score 9.56 from 1,000 per split): 6.19 from 10 per split, 7.79 from 20, 8.81 from 50, 9.17 from
100. :func:`ganlib.metrics.evaluate` therefore refuses fewer than ``MIN_PER_SPLIT`` per split.
Unlike torch-fidelity, the rows are not shuffled first.
"""

from __future__ import annotations

import torch

MIN_PER_SPLIT = 20  # images per split that ganlib.metrics.evaluate requires (see the module docstring)


def inception_score(probs: torch.Tensor, splits: int = 10) -> dict:
    """Return ``{'is_mean', 'is_std'}``: exp(E KL(p(y|x) || p(y))) over ``splits`` splits of probs (N, C)."""
    p = torch.as_tensor(probs).detach().to(torch.float64).cpu()
    if p.dim() != 2:
        raise ValueError(f"probs must have shape (N, classes), got {tuple(p.shape)}")
    if p.shape[0] < splits:
        raise ValueError(f"need at least {splits} samples for {splits} splits, got {p.shape[0]}")
    if (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(p.shape[0], dtype=torch.float64), atol=1e-4):
        raise ValueError("probs must be non-negative rows summing to 1 (softmax outputs, not logits)")
    n = p.shape[0]
    scores = []
    # split i holds rows [i N // splits, (i + 1) N // splits), the convention of the original code
    # (openai/improved-gan) and of torch-fidelity, also when N is not a multiple of splits
    for part in (p[i * n // splits : (i + 1) * n // splits] for i in range(splits)):
        marginal = part.mean(0, keepdim=True)
        # xlogy gives 0 * log 0 = 0, so confident (one-hot) predictions are exact.
        kl = (torch.xlogy(part, part) - torch.xlogy(part, marginal)).sum(1)
        scores.append(torch.exp(kl.mean()))
    scores = torch.stack(scores)
    return {"is_mean": float(scores.mean()), "is_std": float(scores.std(unbiased=False))}
