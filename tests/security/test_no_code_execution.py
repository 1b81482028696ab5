"""Files latentviz reads never execute code: pickles carrying a payload are refused unrun.

Each test writes a file whose pickle, if unpickled, would create a marker file, hands it to
a latentviz reader, and checks both the typed error and that the marker does not exist.
"""

from __future__ import annotations

import pathlib
from pathlib import Path

import numpy as np
import pytest
import torch

from latentviz.errors import ImageReadError, LatentvizError, ModelFileError


class _Payload:
    """Unpickling this calls ``Path.touch(marker)``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_training_checkpoint_with_a_payload_is_refused_unrun(tmp_path: Path) -> None:
    from latentviz.models.training.common import load_checkpoint

    marker = tmp_path / "ran"
    path = tmp_path / "checkpoint.pt"
    torch.save({"step": 3, "evil": _Payload(marker)}, path)
    with pytest.raises(ModelFileError, match="checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_npz_image_with_a_pickled_object_array_is_refused_unrun(tmp_path: Path) -> None:
    from latentviz.data import read_image

    marker = tmp_path / "ran"
    path = tmp_path / "image.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    np.savez(path, image=evil)
    with pytest.raises(ImageReadError):
        read_image(path)
    assert not marker.exists()


def test_results_store_part_with_a_pickled_array_is_refused_unrun(tmp_path: Path) -> None:
    import io

    from latentviz.batch import store as store_mod

    marker = tmp_path / "ran"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    buf = io.BytesIO()
    np.savez(buf, index=np.arange(1), latent=evil)
    with pytest.raises((LatentvizError, ValueError)):
        with np.load(io.BytesIO(buf.getvalue()), allow_pickle=False) as z:
            z["latent"]
    assert not marker.exists()
    # The store reads its parts exactly that way (no allow_pickle anywhere).
    source = Path(store_mod.__file__).read_text()
    assert "allow_pickle=True" not in source and source.count("allow_pickle=False") >= 3


@pytest.mark.parametrize("flag", ["--model", "--classifier"])
def test_model_flag_given_a_pickle_with_a_payload_refuses_it_unrun(tmp_path: Path, flag: str, capsys) -> None:
    from latentviz.cli import main
    from latentviz.models.resolve import resolve_model

    marker = tmp_path / "ran"
    path = tmp_path / "model.pt"
    torch.save({"weights": torch.zeros(2), "evil": _Payload(marker)}, path)
    with pytest.raises(ModelFileError, match="never loads"):
        resolve_model(path, role="generator" if flag == "--model" else "classifier", flag=flag)
    argv = ["explain", "phantom:ct:1", "--model", "ct-medxgan", "--classifier", "ct-classifier"]
    argv[argv.index(flag) + 1] = str(path)
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert "never loads" in capsys.readouterr().err
    assert not marker.exists()
