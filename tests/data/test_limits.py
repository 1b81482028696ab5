"""Pixel bombs: huge declared sizes are refused from the header, before any pixel is decoded."""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest

from latentviz.data import limits, read_image
from latentviz.errors import ImageReadError, ImageTooLargeError, LatentvizError

BOMB = 13000  # 13000 x 13000 = 169 megapixels, above the 64-megapixel default

# Decoding any of the bombs would allocate >= 169 MB; refusing them must stay far below.
PEAK_LIMIT = 16 * 1024 * 1024


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(path: Path, size: int = BOMB) -> Path:
    """A valid one-colour 8-bit grey PNG of ``size`` x ``size``: a few hundred KB on disk."""
    z = zlib.compressobj(9)
    row = bytes(size + 1)  # filter byte 0 + one row of zeros
    idat = b"".join(z.compress(row) for _ in range(size)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )
    return path


def _refused_cheaply(path: Path) -> ImageTooLargeError:
    """Read ``path``; assert the typed error and a small peak of traced memory."""
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLargeError) as info:
            read_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{peak / 1e6:.1f} MB traced while refusing {path.name}: it decoded"
    assert isinstance(info.value, ImageReadError) and isinstance(info.value, LatentvizError)
    return info.value


def test_error_is_exported() -> None:
    import latentviz.errors as errors

    assert "ImageTooLargeError" in errors.__all__


def test_png_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = _png_bomb(tmp_path / "bomb.png")
    assert path.stat().st_size < 1_000_000
    err = _refused_cheaply(path)
    message = str(err)
    assert "13000x13000" in message and "169.0 megapixels" in message
    assert f"{limits.MAX_FRAME_PIXELS / 1e6:.1f} megapixels per frame" in message


def test_a_real_ct_volume_is_within_the_limits() -> None:
    # 600 slices of 512 x 512 (157 Mpx) is an ordinary thin-slice CT: it must be readable.
    limits.check_size("volume.nii", (512, 512, 600), frames=600)
    with pytest.raises(ImageTooLargeError, match="MAX_PIXELS"):
        limits.check_size("volume.nii", (1024, 1024, 600), frames=600)


def test_limit_is_overridable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _png_bomb(tmp_path / "small.png", size=100)
    assert read_image(path).shape == (100, 100)
    monkeypatch.setattr(limits, "MAX_PIXELS", 99 * 100)
    with pytest.raises(ImageTooLargeError, match="100x100"):
        read_image(path)


def test_dicom_with_huge_rows_columns_is_refused(ct_path: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(ct_path)
    ds.Rows = ds.Columns = 65535
    ds.PixelData = bytes(16)  # tiny data under a huge header
    path = tmp_path / "bomb.dcm"
    ds.save_as(path)
    assert "65535x65535" in str(_refused_cheaply(path))


def test_dicom_with_too_many_frames_is_refused(ct_path: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(ct_path)
    ds.NumberOfFrames = limits.MAX_FRAMES + 1
    ds.Rows = ds.Columns = 4
    ds.PixelData = bytes(32)
    path = tmp_path / "frames.dcm"
    ds.save_as(path)
    assert "frames" in str(_refused_cheaply(path))


def test_nifti_header_bomb_is_refused(tmp_path: Path) -> None:
    import nibabel as nib

    header = nib.Nifti1Header()
    header.set_data_dtype(np.uint8)
    header.set_data_shape((BOMB, BOMB, 2))
    path = tmp_path / "bomb.nii"
    with open(path, "wb") as f:
        header.write_to(f)
        f.write(bytes(int(header["vox_offset"]) - f.tell() + 16))  # no voxel data to speak of
    assert "13000x13000" in str(_refused_cheaply(path))


def test_npz_header_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf, zf.open("images.npy", "w") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|u1", "fortran_order": False, "shape": (BOMB, BOMB)}
        )
        f.write(bytes(16))
    assert "13000x13000" in str(_refused_cheaply(path))


def test_npz_batch_is_checked_per_image(tmp_path: Path) -> None:
    from latentviz.data import read_npz

    path = tmp_path / "batch.npz"
    np.savez(path, images=np.zeros((3, 8, 8), np.uint8))
    assert read_npz(path, index=1).shape == (8, 8)
