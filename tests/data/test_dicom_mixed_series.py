"""A mixed DICOM folder whose series share a SeriesNumber names them apart, with the command."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pydicom
import pytest

from latentviz.bench.data import write_series
from latentviz.cli import main
from latentviz.data import read_image
from latentviz.errors import ImageReadError


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    for prefix, n in (("a", 2), ("b", 3), ("c", 4)):
        write_series(folder, n, series_number=1, prefix=prefix)  # all three are "series 1"
    for p in folder.glob("c*.dcm"):  # and one of them another modality
        ds = pydicom.dcmread(p)
        ds.Modality = "MR"
        ds.save_as(p)
    return folder


def test_mixed_folder_names_each_series_with_its_exact_command(mixed: Path, capsys) -> None:
    with pytest.raises(ImageReadError) as err:
        read_image(mixed)
    text = str(err.value)
    assert "pass series=<SeriesNumber" not in text and "--series" in text
    commands = re.findall(r"latentviz info \S+ --series [^\s;)]+", text)
    assert len(commands) == 3 and len(set(commands)) == 3
    assert "MR, series number 1, 4 files" in text and "CT, series number 1, 2 files" in text
    frames = set()
    for cmd in commands:  # each printed command reads exactly one series
        assert main([*shlex.split(cmd)[1:], "--json"]) == 0
        frames.add(json.loads(capsys.readouterr().out)["frames"])
    assert frames == {2, 3, 4}


def test_a_shared_series_number_is_ambiguous(mixed: Path) -> None:
    with pytest.raises(ImageReadError, match=r"series='1' matches several series.*--series"):
        read_image(mixed, series="1")
