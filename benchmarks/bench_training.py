"""Training throughput of the lab's MLP GAN at batch 64: ganlib's loop vs the lab template's loop.

Measures, on the current device and in one run:
- images/s of ``ganlib.train`` (data as one tensor on the device, joint real+fake D pass,
  G under no_grad in the D step, no D weight gradients in the G step);
- images/s of a faithful reproduction of the lab template's loop (torchvision MNIST with
  ``ToTensor()`` + ``Normalize((0.5,), (0.5,))``, ``DataLoader(batch_size=64, shuffle=True,
  num_workers=4, pin_memory=True)``, sigmoid + ``BCELoss``, one D step and one G step per batch);
- the FLOPs each loop executes per batch (``torch.utils.flop_counter``), hence achieved GFLOP/s,
  against the device's measured float32 matrix-multiply peak.

Usage: ``GANLIB_DATA=../shared/data python benchmarks/bench_training.py [--batches 150] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab_template  # noqa: E402

import ganlib  # noqa: E402
from ganlib.training import discriminator_step, generator_step  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device, sizes=(1024, 2048, 4096), repeats=5) -> float:
    """Best float32 GFLOP/s of a square matmul over a few sizes."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        a @ b
        sync(device)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            a @ b
            sync(device)
            times.append(time.perf_counter() - t)
        best = max(best, 2 * n**3 / min(times) / 1e9)
    return best


def flops_ganlib(device, batch=64) -> int:
    G, D = ganlib.Generator().to(device), ganlib.Discriminator().to(device)
    opt_G, opt_D = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    real = torch.randn(batch, 1, 28, 28, device=device)
    with FlopCounterMode(display=False) as counter:
        discriminator_step(G, D, opt_D, real, torch.randn(batch, 100, device=device), ganlib.losses.d_loss_bce)
        generator_step(G, D, opt_G, torch.randn(batch, 100, device=device), ganlib.losses.g_loss_nonsaturating)
    return counter.get_total_flops()


def flops_template(device, batch=64) -> int:
    G, D = lab_template.Generator(784).to(device), lab_template.Discriminator(784).to(device)
    opt_G, opt_D = torch.optim.Adam(G.parameters(), lr=2e-4), torch.optim.Adam(D.parameters(), lr=2e-4)
    x = torch.randn(batch, 784)
    criterion = torch.nn.BCELoss()
    with FlopCounterMode(display=False) as counter:
        lab_template.D_train(x, G, D, opt_D, criterion, device)
        lab_template.G_train(x, G, D, opt_G, criterion, device)
    return counter.get_total_flops()


def time_ganlib(device, n_batches, batch=64) -> float:
    real, _ = ganlib.load_mnist(train=True, device=device)
    n_batches = min(n_batches, real.shape[0] // batch)
    ganlib.set_seed(0)
    G, D = ganlib.Generator(), ganlib.Discriminator()
    warm = ganlib.TrainConfig(epochs=1, batch_size=batch, max_steps=10, progress=False, device=str(device))
    ganlib.train(G, D, real, warm)
    cfg = ganlib.TrainConfig(epochs=1, batch_size=batch, max_steps=n_batches, progress=False, device=str(device), log_every=10**9)
    sync(device)
    t = time.perf_counter()
    ganlib.train(G, D, real, cfg)
    sync(device)
    return n_batches * batch / (time.perf_counter() - t)


def time_template(device, n_batches, batch=64) -> float:
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean=(0.5,), std=(0.5,))])
    dataset = datasets.MNIST(root=str(ganlib.config.data_root()), train=True, transform=transform, download=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pin_memory without an accelerator warns; the template sets it anyway
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=4, pin_memory=True)
        torch.manual_seed(0)
        G, D = lab_template.Generator(784).to(device), lab_template.Discriminator(784).to(device)
        criterion = torch.nn.BCELoss()
        opt_G, opt_D = torch.optim.Adam(G.parameters(), lr=2e-4), torch.optim.Adam(D.parameters(), lr=2e-4)
        n_batches = min(n_batches, len(dataset) // batch)
        done, t = -10, None  # the first 10 batches (worker start-up) are warm-up
        for x, _ in loader:
            if done == 0:
                sync(device)
                t = time.perf_counter()
            x = x.view(-1, 784)
            lab_template.D_train(x, G, D, opt_D, criterion, device)
            lab_template.G_train(x, G, D, opt_G, criterion, device)
            done += 1
            if done == n_batches - 10:
                break
        sync(device)
        return (done * batch) / (time.perf_counter() - t)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=150, help="timed batches per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per loop; the median is reported")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    device = ganlib.config.default_device(args.device)
    print(f"device: {device} ({torch.get_num_threads()} CPU threads), torch {torch.__version__}, data: {ganlib.config.data_root()}")
    peak = matmul_peak(device)
    f_ours, f_tmpl = flops_ganlib(device), flops_template(device)
    ours, tmpl = [], []
    for _ in range(args.repeats):  # interleaved, so that a change of machine load hits both loops alike
        ours.append(time_ganlib(device, args.batches))
        tmpl.append(time_template(device, args.batches))
    rows = []
    for name, runs, flops in (("lab template loop", tmpl, f_tmpl), ("ganlib.train", ours, f_ours)):
        ips = statistics.median(runs)
        gflops = flops / 64 * ips / 1e9
        rows.append((name, ips, flops / 1e9, gflops, gflops / peak))
    print(f"float32 matmul peak (best of 1024/2048/4096 square): {peak:.1f} GFLOP/s")
    print(f"{'loop':<20}{'images/s':>12}{'GFLOP/batch':>14}{'GFLOP/s':>10}{'% of peak':>11}")
    for name, ips, gf, gflops, frac in rows:
        print(f"{name:<20}{ips:>12.0f}{gf:>14.3f}{gflops:>10.1f}{frac:>10.0%}")
    print(f"speed-up of ganlib.train over the template loop: {rows[1][1] / rows[0][1]:.2f}x "
          f"(runs: template {[round(r) for r in tmpl]}, ganlib {[round(r) for r in ours]} images/s)")


if __name__ == "__main__":
    main()
