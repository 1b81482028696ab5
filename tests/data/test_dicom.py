"""DICOM reading on pydicom's real test files: HU, windows, MONOCHROME1, frames, codecs, series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from latentviz.bench.data import write_series
from latentviz.data import apply_window, read_dicom, read_dicom_series, read_image
from latentviz.errors import DependencyMissingError, ImageReadError


def _voi_reference(ds: pydicom.Dataset) -> np.ndarray:
    """pydicom's own VOI window output, rescaled from its stored-bit range to [0, 1]."""
    bits = int(ds.BitsStored)
    y_min = -(2 ** (bits - 1)) if ds.PixelRepresentation else 0
    y_max = y_min + 2**bits - 1
    return (apply_voi_lut(ds.pixel_array, ds) - y_min) / (y_max - y_min)


def test_ct_hu_equals_pydicom_modality_lut(ct_path: Path) -> None:
    ds = pydicom.dcmread(ct_path)
    image = read_dicom(ct_path)
    expected = apply_modality_lut(ds.pixel_array, ds)
    assert image.modality == "CT" and image.units == "HU"
    assert image.pixels.dtype == np.float32 and image.shape == (128, 128)
    np.testing.assert_array_equal(image.pixels, expected.astype(np.float32))
    # RescaleIntercept -1024 really applied: air in the corners is near -1000 HU, not ~0
    assert image.pixels.min() < -800 and image.pixels.min() == float(ds.pixel_array.min()) - 1024
    assert image.spacing == pytest.approx((0.661468, 0.661468))


def test_ct_affine_maps_first_pixel_to_image_position_in_ras(ct_path: Path) -> None:
    ds = pydicom.dcmread(ct_path)
    image = read_dicom(ct_path)
    x, y, z = (float(v) for v in ds.ImagePositionPatient)
    np.testing.assert_allclose(image.affine @ [0, 0, 0, 1], [-x, -y, z, 1])  # LPS -> RAS
    assert image.origin == pytest.approx((-x, -y, z))
    # one column step moves along the row direction by the column spacing
    np.testing.assert_allclose(
        image.affine @ [1, 0, 0, 1] - image.affine @ [0, 0, 0, 1], [-0.661468, 0, 0, 0]
    )


def test_header_window_matches_pydicom_voi(mr_path: Path) -> None:
    ds = pydicom.dcmread(mr_path)
    image = read_dicom(mr_path)
    assert image.window == (600.0, 1600.0)
    # continuous window vs DICOM's integer LINEAR form: they differ by at most 1 / (width - 1)
    np.testing.assert_allclose(image.windowed(), _voi_reference(ds), atol=1.0 / 1599 + 1e-6)


