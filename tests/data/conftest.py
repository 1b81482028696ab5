"""Fixtures for the medical image I/O tests: real pydicom / pydicom-data / nilearn files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.data import get_testdata_file


def _testdata(name: str) -> Path:
    # Resolves inside pydicom or the installed pydicom-data package; never downloads.
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not installed")
    return Path(path)


@pytest.fixture(scope="session")
def ct_path() -> Path:
    return _testdata("CT_small.dcm")


@pytest.fixture(scope="session")
def mr_path() -> Path:
    return _testdata("MR_small.dcm")


@pytest.fixture(scope="session")
def multiframe_path() -> Path:
    return _testdata("emri_small.dcm")


@pytest.fixture(scope="session")
def cxr_path() -> Path:
    """RG1_UNCI.dcm: a real chest radiograph (CR, MONOCHROME1) from the pydicom-data package."""
    return _testdata("RG1_UNCI.dcm")
