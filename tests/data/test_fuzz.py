"""Seeded fuzz of every reader: each damaged file either reads or raises a LatentvizError.

Real DICOMs that pydicom ships, and PNG, NIfTI and NPZ files made here, are mutated with a fixed
seed (byte flips, truncations, corrupted length fields) so a failure names a reproducible variant.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from latentviz.data import read_image
from latentviz.errors import LatentvizError

VARIANTS = 40  # per source file
SEED = 14

DICOM_FILES = ("CT_small.dcm", "MR_small.dcm", "emri_small.dcm", "SC_rgb_small_odd.dcm", "MR_small_RLE.dcm")


def _mutants(data: bytes, rng: np.random.Generator, header: int) -> list[bytes]:
    """``VARIANTS`` damaged copies of ``data``; ``header`` bytes from the start are the hot zone."""
    out = []
    hot = max(16, min(header, len(data)))
    for i in range(VARIANTS):
        buf = bytearray(data)
        kind = i % 4
        if kind == 0:  # random byte flips anywhere
            for pos in rng.integers(0, len(buf), size=int(rng.integers(1, 16))):
                buf[pos] ^= int(rng.integers(1, 256))
        elif kind == 1:  # byte flips in the header
            for pos in rng.integers(0, hot, size=int(rng.integers(1, 8))):
                buf[pos] = int(rng.integers(0, 256))
        elif kind == 2:  # truncation
            buf = buf[: int(rng.integers(1, len(buf)))]
        else:  # a 2- or 4-byte length (or size) field in the header set to a wild value
            pos = int(rng.integers(0, hot - 4))
            width = 2 if rng.random() < 0.5 else 4
            value = int(
                rng.choice([0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, int(rng.integers(0, 2**16))])
            )
            buf[pos : pos + width] = (value & (2 ** (8 * width) - 1)).to_bytes(width, "little")
        out.append(bytes(buf))
    return out


def _check_all(name: str, data: bytes, suffix: str, header: int, tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    bad = []
    for i, mutant in enumerate(_mutants(data, rng, header)):
        path = tmp_path / f"{Path(name).stem}_{i}{suffix}"
        path.write_bytes(mutant)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # damaged files warn a lot on the way to an error
            try:
                read_image(path)
            except LatentvizError:
                pass
            except Exception as exc:
                bad.append(f"{path.name}: {type(exc).__name__}: {exc}")
        path.unlink()
    assert not bad, f"{len(bad)} untyped errors (seed {seed}):\n" + "\n".join(bad)


@pytest.mark.parametrize("name", DICOM_FILES)
def test_fuzz_dicom(name: str, tmp_path: Path) -> None:
    source = get_testdata_file(name, download=False)
    if source is None:
        pytest.skip(f"pydicom test file {name} is not installed")
    data = Path(source).read_bytes()
    _check_all(name, data, ".dcm", 1024, tmp_path, SEED + DICOM_FILES.index(name))


def test_fuzz_png(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(SEED)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (48, 40), dtype=np.uint8)).save(buf, format="PNG")
    _check_all("image.png", buf.getvalue(), ".png", 64, tmp_path, SEED + 100)


def test_fuzz_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    buf = io.BytesIO()
    np.savez(buf, images=rng.integers(0, 256, (4, 16, 16), dtype=np.uint8), labels=np.arange(4))
    # Read with index=None: a (4, 16, 16) array is a volume.
    _check_all("arrays.npz", buf.getvalue(), ".npz", 256, tmp_path, SEED + 200)


def test_fuzz_nifti(tmp_path: Path) -> None:
    import nibabel as nib

    rng = np.random.default_rng(SEED)
    img = nib.Nifti1Image(rng.normal(size=(12, 10, 6)).astype(np.float32), np.diag([2.0, 2.0, 3.0, 1.0]))
    path = tmp_path / "volume.nii"
    nib.save(img, path)
    data = path.read_bytes()
    assert struct.unpack("<i", data[:4])[0] == 348
    _check_all("volume.nii", data, ".nii", 352, tmp_path, SEED + 300)