def test_multi_valued_window_uses_the_first(ct_path: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(ct_path)
    ds.WindowCenter = [40, -600]
    ds.WindowWidth = [400, 1500]
    path = tmp_path / "two_windows.dcm"
    ds.save_as(path)
    image = read_dicom(path)
    assert image.window == (40.0, 400.0)
    assert image.metadata["WindowCenter"] == [40.0, -600.0]
    np.testing.assert_allclose(image.windowed(), apply_window(image.pixels, (40.0, 400.0)))


@pytest.mark.parametrize(
    ("preset", "center", "width"),
    [
        ("lung", -600, 1500),
        ("mediastinum", 50, 350),
        ("bone", 400, 1800),
        ("brain", 40, 80),
        ("soft_tissue", 50, 400),
    ],
)
def test_presets_window_hu(ct_path: Path, preset: str, center: float, width: float) -> None:
    image = read_dicom(ct_path)
    shown = image.windowed(preset)
    lo, hi = center - width / 2, center + width / 2
    hu = image.pixels
    assert np.all(shown[hu <= lo] == 0.0) and np.all(shown[hu >= hi] == 1.0)
    inside = (hu > lo) & (hu < hi)
    np.testing.assert_allclose(shown[inside], (hu[inside] - lo) / width, rtol=1e-5, atol=1e-6)


def test_monochrome1_chest_radiograph_is_inverted(cxr_path: Path) -> None:
    ds = pydicom.dcmread(cxr_path)
    image = read_dicom(cxr_path)
    assert (image.modality, image.photometric) == ("CR", "MONOCHROME1")
    assert image.window == (15000.0, 30000.0)
    np.testing.assert_array_equal(image.pixels, ds.pixel_array.astype(np.float32))  # stored values kept
    shown = image.windowed()
    # display = 1 - pydicom's (uninverted) VOI output
    np.testing.assert_allclose(shown, 1.0 - _voi_reference(ds), atol=1.0 / 29999 + 1e-6)
    # anatomy: on screen the mediastinum is brighter than the lateral lung fields
    h, w = shown.shape
    band = slice(h // 3, 2 * h // 3)
    mediastinum = shown[band, w // 2 - 50 : w // 2 + 50].mean()
    lung = shown[band, w // 4 - 50 : w // 4 + 50].mean()
    assert mediastinum > lung + 0.1
    # PixelSpacing is 0\0 in this file: spacing is reported as unknown (pixels), not 0
    assert image.spacing == (1.0, 1.0) and image.metadata["spacing_unit"] == "pixel"


def test_monochrome1_model_input_round_trip(cxr_path: Path) -> None:
    image = read_dicom(cxr_path)
    x = image.to_model_input(128)
    assert x.shape == (1, 1, 128, 128) and x.min() >= -1 and x.max() <= 1
    back = image.from_model_range(x)
    # inverse map lands in the stored (MONOCHROME1) units: dark on screen = high values
    assert back.min() >= 0 and back.max() <= 30000
    np.testing.assert_allclose(image.from_model_range(np.array([-1.0, 1.0])), [30000.0, 0.0])


def test_multiframe(multiframe_path: Path) -> None:
    ds = pydicom.dcmread(multiframe_path)
    image = read_image(multiframe_path)
    assert image.shape == (10, 64, 64) and image.is_volume
    np.testing.assert_array_equal(image.pixels, ds.pixel_array.astype(np.float32))
    assert image.spacing[0] == pytest.approx(float(ds.SpacingBetweenSlices))
    assert image.metadata["frames"] == 10
    assert image.slice(0, 3).shape == (64, 64)
    np.testing.assert_array_equal(image.slice(0, 3).pixels, ds.pixel_array[3])


def test_jpeg2000_decodes_through_plugins() -> None:
    path = get_testdata_file("JPEG2000.dcm", download=False)
    ds = pydicom.dcmread(path)
    image = read_image(path)
    assert image.metadata["TransferSyntax"] == "JPEG 2000 Image Compression"
    assert image.shape == (1024, 256)
    np.testing.assert_array_equal(image.pixels, apply_modality_lut(ds.pixel_array, ds).astype(np.float32))


def test_jpeg_baseline_colour_becomes_luminance() -> None:
    path = get_testdata_file("SC_rgb_jpeg_dcmtk.dcm", download=False)
    rgb = pydicom.dcmread(path).pixel_array.astype(np.float64)
    image = read_image(path)
    assert image.shape == (100, 100)
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(image.pixels, luma, atol=1e-3)


def test_missing_codec_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydicom.pixels.decoders.base import get_decoder
    from pydicom.uid import JPEG2000

    decoder = get_decoder(JPEG2000)
    # simulate an install without pylibjpeg/openjpeg/pillow/gdcm: pydicom then has no plugin
    monkeypatch.setattr(decoder, "_available", {})
    monkeypatch.setattr(decoder, "_unavailable", {"pylibjpeg": ("pylibjpeg", "pylibjpeg-openjpeg")})
    with pytest.raises(DependencyMissingError, match=r'pip install "latentviz\[dicom-codecs\]"') as err:
        read_image(get_testdata_file("JPEG2000.dcm", download=False))
    assert "JPEG2000.dcm" in str(err.value) and "JPEG 2000" in str(err.value)


def test_undecodable_jpeg_is_a_read_error() -> None:
    # pydicom's JPEG-lossy.dcm has a 12-bit stream no installed plugin can decode
    with pytest.raises(ImageReadError, match=r"JPEG-lossy\.dcm: cannot decode the pixel data"):
        read_image(get_testdata_file("JPEG-lossy.dcm", download=False))


@pytest.mark.parametrize("name", ["rtplan.dcm", "test-SR.dcm"])
def test_non_image_dicom(name: str) -> None:
    with pytest.raises(ImageReadError, match=rf"{name}: not an image: .*holds no pixel data"):
        read_image(get_testdata_file(name, download=False))


@pytest.mark.parametrize("keep", [5000, -1000])
def test_truncated_dicom(ct_path: Path, tmp_path: Path, keep: int) -> None:
    path = tmp_path / "cut.dcm"
    path.write_bytes(ct_path.read_bytes()[:keep])
    with pytest.raises(ImageReadError, match=r"cut\.dcm: .*truncated"):
        read_image(path)


def test_garbage_with_dicom_suffix(tmp_path: Path) -> None:
    path = tmp_path / "junk.dcm"
    path.write_bytes(b"this is not a medical image" * 20)
    with pytest.raises(ImageReadError, match=r"junk\.dcm: not a DICOM file"):
        read_image(path)


def test_float_pixel_data_with_nan_is_rejected(ct_path: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(ct_path)
    values = ds.pixel_array.astype(np.float32)
    values[5, 7] = np.nan
    del ds.PixelData
    ds.FloatPixelData = values.tobytes()
    ds.BitsAllocated = 32
    for keyword in ("BitsStored", "HighBit", "PixelRepresentation", "RescaleSlope", "RescaleIntercept"):
        delattr(ds, keyword)
    path = tmp_path / "nan.dcm"
    ds.save_as(path)
    with pytest.raises(ImageReadError, match=r"nan\.dcm: 1 of 16384 pixel values are NaN or infinite"):
        read_image(path)


# -- series folders --------------------------------------------------------------------------------


def test_series_folder_sorted_by_position(ct_path: Path, tmp_path: Path) -> None:
    folder = write_series(tmp_path / "series", 6)
    # InstanceNumber reversed: the order must come from ImagePositionPatient, not from it
    for p in folder.iterdir():
        ds = pydicom.dcmread(p)
        ds.InstanceNumber = 7 - int(ds.InstanceNumber)
        ds.save_as(p)
    (folder / "README.txt").write_text("notes beside the slices")
    volume = read_image(folder)
    base = apply_modality_lut(pydicom.dcmread(ct_path).pixel_array, pydicom.dcmread(ct_path))
    assert volume.shape == (6, 128, 128)
    for k in range(6):  # slice k was written with stored values + k at z0 + 5k
        np.testing.assert_array_equal(volume.pixels[k], (base + k).astype(np.float32))
    assert volume.spacing == pytest.approx((5.0, 0.661468, 0.661468))
    assert volume.metadata["slices"] == 6
    np.testing.assert_allclose(volume.affine[:3, 2], [0.0, 0.0, 5.0])  # slice step along +z (S)
    np.testing.assert_allclose(volume.affine[:3, 3], [158.135803, 179.035797, -75.699997])


def test_series_sorted_along_a_descending_normal(tmp_path: Path) -> None:
    folder = write_series(tmp_path / "down", 4, step_mm=-2.5)
    volume = read_dicom_series(folder)
    # sorted by increasing position along the normal: the last slice written (k=3) comes first
    np.testing.assert_array_equal(volume.pixels[0] - volume.pixels[3], np.full((128, 128), 3.0))
    assert volume.spacing[0] == pytest.approx(2.5)


def test_mixed_series_needs_a_choice(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write_series(folder, 3, series_number=2, prefix="a")
    write_series(folder, 4, series_number=3, prefix="b")
    with pytest.raises(ImageReadError, match=r"mixed: mixed series: .*2 series .*number 2.*number 3"):
        read_image(folder)
    assert read_image(folder, series=3).shape == (4, 128, 128)
    assert read_dicom_series(folder, series="2").shape == (3, 128, 128)
    with pytest.raises(ImageReadError, match="series=7 matches no series"):
        read_dicom_series(folder, series=7)


def test_series_with_duplicate_positions(tmp_path: Path) -> None:
    folder = write_series(tmp_path / "dup", 3, step_mm=0.0)
    with pytest.raises(ImageReadError, match="two slices at the same position"):
        read_dicom_series(folder)


def test_series_with_different_slice_sizes(ct_path: Path, tmp_path: Path) -> None:
    folder = write_series(tmp_path / "sizes", 3)
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm", download=False))
    ds.SeriesInstanceUID = pydicom.dcmread(next(folder.iterdir())).SeriesInstanceUID
    ds.save_as(folder / "other.dcm")
    with pytest.raises(ImageReadError, match="slice size 64x64 differs"):
        read_dicom_series(folder)


def test_empty_and_non_dicom_folders(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageReadError, match="empty: the folder is empty"):
        read_image(empty)
    with pytest.raises(ImageReadError, match="empty: the folder is empty"):
        read_dicom_series(empty)
    only_plan = tmp_path / "plan"
    only_plan.mkdir()
    (only_plan / "plan.dcm").write_bytes(Path(get_testdata_file("rtplan.dcm", download=False)).read_bytes())
    with pytest.raises(ImageReadError, match=r"no DICOM images among 1 files \(0 not DICOM, 1 without pixel"):
        read_image(only_plan)


def test_corrupt_file_in_series_is_named(tmp_path: Path) -> None:
    folder = write_series(tmp_path / "bad", 3)
    victim = sorted(folder.iterdir())[1]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=victim.name):
        read_dicom_series(folder)


def test_metadata_holds_no_identifiers(
    ct_path: Path, mr_path: Path, cxr_path: Path, multiframe_path: Path
) -> None:
    from latentviz.data.deid import IDENTIFYING_KEYWORDS

    for path in (ct_path, mr_path, cxr_path, multiframe_path):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        meta = read_image(path).metadata
        assert not set(meta) & IDENTIFYING_KEYWORDS
        text = repr(meta)
        for keyword in (
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "InstitutionName",
            "AccessionNumber",
            "SOPInstanceUID",
            "StudyInstanceUID",
            "SeriesInstanceUID",
            "ReferringPhysicianName",
        ):
            value = str(ds.get(keyword, "") or "")
            if len(value) >= 3:
                assert value not in text, f"{keyword} of {path.name} leaked into metadata"


def test_non_finite_rescale_is_rejected(ct_path: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(ct_path)
    ds.RescaleSlope = "NaN"
    path = tmp_path / "slope.dcm"
    ds.save_as(path)
    with pytest.raises(ImageReadError, match=r"slope\.dcm: RescaleSlope is NaN, not a finite number"):
        read_image(path)
