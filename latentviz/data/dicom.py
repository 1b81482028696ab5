"""DICOM files and series folders -> :class:`~latentviz.data.MedicalImage` (pydicom).

* Modality LUT (RescaleSlope/Intercept, or a Modality LUT Sequence): CT comes out in HU.
* The header window (first of a multi-valued WindowCenter/WindowWidth) is kept; MONOCHROME1 is
  inverted at display time by :meth:`MedicalImage.windowed`.
* Colour (RGB, YBR, palette) is converted to grey luminance.
* Multi-frame files become ``(frames, H, W)`` volumes.
* A series folder becomes a volume sorted along the slice normal by ImagePositionPatient.
* Compressed transfer syntaxes are decoded by pydicom's plugins (pylibjpeg, Pillow); a missing
  one raises :class:`~latentviz.errors.DependencyMissingError` naming the extra to install.
"""

from __future__ import annotations

import shlex
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, ImplicitVRLittleEndian
from tqdm.auto import tqdm

from latentviz.data import limits
from latentviz.data.deid import safe_metadata
from latentviz.data.image import MedicalImage, check_finite
from latentviz.errors import DependencyMissingError, ImageReadError, ImageTooLargeError, LatentvizError

__all__ = [
    "CODECS_EXTRA",
    "is_dicom_file",
    "load_dataset",
    "modality_values",
    "read_dicom",
    "read_dicom_series",
]

CODECS_EXTRA = 'pip install "latentviz[dicom-codecs]"'

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def is_dicom_file(path: str | Path) -> bool:
    """True if ``path`` starts with the DICOM preamble and ``DICM`` marker."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def load_dataset(path: str | Path) -> Dataset:
    """Read a DICOM file with pydicom, turning its failures into :class:`ImageReadError`."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "no such file")
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError:
        raise ImageReadError(path, "not a DICOM file (no DICM marker and no file meta header)") from None
    except Exception as exc:  # pydicom raises many types on damaged files
        raise ImageReadError(path, f"corrupt or truncated DICOM ({type(exc).__name__}: {exc})") from None
    return ds


def _number(value: Any, keyword: str, path: str | Path, kind: type = float) -> Any:
    """``kind(value)`` or an :class:`ImageReadError` naming the damaged element."""
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        raise ImageReadError(path, f"{keyword} holds {str(value)[:40]!r}, not a number") from None


def _element(ds: Dataset, keyword: str, path: str | Path, default: Any = None) -> Any:
    """``ds.get(keyword)``; a damaged element (unknown VR, bad length) is an ImageReadError."""
    try:
        return ds.get(keyword, default)
    except Exception as exc:  # pydicom parses lazily and raises many types
        raise ImageReadError(path, f"damaged {keyword} element ({type(exc).__name__}: {exc})") from None


def _frames(ds: Dataset, path: str | Path) -> int:
    frames = _number(_element(ds, "NumberOfFrames", path, 1) or 1, "NumberOfFrames", path, int)
    if frames < 1:
        raise ImageReadError(path, f"NumberOfFrames is {frames}")
    return frames


def _check_size(ds: Dataset, path: str | Path) -> None:
    """Rows x Columns x NumberOfFrames from the header against the limits, before decoding."""
    rows = _number(_element(ds, "Rows", path, 0) or 0, "Rows", path, int)
    columns = _number(_element(ds, "Columns", path, 0) or 0, "Columns", path, int)
    frames = _frames(ds, path)
    limits.check_size(path, (frames, rows, columns), frames=frames)


@contextmanager
def _damaged_header(path: str | Path) -> Iterator[None]:
    """Turn pydicom's lazy parsing failures (unknown VR, bad value) into :class:`ImageReadError`."""
    try:
        yield
    except LatentvizError:
        raise
    except Exception as exc:  # pydicom parses elements on first access and raises many types
        raise ImageReadError(path, f"damaged header element ({type(exc).__name__}: {exc})") from None


