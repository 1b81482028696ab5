"""Phantom datasets with ground truth: chest radiographs, thoracic CT slices (plain and a
hard variant with nodule look-alikes) and brain MRI.

Every sample comes with its image, a binary label, a pathology mask and the
continuous factors that generated it, so that explanations and latent directions
can be scored against the truth.

>>> from latentviz.data.phantoms import generate
>>> batch = generate("ct", 4, size=64, seed=1)
>>> batch.raw.min() >= -1024
np.True_
"""

from __future__ import annotations

from latentviz.data.phantoms.api import (
    HARD_KINDS,
    KINDS,
    SIZES,
    factor_names,
    generate,
    render,
    to_model_range,
)
from latentviz.data.phantoms.batch import PhantomBatch
from latentviz.data.phantoms.errors import PhantomArgumentError

__all__ = [
    "HARD_KINDS",
    "KINDS",
    "SIZES",
    "PhantomArgumentError",
    "PhantomBatch",
    "factor_names",
    "generate",
    "render",
    "to_model_range",
]
