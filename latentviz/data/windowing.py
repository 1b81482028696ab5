"""Intensity windows: named presets, resolution of a window argument, and the window map.

A window is ``(center, width)`` in modality units (HU for CT). It maps
``center - width/2 -> 0`` and ``center + width/2 -> 1`` linearly and clips outside: the
continuous form of DICOM's LINEAR VOI function (PS3.3 C.11.2.1.2.1), which differs from the
integer form by at most ``1/width``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import numpy as np

from latentviz.errors import ArgumentError

__all__ = [
    "PRESETS",
    "Window",
    "WindowSpec",
    "apply_window",
    "invert_window",
    "resolve_window",
]

Window = tuple[float, float]
"""``(center, width)`` in modality units."""

WindowSpec = Window | str | None
"""What users pass: a ``(center, width)`` pair, a preset name, ``"header"``, ``"auto"``, or None."""

# Common CT display windows, (center, width) in HU.
PRESETS: Mapping[str, Window] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "soft_tissue": (50.0, 400.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
}


def _auto_window(pixels: np.ndarray) -> Window:
    """The 0.5–99.5 percentile range of the pixels (robust to a few hot pixels)."""
    # A strided sample keeps this fast on 2k x 2k radiographs and volumes.
    flat = pixels.reshape(-1)
    step = max(1, flat.size // 262_144)
    lo, hi = np.percentile(flat[::step], [0.5, 99.5])
    if hi <= lo:  # a constant image: any positive width shows it
        hi = lo + 1.0
    return (float(lo + hi) / 2.0, float(hi - lo))


def resolve_window(
    spec: WindowSpec,
    *,
    header: Window | None = None,
    pixels: np.ndarray | None = None,
) -> Window:
    """Turn a window argument into a ``(center, width)`` pair.

    Parameters
    ----------
    spec
        ``(center, width)``; a preset name from :data:`PRESETS`; ``"header"`` (the image's
        own window, an error if it has none); ``"auto"`` (percentiles of ``pixels``); or
        ``None``: the header window when there is one, else ``"auto"``.
    header
        The window stored with the image, if any.
    pixels
        The image, needed for ``"auto"``.

    Raises
    ------
    ArgumentError
        An unknown preset, a non-positive or non-finite width, or a missing header window.
    """
    if spec is None:
        spec = "header" if header is not None else "auto"
    if isinstance(spec, str):
        name = spec.lower().replace("-", "_").replace(" ", "_")
        if name in PRESETS:
            return PRESETS[name]
        if name == "header":
            if header is None:
                raise ArgumentError("window='header' but the image carries no window")
            return header
        if name == "auto":
            if pixels is None:
                raise ArgumentError("window='auto' needs the pixels")
            return _auto_window(pixels)
        raise ArgumentError(
            f"unknown window {spec!r}; use (center, width), 'header', 'auto' or {sorted(PRESETS)}"
        )
    try:
        center, width = (float(v) for v in spec)
    except (TypeError, ValueError):
        raise ArgumentError(f"window must be (center, width), a preset name or None, not {spec!r}") from None
    if not (np.isfinite(center) and np.isfinite(width)) or width <= 0:
        raise ArgumentError(f"window width must be finite and > 0, got (center={center}, width={width})")
    return (center, width)


def _is_tensor(value: object) -> bool:
    """A torch tensor? Without importing torch: when it is not loaded, nothing is a tensor."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def apply_window(values, window: Window, invert: bool = False):
    """Map modality values to [0, 1] through ``window``; numpy in, numpy out (torch likewise).

    Parameters
    ----------
    values
        A numpy array or torch tensor in modality units.
    window
        ``(center, width)`` as returned by :func:`resolve_window`.
    invert
        Flip the result (``1 - y``): MONOCHROME1 images, where low values are bright.
    """
    center, width = window
    lo = center - width / 2.0
    if _is_tensor(values):
        y = ((values - lo) / width).clamp_(0.0, 1.0)
    else:
        # One temporary, then in place: this is on the slider/display hot path.
        y = np.subtract(values, np.float32(lo), dtype=np.float32)
        y *= np.float32(1.0 / width)
        np.clip(y, 0.0, 1.0, out=y)
        if invert:
            np.subtract(np.float32(1.0), y, out=y)
        return y
    return 1.0 - y if invert else y


def invert_window(display, window: Window, invert: bool = False):
    """The inverse of :func:`apply_window` on [0, 1]: display values back to modality units.

    Values that were clipped come back at the window's edge.
    """
    center, width = window
    lo = center - width / 2.0
    if _is_tensor(display):
        y = display.clamp(0.0, 1.0)
    else:
        y = np.clip(np.asarray(display, dtype=np.float32), 0.0, 1.0)
    if invert:
        y = 1.0 - y
    return y * width + lo
