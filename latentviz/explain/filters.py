"""Batched image filters used by baselines and robustness tests: Gaussian blur and noise."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from latentviz.errors import ShapeError

__all__ = ["add_gaussian_noise", "gaussian_blur"]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(N, C, H, W)`` images (reflect padding, radius 3σ).

    Examples
    --------
    >>> x = torch.zeros(1, 1, 9, 9); x[..., 4, 4] = 1
    >>> round(float(gaussian_blur(x, 1.0).sum()), 4)
    1.0
    """
    if x.ndim != 4:
        raise ShapeError(f"gaussian_blur expects (N, C, H, W), got {tuple(x.shape)}")
    if sigma <= 0:
        return x.clone()
    radius = max(1, math.ceil(3 * sigma))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    r = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    g = torch.exp(-(r**2) / (2 * sigma**2))
    g = g / g.sum()
    c = x.shape[1]
    y = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(y, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def add_gaussian_noise(x: torch.Tensor, sigma: float, seed: int = 0, clamp: bool = True) -> torch.Tensor:
    """``x + N(0, σ²)`` with a fixed seed, clamped to [-1, 1] by default."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    y = x + sigma * torch.randn(x.shape, generator=gen).to(x)
    return y.clamp(-1, 1) if clamp else y
