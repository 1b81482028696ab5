"""The result every explanation method returns, and the checks they share.

Every method in :mod:`latentviz.explain` is called the same way, as in captum:
``Method(...).attribute(inputs, target=..., **options) -> Attribution``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from latentviz.errors import ShapeError

__all__ = ["Attribution", "check_images", "timer"]


@dataclass
class Attribution:
    """An attribution map and its diagnostics.

    Attributes
    ----------
    map
        ``(N, C, H, W)`` tensor (on the CPU, detached), same layout as the explained images.
    method
        Name of the method (``"gradcam"``, ``"integrated_gradients"``, ``"lig_path"``, …).
    options
        The options it ran with (``n_steps``, ``baseline``, …), JSON-serialisable.
    delta
        ``(N,)`` completeness error ``Σ map − (f(x) − f(baseline))`` where the method has one
        (IG, LIG), else ``None``.
    seconds
        Wall time of the call.
    extras
        Anything else the method reports: endpoint probabilities, the paper variant, the
        inversion fidelity and its ``low_fidelity`` flag, …
    """

    map: torch.Tensor
    method: str
    options: dict = field(default_factory=dict)
    delta: torch.Tensor | None = None
    seconds: float = 0.0
    extras: dict = field(default_factory=dict)

    @property
    def low_fidelity(self) -> torch.Tensor | None:
        """``(N,)`` bool: the explanation rests on a poor inversion (``None``: no inversion used)."""
        return self.extras.get("low_fidelity")

    def __repr__(self) -> str:
        d = "" if self.delta is None else f", |delta| max={self.delta.abs().max().item():.3g}"
        return f"Attribution({self.method!r}, map={tuple(self.map.shape)}{d}, {self.seconds * 1e3:.1f} ms)"


def check_images(x: torch.Tensor, what: str = "images") -> torch.Tensor:
    """Check that ``x`` is a finite 2D image batch ``(N, C, H, W)`` with 1 or 3 channels.

    Raises
    ------
    ShapeError
        For anything else (a volume, a single image without batch axis, 2 or 4 channels, NaN).
    """
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"{what} must be a torch.Tensor (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        hint = " (3D volumes are not supported: explain 2D slices)" if x.ndim == 5 else ""
        raise ShapeError(f"{what} must be a 2D image batch (N, C, H, W), got shape {tuple(x.shape)}{hint}")
    if x.shape[1] not in (1, 3):
        raise ShapeError(f"{what} must have 1 or 3 channels, got {x.shape[1]} (shape {tuple(x.shape)})")
    if x.shape[0] == 0:
        raise ShapeError(f"{what} is an empty batch")
    if not torch.isfinite(x).all():
        raise ShapeError(f"{what} contain NaN or infinite values")
    return x


@contextmanager
def timer() -> Iterator[list[float]]:
    """Measure the wall time of a block: ``with timer() as t: ...; t[0]`` (seconds)."""
    out = [0.0]
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out[0] = time.perf_counter() - t0
