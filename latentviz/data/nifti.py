"""NIfTI volumes -> :class:`~latentviz.data.MedicalImage` (nibabel), in RAS+ orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentviz.data import limits
from latentviz.data.image import MedicalImage, check_finite
from latentviz.errors import ImageReadError, ImageTooLargeError

__all__ = ["read_nifti"]


def read_nifti(path: str | Path) -> MedicalImage:
    """Read a ``.nii`` / ``.nii.gz`` file, reoriented to the closest canonical RAS+ axes.

    The array ``data[i, j, k]`` of the canonical image (i to the Right, j Anterior, k Superior)
    becomes ``pixels[k, j, i]``, so ``pixels[z]`` is an axial slice and ``image.slice(1, j)`` /
    ``image.slice(2, i)`` are coronal / sagittal. ``affine`` is the canonical NIfTI affine, which
    maps ``(i, j, k) = (column, row, slice)`` to RAS+ mm. Scaling (scl_slope/scl_inter) is applied.
    A single-slice file gives a 2D image. The free-text ``descrip``/``aux_file`` fields are not
    kept (they may name a patient).

    Raises
    ------
    ImageReadError
        Not NIfTI, corrupt, 4D with more than one volume, or NaN values.
    """
    import nibabel as nib

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "no such file")
    try:
        img = nib.load(path)  # header only; the data stay on disk until get_fdata
        shape = tuple(int(n) for n in img.shape)
        slices = shape[2] if len(shape) > 2 else 1
        limits.check_size(path, shape, frames=slices)
        original_axes = "".join(nib.aff2axcodes(img.affine))
        canonical = nib.as_closest_canonical(img)
        data = np.asarray(canonical.get_fdata(dtype=np.float32))
    except ImageTooLargeError:
        raise
    except Exception as exc:  # nibabel, gzip and numpy all raise their own types
        raise ImageReadError(path, f"cannot read as NIfTI ({type(exc).__name__}: {exc})") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim not in (2, 3):
        raise ImageReadError(
            path, f"a {data.ndim}D NIfTI of shape {data.shape}; only 2D and 3D images are read"
        )
    check_finite(data, path)
    zooms = [float(z) for z in canonical.header.get_zooms()[: data.ndim]]
    spatial_unit = canonical.header.get_xyzt_units()[0] or "unknown"
    if data.ndim == 3 and data.shape[2] == 1:
        data, zooms = data[:, :, 0], zooms[:2]
    pixels = np.ascontiguousarray(data.T)  # (i, j[, k]) -> ([k,] j, i)
    spacing = tuple(reversed(zooms))
    header = canonical.header
    cal_min, cal_max = float(header["cal_min"]), float(header["cal_max"])
    window = ((cal_min + cal_max) / 2.0, cal_max - cal_min) if cal_max > cal_min else None
    metadata = {
        "format": type(img).__name__,
        "orientation": "RAS",
        "original_orientation": original_axes,
        "stored_dtype": str(img.get_data_dtype()),
        "spatial_unit": spatial_unit,
        "spacing_unit": "mm" if spatial_unit in ("mm", "unknown") else spatial_unit,
    }
    return MedicalImage(
        pixels=pixels,
        spacing=spacing,
        modality="OT",
        units="",
        window=window,
        photometric="MONOCHROME2",
        affine=np.asarray(canonical.affine, dtype=np.float64),
        metadata=metadata,
        source=path.name,
    )
