"""Generators, classifiers, architectures, training recipes and weights I/O."""

from __future__ import annotations

from latentviz.models.classifier import Classifier, find_gradcam_layer
from latentviz.models.device import pick_device
from latentviz.models.generator import Generator, GeneratorProtocol, module_sha256, wrap_generator

__all__ = [
    "Classifier",
    "Generator",
    "GeneratorProtocol",
    "find_gradcam_layer",
    "module_sha256",
    "pick_device",
    "wrap_generator",
]
