"""Latent direction discovery (SeFa, GANSpace, Voynov–Babenko, probes, centroid paths) and scoring."""

from __future__ import annotations

from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.ganspace import PCAFit, fit_pca, ganspace
from latentviz.directions.latent_layer import find_latent_layer, latent_weight
from latentviz.directions.reconstructors import LeNetReconstructor, ResNetReconstructor
from latentviz.directions.sefa import sefa, sefa_eigen
from latentviz.directions.voynov import DirectionMatrix, VoynovResult, train_voynov, voynov

__all__ = [
    "DirectionMatrix",
    "DirectionSet",
    "LeNetReconstructor",
    "PCAFit",
    "ResNetReconstructor",
    "VoynovResult",
    "find_latent_layer",
    "fit_pca",
    "ganspace",
    "latent_weight",
    "sefa",
    "sefa_eigen",
    "train_voynov",
    "voynov",
]
