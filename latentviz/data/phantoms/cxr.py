"""Chest radiograph (PA view) phantom.

The renderer builds a projected density map ``D`` (soft tissue thickness minus the
air in the lungs plus bone, breast and lesion density) in body coordinates, then
forms the radiograph as ``1 - exp(-k D)`` so that dense structures are bright over
dark lungs, as on a real film. ``raw`` is that brightness in ``[0, 1]``; the window
``(0.5, 1.0)`` maps it to ``[-1, 1]``.

Body coordinates: ``X`` to the image's right (the patient's left), ``Y`` down,
``[-1, 1]`` spanning the image for ``patient_size = 1``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentviz.data.phantoms.geometry import F32, body_grid, col, fft_blur, inside, smooth_noise
from latentviz.data.phantoms.geometry import blur_rows as _blur_rows
from latentviz.data.phantoms.lesions import (
    LESION_FACTORS,
    MASK_THRESHOLD,
    lesion_blob,
    lesion_slots,
    sample_lesions,
)

__all__ = ["FACTORS", "WINDOW", "render_raw", "sample_factors"]

FACTORS = (
    "rotation",  # in-plane patient rotation, degrees (positive = clockwise on screen)
    "shift_x",  # position shift, fraction of the half-image
    "shift_y",
    "patient_size",  # scale of the whole patient
    "lung_height",  # inspiration depth: apex-to-base length of the lungs
    "lung_width",
    "ctr",  # cardiothoracic ratio: heart width / inner thorax width
    "breast_size",  # 0 = no breast shadow
    "exposure",  # > 1 = harder exposure, darker film
    "contrast",  # gamma of the film response
    "noise",  # standard deviation of the additive noise, in raw units
    "blur",  # Gaussian blur sigma, pixels at 64 px (scales with size)
    # lesion_intensity: the fraction of the lung's air replaced (~0.45 ground glass … 1 consolidation)
    *LESION_FACTORS,
)

WINDOW = (0.5, 1.0)
UNITS = "brightness"

_TOP = -0.74  # lung apex height in body coordinates
_THORAX_HALF_WIDTH = 0.85  # inner rib cage half-width at lung_width = 1, for the CTR


def sample_factors(rng: np.random.Generator, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Draw every factor for a batch with the given labels."""
    n = labels.shape[0]
    u = lambda lo, hi: rng.uniform(lo, hi, n).astype(F32)  # noqa: E731
    f = {
        "rotation": u(-10.0, 10.0),
        "shift_x": u(-0.06, 0.06),
        "shift_y": u(-0.05, 0.05),
        "patient_size": u(0.88, 1.06),
        "lung_height": u(0.88, 1.08),
        "lung_width": u(0.92, 1.08),
        "ctr": u(0.38, 0.6),
        "breast_size": (u(0.3, 1.0) * (rng.random(n) < 0.6)).astype(F32),
        "exposure": u(0.85, 1.2),
        "contrast": u(0.8, 1.25),
        "noise": u(0.008, 0.03),
        "blur": u(0.0, 0.9),
    }
    f.update(sample_lesions(rng, labels, size_range=(0.075, 0.15), intensity_range=(0.45, 1.0)))
    return f


def _band(dist: np.ndarray, half_width: float | np.ndarray, px: np.ndarray) -> np.ndarray:
    """Soft indicator of ``|dist| < half_width`` with a one-pixel rim."""
    return np.clip((half_width - np.abs(dist)) / px + 0.5, 0.0, 1.0)


def _ramp(v: np.ndarray, lo: float | np.ndarray, width: float) -> np.ndarray:
    """0 below ``lo``, rising linearly to 1 at ``lo + width``."""
    return np.clip((v - lo) / width, 0.0, 1.0)


