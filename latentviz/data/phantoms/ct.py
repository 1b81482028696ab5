"""Thoracic CT axial slice phantom, in Hounsfield units.

Tissues are painted back to front with soft edges (air -1000, fat -100, muscle
40, blood 50, lung ~-850 with vessels, bone: cortex 800 / marrow 250, ribs 700),
then blurred (partial volume) and given quantum noise. ``z_position`` moves the
slice from the apex (0: small lungs, trachea, no heart) to the base (1: large
heart, the liver dome rising into the right lung). The patient lies supine on the
scanner table (image bottom = posterior); the table does not rotate with them.

The window ``(-600, 1500)`` (a lung window) maps ``raw`` to ``[-1, 1]``: lung,
nodules (-350 … 60 HU), soft tissue and bone stay apart.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentviz.data.phantoms.geometry import F32, body_grid, col, fft_blur, inside, pixel_grid, smooth_noise
from latentviz.data.phantoms.geometry import blur_rows as _blur_rows
from latentviz.data.phantoms.lesions import (
    LESION_FACTORS,
    MASK_THRESHOLD,
    lesion_blob,
    lesion_slots,
    sample_lesions,
)

__all__ = ["FACTORS", "HU", "UNITS", "WINDOW", "lung_box", "render_raw", "sample_factors"]

FACTORS = (
    "rotation",  # in-plane rotation, degrees
    "shift_x",
    "shift_y",
    "body_width",  # half-width of the body ellipse
    "body_thickness",  # anterior-posterior half-thickness of the body ellipse
    "fat_thickness",  # subcutaneous fat layer
    "z_position",  # 0 = lung apex … 1 = lung base
    "breast_size",  # 0 = none
    "noise",  # HU standard deviation
    "blur",  # Gaussian sigma, pixels at 64 px
    *LESION_FACTORS,  # lesion_intensity: nodule attenuation in HU (-350 part-solid … 60 solid)
)

WINDOW = (-600.0, 1500.0)
UNITS = "HU"
HU = {
    "air": -1000.0,
    "lung": -850.0,
    "fat": -100.0,
    "muscle": 40.0,
    "blood": 50.0,
    "liver": 60.0,
    "marrow": 250.0,
    "cortex": 800.0,
    "rib": 700.0,
    "csf": 15.0,
    "table": 150.0,
    "foam": -600.0,
}
TABLE_TOP = 0.74  # image y of the table surface; the body rests on it


def sample_factors(rng: np.random.Generator, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Draw every factor for a batch with the given labels."""
    n = labels.shape[0]
    u = lambda lo, hi: rng.uniform(lo, hi, n).astype(F32)  # noqa: E731
    f = {
        "rotation": u(-12.0, 12.0),
        "shift_x": u(-0.05, 0.05),
        "shift_y": u(-0.03, 0.0),
        "body_width": u(0.74, 0.9),
        "body_thickness": u(0.46, 0.6),
        "fat_thickness": u(0.02, 0.08),
        "z_position": u(0.0, 1.0),
        "breast_size": (u(0.3, 1.0) * (rng.random(n) < 0.5)).astype(F32),
        "noise": u(8.0, 25.0),
        "blur": u(0.0, 0.8),
    }
    f.update(sample_lesions(rng, labels, size_range=(0.045, 0.085), intensity_range=(-350.0, 60.0)))
    return f


def _paint(img: np.ndarray, weight: np.ndarray, value: float | np.ndarray) -> None:
    """Paint ``value`` over ``img`` in place where ``weight`` (soft, in [0, 1]) is set."""
    img += weight * (value - img)


def _ellipse(X, Y, cx, cy, ax, ay, px) -> np.ndarray:
    """Soft filled ellipse (semi-axes ``ax, ay``) with a one-pixel rim."""
    return inside(((X - cx) / ax) ** 2 + ((Y - cy) / ay) ** 2, 2.0 * px / np.minimum(ax, ay))


