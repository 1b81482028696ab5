"""Brain MRI, hard variant: tumours of graded conspicuity among enhancing look-alikes.

The slices of :mod:`latentviz.data.phantoms.brain` (the same template, factors and streams),
with two changes:

* **enhancing look-alikes** in every slice: cortical vessels and small enhancing spots
  (bright dots of a small tumour's size), painted before the tumour;
* **tumours of graded conspicuity**: each positive has a ``lesion_enhancement`` between 0 and 1.
  At 1 it is the plain phantom's ring-enhancing tumour with a necrotic core; at 0 it is a
  non-enhancing (low-grade-like) lesion, a mildly T1-hypointense region with a soft margin
  and no rim. Between, the rim fades and the core disappears below 0.5.

``difficulty`` (0 … 1) draws smaller tumours with less enhancement and less oedema: at 0
they are the plain phantom's sizes (radius 0.08–0.17), all enhancing (0.7–1); at 1 radius
0.05–0.1, and 60 % of them non-enhancing (0–0.15; the rest 0.3–1). At the default 0.25,
15 % do not enhance. The mask is the whole lesion (with its oedema), never a
look-alike.
"""

from __future__ import annotations

import numpy as np

from latentviz.data.phantoms import brain
from latentviz.data.phantoms.geometry import F32, col, tube
from latentviz.data.phantoms.lesions import MASK_THRESHOLD, checked_difficulty, lerp, lesion_blob

__all__ = [
    "DEFAULT_DIFFICULTY",
    "FACTORS",
    "UNITS",
    "WINDOW",
    "load_template",
    "render_raw",
    "sample_factors",
]

FACTORS = (*brain.FACTORS, "difficulty", "lesion_enhancement")
WINDOW = brain.WINDOW
UNITS = brain.UNITS
load_template = brain.load_template
#: The difficulty ``generate("brain-hard", …)`` uses unless told otherwise.
DEFAULT_DIFFICULTY = 0.25

_SPOTS = 5  # enhancing dots per slice
_VESSELS = 3  # cortical vessel segments per slice
_WM = 215.0  # white-matter intensity of the template (brain._WHITE_MATTER)


def sample_factors(
    rng: np.random.Generator, labels: np.ndarray, difficulty: float | None = None
) -> dict[str, np.ndarray]:
    """Draw every factor for a batch with the given labels at ``difficulty`` (0 … 1)."""
    d = checked_difficulty(difficulty, DEFAULT_DIFFICULTY)
    f = brain.sample_factors(rng, labels)
    n = labels.shape[0]
    pos = labels.astype(F32)
    u = lambda lo, hi: rng.uniform(lo, hi, n).astype(F32)  # noqa: E731
    f["difficulty"] = np.full(n, d, F32)
    f["lesion_size"] = u(lerp(0.08, 0.05, d), lerp(0.17, 0.1, d)) * pos
    # A share of the tumours does not enhance at all (growing with the difficulty); the
    # others enhance less as it grows.
    enhancing = u(lerp(0.7, 0.3, d), 1.0)
    silent = u(0.0, 0.15)
    f["lesion_enhancement"] = np.where(u(0.0, 1.0) < 0.6 * d, silent, enhancing) * pos
    f["lesion_oedema"] = u(lerp(0.3, 0.1, d), lerp(1.0, 0.5, d)) * pos
    return f


def _look_alikes(img: np.ndarray, ctx: dict) -> None:
    """Cortical vessels and enhancing dots inside the brain."""
    X, Y, px, rng, inside = ctx["X"], ctx["Y"], ctx["px"], ctx["rng"], ctx["brain"]
    n = X.shape[0]
    spots = rng.random((_SPOTS, 4, n), dtype=F32)
    vessels = rng.random((_VESSELS, 4, n), dtype=F32)
    bright = np.zeros_like(X)
    for k in range(_SPOTS):
        u = [col(spots[k, j]) for j in range(4)]
        x, y = (u[0] - 0.5) * 1.1, (u[1] - 0.5) * 1.3 - 0.15
        rad = 0.015 + 0.02 * u[2]
        dot = np.clip((rad - np.hypot(X - x, Y - y)) / px + 0.5, 0.0, 1.0)
        bright = np.maximum(bright, dot * (0.7 + 0.3 * u[3]))
    for k in range(_VESSELS):
        u = [col(vessels[k, j]) for j in range(4)]
        x0, y0 = (u[0] - 0.5) * 1.0, (u[1] - 0.5) * 1.2 - 0.15
        bright = np.maximum(bright, 0.8 * tube(x0, y0, u[2] * 2 * np.pi, 0.12 + 0.15 * u[3], 0.012, X, Y, px))
    bright *= inside
    img += bright * (1.25 * _WM - img)


def _graded_tumour(img: np.ndarray, ctx: dict) -> np.ndarray:
    """A tumour whose rim and core fade with ``lesion_enhancement``; returns the mask."""
    X, Y, f, shapes, inside, px = ctx["X"], ctx["Y"], ctx["f"], ctx["shapes"], ctx["brain"], ctx["px"]
    tx, ty, r, e = ctx["tx"], ctx["ty"], f["lesion_size"], col(f["lesion_enhancement"])
    outer = lesion_blob(X, Y, tx, ty, r * (1.0 + f["lesion_oedema"]), shapes, 1.5 * px) * inside
    body = lesion_blob(X, Y, tx, ty, r, shapes, 2.5 * px) * inside  # soft margin
    rim = lesion_blob(X, Y, tx, ty, r, shapes, px) * inside
    core = lesion_blob(X, Y, tx, ty, 0.6 * r, shapes, px) * inside
    img *= 1.0 - (0.12 + 0.18 * e) * outer  # oedema: hypointense, weaker when non-enhancing
    img *= 1.0 - 0.12 * (1.0 - e) * body  # the non-enhancing lesion itself: mildly hypointense
    img += e * rim * (col(f["lesion_intensity"]) * _WM - img)  # rim, as strong as the enhancement
    necrosis = np.clip((e - 0.5) * 2.0, 0.0, 1.0)
    img += necrosis * core * (0.35 * _WM - img)
    return np.maximum(outer, body) > MASK_THRESHOLD  # the soft margin can reach past thin oedema


def render_raw(
    f: dict[str, np.ndarray], size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Render a batch: ``raw`` float32 ``(n, size, size)`` (template units) and the lesion mask."""
    extra = {"lesion_enhancement": f["lesion_enhancement"]}
    base = {k: f[k] for k in brain.FACTORS}

    def tumour(img: np.ndarray, ctx: dict) -> np.ndarray:
        ctx["f"] = {**ctx["f"], **extra}
        return _graded_tumour(img, ctx)

    return brain.render_raw(base, size, rng, before_tumour=_look_alikes, tumour=tumour)
