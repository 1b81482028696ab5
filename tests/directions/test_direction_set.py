from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from latentviz.directions import DirectionSet
from latentviz.errors import DirectionSetMismatchError, LatentError, ModelFileError, ShapeError


def _set(generator, k=3) -> DirectionSet:
    rng = np.random.default_rng(1)
    return DirectionSet(
        rng.standard_normal((k, generator.latent_dim)) * 5,
        method="test",
        scores=np.arange(k, dtype=float),
        params={"alpha": 0.5, "arr": np.arange(2)},
        model_sha256=generator.sha256,
        latent_space=generator.latent_space,
        sigmas=np.full(k, 2.0),
    )


def test_rows_are_unit_and_defaults(blob_generator):
    ds = _set(blob_generator)
    np.testing.assert_allclose(np.linalg.norm(ds.directions, axis=1), 1.0, atol=1e-6)
    assert ds.names == ["test 0", "test 1", "test 2"]
    assert ds.notes == ["", "", ""]
    assert len(ds) == 3 and ds.latent_dim == 8


def test_save_load_roundtrip_with_rename_and_note(tmp_path, blob_generator):
    ds = _set(blob_generator).rename(1, "size").annotate("size", "found by eye")
    npz, side = ds.save(tmp_path / "sub" / "dirs.npz")
    assert npz.name == "dirs.npz" and side.name == "dirs.json"
    meta = json.loads(side.read_text())
    assert meta["format"] == "latentviz.directions/1" and meta["names"][1] == "size"
    back = DirectionSet.load(tmp_path / "sub" / "dirs", generator=blob_generator)
    np.testing.assert_array_equal(back.directions, ds.directions)
    np.testing.assert_array_equal(back.scores, [0, 1, 2])
    np.testing.assert_array_equal(back.sigmas, [2, 2, 2])
    assert back.names == ds.names and back.notes[1] == "found by eye"
    assert back.params == {"alpha": 0.5, "arr": [0, 1]}


def test_mismatch_is_refused(tmp_path, blob_generator, conv_generator):
    ds = _set(blob_generator)
    ds.save(tmp_path / "d")
    with pytest.raises(DirectionSetMismatchError, match="latent size"):
        DirectionSet.load(tmp_path / "d", generator=conv_generator)
    with torch.no_grad():
        blob_generator.module.latent_layer.bias.add_(1.0)
    blob_generator._sha256 = None
    with pytest.raises(DirectionSetMismatchError, match="sha256"):
        ds.check_compatible(blob_generator)
    blob_generator.latent_space = "w"
    with pytest.raises(DirectionSetMismatchError, match="latent space"):
        ds.check_compatible(blob_generator)


def test_bad_input_errors(tmp_path):
    with pytest.raises(ShapeError):
        DirectionSet(np.zeros((2, 3)))
    with pytest.raises(LatentError):
        DirectionSet(np.array([[np.nan, 1.0]]))
    with pytest.raises(ShapeError):
        DirectionSet(np.eye(3), names=["a"])
    with pytest.raises(ModelFileError):
        DirectionSet.load(tmp_path / "missing")
    (tmp_path / "x.npz").write_bytes(b"garbage")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ModelFileError):
        DirectionSet.load(tmp_path / "x")
    with pytest.raises(KeyError):
        DirectionSet(np.eye(2)).index("nope")


def test_shift_uses_sigma_units(blob_generator):
    ds = _set(blob_generator)
    z = torch.zeros(4, 8)
    out = ds.shift(z, 0, torch.tensor([0.0, 1.0, -1.0, 2.0]))
    expected = torch.as_tensor(ds.directions[0]) * 2.0
    torch.testing.assert_close(out[1], expected)
    torch.testing.assert_close(out[3], 2 * expected)
    torch.testing.assert_close(out[0], torch.zeros(8))
    assert ds.subset(["test 2", 0]).names == ["test 2", "test 0"]
