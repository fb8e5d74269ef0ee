"""Several seeds at once: a stack of seeds (``ganlib.seeds``) against the same seeds run one after another,
for the 2D toy MLPs and for the lab's MNIST MLPs, measured side by side in one run.

    PYTHONPATH=src GANLIB_DATA=../shared/data python benchmarks/bench_seeds.py [--toy-steps 200] [--mnist-steps 60 (0: toys only)]

Prints, for the toys (both setups of TOY_SETUPS: the course's 2-128-128 MLPs at batch 256, and the
published protocol's 2-64-64 MLPs at batch 128 that the toy lab's table trains), the milliseconds per
generator step per seed for a single run and for stacks of 1, 3 and 10 seeds, with 1 and 2 threads,
and for MNIST (784-1024-512-256 / 100-256-512-1024-784 MLPs, batch 64) the images per second per
seed of 3 seeds run one after another, as one stack, and as separate processes (2 workers with 1
thread each), with the ratios the issue asks for. Training only: no evaluation, no checkpoints.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

import torch


# The two toy setups the chapters train: the course's (R1 / unrolled / MD-GAN chapters' toys) and the
# published protocol's (the toy lab's table, presets 'toy_standard': width 64, batch 128, rates decaying)
TOY_SETUPS = {
    "course": dict(hidden=(128, 128), batch_size=256),
    "standard": dict(hidden=(64, 64), batch_size=128, lr_decay=True),
}


def _toy_spec(steps, setup="course"):
    from ganlib.toys import ToySettings, ring, toy_spec

    return ring(), toy_spec(ring(), settings=ToySettings(steps=steps, snapshots=1, **TOY_SETUPS[setup]))


def _time_toys(steps: int, threads: int, setup: str = "course") -> dict:
    from ganlib.runs import build, build_stack, train_spec, train_stack, with_seed

    torch.set_num_threads(threads)
    toy, spec = _toy_spec(steps, setup)
    data = {s: toy.sample(spec.n_train, seed=10_000 + s) for s in range(10)}
    out = {}
    warm = _toy_spec(20, setup)[1]
    train_spec(warm, *build(warm), data[0][: warm.n_train])  # first calls allocate and load kernels: not timed
    train_stack(warm, *build_stack(warm, (0, 1)), data[0][: warm.n_train])
    t = time.perf_counter()
    train_spec(spec, *build(spec), data[0])
    out["single run"] = (time.perf_counter() - t) / steps * 1e3
    for S in (1, 3, 10):
        seeds = tuple(range(S))
        G, D = build_stack(spec, seeds)
        t = time.perf_counter()
        train_stack(spec, G, D, torch.stack([data[s] for s in seeds]))
        out[f"stack of {S}"] = (time.perf_counter() - t) / steps * 1e3 / S
    return out


def _mnist_spec(steps, seed=0):
    from ganlib.runs import RunSpec
    from ganlib.training import TrainConfig

    cfg = TrainConfig(epochs=1, batch_size=64, max_steps=steps, device="cpu", progress=False, seed=seed, log_every=50)
    return RunSpec("bench", cfg, n_train=64 * steps)


def _mnist_worker(args):
    seed, steps, real = args
    torch.set_num_threads(1)
    from ganlib.runs import build, train_spec

    spec = _mnist_spec(steps, seed)
    t = time.perf_counter()
    train_spec(spec, *build(spec), real)
    return time.perf_counter() - t


def _time_mnist(steps: int, real: torch.Tensor, threads: int) -> dict:
    from ganlib.runs import build, build_stack, train_spec, train_stack, with_seed

    torch.set_num_threads(threads)
    spec = _mnist_spec(steps)
    images = 64 * steps  # real images seen by the critic per seed (n_critic = 1)
    out = {}
    train_spec(_mnist_spec(5), *build(_mnist_spec(5)), real[:320])  # warm-up, not timed
    t = time.perf_counter()
    for s in range(3):
        train_spec(with_seed(spec, s), *build(with_seed(spec, s)), real)
    out["3 seeds one after another"] = 3 * images / (time.perf_counter() - t)
    G, D = build_stack(spec, (0, 1, 2))
    t = time.perf_counter()
    train_stack(spec, G, D, real)
    out["3 seeds as one stack"] = 3 * images / (time.perf_counter() - t)
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_mnist_worker, [(0, 2, real[:128])] * 2)  # start the workers (imports) before timing
        t = time.perf_counter()
        pool.map(_mnist_worker, [(s, steps, real) for s in range(3)])
        out["3 seeds in 2 processes x 1 thread"] = 3 * images / (time.perf_counter() - t)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--toy-steps", type=int, default=200)
    p.add_argument("--mnist-steps", type=int, default=60, help="0: toys only")
    p.add_argument("--toy-setups", nargs="+", default=list(TOY_SETUPS), choices=list(TOY_SETUPS))
    args = p.parse_args(argv)
    from ganlib.data import load_mnist

    print(f"cpu_count={os.cpu_count()}, torch {torch.__version__}, 1-min load average {os.getloadavg()[0]:.1f}\n")
    for setup in args.toy_setups:
        for threads in (1, 2):
            toys = _time_toys(args.toy_steps, threads, setup)
            print(f"toys, {setup} setup {TOY_SETUPS[setup]}, {args.toy_steps} generator steps, {threads} thread(s): "
                  "ms per step per seed")
            for k, v in toys.items():
                print(f"  {k:14s} {v:7.2f}")
            print(f"  10 seeds stacked cost {toys['stack of 10'] * 10 / toys['single run']:.2f}x one single run; "
                  f"per-seed speed-up {toys['single run'] / toys['stack of 10']:.2f}x (3 seeds: "
                  f"{toys['single run'] / toys['stack of 3']:.2f}x)\n")
    if args.mnist_steps == 0:
        return
    real = load_mnist(train=True)[0][: 64 * args.mnist_steps]
    mnist = _time_mnist(args.mnist_steps, real, 2)
    print(f"MNIST lab MLPs, batch 64, {args.mnist_steps} generator steps per seed, 2 threads: images per second, all seeds together")
    for k, v in mnist.items():
        print(f"  {k:36s} {v:8.0f}")
    base = mnist["3 seeds one after another"]
    print(f"  stack / sequential {mnist['3 seeds as one stack'] / base:.2f}x; "
          f"processes / sequential {mnist['3 seeds in 2 processes x 1 thread'] / base:.2f}x")
    print(f"\n1-min load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
