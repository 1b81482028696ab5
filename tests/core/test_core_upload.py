"""Uploads → de-identified images: size limit, private temp folder, clear errors."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from latentviz.core import upload
from latentviz.errors import ImageReadError, UploadTooLargeError

CT_SMALL = Path(get_testdata_file("CT_small.dcm"))
IDENTIFIERS = ("CompressedSamples", "CT1", "JFK", "20040119")


def _png_bytes(h: int = 40, w: int = 50) -> bytes:
    buf = io.BytesIO()
    ramp = np.tile(np.linspace(0, 255, w, dtype=np.uint8), (h, 1))
    Image.fromarray(ramp).save(buf, "PNG")
    return buf.getvalue()


def _temp_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("latentviz-upload-*")}


def test_dicom_upload_is_read_deidentified_and_the_temp_folder_removed() -> None:
    before = _temp_folders()
    image = upload.read_upload(CT_SMALL.read_bytes(), "CompressedSamples^CT1.dcm")
    assert _temp_folders() == before
    assert (image.modality, image.units, image.shape, image.source) == ("CT", "HU", (128, 128), "upload.dcm")
    text = upload.describe(image) + repr(image.metadata) + image.source
    for ident in IDENTIFIERS:
        assert ident not in text
    assert "CT image, 128 × 128 px" in upload.describe(image)


def test_png_and_nifti_volume_uploads() -> None:
    png = upload.read_upload(_png_bytes(), "scan.png")
    assert png.shape == (40, 50) and "pixel" in upload.describe(png)
    grey = Image.open(io.BytesIO(upload.preview_png(png, "auto")))
    assert grey.size == (50, 40) and grey.mode == "L"
    with tempfile.TemporaryDirectory() as d:
        vol = np.zeros((12, 10, 6), np.float32)
        vol[..., 3] = 1.0  # only the middle axial slice is bright
        nib.save(nib.Nifti1Image(vol, np.eye(4)), Path(d) / "v.nii.gz")
        data = (Path(d) / "v.nii.gz").read_bytes()
    image = upload.read_upload(data, "v.nii.gz")
    assert image.is_volume and image.shape[0] == 6
    middle = upload.upload_slice(image)
    assert middle.shape == image.shape[1:] and float(middle.pixels.max()) == 1.0
    assert float(upload.upload_slice(image, 0).pixels.max()) == 0.0


def test_too_large_upload_is_refused_before_parsing() -> None:
    with pytest.raises(UploadTooLargeError, match=r"2\.0 KB"):
        upload.read_upload(b"x" * 4096, "a.dcm", max_bytes=2048)


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "a.dcm", "empty"),
        (b"not an image at all", "a.dcm", "DICOM"),
        (CT_SMALL.read_bytes()[:600], "a.dcm", "truncated"),
        (_png_bytes()[:40], "a.png", "image"),
        (b"x" * 200, "a.nii.gz", "NIfTI"),
    ],
)
def test_corrupt_uploads_give_a_clear_error_without_paths(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(ImageReadError) as info:
        upload.read_upload(data, name)
    msg = str(info.value)
    assert msg.startswith("the uploaded file:") and reason in msg
    assert tempfile.gettempdir() not in msg and "latentviz-upload-" not in msg


def test_model_window_matches_units(zoo_ct_medxgan) -> None:
    ct = upload.read_upload(CT_SMALL.read_bytes(), "a.dcm")
    assert upload.model_window_for(ct, zoo_ct_medxgan) == (-600.0, 1500.0)
    png = upload.read_upload(_png_bytes(), "a.png")
    assert upload.model_window_for(png, zoo_ct_medxgan) is None


@pytest.fixture(scope="module")
def zoo_ct_medxgan():
    from latentviz.core import loading

    return loading.load_generator("ct-medxgan")
