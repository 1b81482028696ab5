"""DeepLift (Shrikumar et al. 2017, the Rescale rule), through captum's ``DeepLift``.

It needs every non-linearity to be its own module, used once: the zoo CNNs give each
pooling and ReLU its own module (:mod:`latentviz.models.architectures.cnn`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from captum.attr import DeepLift as _CaptumDeepLift
from torch import nn

from latentviz.explain.baselines import BASELINES, ig_baseline
from latentviz.explain.methods._captum import CaptumExplainer
from latentviz.explain.registry import Option, option

__all__ = ["DeepLift"]


class DeepLift(CaptumExplainer):
    """DeepLift of the target LOGIT from a named baseline, with captum's convergence delta
    (``Σ map − (f(x) − f(baseline))``)."""

    key = "deeplift"
    needs_hooks = True
    label = "DeepLift"
    default_output = "logit"
    options: ClassVar[dict[str, Option]] = {
        "baseline": option("black", "baseline", "reference image", choices=BASELINES)
    }

    def make(self, module: nn.Module) -> _CaptumDeepLift:
        return _CaptumDeepLift(module)

    def compute(
        self, x: torch.Tensor, target: int, **options: Any
    ) -> tuple[torch.Tensor, torch.Tensor, dict]:
        attr, delta = self._captum.attribute(
            x, baselines=ig_baseline(x, options["baseline"]), target=target, return_convergence_delta=True
        )
        return attr, delta, {}
