"""The architectures latentviz trains and ships, and the registry that rebuilds them
from a weights file's JSON config."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from latentviz.errors import ModelFileError
from latentviz.models.architectures.cnn import PhantomCNN, ResNetClassifier
from latentviz.models.architectures.dcgan import DCGANDiscriminator, DCGANGenerator
from latentviz.models.architectures.medxgan import MedXGANGenerator
from latentviz.models.architectures.stylegan import StyleDiscriminator, StyleGAN2Generator
from latentviz.models.architectures.vae import ConvVAE, ResidualBlock

__all__ = [
    "ARCHITECTURES",
    "ConvVAE",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MedXGANGenerator",
    "PhantomCNN",
    "ResNetClassifier",
    "ResidualBlock",
    "StyleDiscriminator",
    "StyleGAN2Generator",
    "build",
]

# name -> (constructor, role). The role tells the loader how to wrap the module.
ARCHITECTURES: dict[str, tuple[Callable[..., nn.Module], str]] = {
    "dcgan": (DCGANGenerator, "generator"),
    "dcgan-discriminator": (DCGANDiscriminator, "discriminator"),
    "vae": (ConvVAE, "generator"),
    "medxgan": (MedXGANGenerator, "generator"),
    "stylegan2": (StyleGAN2Generator, "generator"),
    "style-gaan": (StyleGAN2Generator, "generator"),
    "stylegan2-discriminator": (StyleDiscriminator, "discriminator"),
    "cnn-classifier": (PhantomCNN, "classifier"),
    "resnet18-classifier": (ResNetClassifier, "classifier"),
}


def build(architecture: str, **kwargs: object) -> nn.Module:
    """Construct a registered architecture.

    Raises
    ------
    ModelFileError
        For an unknown name or constructor arguments it does not take.
    """
    if architecture not in ARCHITECTURES:
        raise ModelFileError(f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}")
    ctor, _ = ARCHITECTURES[architecture]
    try:
        return ctor(**kwargs)
    except TypeError as exc:
        raise ModelFileError(
            f"architecture {architecture!r} does not take arguments {kwargs}: {exc}"
        ) from exc
