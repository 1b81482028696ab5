"""The batch results store: atomic parts, resume bookkeeping, job mismatch refusal."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from batch_toys import fast_options

from latentviz.batch.runner import prepare_job, run_local
from latentviz.batch.store import ResultStore, StoreMismatchError
from latentviz.errors import LatentvizError, StoreIntegrityError


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


# --- integrity: checksums and index ranges (issue 14, item 9) -------------------------------


def _flip(path, n: int = 16) -> None:
    """Invert ``n`` bytes in the middle of ``path`` (the zip directory at the end stays intact)."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + n] = bytes(b ^ 0xFF for b in data[mid : mid + n])
    path.write_bytes(bytes(data))


def _store_of_three(tmp_path) -> ResultStore:
    store = ResultStore(tmp_path / "s", job={"command": "encode", "n": 12, "batch_size": 4, "n_parts": 3})
    for part in range(3):
        rows = np.arange(part * 4, part * 4 + 4)
        store.write_part(part, {"index": rows, "z": np.outer(rows, np.ones(50)).astype(np.float32)})
    return store


def _encode(model_files, out, data="phantom:cxr:12", batch_size=4):
    job = prepare_job(data, model_files["gen"], model_files["clf"], out, fast_options("encode"), batch_size)
    return job, run_local(job, progress=False)


def test_each_part_has_a_record_of_its_checksum_and_range(tmp_path) -> None:
    store = _store_of_three(tmp_path)
    record = json.loads(store.record_path(1).read_text())
    assert record["sha256"] == hashlib.sha256(store.part_path(1).read_bytes()).hexdigest()
    assert (record["part"], record["first"], record["last"], record["count"]) == (1, 4, 7, 4)
    assert not list(store.parts_dir.glob(".tmp-*"))
    with pytest.raises(ValueError, match=r"4\.\.7"):
        store.write_part(1, {"index": np.arange(4), "z": np.ones((4, 50))})


def test_flipped_bytes_make_a_part_not_done_and_unreadable(tmp_path) -> None:
    store = _store_of_three(tmp_path)
    _flip(store.part_path(1))
    assert not store.is_done(1) and store.done_parts() == [0, 2]
    with pytest.raises(StoreIntegrityError, match="part 1 has sha256") as err:
        store.read()
    assert isinstance(err.value, LatentvizError) and err.value.part == 1
    with pytest.raises(StoreIntegrityError, match=r"part-000001\.npz"):
        store.read_row(5)
    assert store.read_row(9)["z"][0] == 9.0  # other parts stay readable


def test_a_part_copied_over_another_is_detected(tmp_path) -> None:
    store = _store_of_three(tmp_path)
    shutil.copyfile(store.part_path(0), store.part_path(1))
    assert not store.is_done(1) and store.done_parts() == [0, 2]
    with pytest.raises(StoreIntegrityError, match="part 1"):
        store.read()
    # Copying the record along does not help: it names part 0 and images 0..3.
    shutil.copyfile(store.record_path(0), store.record_path(1))
    assert not store.is_done(1)
    with pytest.raises(StoreIntegrityError, match=r"record of 'part-000000\.npz'"):
        store.read(["z"])


def test_read_refuses_missing_and_repeated_images(tmp_path) -> None:
    store = _store_of_three(tmp_path)
    store.part_path(2).unlink()
    with pytest.raises(StoreIntegrityError, match="1 of 3 parts are not written"):
        store.read()
    np.testing.assert_array_equal(store.read(partial=True)["index"], np.arange(8))
    # Without batch_size in the manifest, parts cannot be placed: rows must still be 0..n-1 once.
    loose = ResultStore(tmp_path / "loose", job={"command": "encode", "n": 6})
    loose.write_part(0, {"index": np.arange(3), "p": np.ones(3)})
    loose.write_part(1, {"index": np.arange(3), "p": np.zeros(3)})
    with pytest.raises(StoreIntegrityError, match=r"appear twice.*image 0, in parts 0 and 1"):
        loose.read()
    loose.write_part(1, {"index": np.array([4, 5]), "p": np.zeros(2)})
    with pytest.raises(StoreIntegrityError, match="first: image 3"):
        loose.read()


def test_parts_without_records_stay_readable_and_checked(tmp_path) -> None:
    """Stores written before the records: CRC and index range stand in for the checksum."""
    store = _store_of_three(tmp_path)
    for part in range(3):
        store.record_path(part).unlink()
    old = ResultStore(store.path)
    np.testing.assert_array_equal(old.read()["index"], np.arange(12))
    assert old.done_parts() == [0, 1, 2]
    shutil.copyfile(old.part_path(0), old.part_path(1))
    with pytest.raises(StoreIntegrityError, match=r"holds images 0\.\.3, not 4\.\.7"):
        old.read()
    old.write_part(1, {"index": np.arange(4, 8), "z": np.ones((4, 50), np.float32)})
    _flip(old.part_path(2))
    assert not old.is_done(2)
    with pytest.raises(StoreIntegrityError, match="part 2"):
        old.read()


def test_resume_recomputes_a_part_with_flipped_bytes(model_files, tmp_path) -> None:
    job, _ = _encode(model_files, tmp_path / "enc")
    reference = job.store.read()
    _flip(job.store.part_path(1))
    job2, report = _encode(model_files, tmp_path / "enc")
    assert (report.parts_skipped, report.parts_computed) == (2, 1)
    after = job2.store.read()
    for k in reference:
        np.testing.assert_allclose(after[k], reference[k], rtol=1e-5, atol=1e-6)


def test_resume_recomputes_a_part_copied_over_another(model_files, tmp_path) -> None:
    job, _ = _encode(model_files, tmp_path / "enc", data="phantom:cxr:16", batch_size=8)
    parts = job.store.parts_dir
    shutil.copyfile(parts / "part-000000.npz", parts / "part-000001.npz")
    with pytest.raises(StoreIntegrityError, match="part 1"):
        ResultStore(job.store.path).read()
    job2, report = _encode(model_files, tmp_path / "enc", data="phantom:cxr:16", batch_size=8)
    assert (report.parts_skipped, report.parts_computed) == (1, 1)
    rows = job2.store.read()
    np.testing.assert_array_equal(rows["index"], np.arange(16))
