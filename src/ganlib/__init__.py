"""ganlib: the library behind an open GAN course on MNIST.

Plain functions over tensors: data as one tensor on the device, the lab's MLP networks,
losses as pure functions, one training function, samplers and metrics.
"""

from . import config, data, losses, models
from .config import resolve_scale, set_seed
from .data import batches, load_mnist
from .models import Discriminator, Generator, generator_from_checkpoint, load_weights
from . import (callbacks, degrade, features, mdgan, metrics, plots, recipes, regularizers, samplers, sampling, toys, training,
               unrolled, wgan)
from .training import DivergenceError, History, TrainConfig, train
from .sampling import export_pngs, sample, save_grid
from .metrics import evaluate

__version__ = "0.1.0"
