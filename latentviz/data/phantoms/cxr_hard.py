"""Chest radiograph, hard variant: opacities among look-alikes.

The anatomy of :mod:`latentviz.data.phantoms.cxr` (the same factors, the same streams), with
what makes a real opacity hard to see added to the film:

* **anterior ribs** sloping down towards the midline across the posterior ones, so that every
  crossing is a small bright patch the size of a faint opacity;
* **vascular markings**: tapering trees from each hilum and vessels seen end-on (bright round
  spots), and **nipple shadows** over the lower zones in some patients;
* a fuller **body outline**: the arms beside the chest wall, the humeral heads and the medial
  borders of the scapulae over the lateral lungs;
* **opacities with texture** (a finer mottle than the plain phantom's ground glass) and, in
  the denser ones, **air bronchograms**: dark branching airways inside the consolidation.

``difficulty`` (a factor, 0 … 1, the same for a whole batch unless set per image) shrinks the
opacities and fades them: at 0 they are the ``cxr`` phantom's (radius 0.075–0.15, intensity
0.45–1), at 1 radius 0.045–0.09 and intensity 0.15–0.45. The mask is exact: it marks the
opacities only, never a rib crossing, a vessel or a nipple.
"""

from __future__ import annotations

import numpy as np

from latentviz.data.phantoms import cxr
from latentviz.data.phantoms.geometry import F32, col, inside, smooth_noise, tube
from latentviz.data.phantoms.lesions import checked_difficulty, lerp, sample_lesions

__all__ = ["DEFAULT_DIFFICULTY", "FACTORS", "UNITS", "WINDOW", "render_raw", "sample_factors"]

FACTORS = (*cxr.FACTORS, "difficulty", "rib_density", "vessel_density")
WINDOW = cxr.WINDOW
UNITS = cxr.UNITS
#: The difficulty ``generate("cxr-hard", …)`` uses unless told otherwise.
DEFAULT_DIFFICULTY = 0.25

_ROOTS = 3  # vessel trunks per hilum
_BRANCHES = 3  # levels of each tree
_END_ON = 6  # vessels seen end-on, per lung


def sample_factors(
    rng: np.random.Generator, labels: np.ndarray, difficulty: float | None = None
) -> dict[str, np.ndarray]:
    """Draw every factor for a batch with the given labels at ``difficulty`` (0 … 1)."""
    d = checked_difficulty(difficulty, DEFAULT_DIFFICULTY)
    f = cxr.sample_factors(rng, labels)
    n = labels.shape[0]
    f["rib_density"] = rng.uniform(0.8, 1.3, n).astype(F32)
    f["vessel_density"] = rng.uniform(0.7, 1.3, n).astype(F32)
    f["difficulty"] = np.full(n, d, F32)
    size_range = (lerp(0.075, 0.045, d), lerp(0.15, 0.09, d))
    intensity_range = (lerp(0.45, 0.15, d), lerp(1.0, 0.45, d))
    f.update(sample_lesions(rng, labels, size_range=size_range, intensity_range=intensity_range))
    return f


def _ramp(v: np.ndarray, lo: float | np.ndarray, width: float) -> np.ndarray:
    return np.clip((v - lo) / width, 0.0, 1.0)


