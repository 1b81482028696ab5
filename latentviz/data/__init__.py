"""Images in, images out: one :class:`MedicalImage` type and the readers that make it.

``read_image(path)`` reads DICOM files and series folders, NIfTI, PNG/JPEG/TIFF files and
folders, and NPZ arrays (MedMNIST layout included). Pixels stay in modality units (HU for CT);
windows map them to [0, 1] for display and to [-1, 1] for models. Metadata is de-identified.
Phantom datasets live in :mod:`latentviz.data.phantoms` (imported on its own).
"""

from __future__ import annotations

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
