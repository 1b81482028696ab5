"""Cheap checks that the ground-truth factors drive the anatomy they name."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.data.phantoms import generate, render
from latentviz.data.phantoms.ct import HU


def _clean(kind: str, n: int, **overrides: float) -> dict[str, np.ndarray]:
    """Factors of ``n`` copies of one negative, noise- and blur-free, with ``overrides``."""
    base = generate(kind, 1, seed=0, positive_fraction=0.0).factors
    f = {k: np.repeat(v, n) for k, v in base.items()}
    for k in ("noise", "blur", "rotation", "shift_x", "shift_y"):
        if k in f:
            f[k] = np.zeros(n, np.float32)
    for k, v in overrides.items():
        f[k] = np.broadcast_to(np.asarray(v, np.float32), (n,)).copy()
    return f


def _heart_width_px(row: np.ndarray, level: float) -> int:
    """Length of the bright run through the image centre along one row."""
    mid = row.size // 2
    bright = row > level
    left = mid - np.argmin(bright[mid::-1]) if not bright[mid::-1].all() else 0
    right = mid + np.argmin(bright[mid:]) if not bright[mid:].all() else row.size
    return int(right - left)


def test_cxr_larger_ctr_gives_a_wider_heart() -> None:
    f = _clean("cxr", 3, ctr=[0.4, 0.5, 0.6], breast_size=0.0, lung_height=1.0, patient_size=1.0)
    b = render("cxr", f, size=128)
    row = 64 + round(0.3 * 64)  # the heart's centre: body Y = 0.3 lung heights below the centre
    lung = np.median(b.raw[0, row, 20:40])
    level = lung + 0.5 * (b.raw[:, row, 64].min() - lung)
    widths = [_heart_width_px(b.raw[i, row], level) for i in range(3)]
    assert widths[0] < widths[1] < widths[2], widths
    assert widths[2] - widths[0] >= 4, widths


def _lung_centroids(raw: np.ndarray) -> np.ndarray:
    """Centroids (x, y) in pixels of the dark lung fields left and right of the centre, per image."""
    from scipy import ndimage

    out = []
    for img in raw:
        lung = (img > 0.05) & (img < 0.5 * (img.max() + img[img > 0.05].min()) - 0.1)
        lab, k = ndimage.label(lung)
        sizes = ndimage.sum(lung, lab, range(1, k + 1))
        two = np.argsort(sizes)[-2:] + 1
        cents = np.array(ndimage.center_of_mass(lung, lab, two))[:, ::-1]
        out.append(cents[np.argsort(cents[:, 0])])
    return np.array(out)


def test_cxr_rotation_rotates_the_lung_axis() -> None:
    angles = np.array([-10.0, 0.0, 10.0])
    f = _clean("cxr", 3, rotation=angles, breast_size=0.0, ctr=0.45)
    c = _lung_centroids(render("cxr", f, size=128).raw)
    d = c[:, 1] - c[:, 0]
    measured = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    np.testing.assert_allclose(measured - measured[1], angles, atol=2.0)


def test_cxr_breast_size_brightens_the_lower_lateral_fields() -> None:
    f = _clean("cxr", 2, breast_size=[0.0, 1.0])
    b = render("cxr", f, size=64)
    region = b.raw[:, 40:52, 6:20]  # patient right, lower lateral lung field
    assert region[1].mean() > region[0].mean() + 0.05


def test_ct_tissues_have_their_hounsfield_units() -> None:
    f = _clean("ct", 4, z_position=[0.2, 0.45, 0.7, 0.95], breast_size=0.6)
    raw = render("ct", f, size=256).raw
    assert raw.min() >= -1024 and raw.max() <= 3071
    for tissue in ("air", "lung", "fat", "muscle"):
        share = (np.abs(raw - HU[tissue]) < 5).mean()
        assert share > 0.02, (tissue, share)
    assert (raw >= 700).sum(axis=(1, 2)).min() > 50  # bone in every slice
    # Lung pixels sit at about -850 HU (vessels brighten a few of them).
    lung_like = raw[(raw > -950) & (raw < -500)]
    assert abs(np.median(lung_like) - HU["lung"]) < 30


def test_ct_z_position_grows_the_heart_and_shrinks_the_upper_lungs() -> None:
    z = np.array([0.1, 0.5, 0.7, 0.9])
    raw = render("ct", _clean("ct", 4, z_position=z), size=128).raw
    heart = (np.abs(raw - 45.0) < 2.0).sum(axis=(1, 2))  # the heart is the only 45 HU tissue
    assert heart[0] < 20 and heart[1] < heart[2] < heart[3], heart  # apex: edge pixels only
    lung = ((raw > -900) & (raw < -800)).sum(axis=(1, 2))
    assert lung[0] < lung[1], lung  # apex: small lungs
    liver = (np.abs(raw - HU["liver"]) < 2.0).sum(axis=(1, 2))
    assert liver[1] < 20 and liver[3] > 100, liver  # the liver dome appears at the base


def test_ct_rotation_turns_the_body_but_not_the_table() -> None:
    raw = render("ct", _clean("ct", 2, rotation=[0.0, 12.0]), size=128).raw
    table_rows = slice(int((0.86 + 1) / 2 * 128), 128)  # below where the rotated body reaches
    np.testing.assert_allclose(raw[0, table_rows], raw[1, table_rows], atol=1.0)
    assert np.abs(raw[0] - raw[1]).mean() > 50


def test_ct_body_thickness_sets_the_body_height() -> None:
    raw = render("ct", _clean("ct", 2, body_thickness=[0.46, 0.6], breast_size=0.0), size=128).raw
    table_top = int((0.74 + 1) / 2 * 128)
    height = (raw[:, :table_top, 64] > -500).sum(axis=1)
    # the body spans 2 * body_thickness in [-1, 1] coordinates: 64 px per unit at 128 px
    np.testing.assert_allclose(np.diff(height), 2 * (0.6 - 0.46) * 64, atol=3)


@pytest.mark.parametrize("size", [64, 128, 256])
@pytest.mark.parametrize("kind", ["cxr", "ct"])
def test_sizes_render_the_same_anatomy(kind: str, size: int) -> None:
    b = generate(kind, 4, size=size, seed=3, positive_fraction=1.0)
    assert b.images.shape == (4, 1, size, size)
    ref = generate(kind, 4, size=64, seed=3, positive_fraction=1.0)
    np.testing.assert_allclose(b.masks.mean(axis=(1, 2)), ref.masks.mean(axis=(1, 2)), rtol=0.35, atol=1e-3)
    small = b.raw.reshape(4, 64, size // 64, 64, size // 64).mean(axis=(2, 4))
    assert np.corrcoef(small.ravel(), ref.raw.ravel())[0, 1] > 0.9
