"""The GPU path, checked in one short run: what the course promises at ``full`` scale on a Colab GPU.

    GANLIB_DATA=... python scripts/gpu_check.py [--scale full] [--device cuda] [--budget-s 540]

On a CUDA machine (``--scale full``), in this order, each part timed and printed as it finishes:

1. throughput: ``ganlib.train`` against the lab template's loop on the same device for the same
   batches (``benchmarks/bench_training.py``): images/s of both, % of the measured matmul peak;
2. the vanilla chapter's run at the scale (the lab's protocol at ``full``: 100 epochs) with its
   wall time, images/s, peak GPU memory, GPU utilisation (sampled by ``nvidia-smi`` when present)
   and the FID it reaches (``ganlib.evaluate``, n = the preset's ``n_eval``);
3. WGAN-GP for ``--wgan-epochs`` epochs at the scale's other settings, with its FID;
4. a checkpoint written on the device and resumed on the CPU (RNG states move between devices);
5. three seeds as one stack (``ganlib.seeds``) against the same seeds one after another.

A part that would not finish within ``--budget-s`` seconds of the start is skipped with a line
saying so (the device tool lends 15 minutes in all). With ``--scale smoke --device cpu`` every part
runs in seconds: ``tests/test_gpu_check.py`` runs it so, so the script cannot rot between GPU loans.
Prints one JSON object at the end with every number.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


class GpuSampler:
    """Sample GPU utilisation (%) with nvidia-smi every ``period`` s in a thread, when nvidia-smi exists."""

    def __init__(self, period: float = 0.5):
        self.period, self.values, self._stop = period, [], threading.Event()
        self.available = shutil.which("nvidia-smi") is not None

    def __enter__(self):
        if self.available:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout.split()
                self.values.append(float(out[0]))
            except Exception:
                pass
            self._stop.wait(self.period)

    def __exit__(self, *exc):
        self._stop.set()

    def mean(self):
        return round(sum(self.values) / len(self.values), 1) if self.values else None


def _peak_memory_mb(device) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.type == "cuda" else None


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="full", choices=("smoke", "cpu", "full"))
    p.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    p.add_argument("--budget-s", type=float, default=540.0, help="skip parts that would start after this many seconds")
    p.add_argument("--wgan-epochs", type=int, default=3)
    p.add_argument("--bench-batches", type=int, default=150)
    p.add_argument("--peak-sizes", default="1024,2048,4096", help="square matmul sizes of the peak measurement")
    p.add_argument("--max-steps", type=int, default=None, help="cap every training part at this many generator steps (tests)")
    args = p.parse_args(argv)

    import ganlib
    from ganlib import recipes
    from ganlib.config import default_device
    from ganlib.presets import preset
    from ganlib.runs import build, build_stack, train_spec, train_stack, with_seed

    os.environ.setdefault("GANLIB_CACHE", tempfile.mkdtemp(prefix="ganlib-gpu-check-"))
    device = default_device(args.device)
    t_start = time.perf_counter()
    report = {"device": str(device), "scale": args.scale, "torch": torch.__version__,
              "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None}

    def left() -> float:
        return args.budget_s - (time.perf_counter() - t_start)

    def part(name, fn, needs_s: float):
        if left() < needs_s:
            report[name] = f"skipped: {left():.0f} s left of the budget, the part needs about {needs_s:.0f} s"
            print(f"[{name}] {report[name]}", flush=True)
            return
        t = time.perf_counter()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        report[name] = fn()
        report[name]["wall_s"] = round(time.perf_counter() - t, 1)
        print(f"[{name}] {json.dumps(report[name])}", flush=True)

    real = ganlib.load_mnist(train=True, device=device)[0]

    # 1. throughput against the lab template
    def throughput():
        import bench_training as B

        g = [B.time_ganlib(device, args.bench_batches) for _ in range(3)]
        t = [B.time_template(device, args.bench_batches) for _ in range(3)]
        peak = B.matmul_peak(device, sizes=tuple(int(n) for n in args.peak_sizes.split(",")))  # GFLOP/s
        fg = B.flops_ganlib(device)  # FLOPs per batch of 64
        ganlib_ips, template_ips = sorted(g)[1], sorted(t)[1]
        return {"ganlib_images_per_s": round(ganlib_ips), "template_images_per_s": round(template_ips),
                "speedup": round(ganlib_ips / template_ips, 2), "matmul_peak_gflops": round(peak, 1),
                "ganlib_share_of_peak": round(ganlib_ips / 64 * fg / 1e9 / peak, 3)}

    part("throughput", throughput, needs_s=20)

    # 2. the vanilla chapter's run at the scale
    cap = {"max_steps": args.max_steps} if args.max_steps else {}

    def vanilla():
        s = preset("vanilla", args.scale, show=False)
        spec = recipes.mnist_spec("vanilla", recipes.vanilla_config(s, seed=0, **cap), real.shape[0], ganlib.Method(loss=s.loss))
        with GpuSampler() as gpu:
            t = time.perf_counter()
            run = ganlib.train_or_load(spec, real)  # recipes.train_vanilla, with the cap
            seconds = time.perf_counter() - t
        steps = run.history.step[-1] if run.history.step else 0
        fid = ganlib.evaluate(run.G, n=s.n_eval, seed=0, device=device)["fid"]
        return {"epochs": run.spec.cfg.epochs, "generator_steps": steps, "train_s": round(seconds, 1),
                "images_per_s": round(steps * run.spec.cfg.batch_size / seconds), "fid": round(fid, 2), "n_eval": s.n_eval,
                "peak_memory_mb": _peak_memory_mb(device), "gpu_utilisation_pct": gpu.mean()}

    epochs = preset("vanilla", args.scale, show=False).epochs
    part("vanilla", vanilla, needs_s=epochs * (1.5 if device.type == "cuda" else 5))

    # 3. WGAN-GP for a few epochs
    def wgan_gp():
        s = preset("wgan_gp", args.scale, show=False)
        spec = recipes.wgan_gp_spec(s, real.shape[0], seed=0)
        spec = dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, epochs=args.wgan_epochs, progress=False, **cap),
                                   early_stopping=None)
        G, D = build(spec)
        with GpuSampler() as gpu:
            t = time.perf_counter()
            h = train_spec(spec, G, D, real)
            seconds = time.perf_counter() - t
        fid = ganlib.evaluate(G, n=s.n_eval, seed=0, device=device)["fid"]
        return {"epochs": args.wgan_epochs, "generator_steps": h.step[-1], "train_s": round(seconds, 1),
                "fid": round(fid, 2), "peak_memory_mb": _peak_memory_mb(device), "gpu_utilisation_pct": gpu.mean()}

    part("wgan_gp", wgan_gp, needs_s=args.wgan_epochs * 10)

    # 4. a checkpoint written on the device, resumed on the CPU
    def resume_on_cpu():
        spec = recipes.mnist_spec("resume", ganlib.TrainConfig(epochs=1, batch_size=64, progress=False, device=str(device),
                                                               **cap), 2048, ganlib.Method())
        path = Path(tempfile.mkdtemp()) / "run.pt"
        train_spec(spec, *build(spec), real[:2048], checkpoint=path)
        cpu_spec = dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, epochs=2, device="cpu",
                                                                     max_steps=2 * args.max_steps if args.max_steps else None))
        h = train_spec(cpu_spec, *build(cpu_spec), real[:2048].cpu(), checkpoint=path)
        return {"steps_after_resume": h.step[-1], "resumed_from_device": str(device)}

    part("resume_on_cpu", resume_on_cpu, needs_s=15)

    # 5. three seeds as one stack against one after another
    def seeds():
        spec = recipes.mnist_spec("seeds", ganlib.TrainConfig(epochs=1, batch_size=64, progress=False, device=str(device),
                                                             max_steps=min(100, args.max_steps or 100)),
                                   real.shape[0], ganlib.Method())
        t = time.perf_counter()
        for s in range(3):
            train_spec(with_seed(spec, s), *build(with_seed(spec, s)), real)
        sequential = time.perf_counter() - t
        G, D = build_stack(spec, (0, 1, 2))
        t = time.perf_counter()
        train_stack(spec, G, D, real)
        stacked = time.perf_counter() - t
        return {"sequential_s": round(sequential, 2), "stack_s": round(stacked, 2), "stack_speedup": round(sequential / stacked, 2)}

    part("seeds", seeds, needs_s=20)

    report["total_s"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
