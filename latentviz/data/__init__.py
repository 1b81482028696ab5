"""Images in, images out: one :class:`MedicalImage` type and the readers that make it.

``read_image(path)`` reads DICOM files and series folders, NIfTI, PNG/JPEG/TIFF files and
folders, and NPZ arrays (MedMNIST layout included). Pixels stay in modality units (HU for CT);
windows map them to [0, 1] for display and to [-1, 1] for models. Metadata is de-identified.
Phantom datasets live in :mod:`latentviz.data.phantoms` (imported on its own).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562), so that ``latentviz info FILE`` pays for
# pydicom only: torch comes with ImageDataset, fit_to_size and MedicalImage.to_model_input.
_EXPORTS = {
    "ImageDataset": "dataset",
    "deidentify_dataset": "deid",
    "safe_metadata": "deid",
    "read_dicom": "dicom",
    "read_dicom_series": "dicom",
    "MedicalImage": "image",
    "read_nifti": "nifti",
    "load_split": "npz",
    "read_npz": "npz",
    "read_raster": "raster",
    "read_raster_folder": "raster",
    "detect_format": "readers",
    "read_image": "readers",
    "fit_to_size": "transforms",
    "PRESETS": "windowing",
    "Window": "windowing",
    "apply_window": "windowing",
    "invert_window": "windowing",
    "resolve_window": "windowing",
}

if TYPE_CHECKING:
    from latentviz.data.dataset import ImageDataset
    from latentviz.data.deid import deidentify_dataset, safe_metadata
    from latentviz.data.dicom import read_dicom, read_dicom_series
    from latentviz.data.image import MedicalImage
    from latentviz.data.nifti import read_nifti
    from latentviz.data.npz import load_split, read_npz
    from latentviz.data.raster import read_raster, read_raster_folder
    from latentviz.data.readers import detect_format, read_image
    from latentviz.data.transforms import fit_to_size
    from latentviz.data.windowing import PRESETS, Window, apply_window, invert_window, resolve_window


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'latentviz.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"latentviz.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "PRESETS",
    "ImageDataset",
    "MedicalImage",
    "Window",
    "apply_window",
    "deidentify_dataset",
    "detect_format",
    "fit_to_size",
    "invert_window",
    "load_split",
    "read_dicom",
    "read_dicom_series",
    "read_image",
    "read_nifti",
    "read_npz",
    "read_raster",
    "read_raster_folder",
    "resolve_window",
    "safe_metadata",
]
