"""read_image dispatch: by content first (a DICOM without suffix), then by suffix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentviz.data import detect_format, read_image
from latentviz.errors import ImageReadError


def test_dicom_recognised_by_content(ct_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "IM0001"  # PACS exports often have no suffix
    copy.write_bytes(ct_path.read_bytes())
    assert detect_format(copy) == "dicom"
    assert read_image(copy).units == "HU"


def test_png_with_wrong_suffix_is_read_by_content(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(tmp_path / "x.png")
    (tmp_path / "x.dcm").write_bytes((tmp_path / "x.png").read_bytes())
    assert detect_format(tmp_path / "x.dcm") == "raster"
    assert read_image(tmp_path / "x.dcm").shape == (4, 5)


def test_unknown_and_missing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ImageReadError, match=r"notes\.txt: unrecognised format"):
        read_image(tmp_path / "notes.txt")
    with pytest.raises(ImageReadError, match="no such file or folder"):
        read_image(tmp_path / "absent.dcm")
    with pytest.raises(ImageReadError, match="no DICOM or PNG/JPEG/TIFF images"):
        read_image(tmp_path)


def test_options_that_do_not_apply(ct_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"option\(s\) \['series'\] do not apply to a dicom source"):
        read_image(ct_path, series=2)
