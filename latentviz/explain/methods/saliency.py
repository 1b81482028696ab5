"""Saliency (Simonyan et al. 2014, "Deep inside convolutional networks"): the gradient of
the target score with respect to the pixels, through captum's ``Saliency``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from captum.attr import Saliency as _CaptumSaliency
from torch import nn

from latentviz.explain.methods._captum import CaptumExplainer
from latentviz.explain.registry import Option, option

__all__ = ["Saliency"]


class Saliency(CaptumExplainer):
    """Vanilla gradients ``|∂f/∂x|`` of the target probability.

    Examples
    --------
    >>> Saliency(classifier).attribute(x, target=1).map.shape  # doctest: +SKIP
    torch.Size([1, 1, 64, 64])
    """

    key = "saliency"
    label = "Saliency"
    options: ClassVar[dict[str, Option]] = {
        "absolute": option(True, "absolute", "absolute value of the gradient", choices=(True, False))
    }

    def make(self, module: nn.Module) -> _CaptumSaliency:
        return _CaptumSaliency(module)

    def compute(self, x: torch.Tensor, target: int, **options: Any) -> tuple[torch.Tensor, None, dict]:
        return self._captum.attribute(x, target=target, abs=options["absolute"]), None, {}
