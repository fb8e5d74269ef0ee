"""Time the full metric suite (FID + IS + precision/recall + density/coverage) for 10,000 generated
vs 10,000 real MNIST images on this machine, feature extraction included, and compare precision/
recall/density/coverage with the reference implementation ``prdc`` (sklearn pairwise distances) on
the same features.

    PYTHONPATH=src GANLIB_DATA=../shared/data python benchmarks/bench_metrics.py [--n 10000] [--repeats 3]

Prints a table of measured wall-clock seconds (best and median of ``--repeats``) and the values of
both implementations. "cold" computes the real-data statistics (features + k-NN radii) from scratch;
"warm" reuses them from the on-disk cache, which is what every evaluation after the first does.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time

import torch

from ganlib import metrics as M
from ganlib.data import load_mnist
from ganlib.features import features_and_probs, load_classifier
from ganlib.models import Generator


CPU_SECONDS = {}


def timed(fn, repeats):
    """Return (result, best wall s, median wall s); CPU seconds of the best run go to CPU_SECONDS."""
    times, cpu, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU_SECONDS[id(out)] = cpu[times.index(min(times))]
    return out, min(times), statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--fake", choices=("train", "generator"), default="train",
                   help="'train': the training subset plays the generated set (realistic neighbourhoods); "
                        "'generator': samples of an untrained lab generator")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ["GANLIB_CACHE"] = tempfile.mkdtemp(prefix="ganlib-bench-")  # a cold cache to start with
    real = load_mnist(train=False)[0][: args.n]
    if args.fake == "train":
        fake = load_mnist(train=True)[0][: args.n]
    else:
        torch.manual_seed(0)
        fake = __import__("ganlib").sample(Generator(), args.n, seed=0, device="cpu")
    load_classifier("cpu")
    n_cores = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = []

    # the whole entry point, cold (real statistics computed) then warm (read from the cache)
    cold, t_cold, _ = timed(lambda: M.evaluate(fake, real=real, n=args.n, device="cpu", cache=False), 1)
    M.evaluate(fake, real=real, n=args.n, device="cpu")  # fills the cache
    warm, t_warm, m_warm = timed(lambda: M.evaluate(fake, real=real, n=args.n, device="cpu"), args.repeats)
    assert cold == warm, "cache changed the numbers"
    rows.append(("evaluate(), real stats cold (all features + radii computed)", t_cold, t_cold, CPU_SECONDS[id(cold)]))
    rows.append(("evaluate(), real stats warm (cache hit; the usual case)", t_warm, m_warm, CPU_SECONDS[id(warm)]))

    # a collapsed generator (100 distinct images repeated) must cost no more to evaluate than an ordinary set
    collapsed = __import__("ganlib.degrade", fromlist=["collapse"]).collapse(fake, 100, seed=0)
    col, t_col, m_col = timed(lambda: M.evaluate(collapsed, real=real, n=args.n, device="cpu"), args.repeats)
    rows.append(("evaluate(), warm, collapsed set (100 distinct images)", t_col, m_col, CPU_SECONDS[id(col)]))

    # its parts
    out, t, m = timed(lambda: features_and_probs(fake), args.repeats)
    ff, fp = out
    rows.append((f"  features + probs of {args.n} fake images", t, m, CPU_SECONDS[id(out)]))
    rf = features_and_probs(real)[0]
    stats = M.real_statistics(real)
    out, t, m = timed(lambda: [M.fid_from_statistics(stats, M.feature_statistics(ff))], args.repeats)
    rows.append(("  FID (statistics + Frechet distance, float64)", t, m, CPU_SECONDS[id(out)]))
    out, t, m = timed(lambda: M.inception_score(fp), args.repeats)
    rows.append(("  Inception Score (10 splits)", t, m, CPU_SECONDS[id(out)]))
    ours, t, m = timed(lambda: M.prdc(rf, ff, real_radii_sq=stats["radii_sq"]), args.repeats)
    rows.append(("  P/R (k=3) + D/C (k=5), ganlib, real radii cached", t, m, CPU_SECONDS[id(ours)]))
    ours_cold, t, m = timed(lambda: M.prdc(rf, ff), args.repeats)
    rows.append(("  P/R (k=3) + D/C (k=5), ganlib, from scratch", t, m, CPU_SECONDS[id(ours_cold)]))

    import prdc  # reference: Naeem et al.'s package (sklearn pairwise distances, full N x N matrices)

    def reference():
        with contextlib.redirect_stdout(io.StringIO()):
            pr = prdc.compute_prdc(rf.numpy(), ff.numpy(), nearest_k=3)
            dc = prdc.compute_prdc(rf.numpy(), ff.numpy(), nearest_k=5)
        return {"precision": pr["precision"], "recall": pr["recall"], "density": dc["density"], "coverage": dc["coverage"]}

    ref, t, m = timed(reference, max(1, min(args.repeats, 2)))
    # sklearn runs the reference in joblib worker processes (n_jobs=8): their CPU time is not counted
    rows.append(("  P/R + D/C, prdc reference (two calls, k=3 and k=5)", t, m, float("nan")))

    print(f"\nmetric suite, {args.n} fake ({args.fake}) vs {args.n} real MNIST test images, CPU, "
          f"torch threads={args.threads}, cpu_count={n_cores}, 1-min load average at start={load:.1f}\n")
    print("wall s = elapsed time; CPU s = this process's CPU time in the best run (all threads summed).")
    print("On an otherwise idle machine wall s is about CPU s / threads; on a shared one it is larger.\n")
    print(f"| {'step':62s} | best wall s | median wall s | CPU s |")
    print(f"| {'-' * 62} | ----------- | ------------- | ----- |")
    for name, best, med, cpu in rows:
        print(f"| {name:62s} | {best:11.2f} | {med:13.2f} | {cpu:5.2f} |")
    print(f"\ncollapsed / ordinary evaluate() time (warm, median): {m_col / m_warm:.2f}x")
    print(f"\n1-min load average at the end: {os.getloadavg()[0]:.1f}")
    print("\n| metric    | ganlib          | prdc reference  | abs difference |")
    print("| --------- | --------------- | --------------- | -------------- |")
    for key in ("precision", "recall", "density", "coverage"):
        print(f"| {key:9s} | {ours[key]:.12f} | {float(ref[key]):.12f} | {abs(ours[key] - float(ref[key])):14.1e} |")
    assert ours == ours_cold
    print("\nevaluate() ->", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in warm.items()})


if __name__ == "__main__":
    main()
