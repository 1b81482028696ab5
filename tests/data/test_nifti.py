"""NIfTI: written files with known geometry, and nilearn's real MNI152 template."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from latentviz.data import read_image, read_nifti
from latentviz.errors import ImageReadError


def _write(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def test_las_file_is_reoriented_to_ras(tmp_path: Path) -> None:
    # voxel (i, j, k) holds 100 i + 10 j + k; the first axis runs to the LEFT (LAS storage)
    i, j, k = np.meshgrid(np.arange(6), np.arange(5), np.arange(4), indexing="ij")
    data = (100 * i + 10 * j + k).astype(np.float32)
    affine = np.diag([-2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [50.0, -20.0, -10.0]
    image = read_nifti(_write(tmp_path / "las.nii.gz", data, affine))
    assert image.metadata["original_orientation"] == "LAS"
    assert image.shape == (4, 5, 6)  # (k, j, i)
    assert image.spacing == (4.0, 3.0, 2.0)
    # after canonicalisation column 0 is the most-left voxel: original i = 5
    assert image.pixels[0, 0, 0] == 500.0 and image.pixels[0, 0, 5] == 0.0
    assert image.affine[0, 0] == 2.0  # x now increases to the right
    # the world position of a voxel is unchanged by reorientation
    world_orig = affine @ [5, 2, 3, 1]
    world_new = image.affine @ [0, 2, 3, 1]
    np.testing.assert_allclose(world_new, world_orig)
    assert image.pixels[3, 2, 0] == 523.0


def test_scaling_and_cal_window(tmp_path: Path) -> None:
    img = nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4))
    img.header.set_slope_inter(2.0, -5.0)
    img.header["cal_min"], img.header["cal_max"] = 0.0, 40.0
    path = tmp_path / "scaled.nii"
    nib.save(img, path)
    image = read_image(path)
    np.testing.assert_allclose(image.pixels.T.ravel(), np.arange(24) * 2.0 - 5.0)
    assert image.window == (20.0, 40.0)


def test_mni152_template_slices() -> None:
    nilearn_datasets = pytest.importorskip("nilearn.datasets")
    image = read_image(nilearn_datasets.MNI152_FILE_PATH)
    assert image.shape == (189, 233, 197)  # (S, A, R) voxels of the 1 mm template
    assert image.spacing == (1.0, 1.0, 1.0)
    assert image.affine[:3, 3].tolist() == [-98.0, -134.0, -72.0]
    axial = image.slice(0, 90)  # z = -72 + 90 = 18 mm: through the ventricles
    coronal, sagittal = image.slice(1, 116), image.slice(2, 98)
    assert axial.shape == (233, 197) and coronal.shape == (189, 197) and sagittal.shape == (189, 233)
    assert axial.affine[2, 3] == 18.0 and sagittal.affine[0, 3] == 0.0  # x = -98 + 98: mid-sagittal
    # brain in the middle, air at the edges; sagittal slices 20 mm left and right look alike
    assert axial.pixels[116, 98] > 10 * max(axial.pixels[0, 0], 1.0)
    left, right = image.slice(2, 98 - 20).pixels, image.slice(2, 98 + 20).pixels
    assert np.corrcoef(left.ravel(), right.ravel())[0, 1] > 0.9


def test_bad_nifti(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"scan\.nii: cannot read as NIfTI"):
        bad = tmp_path / "scan.nii"
        bad.write_bytes(b"\x00" * 400)
        read_nifti(bad)
    data = np.zeros((4, 4, 4), np.float32)
    data[1, 2, 3] = np.nan
    with pytest.raises(ImageReadError, match=r"nan\.nii\.gz: 1 of 64 pixel values are NaN"):
        read_image(_write(tmp_path / "nan.nii.gz", data, np.eye(4)))
    with pytest.raises(ImageReadError, match="4D NIfTI"):
        read_image(_write(tmp_path / "t.nii.gz", np.zeros((3, 3, 3, 2), np.float32), np.eye(4)))
