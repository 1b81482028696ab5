"""Damaged DICOM header values raise ImageReadError naming the element (issue 14, item 10)."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import pydicom
import pytest

from latentviz.data import read_image, safe_metadata
from latentviz.errors import ImageReadError


def _corrupt(source: Path, tag: tuple[int, int], vr: bytes, tmp_path: Path, fill: bytes = b"x") -> Path:
    """Copy of an explicit-VR little-endian file with one element's value overwritten by ``fill``."""
    data = bytearray(source.read_bytes())
    key = struct.pack("<HH", *tag) + vr
    at = data.find(key)
    assert at > 0, f"{tag} not found in {source.name}"
    (length,) = struct.unpack("<H", data[at + 6 : at + 8])
    value = data[at + 8 : at + 8 + length]
    # Every character but the value separators: the element keeps its multiplicity.
    data[at + 8 : at + 8 + length] = bytes(c if c == ord("\\") else fill[0] for c in value)
    path = tmp_path / f"damaged_{tag[0]:04x}{tag[1]:04x}.dcm"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("tag", "vr", "keyword"),
    [
        ((0x0020, 0x0032), b"DS", "ImagePositionPatient"),
        ((0x0020, 0x0037), b"DS", "ImageOrientationPatient"),
        ((0x0028, 0x0030), b"DS", "PixelSpacing"),
        ((0x0018, 0x0088), b"DS", "SpacingBetweenSlices"),
    ],
)
def test_damaged_number_is_typed(ct_path: Path, tmp_path: Path, tag, vr, keyword) -> None:
    path = _corrupt(ct_path, tag, vr, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ImageReadError, match=keyword):
            read_image(path)


def test_damaged_number_of_frames_is_typed(multiframe_path: Path, tmp_path: Path) -> None:
    path = _corrupt(multiframe_path, (0x0028, 0x0008), b"IS", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ImageReadError, match="NumberOfFrames"):
            read_image(path)


def test_unknown_vr_in_metadata_is_skipped_and_reported(ct_path: Path, tmp_path: Path) -> None:
    data = bytearray(ct_path.read_bytes())
    at = data.find(b"\x08\x00\x60\x00CS")  # Modality
    data[at + 4 : at + 6] = b"C\xcf"  # an unknown value representation
    path = tmp_path / "vr.dcm"
    path.write_bytes(bytes(data))
    ds = pydicom.dcmread(path)
    with pytest.raises(NotImplementedError):
        ds.get("Modality")  # what safe_metadata used to let through
    meta = safe_metadata(ds)
    assert meta["unreadable_elements"] == ["Modality"]
    with pytest.raises(ImageReadError, match="damaged header element"):
        read_image(path)  # Modality is needed for the image itself


def test_non_string_sop_class_uid_is_typed(ct_path: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(ct_path)
    del ds.PixelData
    ds.SOPClassUID = ["1.2.3", "1.2.4"]  # multi-valued: UID() raised TypeError
    path = tmp_path / "uid.dcm"
    ds.save_as(path)
    with pytest.raises(ImageReadError, match="no pixel data"):
        read_image(path)