def render_raw(
    f: dict[str, np.ndarray],
    size: int,
    rng: np.random.Generator,
    anatomy: Callable[[np.ndarray, dict], None] | None = None,
    opacity: Callable[[np.ndarray, dict], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render a batch: ``raw`` float32 ``(n, size, size)`` in ``[0, 1]`` and the lesion mask.

    The hard variant's hooks: ``anatomy(D, ctx)`` adds to the density map after the plain
    anatomy and before the lesions; ``opacity(lesion, ctx)`` returns the lesions' density
    from their soft footprint (by default a ground-glass mottle). ``ctx`` holds the grids,
    the lung fields, the lesion centres, the texture and the random stream.
    """
    n = f["rotation"].shape[0]
    # Random streams drawn in a fixed order whatever the factors, so that a sample
    # re-rendered with other factors (e.g. without its lesion) keeps its noise.
    shapes = rng.random((3, n, 4), dtype=F32)
    texture = smooth_noise(rng, n, size, 0.025)
    pixel_noise = rng.standard_normal((n, size, size), dtype=F32)

    X, Y = body_grid(size, f["rotation"], f["shift_x"], f["shift_y"], f["patient_size"])
    px = col(2.0 / size / f["patient_size"])  # one pixel in body units
    lw, lh = col(f["lung_width"]), col(f["lung_height"])

    # Body: neck widening into the shoulders; projected soft-tissue thickness.
    s = np.clip((Y + 1.0) / 0.28, 0.0, 1.0)
    half_w = 0.2 + 0.74 * (1.0 - (1.0 - s) ** 2) - 0.05 * np.clip(Y - 0.55, 0.0, 1.0)
    t_body = np.sqrt(np.clip(1.0 - (X / half_w) ** 2, 0.0, 1.0))
    D = 0.95 * t_body

    # Heart (shifted to the patient's left) and the upper mediastinum with the aortic knob.
    hx = col(f["ctr"]) * _THORAX_HALF_WIDTH * lw
    heart = inside(((X - 0.3 * hx) / hx) ** 2 + ((Y - 0.3 * lh) / (0.3 * lh)) ** 2, 2 * px / hx)
    mediastinum = _band(X - 0.02, 0.11 + 0.03 * _ramp(Y, -0.6, 0.5), px) * (Y < 0.3)
    knob = inside(((X - 0.13) / 0.08) ** 2 + ((Y + 0.3 * lh) / 0.07) ** 2, 2 * px / 0.07)
    solid = np.maximum(np.maximum(heart, mediastinum), knob)

    # Lungs: superellipses flaring towards the base, cut by the diaphragm domes.
    top = _TOP
    lungs = np.zeros_like(X)
    depth = np.zeros_like(X)
    for side in (-1.0, 1.0):
        xs = side * X
        c, a = 0.45 * lw, 0.34 * lw
        bottom = top + 1.22 * lh + (0.05 if side > 0 else 0.0)
        cy, b = (top + bottom) / 2, (bottom - top) / 2
        vv = (Y - cy) / b
        uu = (xs - c) / (a * (0.82 + 0.2 * np.clip(vv, -1.0, 1.0)))
        au, av = np.abs(uu), np.abs(vv)
        level = au * au * np.sqrt(au) + av * av * np.sqrt(av)  # superellipse, exponent 2.5
        dome = bottom - 0.2 * lh * np.clip(1.0 - uu**2, 0.0, 1.0)
        field = inside(level, 2.5 * px / a) * np.clip((dome - Y) / px + 0.5, 0.0, 1.0)
        lungs += field
        depth += field * np.sqrt(np.clip(1.0 - level, 0.0, 1.0)) * _ramp(dome - Y, 0.0, 0.12)
    envelope = lungs.copy()  # the lungs' full extent, behind the heart too
    lungs *= 1.0 - solid
    depth *= 1.0 - solid
    # Lung markings: vessels branching from the hila, seen as a faint mottled texture.
    hilum = np.exp(-(((np.abs(X) - 0.22 * lw) / 0.25) ** 2) - ((Y - 0.0) / 0.35) ** 2)
    D -= 0.75 * depth * (1.0 - 0.12 * hilum - 0.05 * texture)

    # Trachea: an air column above the carina.
    D -= 0.18 * _band(X, 0.035, px) * _ramp(-0.25 * lh - Y, 0.0, 0.05) * (Y > -1.0)

    # Spine: vertebral bodies and discs, seen through the mediastinum.
    D += 0.3 * _band(X, 0.075, px) * (0.85 + 0.15 * np.cos(2 * np.pi * (Y / (0.12 * lh))))

    # Posterior ribs: one periodic field per side gives all the curved bands at once.
    for side in (-1.0, 1.0):
        xs = side * X
        phase = (Y - top + 0.08 + 0.12 * xs - 0.55 * xs**2) / (0.125 * lh)
        rib = np.clip((np.cos(2 * np.pi * phase) - np.cos(np.pi * 0.42)) * 4.0, 0.0, 1.0)
        gate = _ramp(phase, -0.3, 0.5) * _ramp(-phase, -10.3, 0.5)
        base = top + 1.22 * lh + 0.05 * (side > 0) + 0.06
        gate = gate * _ramp(xs, 0.05, 0.03) * _ramp(0.86 * lw - xs, 0.0, 0.06) * _ramp(base - Y, 0.0, 0.08)
        D += 0.13 * rib * gate * (1.0 + 0.8 * (xs / (0.86 * lw)) ** 4)

        # Clavicle: a band from the sternal end rising gently to the shoulder.
        yc = -0.68 * lh - 0.1 - 0.16 * xs + 0.05 * xs**2
        D += 0.3 * _band(Y - yc, 0.032, px) * _ramp(xs, 0.05, 0.03) * _ramp(0.62 - xs, 0.0, 0.05)

        # Breast shadow: extra soft tissue over the lower lateral lung field.
        bs = col(f["breast_size"])
        bx, by = side * 0.48 * lw, 0.42 * lh
        rx, ry = 0.3 * bs + 1e-3, 0.22 * bs + 1e-3
        lvl = ((X - bx) / rx) ** 2 + ((Y - by) / ry) ** 2
        D += 0.32 * np.sqrt(bs) * np.sqrt(np.clip(1.0 - lvl, 0.0, 1.0)) * _ramp(Y - by, -ry, ry)

    # Gastric air bubble under the left dome.
    l_bottom = top + 1.27 * lh
    D -= 0.22 * inside(((X - 0.4 * lw) / 0.1) ** 2 + ((Y - l_bottom - 0.08) / 0.05) ** 2, 2 * px / 0.05)
    ctx = {"X": X, "Y": Y, "px": px, "lw": lw, "lh": lh, "lungs": lungs, "envelope": envelope,
           "texture": texture, "rng": rng, "size": size, "f": f, "centres": []}  # fmt: skip
    if anatomy is not None:
        anatomy(D, ctx)

    # Lesions: opacities that replace part of the lungs' air, mottled like ground glass. They lie
    # in the lung volume, which extends behind the heart, so they add to its density there too.
    lesion = np.zeros_like(X)
    for k, (lx, ly, lr) in enumerate(lesion_slots(f)):
        side = np.where(lx < 0, -1.0, 1.0).astype(F32)
        c, a = 0.45 * f["lung_width"], 0.34 * f["lung_width"]
        cx = side * (c + (np.abs(lx) - 0.5) * 1.3 * a)
        bottom = _TOP + 1.22 * f["lung_height"] + 0.05 * (side > 0)
        cy = _TOP + ly * (bottom - _TOP)
        # A soft rim of fixed physical width (1.2 px at 64 px), so masks agree across sizes.
        lesion = np.maximum(lesion, lesion_blob(X, Y, cx, cy, lr, shapes[k], col(0.0375 / f["patient_size"])))
        ctx["centres"].append((cx, cy, lr))
    lesion = lesion * envelope
    if opacity is None:
        D += col(f["lesion_intensity"]) * 0.8 * lesion * (0.85 + 0.15 * texture)
    else:
        D += opacity(lesion, ctx)
    # The mask follows the lesion as rendered: blurred like the film.
    mask = _blur_rows(lesion, f["blur"] * size / 64.0) > MASK_THRESHOLD

    # Film response, blur and noise.
    k = 1.7 / col(f["exposure"])
    raw = (1.0 - np.exp(-k * np.clip(D, 0.0, None))) ** col(f["contrast"])
    raw = fft_blur(raw.astype(F32), f["blur"] * size / 64.0)
    raw = np.clip(raw + col(f["noise"]) * pixel_noise, 0.0, 1.0)
    return raw.astype(F32), mask
