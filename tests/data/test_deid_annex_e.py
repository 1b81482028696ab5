"""Every Basic Profile attribute (PS3.15 Table E.1-1) gets its action, in every DICOM file
pydicom and pydicom-data ship, sequences included (issue 14, item 11).

The table is data (:data:`latentviz.data.annex_e.BASIC_PROFILE`); the check below reads each
original file, de-identifies it and looks at every element of the copy, nested items and file
meta included.
"""

from __future__ import annotations

import warnings
from functools import cache

import pydicom
import pytest
from pydicom.data import get_testdata_files
from pydicom.dataset import Dataset

from latentviz.data import deidentify_dataset
from latentviz.data.annex_e import BASIC_PROFILE, action
from latentviz.data.deid import _DUMMIES, _is_well_known

DUMMIES = {str(v) for v in _DUMMIES.values()} | {"ANONYMOUS", "", "None", "[]"}


@cache
def _files() -> tuple[str, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = get_testdata_files()  # pydicom's own files and, when installed, pydicom-data's
    out = []
    for path in sorted(found):
        try:
            pydicom.dcmread(path, stop_before_pixels=False)
        except Exception:
            continue  # not a DICOM file (a JSON, a text, a deliberately broken one)
        out.append(path)
    return tuple(out)


def _elements(ds: Dataset):
    yield from ds.iterall()
    fm = getattr(ds, "file_meta", None)
    if fm is not None:
        yield from fm.iterall()


def _originals(ds: Dataset) -> dict[int, set[str]]:
    """``tag -> the original non-trivial text values`` of every Basic Profile attribute."""
    out: dict[int, set[str]] = {}
    for elem in _elements(ds):
        if int(elem.tag) in BASIC_PROFILE and elem.VR != "SQ" and elem.value not in (None, "", b""):
            values = elem.value if elem.VM > 1 else [elem.value]
            out.setdefault(int(elem.tag), set()).update(str(v) for v in values if len(str(v)) >= 2)
    return out


def test_the_table_is_complete_enough_to_matter() -> None:
    assert len(BASIC_PROFILE) >= 600
    # the attributes the issue found kept, by tag
    for tag, expected in {
        0x00080201: "X",  # TimezoneOffsetFromUTC
        0xFFFCFFFC: "X",  # DataSetTrailingPadding
        0x00181400: "X/D",  # AcquisitionDeviceProcessingDescription
        0x00180010: "Z/D",  # ContrastBolusAgent
        0x0040A027: "D",  # VerifyingOrganization
        0x00400280: "X",  # CommentsOnThePerformedProcedureStep
    }.items():
        assert action(tag) == expected, hex(tag)


def test_there_are_files_to_check() -> None:
    assert len(_files()) >= 50


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_every_basic_profile_action_is_applied(path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = pydicom.dcmread(path)
        originals = _originals(original)
        try:
            copy = deidentify_dataset(original, salt="annex-e")
        except Exception as exc:  # values pydicom cannot even parse: not ours to judge here
            pytest.skip(f"pydicom cannot parse {path.rsplit('/', 1)[-1]}: {type(exc).__name__}")
        for elem in _elements(copy):
            tag = int(elem.tag)
            name = f"{elem.keyword or hex(tag)} in {path.rsplit('/', 1)[-1]}"
            assert not elem.tag.is_private, name
            assert not (0x5000 <= elem.tag.group <= 0x50FF or 0x6000 <= elem.tag.group <= 0x60FF), name
            act = action(tag)
            if act is None or elem.VR == "SQ":
                continue
            values = [str(v) for v in (elem.value if elem.VM > 1 else [elem.value])]
            assert not act.startswith("X"), f"{name} should be removed ({act})"
            if act in ("Z", "Z/D"):
                assert all(v in DUMMIES for v in values), f"{name} should be blank: {values}"
            elif act == "D":
                kept = [v for v in values if v in originals.get(tag, set()) and v not in DUMMIES]
                assert not kept, f"{name} keeps its original value {kept}"
            elif act == "U":
                kept = [v for v in values if v in originals.get(tag, set()) and not _is_well_known(v)]
                assert not kept, f"{name} keeps its original UID {kept}"
