"""The batch results store: atomic parts, resume bookkeeping, job mismatch refusal."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.batch.store import ResultStore, StoreMismatchError


def test_parts_round_trip_in_index_order(tmp_path) -> None:
    store = ResultStore(tmp_path / "s", job={"command": "encode", "n": 6})
    store.write_part(1, {"index": np.array([3, 4, 5]), "z": np.arange(9.0).reshape(3, 3)})
    store.write_part(0, {"index": np.array([0, 1, 2]), "z": -np.arange(9.0).reshape(3, 3)})
    assert store.done_parts() == [0, 1] and store.is_done(0) and not store.is_done(2)
    out = ResultStore(tmp_path / "s").read()
    np.testing.assert_array_equal(out["index"], np.arange(6))
    assert out["z"].shape == (6, 3) and out["z"][3, 0] == 0.0 and out["z"][1, 0] == -3.0


def test_truncated_part_counts_as_not_done(tmp_path) -> None:
    store = ResultStore(tmp_path, job={"command": "encode"})
    p = store.write_part(0, {"index": np.arange(4), "p": np.ones(4)})
    p.write_bytes(p.read_bytes()[:40])
    assert not store.is_done(0)


def test_other_job_is_refused(tmp_path) -> None:
    ResultStore(tmp_path, job={"command": "encode", "model": "a"})
    ResultStore(tmp_path, job={"command": "encode", "model": "a", "workers": 3})  # same job
    with pytest.raises(StoreMismatchError, match="model"):
        ResultStore(tmp_path, job={"command": "encode", "model": "b"})


def test_rows_must_match_index(tmp_path) -> None:
    store = ResultStore(tmp_path, job={})
    with pytest.raises(ValueError, match="rows"):
        store.write_part(0, {"index": np.arange(3), "p": np.ones(2)})
    assert store.done_parts() == []


def test_keys_and_one_row(tmp_path) -> None:
    store = ResultStore(tmp_path, job={"n": 5, "batch_size": 3})
    assert store.keys() == []
    store.write_part(0, {"index": np.arange(3), "z": np.arange(6.0).reshape(3, 2), "p": np.ones(3)})
    store.write_part(1, {"index": np.array([3, 4]), "z": -np.ones((2, 2)), "p": np.zeros(2)})
    assert sorted(store.keys()) == ["index", "p", "z"]
    row = store.read_row(2, ["z"])
    assert list(row) == ["z"] and row["z"].tolist() == [4.0, 5.0]
    assert store.read_row(4)["p"] == 0.0
    with pytest.raises(IndexError):
        store.read_row(5)
