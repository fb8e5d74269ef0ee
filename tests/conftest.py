"""Shared fixtures for the metrics tests: the real MNIST data from GANLIB_DATA, loaded once."""

import os

import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


def _need_data():
    if not os.environ.get("GANLIB_DATA"):
        pytest.skip("GANLIB_DATA is not set: point it at the MNIST IDX files (e.g. ../shared/data) to run the data tests")


@pytest.fixture(scope="session")
def mnist_test():
    _need_data()
    from ganlib.data import load_mnist

    return load_mnist(train=False, download=False)


@pytest.fixture(scope="session")
def mnist_train():
    _need_data()
    from ganlib.data import load_mnist

    return load_mnist(train=True, download=False)


@pytest.fixture(scope="session")
def real_features(mnist_test, mnist_train):
    """Classifier features and probs of the whole test set and the training subset (computed once)."""
    from ganlib.features import features_and_probs

    test_f, test_p = features_and_probs(mnist_test[0])
    train_f, train_p = features_and_probs(mnist_train[0])
    return {"test_f": test_f, "test_p": test_p, "train_f": train_f, "train_p": train_p}


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A fresh GANLIB_CACHE for one test."""
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
