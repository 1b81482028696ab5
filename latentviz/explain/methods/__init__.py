"""Attribution methods added through the registry, one module each.

Importing this package registers them (see :mod:`latentviz.explain.registry`); each module
is one :class:`~latentviz.explain.registry.Explainer` subclass and its declarations.
"""

from __future__ import annotations

from latentviz.explain.methods._captum import CaptumExplainer
from latentviz.explain.methods.deeplift import DeepLift
from latentviz.explain.methods.gradient_shap import GradientShap
from latentviz.explain.methods.guided_backprop import GuidedBackprop
from latentviz.explain.methods.guided_gradcam import GuidedGradCam
from latentviz.explain.methods.lrp import LRP
from latentviz.explain.methods.medxgan import MedXGANDifference
from latentviz.explain.methods.occlusion import Occlusion
from latentviz.explain.methods.saliency import Saliency
from latentviz.explain.methods.style_walk import StyleCounterfactualMap, StylePathLIG

__all__ = [
    "LRP",
    "CaptumExplainer",
    "DeepLift",
    "GradientShap",
    "GuidedBackprop",
    "GuidedGradCam",
    "MedXGANDifference",
    "Occlusion",
    "Saliency",
    "StyleCounterfactualMap",
    "StylePathLIG",
]
