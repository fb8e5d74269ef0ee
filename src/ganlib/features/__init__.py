"""The feature networks behind ganlib's metrics.

- :mod:`ganlib.features.mnist`: the shipped MNIST classifier, the default feature network of every metric.
- :mod:`ganlib.features.inception`: pytorch-fid's Inception-v3 pool3 extractor, for Inception FID.
"""

from .inception import (
    INCEPTION_FILE, INCEPTION_URL, InceptionPool3, fid_inception_net, inception_features, inception_weights,
    load_inception,
)
from .mnist import (
    FEATURE_DIM, RECORD_PATH, WEIGHTS_DIR, WEIGHTS_PATH, MNISTClassifier, check_images, class_probs,
    classifier_record, extract_features, features_and_probs, load_classifier, weights_hash,
)

__all__ = [
    # the MNIST classifier (mnist.py)
    "FEATURE_DIM", "RECORD_PATH", "WEIGHTS_DIR", "WEIGHTS_PATH", "MNISTClassifier", "check_images", "class_probs",
    "classifier_record", "extract_features", "features_and_probs", "load_classifier", "weights_hash",
    # Inception-v3 (inception.py)
    "INCEPTION_FILE", "INCEPTION_URL", "InceptionPool3", "fid_inception_net", "inception_features",
    "inception_weights", "load_inception",
]
