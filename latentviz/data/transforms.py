"""Geometry for model input: resample to square pixels, scale to the model size, centre-crop."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from latentviz.errors import ShapeError

__all__ = ["center_crop", "fit_to_size"]


def center_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """Crop the last two axes to ``(size, size)`` around the centre (both must be >= size)."""
    h, w = images.shape[-2:]
    if h < size or w < size:
        raise ShapeError(f"cannot crop {h}x{w} to {size}x{size}")
    top, left = (h - size) // 2, (w - size) // 2
    return images[..., top : top + size, left : left + size]


def fit_to_size(images: torch.Tensor, size: int, spacing: Sequence[float] | None = None) -> torch.Tensor:
    """Resample ``(…, H, W)`` images so that the shorter side is ``size``, then centre-crop.

    Parameters
    ----------
    images
        ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)`` float tensor; a batch is done in one call.
    size
        Output side length.
    spacing
        ``(dy, dx)`` pixel size (only the last two entries are used). Non-square pixels are
        first stretched to square so that anatomy keeps its shape.

    Returns
    -------
    torch.Tensor
        Same leading axes, last two ``(size, size)``. Bilinear, antialiased when shrinking.
    """
    if size < 1:
        raise ShapeError(f"size must be >= 1, got {size}")
    if images.ndim < 2:
        raise ShapeError(f"images must have at least 2 axes (H, W), got shape {tuple(images.shape)}")
    h, w = images.shape[-2:]
    dy, dx = (1.0, 1.0) if spacing is None else (float(spacing[-2]), float(spacing[-1]))
    if not (dy > 0 and dx > 0):  # unknown or zero spacing: treat pixels as square
        dy, dx = 1.0, 1.0
    # Physical extent in units of the finer pixel, then scale the shorter side to `size`.
    unit = min(dy, dx)
    ph, pw = h * dy / unit, w * dx / unit
    scale = size / min(ph, pw)
    out_h, out_w = max(size, round(ph * scale)), max(size, round(pw * scale))
    if (out_h, out_w) != (h, w):
        lead = images.shape[:-2]
        flat = images.reshape(-1, 1, h, w).float()
        shrinking = out_h < h or out_w < w
        flat = F.interpolate(
            flat, size=(out_h, out_w), mode="bilinear", align_corners=False, antialias=shrinking
        )
        images = flat.reshape(*lead, out_h, out_w)
    return center_crop(images, size)
