"""Layer-wise Relevance Propagation (Bach et al. 2015), through captum's ``LRP`` with its
default rules (ε-rule for convolutions, linear layers and batch norm).

Reshaping layers captum has no rule for (``Flatten``, ``Unflatten``, ``Identity``) are left
unhooked, so relevance passes through them unchanged. A layer registered under two names (an alias such as a
``gradcam_layer`` attribute) is hooked once. Every layer must still be a module used once
in the forward pass, as for DeepLift; a classifier with other layers raises captum's
``TypeError``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from captum.attr import LRP as _CaptumLRP
from torch import nn

from latentviz.explain.methods._captum import CaptumExplainer
from latentviz.explain.registry import Option

__all__ = ["LRP"]

#: Layers that only reshape: relevance passes through them as the gradient does.
_RESHAPES = (nn.Flatten, nn.Unflatten, nn.Identity)


class _UniqueLayerLRP(_CaptumLRP):
    """captum's LRP, collecting each leaf layer once even when it has two names, and
    leaving reshaping layers unhooked."""

    def _get_layers(self, model: nn.Module) -> None:
        for layer in model.children():
            if next(layer.children(), None) is not None:
                self._get_layers(layer)
            elif not isinstance(layer, _RESHAPES) and not any(layer is seen for seen in self.layers):
                self.layers.append(layer)


class LRP(CaptumExplainer):
    """LRP of the target LOGIT, with captum's convergence delta (``Σ map − f(x)``)."""

    key = "lrp"
    needs_hooks = True
    label = "LRP"
    default_output = "logit"
    options: ClassVar[dict[str, Option]] = {}

    def make(self, module: nn.Module) -> _UniqueLayerLRP:
        return _UniqueLayerLRP(module)

    def compute(
        self, x: torch.Tensor, target: int, **options: Any
    ) -> tuple[torch.Tensor, torch.Tensor, dict]:
        attr, delta = self._captum.attribute(x, target=target, return_convergence_delta=True)
        return attr, delta, {}
