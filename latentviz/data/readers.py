"""``read_image``: one entry point that recognises the format from content, then suffix."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from latentviz.data.image import MedicalImage
from latentviz.errors import ImageReadError, ImageTooLargeError, LatentvizError

__all__ = ["ACCEPTED", "anonymous_name", "content_kind", "detect_format", "read_image"]

#: What latentviz reads, appended to every reader failure.
ACCEPTED = (
    "latentviz reads DICOM (.dcm), NIfTI (.nii, .nii.gz), PNG/JPEG/TIFF/BMP and NumPy (.npz, .npy) "
    "files, or a folder of DICOM or PNG/JPEG/TIFF slices"
)

#: Leading bytes of common files that are not medical images, and what to call them.
_OTHER_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\xd0\xcf\x11\xe0", "a Microsoft Office document"),
    (b"OggS", "an Ogg media file"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
)

_FORMAT_NAMES = {
    "dicom": "DICOM",
    "nifti": "NIfTI",
    "npz": "NumPy arrays",
    "raster": "a PNG/JPEG/TIFF/BMP image",
}

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


def anonymous_name(path: str | Path, stem: str = "image") -> str:
    """``stem`` plus the file's format suffix (``"image.dcm"``, ``"image.nii.gz"``).

    File names are identifiers too (``DOE_JOHN_MRN4471.dcm``): exports, pages and logs name
    a file this way; only the user's own terminal (``latentviz info``) shows the real name.
    """
    name = Path(path).name.lower()
    if name.endswith(".nii.gz"):
        return f"{stem}.nii.gz"
    suffix = Path(name).suffix
    return stem + (suffix if suffix in _SUFFIXES else "")


def _head(path: Path, n: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _sniff(path: Path) -> str | None:
    """The format from the file's first bytes, or None."""
    return _sniff_bytes(_head(path, 352), path.name)


def _sniff_bytes(head: bytes, name: str) -> str | None:
    """The format from a file's first 352 bytes (and its name, for ``.nii.gz``), or None."""
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
    if head.startswith(b"\x1f\x8b") and name.lower().endswith(".nii.gz"):
        return "nifti"
    return None


def _zip_kind(path: Path) -> str:
    """``"npz"`` for a ZIP that holds ``.npy`` members, else what else the ZIP is."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "a damaged ZIP archive"
    if any(n.endswith(".npy") for n in names):
        return "npz"
    if any(n.startswith("word/") for n in names) or "[Content_Types].xml" in names:
        return "a Microsoft Office document (a ZIP archive)"
    # Member names can carry identifiers (DOE_JOHN.dcm): only their count is said.
    return f"a ZIP archive of {len(names)} file(s) with no NumPy arrays; unpack it and open one image"


def content_kind(path: str | Path) -> str:
    """What a file looks like from its first bytes, in words (``"a ZIP archive …"``, ``"plain text"``).

    Used in error messages; never names the file or anything inside it.
    """
    path = Path(path)
    try:
        head = _head(path, 512)
    except OSError:
        return "an unreadable file"
    if not head:
        return "an empty file"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "a ZIP archive"
    fmt = _sniff_bytes(head, path.name)
    if fmt is not None:
        return f"{_FORMAT_NAMES[fmt]} by its first bytes"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "a HEIC image"
    for magic, kind in _OTHER_MAGIC:
        if head.startswith(magic):
            return kind
    try:  # an incremental decoder tolerates a character cut at byte 512
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        text = ""
    if not text or not all(c.isprintable() or c.isspace() for c in text):
        return "binary data of no format latentviz knows"
    stripped = text.lstrip().lower()
    if stripped.startswith(("<!doctype html", "<html")):
        return "an HTML page"
    if stripped.startswith("<"):
        return "an XML/HTML text"
    if stripped.startswith(("{", "[")):
        return "JSON text"
    return "plain text"


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
        raise ImageReadError(path, f"unrecognised format: the file is {content_kind(path)}; {ACCEPTED}")
    if fmt == "npz" and _head(path, 4) == b"PK\x03\x04":  # an .npz is a ZIP; is this one?
        kind = _zip_kind(path)
        if kind != "npz":
            raise ImageReadError(path, f"the file is {kind}; {ACCEPTED}")
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
    if fmt not in _FORMAT_NAMES:  # a folder: its readers name the files at fault
        return _read(fmt, path, options)
    try:
        return _read(fmt, path, options)
    except ImageTooLargeError:
        raise
    except ImageReadError as exc:
        # Libraries repeat the path inside their own message; the prefix already names it.
        reason = exc.reason.replace(exc.path, "the file").replace(str(path), "the file")
        raise ImageReadError(exc.path, _explained(reason, fmt, path)) from None
    except LatentvizError:
        raise
    except Exception as exc:  # a reader library choked on bytes it did not expect
        reason = f"cannot read it as {_FORMAT_NAMES[fmt]} ({type(exc).__name__})"
        raise ImageReadError(path, _explained(reason, fmt, path)) from None


def _explained(reason: str, fmt: str, path: str | Path) -> str:
    """``reason`` plus what the file looked like and what latentviz reads."""
    name, kind = _FORMAT_NAMES[fmt], content_kind(path)
    if kind.startswith(name) or (fmt == "npz" and kind == "a ZIP archive"):
        return f"{reason} (the file starts like {name}); {ACCEPTED}"
    return f"{reason}; it was read as {name} by its suffix, but the file is {kind}; {ACCEPTED}"


def _read(fmt: str, path: str | Path, options: dict[str, Any]) -> MedicalImage:
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
