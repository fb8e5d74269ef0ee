"""The shipped MNIST classifier: accuracy on the real test set, its record, shapes and input checks."""

import pytest
import torch

from ganlib.features import (
    FEATURE_DIM, RECORD_PATH, WEIGHTS_PATH, class_probs, classifier_record, extract_features,
    features_and_probs, load_classifier, weights_hash,
)


def test_shipped_classifier_accuracy_on_real_test_set(mnist_test, real_features):
    images, labels = mnist_test
    assert images.shape[0] == 10_000  # the complete MNIST test set
    acc = (real_features["test_p"].argmax(1) == labels).double().mean().item()
    assert acc >= 0.985, f"shipped classifier accuracy {acc:.4f} < 0.985"
    # The record states what the training script measured; the same weights on a CPU give the same
    # predictions (allow 5 of 10,000 images to flip on other hardware).
    assert abs(acc - classifier_record()["test_accuracy"]) <= 5e-4


def test_record_describes_the_shipped_weights():
    record = classifier_record()
    assert RECORD_PATH.exists() and WEIGHTS_PATH.exists()
    assert record["weights_sha256"] == weights_hash(WEIGHTS_PATH)
    for key in ("seed", "epochs", "n_train_images", "test_accuracy", "torch_version", "script", "data"):
        assert key in record
    assert record["n_train_images"] > 0 and record["seed"] == 0
    assert WEIGHTS_PATH.stat().st_size < 1_000_000  # small enough to ship in the package


def test_shapes_probabilities_and_batch_invariance():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(23, 1, 28, 28, generator=g) * 2 - 1
    f = extract_features(x)
    p = class_probs(x)
    assert f.shape == (23, FEATURE_DIM) and f.dtype == torch.float32
    assert p.shape == (23, 10)
    torch.testing.assert_close(p.sum(1), torch.ones(23))
    assert (f >= 0).all()  # post-ReLU features
    torch.testing.assert_close(extract_features(x, batch_size=5), f)
    f2, p2 = features_and_probs(x, batch_size=7)
    torch.testing.assert_close(f2, f)
    torch.testing.assert_close(p2, p)
    # eval mode: dropout off, so two calls agree exactly
    assert torch.equal(extract_features(x), f)
    assert not load_classifier().training


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(4, 28, 28), "unsqueeze"),
        (torch.zeros(4, 3, 28, 28), r"\(N, 1, 28, 28\)"),
        (torch.zeros(4, 1, 32, 32), r"\(N, 1, 28, 28\)"),
        (torch.full((4, 1, 28, 28), 255.0), r"\[-1, 1\]"),
        (torch.zeros(4, 1, 28, 28, dtype=torch.uint8), "uint8"),
        (torch.zeros(0, 1, 28, 28), "empty"),
    ],
)
def test_bad_inputs_raise_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        extract_features(bad)
