"""Cost of one WGAN-GP critic step against one WGAN (weight clipping) critic step on the same batch.

Gulrajani et al. 2017's penalty needs grad_x D(x^) with a graph (create_graph=True) and then a
backward through that gradient: a double backward. This benchmark times
``ganlib.training.discriminator_step`` for the imposed MLP critic (784-1024-512-256-1) and
generator on one fixed batch of 64 real MNIST images on the CPU, for

- WGAN: RMSProp, Wasserstein loss, clipping to [-0.01, 0.01] after the step;
- WGAN-GP: Adam (0, 0.9), Wasserstein loss + 10 * gradient penalty;
- WGAN-SN: Adam (0, 0.9), Wasserstein loss, spectrally normalised critic (for reference).

The machine may be shared, so the variants are timed in interleaved rounds and the script
reports medians per variant and the median of the per-round ratios. Target: GP / WGAN <= 2.5.

    PYTHONPATH=src GANLIB_DATA=/work/shared/data python benchmarks/bench_wgan_gp.py --rounds 7 --steps 20
"""

from __future__ import annotations

import argparse
import statistics

import torch

from ganlib import diagnostics, wgan
from ganlib.runs import Method, RunSpec, build
from ganlib.data import load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; medians are over rounds")
    parser.add_argument("--steps", type=int, default=20, help="timed critic steps per variant per round")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is steadiest on a shared machine)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    real = load_mnist(limit=args.batch_size)[0]
    # the papers' settings (ganlib.wgan) on the lab's MLPs, built as the chapters build them
    specs = {name: RunSpec(name, cfg, Method(loss="wasserstein", clip=0.01 if name == "WGAN (clip)" else 0.0,
                                             gp_weight=10.0 if name == "WGAN-GP" else 0.0),
                           d_arch=dict(spectral_norm=name == "WGAN-SN"))
             for name, (cfg, _) in {"WGAN (clip)": wgan.wgan_config(seed=args.seed),
                                    "WGAN-GP": wgan.wgan_gp_config(seed=args.seed),
                                    "WGAN-SN": wgan.wgan_sn_config(seed=args.seed)}.items()}
    G, _ = build(specs["WGAN-GP"])
    variants = specs
    per_round = diagnostics.critic_step_times(G, variants, real, rounds=args.rounds, steps=args.steps, warmup=3, seed=args.seed)
    print(f"device cpu, torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch_size}, "
          f"{args.rounds} rounds x {args.steps} steps (median step time per round, then median over rounds)")
    base = per_round["WGAN (clip)"]
    for name, ts in per_round.items():
        ratios = [t / b for t, b in zip(ts, base)]
        print(f"{name:12s} median {1e3 * statistics.median(ts):7.2f} ms/step  "
              f"(rounds: {', '.join(f'{1e3 * t:.1f}' for t in ts)})  "
              f"ratio to WGAN: median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f})")
    ratio = statistics.median([t / b for t, b in zip(per_round["WGAN-GP"], base)])
    print(f"WGAN-GP / WGAN critic step: {ratio:.2f}x (target <= 2.5x: {'met' if ratio <= 2.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
