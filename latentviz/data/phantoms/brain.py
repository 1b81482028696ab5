"""Brain MRI phantom: axial slices of the real MNI152 T1 template, deformed and given tumours.

Every output pixel is sampled from the 1 mm ICBM 2009a template that nilearn ships
(skull-stripped, intensities 0–255) with one trilinear ``grid_sample`` for the
whole batch: the sampling grid carries the slice position, the in-plane affine
(rotation, scale, shift) and a smooth elastic displacement. A multiplicative gain
and linear bias field vary the intensity.

Positives carry one tumour, drawn in template coordinates so that it deforms with
the brain: a necrotic core inside an enhancing rim (T1 with contrast), surrounded
by hypointense oedema. The mask is the whole tumour (rim, core and oedema) inside
the brain. The window ``(130, 260)`` maps raw intensities ``[0, 260]`` to ``[-1, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from latentviz.data.phantoms.geometry import F32, body_grid, col
from latentviz.data.phantoms.lesions import MASK_THRESHOLD, lesion_blob
from latentviz.errors import DependencyMissingError

__all__ = ["FACTORS", "UNITS", "WINDOW", "load_template", "render_raw", "sample_factors"]

FACTORS = (
    "slice_z",  # 0 = 20 mm below the AC-PC plane … 1 = 45 mm above it
    "rotation",  # in-plane rotation, degrees
    "scale",  # head size
    "shift_x",
    "shift_y",
    "elastic",  # magnitude of the smooth elastic displacement (fraction of the half-image)
    "gain",  # global intensity gain
    "bias_x",  # linear bias field slope along x (log gain per half-image)
    "bias_y",
    "noise",  # noise standard deviation, raw units
    "lesion_count",  # 1 tumour for positives, 0 for negatives
    "lesion_size",  # tumour (rim) radius, fraction of the half-image
    "lesion_intensity",  # enhancing-rim intensity relative to white matter
    "lesion_x",  # tumour centre, fraction of the brain's half-width (template coordinates)
    "lesion_y",  # … of the brain's half-length, anterior negative
    "lesion_oedema",  # oedema extent beyond the rim, fraction of the radius
)

WINDOW = (130.0, 260.0)
UNITS = "template intensity"

_Z_MM = (-20.0, 45.0)  # slice_z range in template millimetres (z of the AC-PC plane = 0)
_HALF_FOV_MM = 105.0  # half the field of view
_CENTER_MM = (0.0, -17.0)  # brain centre (x, y) in template millimetres
_BRAIN_HALF_MM = (68.0, 88.0)  # brain half-extents used for tumour placement
_WHITE_MATTER = 215.0


@lru_cache(maxsize=1)
def load_template() -> tuple[torch.Tensor, np.ndarray]:
    """The MNI152 template as a ``(1, 1, Z, Y, X)`` float32 tensor, and its affine.

    Raises
    ------
    DependencyMissingError
        When nilearn (which ships the template) is not installed.
    """
    try:
        from nilearn.datasets import MNI152_FILE_PATH
    except ImportError as exc:
        raise DependencyMissingError(
            'the brain phantom needs the MNI152 template from nilearn: pip install "latentviz[brain]"'
        ) from exc
    import nibabel as nib

    img = nib.load(MNI152_FILE_PATH)
    vol = np.asarray(img.dataobj, dtype=F32)  # (X, Y, Z) in RAS, 1 mm
    return torch.from_numpy(np.ascontiguousarray(vol.transpose(2, 1, 0)))[None, None], img.affine


def sample_factors(rng: np.random.Generator, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Draw every factor for a batch with the given labels."""
    n = labels.shape[0]
    u = lambda lo, hi: rng.uniform(lo, hi, n).astype(F32)  # noqa: E731
    pos = labels.astype(F32)
    return {
        "slice_z": u(0.0, 1.0),
        "rotation": u(-15.0, 15.0),
        "scale": u(0.9, 1.1),
        "shift_x": u(-0.06, 0.06),
        "shift_y": u(-0.06, 0.06),
        "elastic": u(0.0, 0.05),
        "gain": u(0.85, 1.15),
        "bias_x": u(-0.2, 0.2),
        "bias_y": u(-0.2, 0.2),
        "noise": u(2.0, 8.0),
        "lesion_count": pos,
        "lesion_size": u(0.08, 0.17) * pos,
        "lesion_intensity": u(1.1, 1.4) * pos,
        "lesion_x": u(-0.55, 0.55) * pos,
        "lesion_y": u(-0.5, 0.5) * pos,
        "lesion_oedema": u(0.3, 1.0) * pos,
    }


