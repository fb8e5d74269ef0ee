"""The ``ganlib`` command line: subcommands built with argparse, one function each.

    ganlib evaluate PATH [--n N] [--seed S] [--device D] [--real-data ROOT]
    ganlib toys --dataset ring|grid --method NAME [--seeds N] [--steps S] [--preset standard|collapse]

PATH is a folder of PNG files as the lab platform grades them (``0.png`` .. ``9999.png``, 28x28,
grey or RGB) or a generator checkpoint: the lab template's ``G.pth`` (a plain ``state_dict`` of
the MLP generator, optionally with DataParallel's ``module.`` prefix) or a ganlib checkpoint
dict holding the generator under key ``'G'``. The metrics (see :func:`ganlib.metrics.evaluate`)
are printed as one JSON object on stdout.

To add a subcommand: write ``_cmd_name(args) -> int`` and register it in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path


from .models import generator_from_checkpoint, generator_from_state_dict  # noqa: F401  (the second: former cli name)

load_generator = generator_from_checkpoint  # the former name, kept for one release


def _cmd_evaluate(args) -> int:
    from .metrics import evaluate  # imported on use: `ganlib --help` starts without the metric suite

    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: give a folder of PNGs or a generator checkpoint (.pth)")
    source = path if path.is_dir() else generator_from_checkpoint(path)
    result = evaluate(
        source, real=args.real_data, n=args.n, seed=args.seed, device=args.device,
        batch_size=args.batch_size, progress=args.progress,
    )
    result["source"] = str(path)
    print(json.dumps(result, indent=2))
    return 0


def _cmd_toys(args) -> int:
    from .toys.lab import toy_row  # on use: `ganlib --help` starts without the toy laboratory

    seeds = list(range(args.seeds)) if args.seeds is not None else None
    row = toy_row(args.dataset, args.method, seeds=seeds, steps=args.steps, preset_name=args.preset,
                  scale=args.scale, threads=args.threads)
    print(json.dumps(row, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the ``ganlib`` argument parser with one subparser per command."""
    parser = argparse.ArgumentParser(prog="ganlib", description="ganlib: the library behind an open GAN course on MNIST")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    ev = sub.add_parser(
        "evaluate",
        help="FID, Inception Score, precision/recall, density/coverage of a PNG folder or a generator checkpoint",
        description="Evaluate a folder of 28x28 PNGs (0.png..9999.png) or a generator checkpoint (G.pth) "
        "against real MNIST test digits with ganlib's shipped MNIST classifier; prints JSON.",
    )
    ev.add_argument("path", help="folder of PNG files, or G.pth / ganlib checkpoint")
    ev.add_argument("--n", type=int, default=10_000, help="number of images (generated, or the first n files) and of real images (default 10000)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the latent vectors for a generator (default 0)")
    ev.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    ev.add_argument("--real-data", default=None, help="MNIST data root (default $GANLIB_DATA) or a folder of real PNGs")
    ev.add_argument("--batch-size", type=int, default=1000, help="images per forward pass (does not change results)")
    ev.add_argument("--progress", action="store_true", help="show progress bars on stderr")
    ev.set_defaults(func=_cmd_evaluate)

    from .presets import TOY_METHODS, TOY_PRESETS  # plain data: the CLI still starts fast

    toys = sub.add_parser(
        "toys",
        help="one row of the 2D toy table: a method on the ring or the grid over several seeds (JSON)",
        description="Train a GAN method on the ring (8 Gaussians) or the grid (25) for every seed, as one stack, "
        "and print the modes covered, the share of high-quality samples and the reverse KL per seed and on average "
        "(the VEEGAN/PacGAN protocol: 2,500 samples, high quality within 3 std of a mode).",
    )
    toys.add_argument("--dataset", required=True, choices=("ring", "grid"))
    toys.add_argument("--method", required=True, choices=sorted(TOY_METHODS),
                      help="; ".join(f"{k}: {v[0] or 'the plain GAN'}" for k, v in TOY_METHODS.items()))
    toys.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default: the preset's, 10 at cpu and full scale)")
    toys.add_argument("--steps", type=int, default=None, help="generator steps (default: the preset's)")
    toys.add_argument("--preset", default="standard", choices=sorted(TOY_PRESETS),
                      help="standard: the published protocol (ring radius 1, std 0.01; grid std 0.05); "
                      "collapse: the course's setup in which the plain GAN collapses")
    toys.add_argument("--scale", default=None, choices=("smoke", "cpu", "full"), help="default $GANLIB_SCALE, else cpu")
    toys.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    toys.set_defaults(func=_cmd_toys)
    return parser


def main(argv=None) -> int:
    """Run the ``ganlib`` command line; returns the exit status (0 on success)."""
    parser = build_parser()
    args = parser.parse_args(argv)

    def show_warning(message, category, filename, lineno, file=None, line=None):
        print(f"ganlib {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return args.func(args)
    except (ValueError, OSError, TypeError, RuntimeError) as err:
        print(f"ganlib {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
