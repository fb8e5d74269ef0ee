"""Train ganlib's MNIST feature network deterministically and write its weights and record.

Usage (from the repository root):

    PYTHONPATH=src GANLIB_DATA=../shared/data python scripts/train_classifier.py

Trains ``ganlib.features.MNISTClassifier`` on the training images found under ``GANLIB_DATA``
(the offline CI data holds a 10,000-image subset; with internet torchvision gives all 60,000),
with random shifts of up to 2 pixels as augmentation, Adam and a fixed seed, on the CPU with a
fixed thread count so the result is reproducible. Writes ``src/ganlib/weights/mnist_classifier.pt``
and ``mnist_classifier.json`` (data, seed, epochs, test accuracy, torch version, this script).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ganlib.config import data_root
from ganlib.data import load_mnist
from ganlib.features import RECORD_PATH, WEIGHTS_PATH, MNISTClassifier, weights_hash


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Return x (N, 1, H, W) translated by an integer shift in [-max_shift, max_shift]^2 per image."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)  # background is -1 in ganlib's convention
    dy, dx = (torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)).unbind(0)
    rows = (dy[:, None] + torch.arange(h)[None, :])  # (N, H)
    cols = (dx[:, None] + torch.arange(w)[None, :])  # (N, W)
    idx = torch.arange(n)[:, None, None]
    return padded[:, 0][idx, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


@torch.no_grad()
def accuracy(model, images, labels, batch_size=2000) -> float:
    """Return the fraction of images (N, 1, 28, 28) whose argmax logit equals the label."""
    model.eval()
    correct = sum(
        (model(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum().item()
        for i in range(0, len(images), batch_size)
    )
    return correct / len(images)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--max-shift", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=None, help="data root (default: $GANLIB_DATA)")
    p.add_argument("--out", default=str(WEIGHTS_PATH))
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # only parameter initialisation reads the global RNG, right here
    generator = torch.Generator().manual_seed(args.seed)
    train_x, train_y = load_mnist(args.data, train=True, download=False)
    test_x, test_y = load_mnist(args.data, train=False, download=False)
    model = MNISTClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(train_x) / args.batch_size)
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total)
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(train_x), generator=generator)
        for i in tqdm(range(0, len(train_x), args.batch_size), desc=f"epoch {epoch + 1}/{args.epochs}", leave=False, mininterval=10):
            idx = perm[i : i + args.batch_size]
            x = random_shift(train_x[idx], args.max_shift, generator) if args.max_shift else train_x[idx]
            loss = F.cross_entropy(model(x), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = accuracy(model, test_x, test_y)
        print(f"epoch {epoch + 1}: last loss {loss.item():.4f}, test accuracy {acc:.4f}", flush=True)
    seconds = time.time() - start

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save(state, out)
    record = {
        "model": "ganlib.features.MNISTClassifier",
        "weights_file": out.name,
        "weights_sha256": weights_hash(out),
        "data": "MNIST training images found under GANLIB_DATA at training time",
        "data_root": str(data_root(args.data)),
        "n_train_images": len(train_x),
        "n_test_images": len(test_x),
        "test_accuracy": round(accuracy(model, test_x, test_y), 6),
        "train_accuracy": round(accuracy(model, train_x, train_y), 6),
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"Adam, OneCycleLR max_lr={args.lr}",
        "augmentation": f"random integer shifts of up to {args.max_shift} px (background -1)",
        "threads": args.threads,
        "train_seconds": round(seconds, 1),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "script": "scripts/train_classifier.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    Path(args.out).with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
