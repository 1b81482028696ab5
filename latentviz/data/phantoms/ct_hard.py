"""Thoracic CT slice, hard variant: nodules among look-alikes.

The anatomy of :mod:`latentviz.data.phantoms.ct` (the same factors, the same streams), with
what makes a real nodule hard to find painted into the lungs before the nodules:

* **pulmonary vessels**: trees that branch from each hilum and taper towards the pleura,
  plus vessels cut across by the slice, which show as bright round spots of a nodule's
  size and attenuation (the look-alikes);
* **airways**: small air-filled rings with a soft-tissue wall beside the larger vessels;
* stronger **partial-volume blur**.

``difficulty`` (a factor, 0 … 1, the same for a whole batch unless set per image) shrinks
the nodules and pulls their attenuation towards the lung's: at 0 they are the ``ct``
phantom's (radius 0.045–0.085, −350 … 60 HU), at 1 they are radius 0.035–0.06 and
−700 … −450 HU, fainter than the vessels around them. A vessel brighter than a nodule stays
visible through it. The mask is still exact: it marks the nodules only, never a vessel.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from latentviz.data.phantoms import ct
from latentviz.data.phantoms.geometry import F32, col, tube
from latentviz.data.phantoms.lesions import checked_difficulty, sample_lesions

__all__ = ["DEFAULT_DIFFICULTY", "FACTORS", "UNITS", "WINDOW", "render_raw", "sample_factors"]

FACTORS = (*ct.FACTORS, "difficulty", "vessel_density")
WINDOW = ct.WINDOW
UNITS = ct.UNITS
#: The difficulty ``generate("ct-hard", …)`` uses unless told otherwise.
DEFAULT_DIFFICULTY = 0.25  # a classifier trained by recipes/hard_phantom_auc.py: AUC 0.875

_BRANCHES = 3  # levels of the vessel tree (1 trunk → 2 → 4 per root)
_ROOTS = 3  # trunks per hilum
_CROSS = 7  # vessels cut across, per lung
_AIRWAYS = 2  # airway rings per lung


def _lerp(a: float, b: float, t: np.ndarray) -> np.ndarray:
    return (a + (b - a) * t).astype(F32)


def sample_factors(
    rng: np.random.Generator, labels: np.ndarray, difficulty: float | None = None
) -> dict[str, np.ndarray]:
    """Draw every factor for a batch with the given labels at ``difficulty`` (0 … 1)."""
    d = checked_difficulty(difficulty, DEFAULT_DIFFICULTY)
    f = ct.sample_factors(rng, labels)
    n = labels.shape[0]
    f["blur"] = rng.uniform(0.4, 0.9, n).astype(F32)  # partial volume: thicker effective slice
    f["vessel_density"] = rng.uniform(0.7, 1.3, n).astype(F32)
    f["difficulty"] = np.full(n, d, F32)
    # Nodules: redrawn in the difficulty's ranges (size and attenuation).
    size_range = (float(_lerp(0.045, 0.035, np.float32(d))), float(_lerp(0.085, 0.06, np.float32(d))))
    hu_range = (float(_lerp(-350.0, -700.0, np.float32(d))), float(_lerp(60.0, -450.0, np.float32(d))))
    f.update(sample_lesions(rng, labels, size_range=size_range, intensity_range=hu_range))
    return f


def _vessels_and_airways(img: np.ndarray, ctx: dict, density: np.ndarray) -> None:
    X, Y, px, lungs, box, rng = ctx["X"], ctx["Y"], ctx["px"], ctx["lungs"], ctx["box"], ctx["rng"]
    n = X.shape[0]
    # Draws in a fixed order and shape, whatever the factors.
    roots = rng.random((2, _ROOTS, 4, n), dtype=F32)
    forks = rng.random((2, _ROOTS, 2 ** (_BRANCHES - 1), 2, n), dtype=F32)
    cross = rng.random((2, _CROSS, 4, n), dtype=F32)
    rings = rng.random((2, _AIRWAYS, 3, n), dtype=F32)
    vessel = np.zeros_like(X)
    airway_wall, airway_air = np.zeros_like(X), np.zeros_like(X)
    cy, ax, ay = col(box["cy"]), col(box["ax"]), col(box["ay"])
    for s_i, side in enumerate((-1.0, 1.0)):
        cx = col(side * box["cx"])
        hx, hy = cx - side * 0.7 * ax, cy  # hilum: the lung's medial edge
        outward = 0.0 if side > 0 else np.pi
        for r in range(_ROOTS):
            u = [col(roots[s_i, r, j]) for j in range(4)]
            ang = outward + side * (u[0] - 0.5) * 2.2
            length = (0.45 + 0.3 * u[1]) * ax
            width = (0.014 + 0.01 * u[2]) * col(density)
            starts = [(hx, hy, ang, length, width)]
            for level in range(_BRANCHES):
                nxt = []
                for b, (x0, y0, a, ln, w) in enumerate(starts):
                    vessel = np.maximum(vessel, tube(x0, y0, a, ln, w, X, Y, px))
                    if level + 1 < _BRANCHES:
                        x1, y1 = x0 + ln * np.cos(a), y0 + ln * np.sin(a)
                        for k, sign in enumerate((-1.0, 1.0)):
                            jitter = col(forks[s_i, r, b * 2 + k, k])
                            nxt.append((x1, y1, a + sign * (0.35 + 0.3 * jitter), 0.6 * ln, 0.7 * w))
                starts = nxt
        # Vessels cut across: bright round spots, as big and as dense as small nodules.
        for k in range(_CROSS):
            u = [col(cross[s_i, k, j]) for j in range(4)]
            x = cx + (u[0] - 0.5) * 1.5 * ax
            y = cy + (u[1] - 0.5) * 1.5 * ay
            rad = (0.018 + 0.022 * u[2]) * col(density)
            spot = np.clip((rad - np.hypot(X - x, Y - y)) / px + 0.5, 0.0, 1.0)
            vessel = np.maximum(vessel, spot * (u[3] < 0.5 + 0.4 * (col(density) - 0.7)))
        # Airways beside the hilar vessels: air inside a soft-tissue wall.
        for k in range(_AIRWAYS):
            u = [col(rings[s_i, k, j]) for j in range(3)]
            x = hx + side * (0.15 + 0.35 * u[0]) * ax
            y = hy + (u[1] - 0.5) * 0.8 * ay
            rad = 0.02 + 0.015 * u[2]
            d = np.hypot(X - x, Y - y)
            airway_wall = np.maximum(airway_wall, np.clip((0.3 * rad + px - np.abs(d - rad)) / px, 0, 1))
            airway_air = np.maximum(airway_air, np.clip((rad - d) / px + 0.5, 0, 1))
    vessel *= lungs
    img += vessel * (-20.0 - img)  # blood in a vessel: about -20 HU after partial volume
    img += airway_wall * lungs * (20.0 - img)
    img += airway_air * lungs * (ct.HU["air"] - img)


def render_raw(
    f: dict[str, np.ndarray], size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Render a batch: ``raw`` float32 ``(n, size, size)`` in HU and the nodule mask."""
    base = {k: f[k] for k in ct.FACTORS}
    in_lungs = partial(_vessels_and_airways, density=f["vessel_density"])
    return ct.render_raw(base, size, rng, in_lungs=in_lungs, lesion_over_brighter=False)