def _require_pixels(ds: Dataset, path: Path) -> None:
    if any(k in ds for k in _PIXEL_KEYWORDS):
        return
    try:
        sop = UID(str(ds.SOPClassUID)).name if ds.get("SOPClassUID") else "unknown SOP class"
    except Exception:  # a damaged SOPClassUID element
        sop = "unknown SOP class"
    if "Rows" in ds or "Image Storage" in sop:
        raise ImageReadError(path, f"{sop} with image attributes but no pixel data: the file is truncated")
    modality = ds.get("Modality", "?")
    raise ImageReadError(path, f"not an image: {sop} (Modality {modality}) holds no pixel data")


def _decode(ds: Dataset, path: Path) -> np.ndarray:
    """Stored pixel values (frames, rows, columns[, samples]) via pydicom's decoders."""
    from pydicom.pixels.decoders.base import get_decoder

    meta = getattr(ds, "file_meta", None)
    try:
        syntax = (
            UID(str(meta.TransferSyntaxUID)) if meta is not None and "TransferSyntaxUID" in meta else None
        )
    except Exception as exc:  # a damaged file meta element
        raise ImageReadError(path, f"damaged TransferSyntaxUID ({type(exc).__name__}: {exc})") from None
    if syntax is not None and not syntax.is_transfer_syntax:
        raise ImageReadError(path, f"TransferSyntaxUID {str(syntax)[:64]!r} is not a known transfer syntax")
    if syntax is None:
        # Files without file meta are implicit VR little endian, the DICOM default.
        ds.file_meta = meta if meta is not None else pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        syntax = ImplicitVRLittleEndian
    if syntax.is_compressed:
        try:
            decoder = get_decoder(syntax)
        except NotImplementedError:
            raise ImageReadError(
                path, f"pydicom has no decoder for the transfer syntax '{syntax.name}'"
            ) from None
        if not decoder.is_available:
            missing = "; ".join(decoder.missing_dependencies) or "an image codec"
            raise DependencyMissingError(
                f"{path}: decoding '{syntax.name}' pixel data needs a codec that is not installed "
                f"({missing}). Install it with: {CODECS_EXTRA}"
            )
    try:
        return ds.pixel_array
    except RuntimeError as exc:
        if "missing dependencies" in str(exc):
            raise DependencyMissingError(
                f"{path}: decoding '{syntax.name}' pixel data needs a codec that is not installed. "
                f"Install it with: {CODECS_EXTRA}"
            ) from None
        raise ImageReadError(path, f"cannot decode the pixel data ({exc})") from None
    except Exception as exc:
        raise ImageReadError(path, f"corrupt or truncated pixel data ({type(exc).__name__}: {exc})") from None


def _functional(ds: Dataset, sequence: str, keyword: str) -> Any:
    """``keyword`` from an enhanced multi-frame functional group (shared, else first frame)."""
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        if groups in ds and len(ds[groups].value) > 0:
            item = ds[groups].value[0]
            if sequence in item and len(item[sequence].value) > 0 and keyword in item[sequence].value[0]:
                return item[sequence].value[0][keyword].value
    return None


def _get(ds: Dataset, keyword: str, sequence: str | None = None, path: str | Path = "dataset") -> Any:
    try:  # pydicom parses lazily: a damaged element or sequence fails here
        value = ds.get(keyword)
        if (value is None or value == "") and sequence is not None:
            value = _functional(ds, sequence, keyword)
    except Exception as exc:
        raise ImageReadError(path, f"damaged {keyword} element ({type(exc).__name__}: {exc})") from None
    return value


