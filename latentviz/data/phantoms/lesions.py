"""Lesion factors shared by the chest phantoms: how many, where, how big.

Lesion positions are stored lung-relative so that they stay inside the lungs when
the anatomy factors change: ``lesion_x`` is signed (negative = the lung on the
image's left) with ``|lesion_x|`` the fraction of the lung's width from its medial
edge (0) to its lateral edge (1); ``lesion_y`` runs from the lung's top (0) to its
bottom (1). Negatives have every lesion factor equal to 0.
"""

from __future__ import annotations

import numpy as np

from latentviz.data.phantoms.errors import PhantomArgumentError
from latentviz.data.phantoms.geometry import F32, col

__all__ = [
    "LESION_FACTORS",
    "MASK_THRESHOLD",
    "MAX_LESIONS",
    "checked_difficulty",
    "lerp",
    "lesion_blob",
    "lesion_slots",
    "sample_lesions",
]

MAX_LESIONS = 3
# A pixel belongs to the pathology mask when the lesion covers at least this fraction of it:
# a fifth keeps the partial-volume rim (and most of the blur) of a lesion inside its mask.
MASK_THRESHOLD = 0.2

# Per-sample summary factors, then the extra lesions' own position and size.
LESION_FACTORS = (
    "lesion_count",
    "lesion_size",
    "lesion_intensity",
    "lesion_x",
    "lesion_y",
    "lesion2_x",
    "lesion2_y",
    "lesion2_size",
    "lesion3_x",
    "lesion3_y",
    "lesion3_size",
)


def sample_lesions(
    rng: np.random.Generator,
    labels: np.ndarray,
    size_range: tuple[float, float],
    intensity_range: tuple[float, float],
    count_probs: tuple[float, ...] = (0.5, 0.3, 0.2),
) -> dict[str, np.ndarray]:
    """Draw the lesion factors for a batch (zeros where ``labels == 0``)."""
    n = labels.shape[0]
    pos = labels.astype(F32)
    count = rng.choice(np.arange(1, len(count_probs) + 1), size=n, p=count_probs).astype(F32)
    side = np.where(rng.random((MAX_LESIONS, n)) < 0.5, -1.0, 1.0).astype(F32)
    u = rng.uniform(0.3, 0.8, (MAX_LESIONS, n)).astype(F32)
    v = rng.uniform(0.25, 0.7, (MAX_LESIONS, n)).astype(F32)
    radius = rng.uniform(*size_range, (MAX_LESIONS, n)).astype(F32)
    intensity = rng.uniform(*intensity_range, n).astype(F32)
    out = {
        "lesion_count": count * pos,
        "lesion_size": radius[0] * pos,
        "lesion_intensity": intensity * pos,
        "lesion_x": side[0] * u[0] * pos,
        "lesion_y": v[0] * pos,
    }
    for k in (2, 3):
        present = pos * (count >= k)
        out[f"lesion{k}_x"] = side[k - 1] * u[k - 1] * present
        out[f"lesion{k}_y"] = v[k - 1] * present
        out[f"lesion{k}_size"] = radius[k - 1] * present
    return {k: v.astype(F32) for k, v in out.items()}


def lesion_slots(factors: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(x, y, radius)`` of each of the :data:`MAX_LESIONS` lesion slots (radius 0 = absent)."""
    count = factors["lesion_count"]
    slots = [(factors["lesion_x"], factors["lesion_y"], factors["lesion_size"] * (count >= 1))]
    for k in (2, 3):
        present = count >= k
        slots.append((factors[f"lesion{k}_x"], factors[f"lesion{k}_y"], factors[f"lesion{k}_size"] * present))
    return slots


def lesion_blob(
    X: np.ndarray,
    Y: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    radius: np.ndarray,
    shape: np.ndarray,
    edge: np.ndarray,
) -> np.ndarray:
    """A soft lobulated, elongated blob ``(n, H, W)`` in ``[0, 1]``.

    ``shape`` is ``(n, 4)`` in ``[0, 1)`` drawn from the noise stream: elongation,
    orientation and the phases of two lobulation harmonics. ``edge`` is the soft
    rim's width in body units (per sample, ``(n, 1, 1)`` or scalar). Zero radius
    gives an empty blob.
    """
    out = np.zeros(X.shape, F32)
    rows = np.flatnonzero(np.asarray(radius) > 0)  # draw only where a lesion exists
    if rows.size == 0:
        return out
    edge = np.broadcast_to(np.asarray(edge, F32).reshape(-1, 1, 1), (X.shape[0], 1, 1))[rows]
    X, Y, cx, cy, radius, shape = X[rows], Y[rows], cx[rows], cy[rows], radius[rows], shape[rows]
    r = col(radius)
    dx, dy = X - col(cx), Y - col(cy)
    ang = col(shape[:, 1] * np.pi)
    ca, sa = np.cos(ang), np.sin(ang)
    elong = col(1.0 + 0.35 * shape[:, 0])
    u = (ca * dx + sa * dy) / (r * elong)
    w = (ca * dy - sa * dx) * elong / r
    theta = np.arctan2(w, u)
    lobes = (
        1.0
        + 0.12 * np.cos(3 * theta + col(shape[:, 2] * 2 * np.pi))
        + 0.08 * np.cos(5 * theta + col(shape[:, 3] * 2 * np.pi))
    )
    level = (u * u + w * w) / (lobes * lobes)
    # Near the rim level ~ (d / r)^2, so a ramp of width ``edge`` in distance is 2 edge / r in level.
    blob = np.clip((1.0 - level) * r / (2.0 * edge) + 0.5, 0.0, 1.0)
    out[rows] = blob
    return out


def checked_difficulty(difficulty: float | None, default: float) -> float:
    """A hard kind's difficulty: ``default`` when ``None``, else a number in ``[0, 1]``."""
    d = default if difficulty is None else float(difficulty)
    if not 0.0 <= d <= 1.0:
        raise PhantomArgumentError(f"difficulty={difficulty!r}: must lie in [0, 1]")
    return d


def lerp(a: float, b: float, t: float) -> float:
    """``a`` at ``t = 0`` to ``b`` at ``t = 1``."""
    return float(a + (b - a) * t)
