"""``read_image``: one entry point that recognises the format from content, then suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentviz.data.image import MedicalImage
from latentviz.errors import ImageReadError

__all__ = ["detect_format", "read_image"]

_SUFFIXES = {
    ".dcm": "dicom",
    ".dicom": "dicom",
    ".nii": "nifti",
    ".gz": "nifti",  # .nii.gz, checked below
    ".npz": "npz",
    ".npy": "npz",
    ".png": "raster",
    ".jpg": "raster",
    ".jpeg": "raster",
    ".tif": "raster",
    ".tiff": "raster",
    ".bmp": "raster",
}


def _sniff(path: Path) -> str | None:
    """The format from the file's first bytes, or None."""
    with open(path, "rb") as f:
        head = f.read(352)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if (
        head.startswith(b"\x89PNG")
        or head.startswith(b"\xff\xd8\xff")
        or head[:4] in (b"II*\x00", b"MM\x00*")
    ):
        return "raster"
    if head.startswith(b"BM"):
        return "raster"
    if head.startswith(b"\x93NUMPY") or head.startswith(b"PK\x03\x04"):
        return "npz"
    if (len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00")) or head[4:8] in (
        b"n+2\x00",
        b"ni2\x00",
    ):
        return "nifti"
    if head.startswith(b"\x1f\x8b") and path.name.lower().endswith(".nii.gz"):
        return "nifti"
    return None


def detect_format(path: str | Path) -> str:
    """``"dicom"``, ``"dicom-series"``, ``"raster-folder"``, ``"nifti"``, ``"npz"`` or ``"raster"``.

    Raises
    ------
    ImageReadError
        Missing path, empty folder, or a format latentviz does not read.
    """
    from latentviz.data.dicom import is_dicom_file
    from latentviz.data.raster import list_raster_files

    path = Path(path)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")]
        if not files:
            raise ImageReadError(path, "the folder is empty")
        if any(p.suffix.lower() in (".dcm", ".dicom") or is_dicom_file(p) for p in files):
            return "dicom-series"
        if list_raster_files(path):
            return "raster-folder"
        raise ImageReadError(path, f"no DICOM or PNG/JPEG/TIFF images among its {len(files)} files")
    if not path.exists():
        raise ImageReadError(path, "no such file or folder")
    fmt = _sniff(path)
    if fmt is None:
        fmt = _SUFFIXES.get(path.suffix.lower())
        if fmt == "nifti" and path.suffix.lower() == ".gz" and not path.name.lower().endswith(".nii.gz"):
            fmt = None
    if fmt is None:
        raise ImageReadError(path, "unrecognised format (expected DICOM, NIfTI, PNG/JPEG/TIFF or NPZ)")
    return fmt


def read_image(path: str | Path, **options: Any) -> MedicalImage:
    """Read any supported medical image into a :class:`MedicalImage`.

    Parameters
    ----------
    path
        A DICOM file or series folder, a NIfTI file, a PNG/JPEG/TIFF file or folder, or an
        ``.npz``/``.npy`` file.
    **options
        Passed to the reader: ``series=`` for a DICOM folder holding several series;
        ``key=``/``index=`` for NPZ files.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> image = read_image(get_testdata_file("CT_small.dcm"))
    >>> image.modality, image.units, image.shape
    ('CT', 'HU', (128, 128))
    """
    fmt = detect_format(path)
    allowed = {"dicom-series": {"series"}, "npz": {"key", "index"}}.get(fmt, set())
    unknown = set(options) - allowed
    if unknown:
        raise ImageReadError(path, f"option(s) {sorted(unknown)} do not apply to a {fmt} source")
    if fmt == "dicom":
        from latentviz.data.dicom import read_dicom

        return read_dicom(path)
    if fmt == "dicom-series":
        from latentviz.data.dicom import read_dicom_series

        return read_dicom_series(path, **options)
    if fmt == "nifti":
        from latentviz.data.nifti import read_nifti

        return read_nifti(path)
    if fmt == "npz":
        from latentviz.data.npz import read_npz

        return read_npz(path, **options)
    if fmt == "raster":
        from latentviz.data.raster import read_raster

        return read_raster(path)
    from latentviz.data.raster import read_raster_folder

    return read_raster_folder(path)
