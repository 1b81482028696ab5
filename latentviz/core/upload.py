"""Uploaded files → de-identified medical images, for any front end that accepts uploads.

A browser upload arrives as bytes plus a file name. :func:`read_upload` enforces a size
limit, writes the bytes to a private temporary folder (``mkdtemp`` makes it ``0700``)
under a fixed name that keeps only the file's suffix, reads it with
:func:`latentviz.data.read_image` (whose metadata is already de-identified) and deletes
the folder before returning. The user's file name never becomes a path, and error
messages name neither the temporary folder nor the file. :func:`describe` says what was
read using only technical fields, so nothing identifying reaches a page.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from latentviz.core import loading, render
from latentviz.data import MedicalImage, read_image
from latentviz.data.readers import ACCEPTED
from latentviz.errors import ImageReadError, LatentvizError, UploadTooLargeError
from latentviz.models.generator import Generator

__all__ = [
    "DEFAULT_MAX_UPLOAD_BYTES",
    "UPLOAD_SUFFIXES",
    "deidentified_label",
    "describe",
    "model_window_for",
    "preview_png",
    "read_upload",
    "too_large_message",
    "upload_slice",
]

#: Default upload limit: a single CT/MR slice or radiograph is far smaller.
DEFAULT_MAX_UPLOAD_BYTES = 32 * 2**20

#: Suffixes an upload may keep (longest first, so ``.nii.gz`` wins over ``.gz``).
UPLOAD_SUFFIXES = (
    ".nii.gz",
    ".dicom",
    ".jpeg",
    ".tiff",
    ".dcm",
    ".nii",
    ".png",
    ".jpg",
    ".tif",
    ".bmp",
    ".npz",
    ".npy",
)

_WHAT = "the uploaded file"


def _suffix(filename: str) -> str:
    name = str(filename or "").lower()
    return next((s for s in UPLOAD_SUFFIXES if name.endswith(s)), "")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.1f} KB"


def too_large_message(size: int, max_bytes: int) -> str:
    """The one message for an upload over the limit (server check and browser guard alike)."""
    return f"{_WHAT} is {_size(size)}; the limit is {_size(max_bytes)} (one slice is enough)"


def read_upload(data: bytes, filename: str = "", max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> MedicalImage:
    """Read uploaded bytes (DICOM, NIfTI, PNG/JPEG/TIFF, NPZ) into a :class:`MedicalImage`.

    Parameters
    ----------
    data
        The file's bytes.
    filename
        The name the browser sent; only its suffix is used (content sniffing decides the
        format where it can).
    max_bytes
        Larger uploads are refused.

    Raises
    ------
    UploadTooLargeError
        Over ``max_bytes``.
    ImageReadError
        Empty, corrupt or of a format latentviz does not read (the message names neither
        the temporary folder nor the user's file name).

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> image = read_upload(open(get_testdata_file("CT_small.dcm"), "rb").read(), "x.dcm")
    >>> image.modality, image.shape, image.source
    ('CT', (128, 128), 'upload.dcm')
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageReadError(_WHAT, f"expected bytes, got {type(data).__name__}")
    size = len(data)
    if size > max_bytes:
        raise UploadTooLargeError(too_large_message(size, max_bytes))
    if size == 0:
        raise ImageReadError(_WHAT, "it is empty")
    name = "upload" + _suffix(filename)
    with tempfile.TemporaryDirectory(prefix="latentviz-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(data))
        scrub = lambda text: text.replace(str(path), name).replace(folder, "")  # noqa: E731
        try:
            image = read_image(path)
        except ImageReadError as exc:
            raise ImageReadError(_WHAT, scrub(exc.reason)) from None
        except LatentvizError as exc:
            raise ImageReadError(_WHAT, scrub(str(exc))) from None
        except Exception as exc:  # a reader library choked on corrupt bytes
            reason = f"it could not be read ({type(exc).__name__}); {ACCEPTED}"
            raise ImageReadError(_WHAT, reason) from None
    image.source = name
    return image


def upload_slice(image: MedicalImage, index: int | None = None) -> MedicalImage:
    """The 2D image to explain: ``image`` itself, or slice ``index`` (default: the middle one)
    along the first axis of a volume (axial for NIfTI)."""
    if not image.is_volume:
        return image
    n = image.shape[0]
    return image.slice(0, n // 2 if index is None else int(index))


def model_window_for(image: MedicalImage, generator: Generator) -> tuple[float, float] | None:
    """The window that maps ``image`` into ``generator``'s intensity scale.

    The model's own window when its units match the image's (a CT in HU into a model
    trained on HU-windowed CT); None otherwise (then the image's header window or its
    percentiles are used).
    """
    return loading.default_window(image, generator)


def preview_png(image: MedicalImage, window: Any = None) -> bytes:
    """``image`` (a 2D slice) through ``window`` as grey PNG bytes, at its own resolution."""
    shown = upload_slice(image)
    grey = shown.windowed(window)
    return render.png_bytes(render.to_uint8(np.asarray(grey, np.float32), (0.0, 1.0)))


def deidentified_label(image: MedicalImage) -> str:
    """What the screen calls an upload: its modality and kind, never its file name or any
    identifier (``"uploaded CT image (file name withheld)"``)."""
    modality = image.modality if image.modality and image.modality != "OT" else "non-DICOM"
    kind = "volume" if image.is_volume else "image"
    return f"uploaded {modality} {kind} (file name withheld)"


def describe(image: MedicalImage, window: Any = None) -> str:
    """A one-line summary from technical fields only (modality, size, spacing, units, window)."""
    shape = " × ".join(str(s) for s in image.shape)
    spacing = " × ".join(f"{s:.3g}" for s in image.spacing)
    c, w = image.resolve_window(window)
    units = f" {image.units}" if image.units else ""
    kind = "volume" if image.is_volume else "image"
    unit = str(image.metadata.get("spacing_unit", "mm"))
    return (
        f"{image.modality} {kind}, {shape} px, spacing {spacing} {unit}; "
        f"window center {c:.4g}, width {w:.4g}{units}"
    )
