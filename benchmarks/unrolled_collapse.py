"""A setting where the plain GAN collapses on MNIST, and the unrolled GAN in it (issue 15, part 2).

The course recipe's MNIST runs (the lab's MLPs, Adam lr_G 1e-3, betas (0.5, 0.999), batch 64, the
mode-collapse chapters' epochs) with D slowed down as on the toys' collapsing setup (lr_D = lr_G / 5
and lr_G / 10), plain and unrolled (Metz et al. 2016, the Adam lookahead at D's own learning rate),
over the mode-collapse preset's MNIST seeds. Prints, per row, the mean ± std over seeds of FID,
recall, precision, digits drawn, KL of the class shares to uniform and training seconds, and writes
the per-seed values as JSON. Runs are cached like the chapters' (``$GANLIB_CACHE``), under the unrolled chapter's names, so the
rows at lr_D 1e-4 (plain, and unrolled k=5) are that chapter's runs.

    PYTHONPATH=src GANLIB_SCALE=cpu python benchmarks/unrolled_collapse.py [--rows "plain, lr_D 0.0001" ...]
        [--out unrolled_collapse.json]

Measured at cpu scale on 2 cores (2026-12-02): plain lr_D 1e-4 draws 4.3 ± 1.2 digits (FID 478 ± 20);
unrolled k=5 at lr_D 1e-4 draws 10 digits at FID 251 and 223 on seeds 0 and 2 and fails on seed 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import ganlib
from ganlib import metrics, recipes
from ganlib.runs import Method
from ganlib.tables import format_spread


def rows(s) -> dict:
    """The runs compared: ``{label: RunSpec}``."""
    out = {}
    for lr_d in (2e-4, 1e-4):
        cfg = dataclasses.replace(s.course, lr_d=lr_d)
        out[f"plain, lr_D {lr_d:g}"] = recipes.mnist_spec("collapse-plain", cfg, len(s.real), Method())
        for k in (1, 5):
            out[f"unrolled k={k}, lr_D {lr_d:g}"] = recipes.mnist_spec("collapse-unrolled", cfg, len(s.real), Method(unroll=k))
    return out


def measure(spec, s) -> list[dict]:
    """Train (or reload) ``spec`` for every MNIST seed and score each seed's generator."""
    out = []
    for r in ganlib.train_or_load_seeds(spec, s.mnist_seeds, s.real):
        m = metrics.mnist_mode_report({"G": r.G}, n=s.n_eval, seed=r.spec.cfg.seed)["G"]
        out.append({"fid": m["fid"], "recall": m["recall"], "precision": m["precision"], "digits": m["digits"],
                    "kl_to_uniform": m["kl_to_uniform"], "train_s": r.train_seconds})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", nargs="*", help="labels of the rows to run (default: all)")
    parser.add_argument("--out", default="unrolled_collapse.json", help="per-seed values as JSON")
    args = parser.parse_args()
    s = recipes.mode_collapse_setup()
    results = {}
    for label, spec in rows(s).items():
        if args.rows and label not in args.rows:
            continue
        results[label] = measure(spec, s)
        cells = "  ".join(f"{k} {format_spread([r[k] for r in results[label]])}" for k in results[label][0])
        print(f"{label:26s} {cells}", flush=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
