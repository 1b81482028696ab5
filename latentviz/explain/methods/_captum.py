"""The shared body of the methods that are one captum object over the classifier.

A subclass declares its registry entry, builds its captum object in :meth:`make` and
calls it in :meth:`compute`; this class adds what every wrapper in
:mod:`latentviz.explain.baselines` adds: the classifier's output semantics, the target
default, input checks, option checks, timing and the :class:`Attribution` result.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import torch
from torch import nn

from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.baselines import Output, _target, _usable, score_module
from latentviz.explain.registry import Explainer
from latentviz.models.classifier import Classifier

__all__ = ["CaptumExplainer", "json_options"]


def json_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with tensors replaced by ``"tensor"`` (for ``Attribution.options``)."""
    return {k: "tensor" if isinstance(v, torch.Tensor) else v for k, v in options.items()}


class CaptumExplainer(Explainer):
    """Base of the one-captum-object methods (not registered itself).

    Parameters
    ----------
    classifier
        The classifier.
    output
        Differentiate the target ``"probability"`` or ``"logit"`` (default: the class's
        ``default_output``).
    """

    #: What the method differentiates unless told otherwise.
    default_output: ClassVar[Output] = "probability"

    #: Whether captum hooks the classifier's layers (impossible on TorchScript modules).
    needs_hooks: ClassVar[bool] = False

    def __init__(self, classifier: Classifier, output: Output | None = None) -> None:
        if self.needs_hooks:
            classifier.require_hooks(self.key)
        self.classifier = classifier
        self.output: Output = output or self.default_output
        self.forward_module = score_module(classifier, self.output)
        self._captum = self.make(self.forward_module)

    def make(self, module: nn.Module) -> Any:
        """The captum object over ``module`` (images → ``(N, K)`` scores)."""
        raise NotImplementedError

    def compute(
        self, x: torch.Tensor, target: int, **options: Any
    ) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
        """``(map, delta or None, extras)`` of images ``x`` for class ``target``."""
        raise NotImplementedError

    def attribute(self, inputs: torch.Tensor, target: int | None = None, **options: Any) -> Attribution:
        """Attribute the ``target`` score to the pixels of ``inputs`` ``(N, C, H, W)``.

        ``options`` are the method's declared ones (see its ``options``); each is checked
        against its declared bound before captum runs.
        """
        t0 = time.perf_counter()
        check_images(inputs)
        opts = self.resolve(options)
        x = _usable(inputs, self.classifier.device)
        t = _target(self.classifier, target, x)
        attr, delta, extras = self.compute(x, t, **opts)
        return Attribution(
            map=attr.detach().cpu(),
            method=self.key,
            options={"target": self.classifier.target_option(t), "output": self.output, **json_options(opts)},
            delta=None if delta is None else delta.detach().cpu(),
            seconds=time.perf_counter() - t0,
            extras=extras,
        )
