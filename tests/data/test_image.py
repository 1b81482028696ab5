"""MedicalImage: slicing with geometry, display windows, model input and its inverse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz.data import MedicalImage
from latentviz.data.image import check_finite
from latentviz.errors import ImageReadError, ShapeError


def _volume() -> MedicalImage:
    z, y, x = np.meshgrid(np.arange(4), np.arange(5), np.arange(6), indexing="ij")
    pixels = (100 * z + 10 * y + x).astype(np.float32)  # value encodes the voxel index
    affine = np.array([[2.0, 0, 0, -10], [0, 3.0, 0, -20], [0, 0, 5.0, -30], [0, 0, 0, 1]])
    return MedicalImage(pixels, spacing=(5.0, 3.0, 2.0), modality="MR", affine=affine, source="vol")


@pytest.mark.parametrize(
    ("axis", "index", "shape", "spacing"),
    [(0, 2, (5, 6), (3.0, 2.0)), (1, 4, (4, 6), (5.0, 2.0)), (2, -1, (4, 5), (5.0, 3.0))],
)
def test_slice_values_spacing_and_affine(axis: int, index: int, shape, spacing) -> None:
    vol = _volume()
    sl = vol.slice(axis, index)
    assert sl.shape == shape and sl.spacing == spacing and not sl.is_volume
    np.testing.assert_array_equal(sl.pixels, np.take(vol.pixels, index, axis=axis))
    # every pixel of the slice maps to the same world point as its voxel in the volume
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    world_2d = sl.affine @ np.stack([cols.ravel(), rows.ravel(), np.zeros(cols.size), np.ones(cols.size)])
    idx = [None, None, None]
    idx[axis] = np.full(cols.size, index % vol.shape[axis])
    others = [a for a in range(3) if a != axis]
    idx[others[0]], idx[others[1]] = rows.ravel(), cols.ravel()
    world_3d = vol.affine @ np.stack([idx[2], idx[1], idx[0], np.ones(cols.size)])  # (x, y, z) order
    np.testing.assert_allclose(world_2d, world_3d)


def test_slice_errors() -> None:
    with pytest.raises(ShapeError, match="out of range"):
        _volume().slice(0, 4)
    with pytest.raises(ShapeError, match="needs a \\(Z, H, W\\) volume"):
        _volume().slice(0, 0).slice(0, 0)
    with pytest.raises(ShapeError, match="spacing"):
        MedicalImage(np.zeros((3, 3)), spacing=(1.0,))


def test_model_input_and_inverse() -> None:
    hu = np.linspace(-1000, 1000, 64 * 48, dtype=np.float32).reshape(64, 48)
    image = MedicalImage(hu, spacing=(1.0, 1.0), modality="CT", units="HU")
    x = image.to_model_input(32, "soft_tissue")  # window (50, 400): [-150, 250]
    assert x.shape == (1, 1, 32, 32) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    back = image.from_model_range(x, "soft_tissue")
    assert back.min().item() == pytest.approx(-150.0) and back.max().item() == pytest.approx(250.0)
    # a value inside the window survives the round trip
    inside = np.array([[-100.0, 0.0, 200.0]], dtype=np.float32)
    small = MedicalImage(inside, spacing=(1, 1), modality="CT", units="HU")
    x2 = torch.from_numpy(small.windowed("soft_tissue") * 2 - 1)
    np.testing.assert_allclose(small.from_model_range(x2, "soft_tissue").numpy(), inside, atol=1e-3)


def test_volume_needs_a_slice_for_model_input() -> None:
    with pytest.raises(ShapeError, match="take a slice first"):
        _volume().to_model_input(16)


def test_check_finite() -> None:
    check_finite(np.zeros(4, np.float32), "ok")
    with pytest.raises(ImageReadError, match=r"scan\.nii: 2 of 4 pixel values are NaN or infinite"):
        check_finite(np.array([0, np.nan, np.inf, 1], np.float32), "scan.nii")
