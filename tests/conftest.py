"""Shared test set-up: real MNIST from $GANLIB_DATA, a private cache folder, the lab template on the path."""

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # lab_template.py, the faithful copy of the lab's code


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Keep cached statistics and checkpoints of the tests out of the user's cache."""
    if "GANLIB_CACHE" not in os.environ:
        os.environ["GANLIB_CACHE"] = str(tmp_path_factory.mktemp("ganlib-cache"))
    torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def mnist_train():
    """(images, labels) of the training data under $GANLIB_DATA (10,000 images in CI)."""
    if not os.environ.get("GANLIB_DATA"):
        pytest.skip("GANLIB_DATA is not set: point it at a folder holding MNIST/raw (CI uses ../shared/data)")
    from ganlib import load_mnist

    return load_mnist(train=True)
