"""De-identification: the export copy carries none of the original identifiers, anywhere."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import keyword_dict
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from latentviz.data import deidentify_dataset, safe_metadata
from latentviz.data.deid import IDENTIFYING_KEYWORDS, SAFE_KEYWORDS, _is_well_known


def _elements(ds: Dataset):
    """Every data element of ``ds``, nested sequence items and file meta included."""
    yield from ds.iterall()
    fm = getattr(ds, "file_meta", None)
    if fm is not None:
        yield from fm.iterall()


_NUMERIC_VRS = frozenset({"SQ", "DS", "IS", "FL", "FD", "SL", "SS", "UL", "US", "SV", "UV", "OB", "OW"})


def _identifier_values(ds: Dataset) -> set[str]:
    """The original values a de-identified copy must not contain."""
    found: set[str] = set()
    for elem in _elements(ds):
        if elem.VR in _NUMERIC_VRS or elem.value in (None, "", b""):
            continue  # numbers (a weight, a private count) recur legitimately elsewhere
        values = elem.value if elem.VM > 1 else [elem.value]
        identifying = (
            elem.keyword in IDENTIFYING_KEYWORDS
            or elem.VR in ("PN", "DA", "DT", "TM")
            # private text (names, IDs); private numbers such as a slice thickness are no identifier
            or (elem.tag.is_private and elem.VR in ("LO", "SH", "ST", "LT", "UT", "UC", "PN"))
            or (elem.VR == "UI" and not all(_is_well_known(str(v)) for v in values))
        )
        if identifying:
            found.update(s for s in (str(v).strip() for v in values) if len(s) >= 4)
    return found


def _with_nested_identifiers(ds: Dataset) -> Dataset:
    """Add identifiers inside a nested sequence and a private block (where simple tools miss them)."""
    ds = ds.copy()
    inner = Dataset()
    inner.ReferencedSOPClassUID = ds.SOPClassUID
    inner.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.8.498.111222333"
    deeper = Dataset()
    deeper.PatientName = "Nested^Secret"
    deeper.OperatorsName = "Operator^Hidden"
    deeper.StudyDate = "19990101"
    inner.PurposeOfReferenceCodeSequence = Sequence([deeper])
    ds.SourceImageSequence = Sequence([inner])
    block = ds.private_block(0x0011, "ACME Hospital 1.0", create=True)
    block.add_new(0x01, "LO", "Private^Patient^Copy")
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    ds.OtherPatientIDsSequence[0].PatientID = "MRN-0042-77"
    return ds


FILES = ["CT_small.dcm", "MR_small.dcm", "emri_small.dcm", "RG1_UNCI.dcm", "rtplan.dcm", "test-SR.dcm"]


@pytest.mark.parametrize("name", FILES)
def test_deidentified_copy_contains_no_original_identifier(name: str) -> None:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} not installed")
    original = _with_nested_identifiers(pydicom.dcmread(path))
    secrets = _identifier_values(original)
    assert {"Nested^Secret", "Private^Patient^Copy", "MRN-0042-77"} <= secrets
    assert str(original.PatientName) in secrets or len(str(original.PatientName)) < 4

    clean = deidentify_dataset(original)
    long_secrets = {v for v in secrets if len(v) >= 8}

    # 1. every element, at every depth, and the file meta
    for elem in _elements(clean):
        assert not elem.tag.is_private, f"private tag {elem.tag} survived"
        if elem.VR == "SQ" or elem.value is None:
            continue
        values = elem.value if elem.VM > 1 else [elem.value]
        for value in (str(v).strip() for v in values):
            assert value not in secrets, f"{value!r} survived in {elem.keyword or elem.tag}"
            # long secrets (names, IDs, dates, UIDs) must not survive inside other text either;
            # short ones (a private count like 1576) can occur in a new random UID by chance
            for secret in long_secrets:
                assert secret not in value, f"{secret!r} survived in {elem.keyword or elem.tag}"
    # 2. the bytes of the written file (header only: pixel bytes could match by chance)
    clean_header = clean.copy()
    for keyword in ("PixelData", "FloatPixelData"):
        if keyword in clean_header:
            delattr(clean_header, keyword)
    buf = io.BytesIO()
    clean_header.save_as(buf, enforce_file_format=True)
    written = buf.getvalue()
    for secret in long_secrets:
        assert secret.encode() not in written, f"{secret!r} is in the written file"
    # 3. profile markers, and the input is left alone
    assert clean.PatientIdentityRemoved == "YES"
    assert clean.PatientName == "ANONYMOUS" and clean.PatientID == "ANONYMOUS"
    assert str(original.OtherPatientIDsSequence[0].PatientID) == "MRN-0042-77"


def test_export_is_a_valid_image_with_consistent_uids(tmp_path: Path) -> None:
    path = get_testdata_file("CT_small.dcm", download=False)
    ds = pydicom.dcmread(path)
    a = deidentify_dataset(ds, salt="study-42")
    b = deidentify_dataset(ds, salt="study-42")
    c = deidentify_dataset(ds)
    out = tmp_path / "anon.dcm"
    a.save_as(out, enforce_file_format=True)
    back = pydicom.dcmread(out)
    np.testing.assert_array_equal(back.pixel_array, ds.pixel_array)
    assert back.SOPClassUID == ds.SOPClassUID  # a standard UID is kept
    assert back.SeriesInstanceUID != ds.SeriesInstanceUID and back.SeriesInstanceUID.is_valid
    assert back.file_meta.MediaStorageSOPInstanceUID == back.SOPInstanceUID
    assert a.SeriesInstanceUID == b.SeriesInstanceUID  # same salt: a series stays a series
    assert c.SeriesInstanceUID != a.SeriesInstanceUID  # fresh salt: nothing links back
    # geometry needed to use the image survives
    assert back.PixelSpacing == ds.PixelSpacing and back.RescaleIntercept == ds.RescaleIntercept


def test_keyword_lists_are_real_dicom_keywords() -> None:
    unknown = sorted(k for k in (*IDENTIFYING_KEYWORDS, *SAFE_KEYWORDS) if k not in keyword_dict)
    assert unknown == []
    assert not set(SAFE_KEYWORDS) & IDENTIFYING_KEYWORDS


def test_safe_metadata_is_an_allow_list() -> None:
    ds = _with_nested_identifiers(pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False)))
    meta = safe_metadata(ds)
    assert set(meta) <= {*SAFE_KEYWORDS, "TransferSyntax"}
    assert meta["SOPClassUID"] == "CT Image Storage"  # the class name, not an instance UID
    assert meta["RescaleIntercept"] == -1024.0 and meta["Rows"] == 128