def lung_box(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Centre offset and semi-axes of each lung at the slice's z (body coordinates, per sample).

    Lungs grow from the apex to mid-thorax; the heart and liver take their space below.
    """
    z = f["z_position"]
    grow = 0.5 + 0.5 * np.sin(0.5 * np.pi * np.clip(z / 0.6, 0.0, 1.0))
    bw, bt, fat = f["body_width"], f["body_thickness"], f["fat_thickness"]
    cy = TABLE_TOP - bt
    return {
        "cx": 0.44 * (bw - fat),
        "cy": cy - 0.02 * bt,
        "ax": 0.34 * (bw - fat) * grow,
        "ay": 0.74 * (bt - fat) * grow,
    }


def render_raw(
    f: dict[str, np.ndarray],
    size: int,
    rng: np.random.Generator,
    in_lungs: Callable[[np.ndarray, dict], None] | None = None,
    lesion_over_brighter: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Render a batch: ``raw`` float32 ``(n, size, size)`` in HU and the nodule mask.

    ``in_lungs(img, ctx)`` (the hard variant's hook) paints into the lungs after the
    anatomy and before the nodules; ``ctx`` holds the grids, the soft lung mask and the
    boxes. It runs after every draw of this function's own streams, so without it the
    images are exactly the published ones.
    """
    n = f["rotation"].shape[0]
    # Random streams in a fixed order, whatever the factors (see cxr.render_raw).
    shapes = rng.random((3, n, 4), dtype=F32)
    vessels_tex = smooth_noise(rng, n, size, 0.012)
    gland_tex = smooth_noise(rng, n, size, 0.03)
    pixel_noise = rng.standard_normal((n, size, size), dtype=F32)

    X, Y = body_grid(size, f["rotation"], f["shift_x"], f["shift_y"], np.ones(n, F32))
    px = 2.0 / size
    bw, bt, fat = col(f["body_width"]), col(f["body_thickness"]), col(f["fat_thickness"])
    z = col(f["z_position"])
    cy = TABLE_TOP - bt  # body centre: the back rests on the table
    img = np.full((n, size, size), HU["air"], F32)

    # Scanner table (fixed in the image): carbon shell around a foam core.
    gx, gy = pixel_grid(size)
    surface = TABLE_TOP + 0.01 + 0.12 * gx**2
    table = np.clip((0.95 - np.abs(gx)) / px, 0.0, 1.0)
    _paint(img, table * np.clip((gy - surface) / px + 0.5, 0, 1) * np.clip((surface + 0.1 - gy) / px, 0, 1),
           HU["foam"])  # fmt: skip
    for depth in (0.0, 0.09):
        shell = np.clip((0.012 - np.abs(gy - surface - depth - 0.006)) / px + 0.5, 0, 1)
        _paint(img, table * shell, HU["table"])

    # Breasts, then the body: subcutaneous fat over muscle.
    bs = col(f["breast_size"])
    for side in (-1.0, 1.0):
        breast = _ellipse(X, Y, side * 0.42 * bw, cy - 0.82 * bt, 0.32 * bs + 1e-3, 0.24 * bs + 1e-3, px)
        _paint(img, breast, HU["fat"])
        gland = _ellipse(X, Y, side * 0.42 * bw, cy - 0.86 * bt, 0.18 * bs + 1e-3, 0.14 * bs + 1e-3, px)
        _paint(img, gland * np.clip(0.5 + 0.5 * gland_tex, 0, 1), 20.0)
    body_level = np.abs(X / bw) ** 2.3 + np.abs((Y - cy) / bt) ** 2.3
    _paint(img, inside(body_level, 2.3 * px / bt), HU["fat"])
    muscle_level = np.abs(X / (bw - fat)) ** 2.3 + np.abs((Y - cy) / (bt - fat)) ** 2.3
    _paint(img, inside(muscle_level, 2.3 * px / bt), HU["muscle"])

    # Ribs: one periodic field around the thoracic wall gives all the rib cross-sections.
    ring_x, ring_y = bw - fat - 0.045, bt - fat - 0.045
    phi = np.arctan2((Y - cy) / ring_y, X / ring_x)
    radial = np.sqrt((X / ring_x) ** 2 + ((Y - cy) / ring_y) ** 2)
    rib = np.clip((0.022 - np.abs(radial - 1.0) * ring_y) / px + 0.5, 0, 1)
    rib *= np.clip((np.cos(9.0 * phi + 2.0 * z) - 0.75) * 8.0, 0, 1)
    rib *= np.clip((np.abs(np.sin(phi)) < 0.93) + (np.abs(X) > 0.3 * bw), 0, 1)  # not at sternum/spine
    _paint(img, rib, HU["rib"])

    # Sternum (anterior) and the vertebra (posterior): cortex shell around marrow.
    sternum_y = cy - bt + fat + 0.05
    _paint(img, _ellipse(X, Y, 0.0, sternum_y, 0.065, 0.03, px), HU["cortex"])
    _paint(img, _ellipse(X, Y, 0.0, sternum_y, 0.04, 0.015, px), HU["marrow"])
    vy = cy + 0.45 * bt
    _paint(img, _ellipse(X, Y, 0.0, vy + 0.135, 0.085, 0.06, px), HU["cortex"])  # lamina
    _paint(img, _ellipse(X, Y, 0.0, vy + 0.2, 0.022, 0.07, px), HU["cortex"])  # spinous process
    _paint(img, _ellipse(X, Y, 0.0, vy, 0.09, 0.08, px), HU["cortex"])  # vertebral body
    _paint(img, _ellipse(X, Y, 0.0, vy, 0.07, 0.06, px), HU["marrow"])
    _paint(img, _ellipse(X, Y, 0.0, vy + 0.13, 0.04, 0.035, px), HU["csf"])  # spinal canal

    # Lungs, with vessels; the heart, liver and mediastinum take their place below.
    box = {k: col(v) for k, v in lung_box(f).items()}
    heart_grow = np.clip((z - 0.38) / 0.5, 0.0, 1.0) ** 0.6
    liver_grow = np.clip((z - 0.72) / 0.28, 0.0, 1.0)
    hx, hy = 0.1 * bw, cy - 0.28 * bt
    heart = _ellipse(X, Y, hx, hy, 0.3 * bw * heart_grow + 1e-3, 0.45 * bt * heart_grow + 1e-3, px)
    peri = _ellipse(X, Y, hx, hy, 0.32 * bw * heart_grow + 1e-3, 0.48 * bt * heart_grow + 1e-3, px)
    # The liver dome rises into the right lung from its anterior-medial side.
    liver_ax, liver_ay = 0.28 * bw * liver_grow + 1e-3, 0.38 * bt * liver_grow + 1e-3
    liver = _ellipse(X, Y, -0.24 * bw, cy - 0.15 * bt, liver_ax, liver_ay, px)
    mediastinum = np.clip((0.09 - np.abs(X - 0.02)) / px + 0.5, 0, 1)
    occupied = np.maximum(np.maximum(peri, liver), mediastinum)
    lungs = np.zeros_like(X)
    for side in (-1.0, 1.0):
        lvl = np.abs((X - side * box["cx"]) / box["ax"]) ** 2.2 + np.abs((Y - box["cy"]) / box["ay"]) ** 2.2
        lungs += inside(lvl, 2.2 * px / box["ax"])
    lungs *= 1.0 - occupied
    vessels = np.clip((vessels_tex - 1.6) * 1.5, 0.0, 1.0)
    _paint(img, lungs, HU["lung"] + 700.0 * vessels)
    _paint(img, peri, HU["fat"])
    _paint(img, heart, 45.0)
    _paint(img, liver, HU["liver"])

    # Great vessels and airways.
    in_range = lambda lo, hi: ((z >= lo) & (z <= hi)).astype(F32)  # noqa: E731
    _paint(img, _ellipse(X, Y, 0.11 * bw, vy - 0.15, 0.065, 0.065, px) * in_range(0.22, 1.0), HU["blood"])
    _paint(img, _ellipse(X, Y, 0.03, cy - 0.3 * bt, 0.07, 0.07, px) * in_range(0.3, 0.55), HU["blood"])
    _paint(img, _ellipse(X, Y, -0.1, cy - 0.25 * bt, 0.045, 0.045, px) * in_range(0.0, 0.55), HU["blood"])
    _paint(img, _ellipse(X, Y, 0.14, cy - 0.32 * bt, 0.06, 0.06, px) * in_range(0.45, 0.58), HU["blood"])
    trachea = in_range(0.0, 0.45)
    _paint(img, _ellipse(X, Y, 0.0, cy - 0.05 * bt, 0.06, 0.055, px) * trachea, HU["muscle"])
    _paint(img, _ellipse(X, Y, 0.0, cy - 0.05 * bt, 0.048, 0.043, px) * trachea, HU["air"])
    for side in (-1.0, 1.0):
        _paint(img, _ellipse(X, Y, side * 0.085, cy, 0.03, 0.03, px) * in_range(0.45, 0.6), HU["air"])

    raw_box = lung_box(f)
    if in_lungs is not None:
        ctx = {"X": X, "Y": Y, "px": px, "lungs": lungs, "box": raw_box, "cy": cy, "z": z, "rng": rng}
        in_lungs(img, ctx)

    # Nodules, inside the lungs only.
    lesion = np.zeros_like(X)
    for k, (lx, ly, lr) in enumerate(lesion_slots(f)):
        side = np.where(lx < 0, -1.0, 1.0).astype(F32)
        a = raw_box["ax"]
        # Lateral and mid-posterior lung, where the heart and liver never reach.
        cx = side * (raw_box["cx"] + (np.abs(lx) - 0.3) * 0.9 * a)
        cyl = raw_box["cy"] + (ly - 0.45) * 1.1 * raw_box["ay"]
        # Right-lung nodules move posterior as the liver dome fills the anterior base.
        liver_grow = np.clip((f["z_position"] - 0.72) / 0.28, 0.0, 1.0)
        cyl = cyl + (side < 0) * 0.35 * f["body_thickness"] * liver_grow
        lesion = np.maximum(lesion, lesion_blob(X, Y, cx, cyl, lr, shapes[k], 0.03))  # 1 px at 64 px
    lesion *= lungs
    value = col(f["lesion_intensity"])
    _paint(img, lesion if lesion_over_brighter else lesion * (img < value), value)
    # The mask follows the nodule as rendered: blurred like the image.
    sigma = f["blur"] * size / 64.0
    mask = _blur_rows(lesion, sigma) > MASK_THRESHOLD

    raw = fft_blur(img, sigma) + col(f["noise"]) * pixel_noise
    return np.clip(raw, -1024.0, 3071.0).astype(F32), mask