def _anatomy(D: np.ndarray, ctx: dict) -> None:
    """Anterior ribs, vascular markings, nipples, arms, humeral heads and scapulae."""
    X, Y, px, lw, lh, rng, f = ctx["X"], ctx["Y"], ctx["px"], ctx["lw"], ctx["lh"], ctx["rng"], ctx["f"]
    n = X.shape[0]
    # Draws in a fixed order and shape, whatever the factors.
    roots = rng.random((2, _ROOTS, 3, n), dtype=F32)
    forks = rng.random((2, _ROOTS, 2 ** (_BRANCHES - 1), n), dtype=F32)
    spots = rng.random((2, _END_ON, 4, n), dtype=F32)
    nipple = rng.random((2, n), dtype=F32)
    lungs = ctx["lungs"]
    ribs, vessels = col(f["rib_density"]), col(f["vessel_density"])
    for side in (-1.0, 1.0):
        xs = side * X
        s_i = int(side > 0)
        # Anterior ribs: bands that fall towards the midline; they fade where the
        # cartilage (invisible on film) takes over, a little lateral of the spine.
        phase = (Y + 0.42 * xs - 0.18 * xs**2 + 0.62) / (0.2 * lh)
        band = np.clip((np.cos(2 * np.pi * phase) - np.cos(np.pi * 0.32)) * 3.0, 0.0, 1.0)
        gate = _ramp(phase, -0.2, 0.4) * _ramp(-phase, -5.2, 0.4) * _ramp(xs, 0.16, 0.12)
        gate = gate * _ramp(0.88 * lw - xs, 0.0, 0.06)
        D += 0.1 * ribs * band * gate
        # Vascular markings: trees tapering from the hilum towards the pleura.
        hx, hy = col(side * 0.22) * lw, 0.0 * lh
        outward = 0.0 if side > 0 else np.pi
        tree = np.zeros_like(X)
        for r in range(_ROOTS):
            u = [col(roots[s_i, r, j]) for j in range(3)]
            starts = [
                (hx, hy, outward + side * (u[0] - 0.5) * 2.4, (0.22 + 0.1 * u[1]) * lw, 0.02 + 0.008 * u[2])
            ]
            for level in range(_BRANCHES):
                nxt = []
                for b, (x0, y0, a, ln, w) in enumerate(starts):
                    tree = np.maximum(tree, tube(x0, y0, a, ln, w, X, Y, px))
                    if level + 1 < _BRANCHES:
                        x1, y1 = x0 + ln * np.cos(a), y0 + ln * np.sin(a)
                        for k, sign in enumerate((-1.0, 1.0)):
                            turn = 0.3 + 0.35 * col(forks[s_i, r, (b * 2 + k) % forks.shape[2]])
                            nxt.append((x1, y1, a + sign * turn, 0.65 * ln, 0.7 * w))
                starts = nxt
        # Vessels seen end-on: bright round spots as big as the faintest opacities.
        for k in range(_END_ON):
            u = [col(spots[s_i, k, j]) for j in range(4)]
            x = side * (0.25 + 0.5 * u[0]) * lw
            y = (-0.5 + 1.0 * u[1]) * lh
            rad = 0.022 + 0.02 * u[2]
            spot = np.clip((rad - np.hypot(X - x, Y - y)) / px + 0.5, 0.0, 1.0)
            tree = np.maximum(tree, spot * (u[3] < 0.65))
        D += 0.2 * vessels * tree * lungs
        # Nipple shadow in some patients: a small soft disc over the lower zone.
        present = col(nipple[s_i] < 0.4)
        disc = inside(((X - side * 0.5 * lw) / 0.035) ** 2 + ((Y - 0.5 * lh) / 0.035) ** 2, 2 * px / 0.035)
        D += 0.16 * present * disc
        # Body outline: the arm beside the chest wall, the humeral head, the scapula's edge.
        D += 0.7 * _ramp(xs - 0.98, 0.0, 0.03) * _ramp(Y + 0.72, 0.0, 0.12)
        head = inside(((xs - 0.92) / 0.13) ** 2 + ((Y + 0.74) / 0.13) ** 2, 2 * px / 0.13)
        D += 0.3 * head
        edge = xs - (0.66 * lw + 0.12 * (Y + 0.7))
        scapula = np.clip((0.012 - np.abs(edge)) / px + 0.5, 0.0, 1.0) * _ramp(Y + 0.78, 0.0, 0.05)
        D += 0.1 * scapula * _ramp(-0.12 - Y, 0.0, 0.08)


def _opacity(lesion: np.ndarray, ctx: dict, fine: np.ndarray) -> np.ndarray:
    """Density of the opacities: a fine mottle, with air bronchograms in the dense ones."""
    X, Y, px, f = ctx["X"], ctx["Y"], ctx["px"], ctx["f"]
    intensity = col(f["lesion_intensity"])
    air = np.zeros_like(X)
    for cx, cy, lr in ctx["centres"]:
        cx, cy, r = col(cx), col(cy), col(lr)
        if not np.any(r > 0):
            continue
        side = np.sign(cx) + (cx == 0)
        # Two airways enter from the hilar side of the opacity and run through it.
        for turn in (-0.35, 0.3):
            a = np.where(side > 0, 0.0, np.pi) + side * turn
            x0 = cx - np.cos(a) * 0.9 * r
            y0 = cy - np.sin(a) * 0.9 * r
            air = np.maximum(air, tube(x0, y0, a, 1.8 * r, 0.02, X, Y, px) * (r > 0))
    bronchogram = air * _ramp(intensity, 0.5, 0.3)
    mottle = np.clip(0.7 + 0.3 * fine, 0.3, 1.2)
    return intensity * 0.8 * lesion * mottle * (1.0 - 0.6 * bronchogram)


def render_raw(
    f: dict[str, np.ndarray], size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Render a batch: ``raw`` float32 ``(n, size, size)`` in ``[0, 1]`` and the opacity mask."""
    base = {k: f[k] for k in cxr.FACTORS}
    extra = {k: f[k] for k in ("rib_density", "vessel_density")}
    n = f["rotation"].shape[0]
    state: dict = {}

    def anatomy(D: np.ndarray, ctx: dict) -> None:
        ctx["f"] = {**ctx["f"], **extra}
        _anatomy(D, ctx)
        state["fine"] = smooth_noise(ctx["rng"], n, size, 0.012)

    def opacity(lesion: np.ndarray, ctx: dict) -> np.ndarray:
        return _opacity(lesion, ctx, state["fine"])

    return cxr.render_raw(base, size, rng, anatomy=anatomy, opacity=opacity)
