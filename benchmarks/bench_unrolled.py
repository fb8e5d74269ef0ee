"""Measure the cost of one unrolled generator step as a function of the unroll depth k.

Metz et al. 2016: the generator's loss is evaluated against D after k differentiable D steps,
so each step adds one forward and one double backward of D. This script times
``ganlib.unrolled.unrolled_g_step(k, ...)`` (k = 0 is the plain step) on the 2D toy MLPs and on
the imposed MNIST MLPs, on CPU, and prints the median wall time per generator step and the
ratio to k = 0.

    PYTHONPATH=src python benchmarks/bench_unrolled.py [--ks 0 1 2 5 10] [--repeats 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ganlib import losses as L
from ganlib.models import Discriminator, Generator
from ganlib.unrolled import unrolled_g_step


def time_step(G, D, z, real, k, repeats):
    """Return the median seconds of one unrolled generator step (after 2 warm-up steps)."""
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-4)
    step = unrolled_g_step(k, L.d_loss_bce, lr_d=1e-3)
    times = []
    for i in range(repeats + 2):
        t0 = time.perf_counter()
        step(G, D, opt_G, z, L.g_loss_nonsaturating, real)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", type=int, nargs="+", default=[0, 1, 2, 5, 10])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mnist-ks", type=int, nargs="+", default=[0, 1, 2, 5])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    setups = {
        "2D toy MLP 2-128-128-2 / 2-128-128-1, batch 256": (
            Generator(z_dim=2, hidden=(128, 128), out_shape=(2,), out_activation=None),
            Discriminator(in_shape=(2,), hidden=(128, 128)),
            torch.randn(256, 2, generator=gen), torch.randn(256, 2, generator=gen), args.ks),
        "MNIST MLPs (imposed architecture), batch 64": (
            Generator(), Discriminator(), torch.randn(64, 100, generator=gen),
            torch.rand(64, 1, 28, 28, generator=gen) * 2 - 1, args.mnist_ks),
    }
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, median of {args.repeats} steps")
    for name, (G, D, z, real, ks) in setups.items():
        print(f"\n{name}")
        print(f"{'k':>3} {'ms/step':>10} {'x k=0':>7}")
        base = None
        for k in ks:
            t = time_step(G, D, z, real, k, args.repeats)
            base = base if base is not None else t
            print(f"{k:>3} {1000 * t:>10.2f} {t / base:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