def _paint_tumour(img: np.ndarray, ctx: dict) -> np.ndarray:
    """The plain phantom's tumour: oedema, enhancing rim and necrotic core; returns the mask."""
    X, Y, f, shapes, brain, px = ctx["X"], ctx["Y"], ctx["f"], ctx["shapes"], ctx["brain"], ctx["px"]
    tx, ty, r = ctx["tx"], ctx["ty"], f["lesion_size"]
    outer = lesion_blob(X, Y, tx, ty, r * (1.0 + f["lesion_oedema"]), shapes, 1.5 * px) * brain
    rim = lesion_blob(X, Y, tx, ty, r, shapes, px) * brain
    core = lesion_blob(X, Y, tx, ty, 0.6 * r, shapes, px) * brain
    img *= 1.0 - 0.3 * outer  # oedema: T1-hypointense
    img += rim * (col(f["lesion_intensity"]) * _WHITE_MATTER - img)  # enhancing rim
    img += core * (0.35 * _WHITE_MATTER - img)  # necrotic core
    return outer > MASK_THRESHOLD


def render_raw(
    f: dict[str, np.ndarray],
    size: int,
    rng: np.random.Generator,
    before_tumour: Callable[[np.ndarray, dict], None] | None = None,
    tumour: Callable[[np.ndarray, dict], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render a batch: ``raw`` float32 ``(n, size, size)`` (template units) and the tumour mask.

    The hard variant's hooks: ``before_tumour(img, ctx)`` paints into the slice before the
    tumour; ``tumour(img, ctx)`` paints the tumour in place and returns its mask (default:
    the ring-enhancing tumour). ``ctx`` holds the grids, the brain mask, the tumour centre,
    the shape stream and the random stream.
    """
    vol, affine = load_template()
    n = f["rotation"].shape[0]
    shapes = rng.random((n, 4), dtype=F32)
    coarse = rng.standard_normal((n, 2, 5, 5), dtype=F32)
    pixel_noise = rng.standard_normal((n, size, size), dtype=F32)

    # In-plane affine, then a smooth elastic displacement (bicubic upsampling of a 5x5 field).
    X, Y = body_grid(size, f["rotation"], f["shift_x"], f["shift_y"], f["scale"])
    disp = F.interpolate(torch.from_numpy(coarse), size=(size, size), mode="bicubic", align_corners=True)
    disp = disp.numpy() * col(f["elastic"])[:, None]
    X, Y = X + disp[:, 0], Y + disp[:, 1]

    # Template millimetres: image right = patient left (radiological), image up = anterior.
    x_mm = _CENTER_MM[0] - X * _HALF_FOV_MM
    y_mm = _CENTER_MM[1] - Y * _HALF_FOV_MM
    z_mm = col(_Z_MM[0] + f["slice_z"] * (_Z_MM[1] - _Z_MM[0])) + np.zeros_like(X)
    shape_zyx = vol.shape[2:]
    grid = [
        (mm - affine[axis, 3]) / affine[axis, axis] / (shape_zyx[2 - axis] - 1) * 2.0 - 1.0
        for axis, mm in ((0, x_mm), (1, y_mm), (2, z_mm))
    ]
    grid_t = torch.from_numpy(np.stack(grid, axis=-1).astype(F32))[:, None]  # (n, 1, H, W, 3)
    with torch.inference_mode():
        img = F.grid_sample(vol.expand(n, -1, -1, -1, -1), grid_t, align_corners=True, padding_mode="zeros")
    img = img[:, 0, 0].numpy()
    brain = np.clip((img - 10.0) / 30.0, 0.0, 1.0)

    # Tumour in template coordinates (it deforms with the brain).
    tx = f["lesion_x"] * _BRAIN_HALF_MM[0] / _HALF_FOV_MM
    ty = f["lesion_y"] * _BRAIN_HALF_MM[1] / _HALF_FOV_MM
    ctx = {"X": X, "Y": Y, "f": f, "shapes": shapes, "brain": brain, "px": col(2.0 / size),
           "tx": tx, "ty": ty, "rng": rng, "size": size}  # fmt: skip
    if before_tumour is not None:
        before_tumour(img, ctx)
    mask = (tumour or _paint_tumour)(img, ctx)

    gx, gy = np.asarray(X), np.asarray(Y)
    bias = np.exp(col(f["bias_x"]) * gx + col(f["bias_y"]) * gy)
    raw = img * col(f["gain"]) * bias + col(f["noise"]) * pixel_noise
    return np.clip(raw, 0.0, None).astype(F32), mask
