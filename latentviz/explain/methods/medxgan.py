"""The medXGAN difference map ``G(z1*, z2*) − G(z1*, 0)`` (REFERENCES §1) as a registry
entry, so the evaluation and the batch jobs score it beside the attribution maps."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import torch

from latentviz.explain.attribution import Attribution
from latentviz.explain.counterfactual import difference_map
from latentviz.explain.inversion import InversionResult
from latentviz.explain.registry import Explainer, Option
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["MedXGANDifference"]


class MedXGANDifference(Explainer):
    """The medXGAN counterfactual difference of inverted images.

    Parameters
    ----------
    generator
        A conditional (z1, z2) generator.
    classifier
        The classifier the inversion matched (kept for the common interface).
    """

    name = "medxgan"
    key = "medxgan"
    label = "medXGAN difference"
    needs = frozenset({"generator"})
    options: ClassVar[dict[str, Option]] = {}

    def __init__(self, generator: Generator, classifier: Classifier) -> None:
        self.generator = generator
        self.classifier = classifier

    @classmethod
    def build(
        cls, classifier: Classifier, *, generator: Any = None, autoencoder: Any = None
    ) -> MedXGANDifference:
        return cls(generator, classifier)

    def attribute(
        self, inputs: torch.Tensor | InversionResult, target: int | None = None, **options: Any
    ) -> Attribution:
        """``(N, C, H, W)`` difference maps of latents or an inversion (``target`` unused:
        z2 = 0 is the negative class by construction)."""
        t0 = time.perf_counter()
        self.resolve(options)
        extras: dict = {}
        if isinstance(inputs, InversionResult):
            extras["low_fidelity"] = inputs.low_fidelity.clone()
            inputs = inputs.z
        d = difference_map(self.generator, inputs.to(self.generator.device)).cpu()
        return Attribution(d, self.key, seconds=time.perf_counter() - t0, extras=extras)

    def explain(
        self, images: torch.Tensor, target: int | None = None, inversion: Any = None, **options: Any
    ) -> Attribution:
        return self.attribute(inversion, target=target, **options)
