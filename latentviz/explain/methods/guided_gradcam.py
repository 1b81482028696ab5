"""Guided Grad-CAM (Selvaraju et al. 2017, §3): Grad-CAM upsampled to the image and
multiplied by guided backpropagation, through captum's ``GuidedGradCam``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from captum.attr import GuidedGradCam as _CaptumGuidedGradCam
from torch import nn

from latentviz.explain.baselines import Output
from latentviz.explain.methods._captum import CaptumExplainer
from latentviz.explain.registry import Option, option
from latentviz.models.classifier import Classifier

__all__ = ["GuidedGradCam"]


class GuidedGradCam(CaptumExplainer):
    """Guided Grad-CAM of the target LOGIT at the classifier's Grad-CAM layer.

    Parameters
    ----------
    classifier
        The classifier; ``layer`` defaults to ``classifier.gradcam_layer``.
    layer
        The convolutional layer of the Grad-CAM part.
    output
        ``"logit"`` (default) or ``"probability"``.
    """

    key = "guided_gradcam"
    needs_hooks = True
    label = "Guided Grad-CAM"
    needs = frozenset({"layer"})
    default_output = "logit"
    options: ClassVar[dict[str, Option]] = {
        "interpolate_mode": option(
            "nearest", "upsampling", "upsampling of the layer map", choices=("nearest", "bilinear", "bicubic")
        )
    }

    def __init__(self, classifier: Classifier, layer: nn.Module | None = None, output: Output | None = None):
        self.layer = classifier.gradcam_layer if layer is None else layer
        super().__init__(classifier, output)

    def make(self, module: nn.Module) -> _CaptumGuidedGradCam:
        return _CaptumGuidedGradCam(module, self.layer)

    def compute(self, x: torch.Tensor, target: int, **options: Any) -> tuple[torch.Tensor, None, dict]:
        attr = self._captum.attribute(x, target=target, interpolate_mode=options["interpolate_mode"])
        return attr, None, {"layer": type(self.layer).__name__}
