"""Latent interpolation data for players and widgets, all frames in ONE batch.

medXGAN's interpolation (REFERENCES §1) is the path ``z1*, α z2*`` from the negative
realisation to the positive image: ``interpolate(G, G.join(z1, None), z)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentviz.errors import ArgumentError, LatentError
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["Interpolation", "interpolate"]


@dataclass
class Interpolation:
    """Frames along a straight latent path.

    For one path (``z_start`` of shape ``(D,)``) the leading axis is the frame axis ``T``;
    for ``N`` paths every array has a leading ``N`` axis before it.

    Attributes
    ----------
    alphas
        ``(T,)`` positions in [0, 1].
    latents
        ``([N,] T, D)`` latents.
    frames
        ``([N,] T, C, H, W)`` images.
    probabilities
        ``([N,] T)`` classifier target probability per frame (``None`` without a classifier).
    step_difference
        ``frame_t − frame_{t−1}`` (zero for the first frame).
    cumulative_difference
        Cumulative sum of ``|step_difference|`` along the path.
    """

    alphas: torch.Tensor
    latents: torch.Tensor
    frames: torch.Tensor
    probabilities: torch.Tensor | None
    step_difference: torch.Tensor
    cumulative_difference: torch.Tensor


def interpolate(
    generator: Generator,
    z_start: torch.Tensor,
    z_end: torch.Tensor,
    n_frames: int = 32,
    classifier: Classifier | None = None,
    target: int | None = None,
) -> Interpolation:
    """Frames, probabilities and differences along ``z(α) = (1 − α) z_start + α z_end``.

    Parameters
    ----------
    generator
        The generator.
    z_start, z_end
        ``(D,)`` for one path or ``(N, D)`` for N paths.
    n_frames
        Frames per path, α from 0 to 1 inclusive.
    classifier, target
        When given, the target probability of every frame (same batch).
    """
    if n_frames < 2:
        raise ArgumentError("n_frames must be >= 2")
    single = z_start.ndim == len(generator.latent_shape)
    zs = generator.check_latents(z_start)
    ze = generator.check_latents(z_end)
    if zs.shape != ze.shape:
        raise LatentError(f"z_start {tuple(zs.shape)} and z_end {tuple(ze.shape)} differ in shape")
    n = zs.shape[0]
    alphas = torch.linspace(0, 1, n_frames, device=zs.device)
    a = alphas.view(1, -1, *([1] * (zs.ndim - 1)))
    lat = (1 - a) * zs.unsqueeze(1) + a * ze.unsqueeze(1)  # (N, T, *latent)
    frames = generator.generate(lat.flatten(0, 1))
    probs = None
    if classifier is not None:
        with torch.no_grad():
            probs = classifier.probability(frames, target).view(n, n_frames).cpu()
    frames = frames.view(n, n_frames, *frames.shape[1:]).cpu()
    step = torch.zeros_like(frames)
    step[:, 1:] = frames[:, 1:] - frames[:, :-1]
    cumulative = step.abs().cumsum(1)
    out = Interpolation(alphas.cpu(), lat.cpu(), frames, probs, step, cumulative)
    if single:
        out = Interpolation(
            out.alphas,
            out.latents[0],
            out.frames[0],
            None if probs is None else probs[0],
            out.step_difference[0],
            out.cumulative_difference[0],
        )
    return out
