"""Former name of :mod:`ganlib.images` (drawing from a generator and image files), kept for one release.

It collided with :mod:`ganlib.samplers` (rejection and refinement samplers); import ``ganlib.images``.
"""

import warnings

from .images import IMAGE_SUFFIXES, export_pngs, load_pngs, sample, save_grid, to_uint8, to_unit  # noqa: F401

warnings.warn("ganlib.sampling is now ganlib.images; the old name goes in the next release", DeprecationWarning, stacklevel=2)
