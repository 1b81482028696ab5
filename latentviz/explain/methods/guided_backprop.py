"""Guided Backpropagation (Springenberg et al. 2015): gradients whose negative parts are
cut at every ReLU, through captum's ``GuidedBackprop``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from captum.attr import GuidedBackprop as _CaptumGuidedBackprop
from torch import nn

from latentviz.explain.methods._captum import CaptumExplainer
from latentviz.explain.registry import Option

__all__ = ["GuidedBackprop"]


class GuidedBackprop(CaptumExplainer):
    """Guided backpropagation of the target LOGIT (ReLU modules only: functional ReLUs pass
    the plain gradient)."""

    key = "guided_backprop"
    needs_hooks = True
    label = "Guided Backprop"
    default_output = "logit"
    options: ClassVar[dict[str, Option]] = {}

    def make(self, module: nn.Module) -> _CaptumGuidedBackprop:
        return _CaptumGuidedBackprop(module)

    def compute(self, x: torch.Tensor, target: int, **options: Any) -> tuple[torch.Tensor, None, dict]:
        return self._captum.attribute(x, target=target), None, {}
