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


# ----------------------------------------------------------------------------- metrics tests
@pytest.fixture(scope="session")
def mnist_test():
    """(images, labels) of the real MNIST test set under $GANLIB_DATA (10,000 images)."""
    if not os.environ.get("GANLIB_DATA"):
        pytest.skip("GANLIB_DATA is not set: point it at a folder holding MNIST/raw (CI uses ../shared/data)")
    from ganlib import load_mnist

    return load_mnist(train=False)


@pytest.fixture(scope="session")
def real_features(mnist_test, mnist_train):
    """Classifier features and probs of the whole test set and the training subset (computed once)."""
    from ganlib.features import features_and_probs

    test_f, test_p = features_and_probs(mnist_test[0])
    train_f, train_p = features_and_probs(mnist_train[0])
    return {"test_f": test_f, "test_p": test_p, "train_f": train_f, "train_p": train_p}


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A fresh, empty GANLIB_CACHE for one test (cache writes and reuse are checked in it)."""
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def one_thread():
    """Tiny 2D MLPs: one CPU thread avoids contention on shared machines (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
