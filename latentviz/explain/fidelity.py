"""Reconstruction fidelity: per-image MSE, PSNR and SSIM, batched in torch.

SSIM follows Wang et al. (2004): an 11×11 Gaussian window (σ = 1.5), constants
``C1 = (0.01 L)²`` and ``C2 = (0.03 L)²`` with ``L`` the data range (2 for images in
[-1, 1]), averaged over channels and the valid (unpadded) positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from latentviz.errors import ShapeError

__all__ = ["mse", "psnr", "ssim"]


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise ShapeError(
            f"expected two (N, C, H, W) batches of equal shape, got {tuple(a.shape)}, {tuple(b.shape)}"
        )


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image, shape ``(N,)``."""
    _check_pair(a, b)
    return (a - b).pow(2).flatten(1).mean(1)


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, ``10 log10(L² / MSE)``, shape ``(N,)``."""
    return 10.0 * torch.log10(data_range**2 / mse(a, b).clamp_min(1e-12))


def _gaussian_window(size: int, sigma: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    r = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, window: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004), shape ``(N,)``.

    Parameters
    ----------
    a, b
        ``(N, C, H, W)`` batches of the same shape.
    data_range
        ``L``: the dynamic range of the pixel values (2 for [-1, 1]).
    window, sigma
        Size and width of the Gaussian window (shrunk to the image size for small images).

    Examples
    --------
    >>> x = torch.rand(2, 1, 32, 32)
    >>> ssim(x, x)
    tensor([1., 1.])
    """
    _check_pair(a, b)
    _, c, h, w = a.shape
    size = min(window, h, w)
    g = _gaussian_window(size, sigma, a.device, a.dtype)
    # Separable Gaussian filter on the 5 statistics at once (one depthwise conv per axis).
    stats = torch.cat([a, b, a * a, b * b, a * b], dim=1)  # (N, 5C, H, W)
    k = 5 * c
    stats = F.conv2d(stats, g.view(1, 1, 1, size).expand(k, 1, 1, size), groups=k)
    stats = F.conv2d(stats, g.view(1, 1, size, 1).expand(k, 1, size, 1), groups=k)
    mu_a, mu_b, e_aa, e_bb, e_ab = stats.split(c, dim=1)
    var_a = e_aa - mu_a**2
    var_b = e_bb - mu_b**2
    cov = e_ab - mu_a * mu_b
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)
