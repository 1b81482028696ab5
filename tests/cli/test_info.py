"""``latentviz info``: technical facts only, never a patient identifier."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from latentviz.cli import main


@pytest.fixture(scope="module")
def ct_path() -> Path:
    return Path(get_testdata_file("CT_small.dcm", download=False))


def test_info_text_has_facts_and_no_identifiers(ct_path: Path, capsys: pytest.CaptureFixture) -> None:
    ds = pydicom.dcmread(ct_path)
    assert main(["info", str(ct_path)]) == 0
    out = capsys.readouterr().out
    for fact in ("CT", "128 x 128", "0.661468 x 0.661468", "HU", "MONOCHROME2", "Explicit VR Little Endian"):
        assert fact in out
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "InstitutionName",
        "StudyInstanceUID",
        "SOPInstanceUID",
        "AccessionNumber",
    ):
        value = str(ds.get(keyword, "") or "")
        if value:
            assert value not in out, f"{keyword} leaked"


def test_info_json(ct_path: Path, capsys: pytest.CaptureFixture) -> None:
    ds = pydicom.dcmread(ct_path)
    assert main(["info", str(ct_path), "--json"]) == 0
    text = capsys.readouterr().out
    info = json.loads(text)
    hu = pydicom.pixels.apply_modality_lut(ds.pixel_array, ds)
    assert info["modality"] == "CT" and info["units"] == "HU" and info["shape"] == [128, 128]
    assert info["min"] == float(hu.min()) and info["max"] == float(hu.max())
    assert info["spacing"] == [0.661468, 0.661468] and info["frames"] == 1
    assert info["transfer_syntax"] == "Explicit VR Little Endian" and info["photometric"] == "MONOCHROME2"
    assert str(ds.PatientName) not in text and str(ds.PatientID) not in text


def test_info_multiframe_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["info", get_testdata_file("emri_small.dcm", download=False), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 10 and info["shape"] == [10, 64, 64]
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00")
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "broken.dcm" in err and "Traceback" not in err


def test_info_series_folder_and_monochrome1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from latentviz.bench.data import write_series

    folder = write_series(tmp_path / "series", 5)
    assert main(["info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shape"] == [5, 128, 128] and info["frames"] == 5
    assert info["spacing"] == [5.0, 0.661468, 0.661468] and info["orientation"] == "RAS"
    cxr = get_testdata_file("RG1_UNCI.dcm", download=False)
    if cxr is not None:
        assert main(["info", cxr, "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["photometric"] == "MONOCHROME1" and info["modality"] == "CR"
        assert info["window"] == [15000.0, 30000.0] and info["spacing_unit"] == "pixel"
