"""Training recipes: one loop (:func:`fit`) and one :class:`Trainer` per kind.

Each trainer module below registers its kind by defining its ``Trainer`` subclass; a new
kind is one new module and one import line here.
"""

from __future__ import annotations

# Trainer modules: importing one registers its kind in TRAINERS.
from latentviz.models.training import classifier, gan, medxgan, stylegan, vae  # noqa: F401
from latentviz.models.training.base import TRAINERS, Trainer, trainer_for
from latentviz.models.training.common import TrainConfig, TrainingData, load_training_data, save_grid
from latentviz.models.training.loop import fit

#: The registered training kinds, in registration order (``latentviz train KIND``).
KINDS = tuple(TRAINERS)

__all__ = [
    "KINDS",
    "TRAINERS",
    "TrainConfig",
    "Trainer",
    "TrainingData",
    "fit",
    "load_training_data",
    "save_grid",
    "trainer_for",
]
