"""medXGAN counterfactuals (REFERENCES §1): the negative realisation G(z1*, 0), the
difference map G(z1*, z2*) − G(z1*, 0), and the colorized overlay of that difference
(a heat map of ``|difference|`` blended over the original: perceptually uniform ``magma`` by
default, medXGAN's JET by choice)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from latentviz.errors import ShapeError, UnknownColormapError
from latentviz.explain.attribution import check_images
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = [
    "COLORIZED_COLORMAPS",
    "Counterfactual",
    "colorized_map",
    "counterfactual",
    "difference_map",
    "jet",
    "negative_realization",
]


def _require_conditional(generator: Generator) -> None:
    if not generator.is_conditional:
        raise ShapeError(
            f"{generator.name} is not a conditional (z1, z2) generator: negative realisations need "
            "split_sizes (medXGAN-style models)"
        )


def negative_realization(generator: Generator, z: torch.Tensor) -> torch.Tensor:
    """``G(z1, 0)``: the same anatomy with the pathology code switched off, ``(N, C, H, W)``."""
    _require_conditional(generator)
    z = generator.check_latents(z)
    z1, _ = generator.split(z)
    return generator.generate(generator.join(z1, None))


def difference_map(generator: Generator, z: torch.Tensor) -> torch.Tensor:
    """``G(z1, z2) − G(z1, 0)`` in one generator batch, ``(N, C, H, W)``."""
    _require_conditional(generator)
    z = generator.check_latents(z)
    z1, _ = generator.split(z)
    both = generator.generate(torch.cat([z, generator.join(z1, None)]))
    pos, neg = both.chunk(2)
    return pos - neg


def jet(v: torch.Tensor) -> torch.Tensor:
    """JET-like colormap: values in [0, 1] ``(...)`` to RGB in [0, 1] ``(..., 3)``.

    The piecewise-linear form of MATLAB's/OpenCV's JET (blue → cyan → yellow → red).
    """
    v = v.clamp(0, 1).unsqueeze(-1)
    centers = torch.tensor([0.75, 0.5, 0.25], device=v.device, dtype=v.dtype)  # r, g, b
    return (1.5 - (4 * (v - centers)).abs()).clamp(0, 1)


#: Colour maps of the colorized map: perceptually uniform ones (equal steps of ``|difference|``
#: look like equal steps of colour, so the map invents no edges), and ``jet``, the medXGAN
#: paper's look, for readers comparing with its figures.
COLORIZED_COLORMAPS = ("magma", "inferno", "viridis", "cividis", "jet")
_COLORIZED_LUTS: dict[str, torch.Tensor] = {}


def _colorized_lut(name: str) -> torch.Tensor:
    """``(256, 3)`` float LUT of a :data:`COLORIZED_COLORMAPS` name, sampled from matplotlib."""
    if name not in COLORIZED_COLORMAPS:
        raise UnknownColormapError(name, list(COLORIZED_COLORMAPS))
    lut = _COLORIZED_LUTS.get(name)
    if lut is None:
        import matplotlib  # imported on first use (~0.1 s)

        rgba = matplotlib.colormaps[name].resampled(256)(torch.linspace(0, 1, 256).numpy())
        lut = _COLORIZED_LUTS[name] = torch.as_tensor(rgba[:, :3], dtype=torch.float32)
    return lut


def colorized_map(
    original: torch.Tensor, difference: torch.Tensor, alpha: float = 0.5, colormap: str = "magma"
) -> torch.Tensor:
    """Heat map of ``|difference|`` blended over the original (medXGAN's colorized map).

    Parameters
    ----------
    original
        ``(N, C, H, W)`` images in [-1, 1].
    difference
        ``(N, C, H, W)`` difference maps; the channel-mean of ``|difference|`` is scaled per
        image to [0, 1] by its maximum.
    alpha
        Weight of the heat map.
    colormap
        One of :data:`COLORIZED_COLORMAPS`: ``"magma"`` (default, perceptually uniform) or
        ``"jet"`` (medXGAN's piecewise-linear JET, :func:`jet`).

    Returns
    -------
    torch.Tensor
        ``(N, 3, H, W)`` RGB in [0, 1].

    Raises
    ------
    UnknownColormapError
        For a name outside :data:`COLORIZED_COLORMAPS`.
    """
    check_images(original, "original")
    if difference.shape[0] != original.shape[0] or difference.shape[-2:] != original.shape[-2:]:
        raise ShapeError(
            f"difference {tuple(difference.shape)} does not match original {tuple(original.shape)}"
        )
    mag = difference.abs().mean(1)
    mag = mag / mag.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)
    if colormap == "jet":
        heat = jet(mag).permute(0, 3, 1, 2)
    else:
        lut = _colorized_lut(colormap).to(mag.device)
        heat = lut[(mag.clamp(0, 1) * 255).round().long()].permute(0, 3, 1, 2)
    base = ((original.mean(1, keepdim=True) + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)
    return (1 - alpha) * base.to(heat) + alpha * heat


@dataclass
class Counterfactual:
    """The medXGAN counterfactual of a batch of latents, with classifier probabilities.

    Attributes
    ----------
    positive, negative, difference, colorized
        ``G(z1, z2)``, ``G(z1, 0)``, their difference, and the colorized overlay over
        ``original`` (or over the positive when no original was given).
    probability_positive, probability_negative
        ``(N,)`` target probability of each; ``flipped`` is where the prediction crossed 0.5.
    extras
        Fidelity of the inversion the latent came from (``low_fidelity``), if given.
    """

    positive: torch.Tensor
    negative: torch.Tensor
    difference: torch.Tensor
    colorized: torch.Tensor
    probability_positive: torch.Tensor
    probability_negative: torch.Tensor
    extras: dict = field(default_factory=dict)

    @property
    def flipped(self) -> torch.Tensor:
        return (self.probability_positive >= 0.5) & (self.probability_negative < 0.5)


def counterfactual(
    generator: Generator,
    classifier: Classifier,
    z: torch.Tensor,
    original: torch.Tensor | None = None,
    target: int | None = None,
    fidelity: dict | None = None,
    colormap: str = "magma",
) -> Counterfactual:
    """Negative realisation, difference and colorized map, with probabilities, in one batch.

    ``colormap`` colours the colorized map (:data:`COLORIZED_COLORMAPS`; checked first).
    """
    if colormap not in COLORIZED_COLORMAPS:
        raise UnknownColormapError(colormap, list(COLORIZED_COLORMAPS))
    _require_conditional(generator)
    z = generator.check_latents(z)
    z1, _ = generator.split(z)
    with torch.no_grad():
        both = generator.generate(torch.cat([z, generator.join(z1, None)]))
        probs = classifier.probability(both, target).cpu()
    both = both.cpu()
    pos, neg = both.chunk(2)
    diff = pos - neg
    base = original.cpu() if original is not None else pos
    extras = dict(fidelity or {})
    return Counterfactual(
        positive=pos,
        negative=neg,
        difference=diff,
        colorized=colorized_map(base, diff, colormap=colormap),
        probability_positive=probs[: len(z)],
        probability_negative=probs[len(z) :],
        extras=extras,
    )
