"""PNG, JPEG and TIFF files and folders -> :class:`~latentviz.data.MedicalImage` (Pillow).

Pixel values are kept as stored (8-bit 0–255, 16-bit 0–65535, float as is); colour becomes grey
luminance (ITU-R BT.601). The header window is the full range of the stored bit depth, so
``windowed()`` shows the file as any image viewer would. Multi-page TIFFs and folders of
same-sized images become ``(Z, H, W)`` volumes. Text chunks and EXIF are never read.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from latentviz.data import limits
from latentviz.data.image import MedicalImage, check_finite
from latentviz.errors import ImageReadError, ImageTooLargeError

__all__ = ["RASTER_SUFFIXES", "list_raster_files", "raster_to_grey", "read_raster", "read_raster_folder"]

RASTER_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def raster_to_grey(array: np.ndarray) -> np.ndarray:
    """``(…, H, W, 3|4)`` colour to ``(…, H, W)`` luminance; alpha is dropped; grey passes through."""
    if array.ndim >= 3 and array.shape[-1] in (3, 4):
        return array[..., :3].astype(np.float32) @ _LUMA
    if array.ndim >= 3 and array.shape[-1] in (1, 2):  # grey (+ alpha)
        return array[..., 0]
    return array


def _frame_array(frame) -> tuple[np.ndarray, int | None]:
    """One Pillow frame as an array and its bit depth (None for float/32-bit)."""
    mode = frame.mode
    if mode.startswith("I;16"):
        return np.asarray(frame).astype(np.uint16), 16
    if mode in ("I", "F"):
        return np.asarray(frame).astype(np.float32), None
    if mode == "1":
        return np.asarray(frame.convert("L")), 8
    if mode == "L":
        return np.asarray(frame), 8
    if mode == "LA":
        return np.asarray(frame)[..., 0], 8
    if mode not in ("RGB", "RGBA"):
        frame = frame.convert("RGB")  # palette, CMYK, YCbCr, …
    return raster_to_grey(np.asarray(frame)), 8


def read_raster(path: str | Path) -> MedicalImage:
    """Read a PNG/JPEG/TIFF/BMP file (all pages of a multi-page TIFF).

    Raises
    ------
    ImageReadError
        Not an image Pillow understands, truncated, pages of different sizes, NaN values.
    """
    from PIL import Image, ImageSequence

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "no such file")
    try:
        with warnings.catch_warnings():
            # latentviz's own limit below replaces Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)  # reads the header only
        with im:
            fmt = im.format or path.suffix.lstrip(".").upper()
            n_pages = int(getattr(im, "n_frames", 1) or 1)
            width, height = im.size
            # Checked before any page is decoded.
            limits.check_size(path, (n_pages, height, width), frames=n_pages)
            pages = [_frame_array(frame) for frame in ImageSequence.Iterator(im)]
    except ImageTooLargeError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(path, f"Pillow refuses it as a decompression bomb ({exc})") from None
    except Exception as exc:  # UnidentifiedImageError, truncated data, decompression bombs, …
        raise ImageReadError(path, f"cannot read as an image ({type(exc).__name__}: {exc})") from None
    shapes = {a.shape for a, _ in pages}
    if len(shapes) > 1:
        raise ImageReadError(path, f"pages of different sizes {sorted(shapes)} cannot form one volume")
    bits = pages[0][1]
    pixels = np.stack([a for a, _ in pages]) if len(pages) > 1 else pages[0][0]
    return _image(pixels.astype(np.float32), bits, path, format=fmt, pages=len(pages))


def _image(pixels: np.ndarray, bits: int | None, path: Path, **metadata) -> MedicalImage:
    check_finite(pixels, path)
    window = None if bits is None else ((2**bits - 1) / 2.0, float(2**bits - 1))
    return MedicalImage(
        pixels=pixels,
        spacing=(1.0,) * pixels.ndim,
        modality="OT",
        units="",
        window=window,
        metadata={**metadata, "bits": bits, "spacing_unit": "pixel"},
        source=path.name,
    )


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def list_raster_files(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Raster files in ``folder`` in natural order (``img2`` before ``img10``)."""
    folder = Path(folder)
    pattern = "**/*" if recursive else "*"
    files = [p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES]
    return sorted(files, key=_natural_key)


def read_raster_folder(folder: str | Path) -> MedicalImage:
    """Stack a folder of same-sized 2D raster images, in natural name order, into a volume."""
    folder = Path(folder)
    files = list_raster_files(folder)
    if not files:
        raise ImageReadError(folder, "no PNG/JPEG/TIFF images in the folder")
    if len(files) > limits.MAX_FRAMES:
        raise ImageTooLargeError(
            folder, f"{len(files)} images; latentviz stacks at most {limits.MAX_FRAMES} (limits.MAX_FRAMES)"
        )
    images, total = [], 0
    for p in files:
        images.append(read_raster(p))  # each checked against the limit before decoding
        total += images[-1].pixels.size
        if total > limits.MAX_PIXELS:
            raise ImageTooLargeError(
                folder,
                f"the images hold more than {limits.MAX_PIXELS / 1e6:.1f} megapixels together "
                "(latentviz.data.limits.MAX_PIXELS)",
            )
    first = images[0]
    for p, img in zip(files, images):
        if img.is_volume or img.shape != first.shape:
            raise ImageReadError(
                p, f"image of shape {img.shape} differs from {first.shape} of {files[0].name}"
            )
    bits = (
        first.metadata["bits"] if all(i.metadata["bits"] == first.metadata["bits"] for i in images) else None
    )
    volume = np.stack([img.pixels for img in images])
    return _image(volume, bits, folder, format="folder", pages=len(images))
