"""Training callbacks: ``cb(state) -> bool | None``, called by ``ganlib.train`` at each epoch end."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .sampling import sample


class SampleSnapshots:
    """Keep G's samples of the same fixed latents after every ``every`` epochs, as ``[(epoch, samples)]``
    (or ``[(step, samples)]`` with ``key='step'``).

    With ``path``, the snapshots are written there (atomically) and read back when the run is
    resumed from a finished checkpoint, so a chapter can show them without retraining.
    """

    def __init__(self, n: int = 16, seed: int = 0, every: int = 1, path=None, key: str = "epoch"):
        if n < 1 or every < 1:
            raise ValueError("n and every must be >= 1")
        if key not in ("epoch", "step"):
            raise ValueError(f"key must be 'epoch' or 'step', got {key!r}")
        self.n, self.seed, self.every, self.key = n, seed, every, key
        self.path = Path(path) if path else None
        self.snapshots: list[tuple[int, torch.Tensor]] = []
        if self.path is not None and self.path.exists():
            self.snapshots = torch.load(self.path, weights_only=False)

    def __call__(self, state):
        if state.epoch % self.every == 0 or state.epoch == state.cfg.epochs:
            images = sample(state.G, self.n, seed=self.seed).cpu()
            at = getattr(state, self.key)
            self.snapshots = [(e, x) for e, x in self.snapshots if e < at] + [(at, images)]
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(self.path.name + ".tmp")
                torch.save(self.snapshots, tmp)
                os.replace(tmp, self.path)
        return None

    def grids(self, max_count: int = 6) -> dict:
        """Return up to ``max_count`` evenly spaced snapshots as ``{'epoch k': images}``."""
        if not self.snapshots:
            return {}
        idx = sorted({round(i * (len(self.snapshots) - 1) / max(max_count - 1, 1)) for i in range(max_count)})
        return {f"epoch {self.snapshots[i][0]}": self.snapshots[i][1] for i in idx}
