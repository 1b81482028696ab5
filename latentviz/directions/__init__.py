"""Latent direction discovery (SeFa, GANSpace, Voynov–Babenko, probes, centroid paths) and scoring.

Every method is a registered :class:`DirectionMethod` (see :mod:`latentviz.directions.registry`);
:func:`latentviz.directions.discover.discover` runs one by name (the module is not
re-exported here, so ``latentviz.directions.discover`` stays the module).
"""

from __future__ import annotations

from latentviz.directions.centroid import centroid_path, centroid_walk, encode_images, invert_images
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.factor_regressor import FactorRegressor, anatomy_factors
from latentviz.directions.ganspace import PCAFit, fit_pca, ganspace
from latentviz.directions.latent_layer import find_latent_layer, latent_weight
from latentviz.directions.probes import ProbeFit, conditional_direction, fit_probe, probe_directions
from latentviz.directions.reconstructors import LeNetReconstructor, ResNetReconstructor
from latentviz.directions.registry import (
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    OptionSpec,
    get_method,
    method_label,
    method_names,
    methods,
    option,
    register_method,
)
from latentviz.directions.scoring import DirectionScores, intervention_walks, score_directions
from latentviz.directions.sefa import sefa, sefa_eigen
from latentviz.directions.voynov import DirectionMatrix, VoynovResult, train_voynov, voynov

__all__ = [
    "DirectionMatrix",
    "DirectionMethod",
    "DirectionScores",
    "DirectionSet",
    "DiscoveryInputs",
    "FactorRegressor",
    "LeNetReconstructor",
    "MethodOptions",
    "OptionSpec",
    "PCAFit",
    "ProbeFit",
    "ResNetReconstructor",
    "VoynovResult",
    "anatomy_factors",
    "centroid_path",
    "centroid_walk",
    "conditional_direction",
    "encode_images",
    "find_latent_layer",
    "fit_pca",
    "fit_probe",
    "ganspace",
    "get_method",
    "intervention_walks",
    "invert_images",
    "latent_weight",
    "method_label",
    "method_names",
    "methods",
    "option",
    "probe_directions",
    "register_method",
    "score_directions",
    "sefa",
    "sefa_eigen",
    "train_voynov",
    "voynov",
]
