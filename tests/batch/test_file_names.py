"""A cohort file that fails to read is named by its index, never by its file name (issue 14, item 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentviz.batch.source import open_cohort
from latentviz.data.readers import anonymous_name
from latentviz.errors import ImageReadError

NAME = "DOE_JOHN_MRN4471"


@pytest.fixture
def cohort_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "cohort"
    folder.mkdir()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(folder / "A_good.png")
    (folder / f"{NAME}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # a truncated PNG
    return folder


def test_a_failing_cohort_file_is_named_by_its_index(cohort_folder: Path) -> None:
    cohort = open_cohort(str(cohort_folder), 32)
    assert NAME not in repr(cohort.description)
    with pytest.raises(ImageReadError) as info:  # files are sorted: the bad one is image 1
        cohort.batch(np.array([0, 1])).load()
    message = str(info.value)
    assert message.startswith("cohort image 1: ")
    assert NAME not in message and str(cohort_folder) not in message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/data/{NAME}.dcm", "image.dcm"),
        (f"{NAME}.NII.GZ", "image.nii.gz"),
        (NAME, "image"),
        ("x.exe", "image"),
    ],
)
def test_anonymous_name_keeps_only_the_format(path: str, expected: str) -> None:
    assert anonymous_name(path) == expected
