"""Every reader failure names what the file looked like and what latentviz reads (issue 14, item 7)."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentviz.core.upload import read_upload
from latentviz.data import read_image
from latentviz.data.readers import ACCEPTED, content_kind
from latentviz.errors import ImageReadError

NAME = "DOE_JOHN_MRN4471"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "hello")
        zf.writestr(f"{NAME}.dcm", b"x" * 300)
    return buf.getvalue()


def _pil(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, fmt)
    return buf.getvalue()


def _png() -> bytes:
    return _pil("PNG")


def _empty_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf)
    return buf.getvalue()


# (bytes, suffix, what the message must say the file is)
CASES = {
    "zip": (_zip, ".zip", "a ZIP archive of 2 file(s) with no NumPy arrays"),
    "zip-as-npz": (_zip, ".npz", "a ZIP archive of 2 file(s) with no NumPy arrays"),
    "zip-as-dcm": (_zip, ".dcm", "a ZIP archive"),
    "pdf": (lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", ".pdf", "a PDF document"),
    "gif": (lambda: _pil("GIF"), ".gif", "a GIF image"),
    "webp": (lambda: _pil("WEBP"), ".webp", "a WebP image"),
    "text-as-dcm": (lambda: b"hello world\n" * 40, ".dcm", "plain text"),
    "html-as-png": (lambda: b"<!DOCTYPE html><html><body>hi</body></html>", ".png", "an HTML page"),
    "gzip": (lambda: gzip.compress(b"abc"), ".gz", "a gzip file"),
    "truncated-png": (lambda: _png()[:40], ".png", "PNG/JPEG/TIFF/BMP"),
    "zeros-as-nii": (lambda: b"\0" * 400, ".nii", "binary data"),
    "empty-npz": (_empty_npz, ".npz", "NumPy arrays"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_read_image_names_what_it_saw_and_what_it_reads(tmp_path: Path, case: str) -> None:
    make, suffix, seen = CASES[case]
    path = tmp_path / f"{NAME}{suffix}"
    path.write_bytes(make())
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert seen in message
    assert ACCEPTED in message
    assert message.count(NAME) == 1  # only as the prefix, not repeated inside the reason


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_upload_says_the_same_without_any_name(case: str) -> None:
    make, suffix, seen = CASES[case]
    with pytest.raises(ImageReadError) as info:
        read_upload(make(), f"{NAME}{suffix}")
    message = str(info.value)
    assert seen in message and ACCEPTED in message
    assert NAME not in message and "/tmp" not in message and "latentviz-upload" not in message


def test_a_raw_library_error_becomes_a_typed_one(tmp_path: Path, monkeypatch) -> None:
    import latentviz.data.raster as raster

    def broken(path, **options):
        raise AttributeError("'NoneType' object has no attribute 'mode'")

    monkeypatch.setattr(raster, "read_raster", broken)
    path = tmp_path / f"{NAME}.png"
    path.write_bytes(_png())
    with pytest.raises(
        ImageReadError, match=r"cannot read it as a PNG/JPEG/TIFF/BMP image \(AttributeError\)"
    ):
        read_image(path)


def test_content_kind_never_names_a_zip_member(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(_zip())
    assert content_kind(path) == "a ZIP archive"
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert NAME not in str(info.value)
