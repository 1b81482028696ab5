"""Training recipes: one loop (:func:`fit`) and one :class:`Trainer` per kind."""

from __future__ import annotations

from latentviz.models.training.common import TrainConfig, TrainingData, load_training_data, save_grid
from latentviz.models.training.loop import Trainer, fit

KINDS = ("classifier", "gan", "vae", "medxgan", "stylegan", "gaan")

__all__ = ["KINDS", "TrainConfig", "Trainer", "TrainingData", "fit", "load_training_data", "save_grid"]