def _to_grey(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """Colour samples to luminance (ITU-R BT.601); monochrome passes through."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
    samples = _number(_element(ds, "SamplesPerPixel", "dataset", 1) or 1, "SamplesPerPixel", "dataset", int)
    if samples == 3 or photometric == "PALETTE COLOR":
        # pydicom has already converted YBR to RGB.
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return arr.astype(np.float32) @ weights
    return arr


def modality_values(arr: np.ndarray, ds: Dataset, path: str | Path = "dataset") -> np.ndarray:
    """Apply the Modality LUT to stored values: float32 modality units (HU for CT).

    Uses RescaleSlope/RescaleIntercept (top level or the enhanced Pixel Value Transformation
    group); a Modality LUT Sequence goes through pydicom's table lookup.
    """
    if "ModalityLUTSequence" in ds:
        from pydicom.pixels import apply_modality_lut

        return np.asarray(apply_modality_lut(arr, ds), dtype=np.float32)
    slope = _get(ds, "RescaleSlope", "PixelValueTransformationSequence", path)
    intercept = _get(ds, "RescaleIntercept", "PixelValueTransformationSequence", path)
    if slope == "":
        slope = None
    if intercept == "":
        intercept = None
    for name, value in (("RescaleSlope", slope), ("RescaleIntercept", intercept)):
        if value is not None and not np.isfinite(_number(value, name, path)):
            raise ImageReadError(path, f"{name} is {value}, not a finite number")
    slope = None if slope is None else float(slope)
    intercept = None if intercept is None else float(intercept)
    out = arr.astype(np.float32)  # always a copy, safe to modify in place
    if slope is not None and float(slope) != 1.0:
        out *= np.float32(slope)
    if intercept is not None and float(intercept) != 0.0:
        out += np.float32(intercept)
    return out


def _units(ds: Dataset) -> str:
    modality = str(ds.get("Modality", "")).upper()
    rescale_type = str(_get(ds, "RescaleType", "PixelValueTransformationSequence") or "").strip()
    if modality == "CT" and rescale_type in ("", "HU"):
        return "HU"
    if modality == "PT" and ds.get("Units"):
        return str(ds.Units)
    return "" if rescale_type in ("", "US") else rescale_type


def _header_window(ds: Dataset) -> tuple[float, float] | None:
    center = _get(ds, "WindowCenter", "FrameVOILUTSequence")
    width = _get(ds, "WindowWidth", "FrameVOILUTSequence")
    if center is None or width is None or center == "" or width == "":
        return None
    # Multi-valued: several windows are offered; the first is the default (PS3.3 C.11.2.1.2).
    if isinstance(center, (list, tuple)) or type(center).__name__ == "MultiValue":
        center = center[0]
    if isinstance(width, (list, tuple)) or type(width).__name__ == "MultiValue":
        width = width[0]
    center, width = _number(center, "WindowCenter", "dataset"), _number(width, "WindowWidth", "dataset")
    if not (np.isfinite(center) and np.isfinite(width)) or width <= 0:
        return None
    return (center, width)


def _pixel_spacing(ds: Dataset, path: str | Path = "dataset") -> tuple[tuple[float, float], bool]:
    """``((dy, dx), known)``: PixelSpacing, else ImagerPixelSpacing, else 1 pixel."""
    for keyword, seq in (("PixelSpacing", "PixelMeasuresSequence"), ("ImagerPixelSpacing", None)):
        value = _get(ds, keyword, seq, path)
        if value is not None and value != "" and _len(value) == 2:
            dy, dx = _number(value[0], keyword, path), _number(value[1], keyword, path)
            if dy > 0 and dx > 0:
                return (dy, dx), True
    return (1.0, 1.0), False


def _len(value: Any) -> int:
    """Number of values of a (multi-)valued element; 1 for a single value."""
    return len(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else 1


def _slice_step(ds: Dataset, path: str | Path = "dataset") -> float | None:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = _get(ds, keyword, "PixelMeasuresSequence", path)
        if value is not None and value != "":
            step = _number(value, keyword, path)
            if step > 0:
                return step
    return None


def _vector(ds: Dataset, keyword: str, sequence: str, n: int, path: str | Path) -> np.ndarray | None:
    value = _get(ds, keyword, sequence, path)
    if value is None or value == "" or _len(value) != n:
        return None
    vec = np.asarray([_number(v, keyword, path) for v in value], dtype=np.float64)
    if not np.all(np.isfinite(vec)):
        raise ImageReadError(path, f"{keyword} holds non-finite values {vec.tolist()}")
    return vec


def _orientation(ds: Dataset, path: str | Path = "dataset") -> np.ndarray | None:
    return _vector(ds, "ImageOrientationPatient", "PlaneOrientationSequence", 6, path)


def _position(ds: Dataset, path: str | Path = "dataset") -> np.ndarray | None:
    return _vector(ds, "ImagePositionPatient", "PlanePositionSequence", 3, path)


def _affine(iop: np.ndarray, origin: np.ndarray, dy: float, dx: float, step: np.ndarray) -> np.ndarray:
    """Index (column, row, slice) -> RAS+ mm; DICOM patient space is LPS+, so flip x and y."""
    lps = np.eye(4)
    lps[:3, 0] = iop[:3] * dx  # along a row: increasing column index
    lps[:3, 1] = iop[3:] * dy  # along a column: increasing row index
    lps[:3, 2] = step
    lps[:3, 3] = origin
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def _image_from(
    ds: Dataset,
    pixels: np.ndarray,
    spacing: tuple[float, ...],
    path: Path,
    affine: np.ndarray | None,
    float_source: bool = True,
    **extra: Any,
) -> MedicalImage:
    if float_source:  # stored integers rescaled by finite numbers cannot be NaN: skip the pass
        check_finite(pixels, path)
    metadata = safe_metadata(ds)
    metadata.update(extra)
    with _damaged_header(path):
        modality = str(ds.get("Modality", "OT")) or "OT"
        units, window = _units(ds), _header_window(ds)
        photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    return MedicalImage(
        pixels=pixels,
        spacing=spacing,
        modality=modality,
        units=units,
        window=window,
        photometric=photometric,
        affine=affine,
        metadata=metadata,
        source=path.name,
    )


def read_dicom(path: str | Path) -> MedicalImage:
    """Read one DICOM file (single or multi-frame) into a :class:`MedicalImage`.

    Parameters
    ----------
    path
        A DICOM file. Multi-frame files give a ``(frames, H, W)`` volume.

    Raises
    ------
    ImageReadError
        Not DICOM, corrupt or truncated, no pixel data (RT plan, SR, …), NaN values.
    DependencyMissingError
        The transfer syntax needs a codec that is not installed.
    """
    path = Path(path)
    ds = load_dataset(path)
    return dataset_to_image(ds, path)


def dataset_to_image(ds: Dataset, path: str | Path = "dataset") -> MedicalImage:
    """A :class:`MedicalImage` from an already-read pydicom dataset (``path`` names it in errors)."""
    path = Path(path)
    _require_pixels(ds, path)
    _check_size(ds, path)  # from the header, before any pixel is decoded
    frames = _frames(ds, path)
    stored = _decode(ds, path)
    with _damaged_header(path):
        pixels = modality_values(_to_grey(stored, ds), ds, path)
    (dy, dx), known = _pixel_spacing(ds, path)
    iop, ipp = _orientation(ds, path), _position(ds, path)
    if pixels.ndim == 3 and frames > 1:
        dz = _slice_step(ds, path)
        spacing: tuple[float, ...] = (dz or 1.0, dy, dx)
    else:
        pixels = pixels.reshape(pixels.shape[-2:])
        dz = _slice_step(ds, path)
        spacing = (dy, dx)
    affine = None
    if known and iop is not None and ipp is not None:
        normal = np.cross(iop[:3], iop[3:])
        affine = _affine(iop, ipp, dy, dx, normal * (dz or 1.0))
    return _image_from(
        ds,
        pixels,
        spacing,
        path,
        frames=frames,
        spacing_unit="mm" if known else "pixel",
        affine=affine,
        float_source=stored.dtype.kind == "f" or "ModalityLUTSequence" in ds,
    )


# -- series folders ----------------------------------------------------------------------------


def _series_keys(groups: dict[str, list]) -> dict[str, str]:
    """SeriesInstanceUID -> what to pass as ``series`` to pick it: its SeriesNumber where that
    tells it apart, else the shortest SeriesInstanceUID prefix (at least 12 characters) that does."""
    numbers = {uid: str(g[0][1].get("SeriesNumber", "")).strip() for uid, g in groups.items()}
    n = 12
    while n < max(map(len, groups), default=0) and len({uid[:n] for uid in groups}) < len(groups):
        n += 1
    unique = [v for v in numbers.values() if v and list(numbers.values()).count(v) == 1]
    return {uid: numbers[uid] if numbers[uid] in unique else uid[:n] for uid in groups}


def _series_labels(folder: Path, groups: dict[str, list]) -> str:
    """One entry per series with the exact command that reads it (no identifiers)."""
    keys = _series_keys(groups)
    parts = []
    for uid, g in groups.items():
        ds = g[0][1]
        what = f"{ds.get('Modality', '?')}, series number {ds.get('SeriesNumber', '?')}, {len(g)} files"
        if "Rows" in ds and "Columns" in ds:
            what += f", {ds.Rows}x{ds.Columns} px"
        parts.append(f"{what}: latentviz info {shlex.quote(str(folder))} --series {shlex.quote(keys[uid])}")
    return "; ".join(parts)


def _scan_folder(folder: Path, progress: bool = True) -> list[tuple[Path, Dataset]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ImageReadError(folder, "the folder is empty")
    found: list[tuple[Path, Dataset]] = []
    not_dicom = no_pixels = 0
    quiet = not progress or len(files) < 50
    for p in tqdm(files, desc="reading DICOM files", unit="file", leave=False, disable=quiet):
        try:
            ds = pydicom.dcmread(p)
        except InvalidDicomError:
            not_dicom += 1
            continue
        except Exception as exc:
            raise ImageReadError(p, f"corrupt or truncated DICOM ({type(exc).__name__}: {exc})") from None
        if not any(k in ds for k in _PIXEL_KEYWORDS):
            if "Rows" in ds:
                raise ImageReadError(p, "image attributes but no pixel data: the file is truncated")
            no_pixels += 1  # DICOMDIR, SR, RT plan, … beside the images
            continue
        found.append((p, ds))
    if not found:
        raise ImageReadError(
            folder,
            f"no DICOM images among {len(files)} files "
            f"({not_dicom} not DICOM, {no_pixels} without pixel data)",
        )
    return found


def _pick_series(folder: Path, found: list[tuple[Path, Dataset]], series: str | int | None):
    groups: dict[str, list[tuple[Path, Dataset]]] = {}
    for p, ds in found:
        groups.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append((p, ds))
    if series is not None:
        wanted = str(series).strip()
        chosen = [
            g
            for uid, g in groups.items()
            if uid == wanted or str(g[0][1].get("SeriesNumber", "")).strip() == wanted
        ]
        if not chosen and len(wanted) >= 8:  # a SeriesInstanceUID prefix, as the labels show
            chosen = [g for uid, g in groups.items() if uid.startswith(wanted)]
        if len(chosen) != 1:
            reason = "matches several series" if chosen else "matches no series"
            raise ImageReadError(
                folder, f"series={series!r} {reason}; the folder holds: {_series_labels(folder, groups)}"
            )
        return chosen[0]
    if len(groups) > 1:
        raise ImageReadError(
            folder,
            f"mixed series: the folder holds {len(groups)} series ({_series_labels(folder, groups)}); "
            "choose one with --series as shown (Python: read_image(folder, series=KEY))",
        )
    return next(iter(groups.values()))


def read_dicom_series(
    folder: str | Path, series: str | int | None = None, progress: bool = True
) -> MedicalImage:
    """Read a folder of single-frame DICOM slices into a ``(Z, H, W)`` volume.

    Slices are sorted by ImagePositionPatient projected on the slice normal (the cross product
    of the ImageOrientationPatient vectors), else by InstanceNumber. Spacing is
    ``(slice spacing, row spacing, column spacing)``; the slice spacing is the median distance
    between neighbouring slice positions.

    Parameters
    ----------
    folder
        The folder (searched recursively; non-DICOM files and DICOM without pixels are skipped).
    series
        SeriesNumber, SeriesInstanceUID or a unique UID prefix (8+ characters) choosing one
        series when the folder holds several; the error of a mixed folder names each series
        with the exact ``latentviz info FOLDER --series KEY`` command.
    progress
        Show progress bars (for folders of 50 files or more).

    Raises
    ------
    ImageReadError
        Empty folder, no images, mixed series without ``series``, slices of different size or
        orientation, two slices at one position, corrupt files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageReadError(folder, "not a folder")
    with _damaged_header(folder):
        return _read_series(folder, series, progress)


def _read_series(folder: Path, series: str | int | None, progress: bool) -> MedicalImage:
    chosen = _pick_series(folder, _scan_folder(folder, progress), series)
    if len(chosen) == 1:
        return dataset_to_image(chosen[0][1], chosen[0][0])
    first_path, first = chosen[0]
    for p, ds in chosen:
        if _frames(ds, p) > 1:
            raise ImageReadError(p, "a multi-frame file inside a series folder; read the file on its own")
        if (ds.get("Rows"), ds.get("Columns")) != (first.get("Rows"), first.get("Columns")):
            raise ImageReadError(
                p,
                f"slice size {ds.get('Rows')}x{ds.get('Columns')} differs from "
                f"{first.get('Rows')}x{first.get('Columns')} of {first_path.name}",
            )
    if len(chosen) > limits.MAX_FRAMES:
        raise ImageTooLargeError(
            folder, f"{len(chosen)} slices; latentviz stacks at most {limits.MAX_FRAMES} (limits.MAX_FRAMES)"
        )
    for p, ds in chosen:
        _check_size(ds, p)
    rows = _number(first.get("Rows", 0) or 0, "Rows", first_path, int)
    columns = _number(first.get("Columns", 0) or 0, "Columns", first_path, int)
    limits.check_size(folder, (len(chosen), rows, columns), frames=len(chosen))
    iop = _orientation(first, first_path)
    positions = [_position(ds, p) for p, ds in chosen]
    if iop is not None and all(pos is not None for pos in positions):
        for p, ds in chosen:
            other = _orientation(ds, p)
            if other is None or not np.allclose(other, iop, atol=1e-4):
                raise ImageReadError(p, f"slice orientation differs from that of {first_path.name}")
        normal = np.cross(iop[:3], iop[3:])
        along = np.array([float(pos @ normal) for pos in positions])
        order = np.argsort(along, kind="stable")
        gaps = np.diff(along[order])
        if np.any(gaps < 1e-4):
            k = int(np.argmin(gaps))
            a, b = chosen[order[k]][0].name, chosen[order[k + 1]][0].name
            raise ImageReadError(folder, f"two slices at the same position ({a}, {b}): not one volume")
        dz = float(np.median(gaps))
        uniform = bool(np.all(np.abs(gaps - dz) <= 0.01 * dz + 1e-3))
        if not uniform:
            warnings.warn(
                f"{folder.name}: slice spacing varies from {gaps.min():.3g} to {gaps.max():.3g} mm; "
                "using the median",
                stacklevel=2,
            )
        origin = positions[order[0]]
        step = (positions[order[-1]] - origin) / (len(order) - 1)
    else:
        numbers = [
            _number(_element(ds, "InstanceNumber", p, 0) or 0, "InstanceNumber", p, int) for p, ds in chosen
        ]
        order = np.argsort(numbers, kind="stable")
        dz, uniform, step, origin = _slice_step(first, first_path) or 1.0, True, None, None
    ordered = [chosen[i] for i in order]
    quiet = not progress or len(ordered) < 50
    slices = [
        modality_values(_to_grey(_decode(ds, p), ds), ds, p)
        for p, ds in tqdm(ordered, desc="decoding slices", unit="slice", leave=False, disable=quiet)
    ]
    volume = np.stack(slices)
    (dy, dx), known = _pixel_spacing(first, first_path)
    affine = None
    if known and iop is not None and step is not None:
        affine = _affine(iop, origin, dy, dx, step)
    mid = ordered[len(ordered) // 2][1]  # the header window of the middle slice
    image = _image_from(
        mid,
        volume,
        (dz, dy, dx),
        folder,
        slices=len(ordered),
        slice_spacing_uniform=uniform,
        spacing_unit="mm" if known else "pixel",
        affine=affine,
    )
    return image
