"""Vectorised drawing primitives on batched coordinate grids.

Every renderer works on body coordinates ``X, Y`` of shape ``(n, H, W)``: the
pixel grid ``[-1, 1]^2`` (``Y`` pointing down) mapped through each sample's
in-plane rotation, shift and scale. Shapes are soft (a one-pixel linear ramp at
their edge) so that images are anti-aliased and masks can be thresholded at 0.5.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "blur_rows",
    "body_grid",
    "col",
    "fft_blur",
    "inside",
    "pixel_grid",
    "smooth_noise",
    "tube",
]

F32 = np.float32


def col(values: np.ndarray | float) -> np.ndarray:
    """Per-sample values ``(n,)`` as ``(n, 1, 1)`` for broadcasting over images."""
    return np.asarray(values, dtype=F32).reshape(-1, 1, 1)


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in ``[-1, 1]``: ``x`` of shape ``(1, 1, size)``, ``y`` ``(1, size, 1)``."""
    c = ((np.arange(size, dtype=F32) + 0.5) / size * 2.0 - 1.0).astype(F32)
    return c.reshape(1, 1, size), c.reshape(1, size, 1)


def body_grid(
    size: int,
    rotation_deg: np.ndarray,
    shift_x: np.ndarray,
    shift_y: np.ndarray,
    scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Body coordinates of every pixel for each sample.

    A point ``b`` of the body appears at pixel ``p = scale * R(rotation) b + shift``;
    this returns ``b = R(-rotation) (p - shift) / scale`` as ``X, Y`` ``(n, size, size)``.
    Positive rotation turns the patient clockwise on screen.
    """
    px, py = pixel_grid(size)
    t = np.deg2rad(np.asarray(rotation_deg, dtype=F32))
    cos, sin, s = col(np.cos(t)), col(np.sin(t)), col(scale)
    dx = (px - col(shift_x)) / s
    dy = (py - col(shift_y)) / s
    return (cos * dx + sin * dy).astype(F32), (cos * dy - sin * dx).astype(F32)


def inside(level: np.ndarray, edge: np.ndarray | float) -> np.ndarray:
    """Soft indicator of ``level < 1``, ramping from 1 to 0 over ``level`` in ``1 ± edge/2``.

    ``level`` is an implicit shape function (1 on the boundary, e.g. ``(x/a)^2 + (y/b)^2``).
    """
    return np.clip((1.0 - level) / edge + 0.5, 0.0, 1.0, dtype=F32)


def fft_blur(images: np.ndarray, sigma_px: np.ndarray | float) -> np.ndarray:
    """Gaussian blur of ``(n, H, W)`` images with a per-sample ``sigma_px`` (periodic borders)."""
    n, h, w = images.shape
    sig = np.broadcast_to(np.asarray(sigma_px, dtype=F32), (n,))
    if not np.any(sig > 0):
        return images
    fy = np.fft.fftfreq(h).astype(F32).reshape(1, h, 1)
    fx = np.fft.rfftfreq(w).astype(F32).reshape(1, 1, -1)
    transfer = np.exp(-2.0 * np.pi**2 * col(sig) ** 2 * (fx**2 + fy**2))
    return np.fft.irfft2(np.fft.rfft2(images) * transfer, s=(h, w)).astype(F32)


def blur_rows(images: np.ndarray, sigma_px: np.ndarray) -> np.ndarray:
    """:func:`fft_blur` applied only to the images that are not all zero (the rest stay zero)."""
    out = np.zeros_like(images)
    rows = np.flatnonzero(images.reshape(images.shape[0], -1).any(axis=1))
    if rows.size:
        sigma = np.broadcast_to(np.asarray(sigma_px, F32), (images.shape[0],))
        out[rows] = fft_blur(images[rows], sigma[rows])
    return out


def smooth_noise(rng: np.random.Generator, n: int, size: int, sigma_frac: float) -> np.ndarray:
    """Gaussian-smoothed white noise, unit standard deviation, correlation length ``sigma_frac * size``."""
    field = fft_blur(rng.standard_normal((n, size, size), dtype=F32), sigma_frac * size)
    std = field.std(axis=(1, 2), keepdims=True) + 1e-6
    return (field / std).astype(F32)


def tube(x0, y0, angle, length, width, X, Y, px) -> np.ndarray:
    """Soft tapered tubes from ``(x0, y0)`` along ``angle`` (per-sample ``(n, 1, 1)`` arrays).

    The width tapers linearly to half of ``width`` at ``length``; values in ``[0, 1]``.
    """
    dx, dy = np.cos(angle), np.sin(angle)
    t = np.clip((X - x0) * dx + (Y - y0) * dy, 0.0, length)
    dist = np.hypot(X - (x0 + t * dx), Y - (y0 + t * dy))
    taper = width * (1.0 - 0.5 * t / np.maximum(length, 1e-6))
    return np.clip((taper - dist) / px + 0.5, 0.0, 1.0)
