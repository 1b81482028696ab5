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

__all__ = ["StyleCounterfactual", "StyleWalkBatch", "style_counterfactual", "walk_batch"]


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


@dataclass
class StyleWalkBatch:
    """Walks of a batch of codes towards the other class (:func:`walk_batch`).

    Attributes
    ----------
    latent_start, latent_end
        ``(N, D)`` codes at the start (the image) and at the crossing (or the walk's end).
    amount
        ``(N,)`` signed strength at ``latent_end`` (in the set's σ units).
    flipped
        ``(N,)`` whether the classifier crossed ``threshold``.
    probability_start, probability_end
        ``(N,)`` target probability at both ends.
    start, end
        ``(N, C, H, W)`` images at both ends.
    """

    latent_start: torch.Tensor
    latent_end: torch.Tensor
    amount: torch.Tensor
    flipped: torch.Tensor
    probability_start: torch.Tensor
    probability_end: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor

    @property
    def _start_is_positive(self) -> torch.Tensor:
        return self.probability_start >= self.probability_end

    def _pick(self, a: torch.Tensor, b: torch.Tensor, positive: bool) -> torch.Tensor:
        first = self._start_is_positive if positive else ~self._start_is_positive
        return torch.where(first.view(-1, *([1] * (a.ndim - 1))).to(a.device), a, b)

    @property
    def positive_end(self) -> torch.Tensor:
        """Image of the end with the higher target probability."""
        return self._pick(self.start, self.end, True)

    @property
    def negative_end(self) -> torch.Tensor:
        return self._pick(self.start, self.end, False)

    @property
    def latent_positive(self) -> torch.Tensor:
        return self._pick(self.latent_start, self.latent_end, True)

    @property
    def latent_negative(self) -> torch.Tensor:
        return self._pick(self.latent_start, self.latent_end, False)


def _probabilities(
    g: object, classifier: object, latents: torch.Tensor, target: int, batch_size: int
) -> torch.Tensor:
    out = [
        classifier.probability(g(latents[s : s + batch_size]).clamp(-1, 1), target)
        for s in range(0, len(latents), batch_size)
    ]
    return torch.cat(out)


def walk_batch(
    generator: object,
    classifier: object,
    directions: DirectionSet,
    latents: torch.Tensor,
    target: int | None = None,
    max_amount: float = 10.0,
    n_steps: int = 16,
    threshold: float = 0.5,
    keys: list[int] | None = None,
    batch_size: int = 256,
) -> StyleWalkBatch:
    """Walk every code of ``latents`` along ``directions`` (summed, each in its σ) until the
    classifier's ``target`` probability crosses ``threshold``, batched.

    Each code walks the way its first step moves the probability towards the other class.
    Two passes of ``n_steps`` strengths: a coarse one over ``[0, max_amount]``, then one
    between the last strength before the crossing and the first after it, so the crossing
    is located to ``max_amount / (n_steps − 1)²``. All strengths of a pass are one batch.

    Parameters
    ----------
    generator
        A style-based generator; the walk runs in the set's space.
    latents
        ``(N, D)`` codes in the set's space.
    keys
        Indices of the directions to combine (default all).
    """
    if n_steps < 2:
        raise LatentError(f"a walk needs n_steps >= 2, got {n_steps}")
    g = generator.in_space(directions.latent_space)
    directions.check_compatible(g)
    z0 = g.check_latents(latents)
    idx = list(range(len(directions))) if keys is None else list(keys)
    d = torch.as_tensor(directions.directions[idx] * directions.sigmas[idx, None], dtype=torch.float32)
    step = d.sum(0).to(z0.device)
    n = len(z0)
    with torch.no_grad():
        start = g(z0).clamp(-1, 1)
        p0 = classifier.probability(start, target)
        amounts = torch.linspace(0.0, float(max_amount), n_steps, device=z0.device)
        probe = torch.cat([z0 + amounts[1] * step, z0 - amounts[1] * step])
        p_plus, p_minus = _probabilities(g, classifier, probe, target, batch_size).view(2, n)
        positive = p0 >= threshold
        sign = torch.where((p_plus < p_minus) == positive, 1.0, -1.0).to(z0.device)

        def crossing(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """First strength index of each row of ``a`` (N, T) that crosses, and whether one does."""
            lat = z0[:, None] + (sign[:, None] * a)[..., None] * step
            p = _probabilities(g, classifier, lat.flatten(0, 1), target, batch_size).view(n, -1)
            crossed = torch.where(positive[:, None], p < threshold, p >= threshold)
            return crossed.float().argmax(1), crossed.any(1)

        first, flipped = crossing(amounts[None].expand(n, -1))
        first = torch.where(flipped, first.clamp_min(1), torch.full_like(first, n_steps - 1))
        lo, hi = amounts[first - 1], amounts[first]
        fine = lo[:, None] + (hi - lo)[:, None] * torch.linspace(0.0, 1.0, n_steps, device=z0.device)[1:]
        k, hit = crossing(fine)
        # the coarse pass crossed at hi (the last fine strength), so a flipped row always hits
        amount = torch.where(flipped & hit, fine.gather(1, k[:, None])[:, 0], hi)
        z1 = z0 + (sign * amount)[:, None] * step
        end = g(z1).clamp(-1, 1)
        p1 = classifier.probability(end, target)
    return StyleWalkBatch(z0, z1, sign * amount, flipped.cpu(), p0.cpu(), p1.cpu(), start, end)
