"""The brain phantom: real MNI152 slices, factors and the missing-dependency error."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from latentviz.data.phantoms import factor_names, generate, render
from latentviz.errors import DependencyMissingError

pytest.importorskip("nilearn")


def _clean(n: int, **overrides: float) -> dict[str, np.ndarray]:
    f = {k: np.zeros(n, np.float32) for k in factor_names("brain")}
    f.update(slice_z=np.full(n, 0.5, np.float32), scale=np.ones(n, np.float32), gain=np.ones(n, np.float32))
    for k, v in overrides.items():
        f[k] = np.broadcast_to(np.asarray(v, np.float32), (n,)).copy()
    return f


def test_brain_batch_contract() -> None:
    b = generate("brain", 6, size=64, seed=0)
    assert b.images.shape == (6, 1, 64, 64) and b.images.dtype == np.float32
    assert b.masks.dtype == bool and b.labels.dtype == np.int64
    np.testing.assert_array_equal(render("brain", b.factors, size=64, seed=0).raw, b.raw)


def test_brain_slices_come_from_the_template() -> None:
    import nibabel as nib
    from nilearn.datasets import MNI152_FILE_PATH

    raw = render("brain", _clean(1, slice_z=20 / 65), size=128).raw[0]  # z = 0 mm: the AC-PC plane
    vol = np.asarray(nib.load(MNI152_FILE_PATH).dataobj, dtype=np.float32)
    ref = vol[:, :, 72]  # voxel 72 is z = 0 mm
    # Compare brain areas: 1 mm voxels vs a 210 mm field of view over 128 pixels.
    area_mm2 = (raw > 40).sum() * (210 / 128) ** 2
    assert abs(area_mm2 - (ref > 40).sum()) / (ref > 40).sum() < 0.05
    assert 150 < np.median(raw[raw > 40]) < 230  # template grey/white intensities


def test_brain_factors_act() -> None:
    f = _clean(4, slice_z=[0.4, 1.0, 0.4, 0.4], gain=[1.0, 1.0, 1.2, 1.0], scale=[1, 1, 1, 1.1])
    b = render("brain", f)
    area = (b.raw > 40).sum(axis=(1, 2))
    assert area[1] < 0.85 * area[0]  # higher slices have less brain
    np.testing.assert_allclose(b.raw[2].sum() / b.raw[0].sum(), 1.2, rtol=0.01)
    np.testing.assert_allclose(area[3] / area[0], 1.1**2, rtol=0.05)


def test_tumour_has_a_bright_rim_around_a_dark_core() -> None:
    f = _clean(1, lesion_count=1.0, lesion_size=0.15, lesion_intensity=1.3, lesion_oedema=0.6)
    b = render("brain", f, size=128)
    assert b.labels[0] == 1 and b.masks[0].any()
    ys, xs = np.nonzero(b.masks[0])
    centre = b.raw[0, round(ys.mean()), round(xs.mean())]
    assert centre < 0.5 * b.raw[0][b.masks[0]].max()  # necrotic core darker than the rim
    assert b.raw[0][b.masks[0]].max() > 1.2 * 215 * 0.95


def test_missing_nilearn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from latentviz.data.phantoms import brain

    brain.load_template.cache_clear()
    monkeypatch.setitem(sys.modules, "nilearn.datasets", None)
    try:
        with pytest.raises(DependencyMissingError, match=r"latentviz\[brain\]"):
            generate("brain", 2)
    finally:
        brain.load_template.cache_clear()
