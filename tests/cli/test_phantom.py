"""``latentviz phantom``: files written and the summary printed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentviz.cli import main
from latentviz.data.phantoms import factor_names, generate


def test_phantom_writes_npz_and_gallery(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["phantom", "ct", "--n", "6", "--size", "64", "--seed", "2", "--out", str(tmp_path),
                 "--positive-fraction", "0.5", "--json"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "ct" and summary["n"] == 6 and summary["positives"] == 3
    assert summary["window"] == [-600.0, 1500.0] and summary["units"] == "HU"
    with np.load(tmp_path / "ct_images.npz") as z:
        assert z["images"].shape == (6, 1, 64, 64) and z["masks"].dtype == bool
        ref = generate("ct", 6, size=64, seed=2)
        np.testing.assert_array_equal(z["raw"], ref.raw)
        np.testing.assert_array_equal(z["labels"], ref.labels)
        assert list(z["factor_names"]) == factor_names("ct")
        np.testing.assert_array_equal(z["factor_z_position"], ref.factors["z_position"])
        assert json.loads(str(z["meta"]))["seed"] == 2
    png = tmp_path / "ct_gallery.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 400_000


def test_phantom_plain_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["phantom", "cxr", "--n", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cxr: 3 images of 64x64" in out and "cxr_images.npz" in out


def test_phantom_bad_size_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["phantom", "cxr", "--n", "2", "--size", "9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "size=9" in err and "Traceback" not in err
    assert not (tmp_path / "cxr_images.npz").exists()
