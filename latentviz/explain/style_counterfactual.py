"""Counterfactuals with a style-based model: walk an image's code until the classifier flips.

The image is encoded (or given as a latent), then moved along a direction set (StylEx's
AttFind attributes in StyleSpace, or a SEE-GAAN centroid path in W / W+) with growing
strength, all strengths rendered as one batch. The first frame whose probability crosses
``threshold`` is the counterfactual; when none does, the result says so (``flipped=False``)
and must not be drawn as an explanation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentviz.directions.direction_set import DirectionSet
from latentviz.errors import LatentError

__all__ = ["StyleCounterfactual", "style_counterfactual"]


@dataclass
class StyleCounterfactual:
    """A walk from an image towards the other class.

    Attributes
    ----------
    amounts
        ``(T,)`` strengths in σ of each direction (0 first).
    frames
        ``(T, C, H, W)`` rendered images.
    probability
        ``(T,)`` the classifier's target probability of each frame.
    flipped
        Whether a frame crossed ``threshold``.
    index
        The first crossing frame (the last frame when none crossed).
    difference
        ``frames[index] − frames[0]``.
    """

    amounts: np.ndarray
    frames: torch.Tensor
    probability: np.ndarray
    flipped: bool
    index: int
    difference: torch.Tensor

    def to_dict(self) -> dict:
        return {
            "flipped": self.flipped,
            "amount": float(self.amounts[self.index]),
            "probability_start": float(self.probability[0]),
            "probability_end": float(self.probability[self.index]),
        }


def style_counterfactual(
    generator: object,
    classifier: object,
    directions: DirectionSet,
    image: torch.Tensor | None = None,
    latent: torch.Tensor | None = None,
    target: int | None = None,
    max_amount: float = 10.0,
    n_steps: int = 21,
    threshold: float = 0.5,
    keys: list[int] | None = None,
) -> StyleCounterfactual:
    """Walk ``directions`` (summed, each in its σ) from an image's code until ``p`` crosses
    ``threshold``, towards the class the image is not.

    Parameters
    ----------
    generator
        A :class:`~latentviz.models.style.StyleGenerator`; the walk runs in the set's space.
    directions
        E.g. :func:`~latentviz.directions.style.attfind` (in ``s``) or a centroid path.
    image, latent
        The image to encode (needs the encoder) or its latent in the set's space.
    keys
        Which directions to combine (default all). The walk's sign is the one whose first
        step moves the probability towards the other class.
    """
    g = generator.in_space(directions.latent_space)
    directions.check_compatible(g)
    if latent is None:
        if image is None:
            raise LatentError("pass an image (encoded) or its latent")
        with torch.no_grad():
            latent = g.encode(image.to(g.device))
    z0 = g.check_latents(latent)[:1]
    idx = list(range(len(directions))) if keys is None else [directions.index(k) for k in keys]
    d = torch.as_tensor(directions.directions[idx] * directions.sigmas[idx, None], dtype=torch.float32)
    step = d.sum(0).to(z0.device)
    with torch.no_grad():
        amounts = np.linspace(0.0, max_amount, n_steps)
        # Which way is the other class: probe one step each way in one batch.
        probe = torch.cat([z0, z0 + amounts[1] * step, z0 - amounts[1] * step])
        p0, p_plus, p_minus = classifier.probability(g(probe).clamp(-1, 1), target).cpu().tolist()
        towards_lower = p0 >= threshold
        sign = 1.0 if (p_plus < p_minus) == towards_lower else -1.0
        lat = z0 + sign * torch.as_tensor(amounts, dtype=torch.float32, device=z0.device)[:, None] * step
        frames = g(lat).clamp(-1, 1).cpu()  # the image range the classifier was trained on
        p = classifier.probability(frames.to(classifier.device), target).cpu().numpy()
    crossed = (p < threshold) if p0 >= threshold else (p >= threshold)
    hits = np.flatnonzero(crossed)
    flipped = len(hits) > 0
    i = int(hits[0]) if flipped else len(p) - 1
    return StyleCounterfactual(sign * amounts, frames, p, flipped, i, frames[i] - frames[0])
