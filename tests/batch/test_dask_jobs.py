"""Batch jobs on a dask LocalCluster (loopback, 2 worker processes): same rows as the
in-process loop, models loaded once per worker, and a worker or the whole client killed
mid-run loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from batch_toys import fast_options

from latentviz.batch.runner import prepare_job, run_dask, run_local, start_client
from latentviz.batch.store import ResultStore
from latentviz.batch.worker import load_counts
from latentviz.cli import main

pytest.importorskip("dask.distributed")
pytestmark = pytest.mark.slow

DATA = "phantom:cxr:16"
BATCH = 2  # 8 parts


@pytest.fixture(scope="module")
def client():
    client, cluster = start_client(None, workers=2, dashboard=False)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def reference(model_files, tmp_path_factory) -> dict[str, np.ndarray]:
    """The in-process loop's rows (one torch thread, like each worker)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        job = _job(model_files, tmp_path_factory.mktemp("ref"))
        run_local(job, progress=False)
    finally:
        torch.set_num_threads(threads)
    return job.store.read()


def _assert_same_rows(rows: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(rows["index"], np.arange(16))  # every image once, in order
    assert sorted(rows) == sorted(reference)
    for key in ("label", "probability", "factor_ctr"):
        np.testing.assert_allclose(rows[key], reference[key], atol=1e-5)
    for key in ("z", "mse", "psnr"):
        np.testing.assert_allclose(rows[key], reference[key], rtol=1e-3, atol=1e-3)


def _job(model_files, store: Path):
    return prepare_job(DATA, model_files["gen"], model_files["clf"], store, fast_options(), BATCH)


def _wait_for_parts(store: Path, n: int, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while len(list((store / "parts").glob("part-*.npz"))) < n:
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"no {n} parts in {store} after {timeout} s")
        time.sleep(0.02)


def test_dask_rows_match_the_local_loop_and_models_load_once(client, model_files, reference, tmp_path):
    job = _job(model_files, tmp_path / "s")
    report = run_dask(job, client, torch_threads=1, progress=False)
    assert (report.parts_computed, report.images, report.workers) == (8, 16, 2)
    _assert_same_rows(job.store.read(), reference)
    counts = client.run(load_counts)
    assert len(counts) == 2
    for per_worker in counts.values():
        assert sorted(per_worker.values()) == [1, 1]  # generator and classifier, once each
    again = run_dask(job, client, torch_threads=1, progress=False)
    assert (again.parts_skipped, again.parts_computed) == (8, 0)


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(client, model_files, reference, tmp_path):
    store = tmp_path / "s"
    job = _job(model_files, store)
    pids_before = client.run(os.getpid)
    result: dict = {}
    runner = threading.Thread(
        target=lambda: result.update(report=run_dask(job, client, torch_threads=1, progress=False))
    )
    runner.start()
    _wait_for_parts(store, 1)
    busy = [addr for addr, keys in client.processing().items() if keys] or list(pids_before)
    os.kill(pids_before[busy[0]], signal.SIGKILL)
    runner.join(timeout=300)
    assert not runner.is_alive() and "report" in result
    assert len(list((store / "parts").glob("part-*.npz"))) == 8
    _assert_same_rows(ResultStore(store).read(), reference)
    client.wait_for_workers(2, timeout=60)
    pids_after = client.run(os.getpid)
    assert set(pids_after.values()) != set(pids_before.values())  # one worker was replaced
    assert all(sorted(c.values()) == [1, 1] for c in client.run(load_counts).values())


def test_killed_cli_run_resumes_where_it_stopped(model_files, reference, tmp_path, capsys):
    store = tmp_path / "s"
    argv = [
        "batch", "encode", "--data", DATA, "--model", model_files["gen"], "--classifier", model_files["clf"],
        "--out", str(store), "--batch-size", str(BATCH), "--inversion-steps", "6", "--restarts", "1",
        "--no-refine", "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "latentviz", *argv, "--workers", "1", "--torch-threads", "1"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_parts(store, 1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client and its LocalCluster, all at once
        proc.wait(timeout=30)
    done = len(list((store / "parts").glob("part-*.npz")))
    assert 1 <= done < 8
    threads = torch.get_num_threads()
    try:
        assert main([*argv, "--workers", "0", "--torch-threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    computed = int(out.split(" parts computed")[0].split()[-1])
    assert computed == 8 - done and f"{done} kept" in out
    _assert_same_rows(ResultStore(store).read(), reference)
