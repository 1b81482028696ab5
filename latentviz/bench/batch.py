"""Benchmark rows of the batch area: images/s of ``batch encode`` in this process (the
single-process loop) against dask.distributed with 1 and 2 worker processes on loopback, and
the latent atlas of a large cohort (embedding, selection, one datashader view).

The job is the zoo's cxr medXGAN + classifier at 64 px on cxr phantoms, with a short
inversion (Adam only) so that the per-task overhead of dask is as visible as it gets. Every
setting first runs a warm-up job (one part per worker: model loads, first autograd calls),
then the timed job; cluster start-up is its own row, not part of the throughput.

Every worker runs one torch thread, and the overhead rows compare one worker with the loop at
one thread, run in alternation (a shared machine's load drifts; a pair sees the same load):
the median paired time ratio, and dask's own time per part (wall time minus the part's
compute: task submission, pickling the batch, the receipt). The loop at all cores is shown
beside them.

What 2 workers on a 2-core machine can show: that two one-thread processes keep both cores
busy (up to 2× the one-thread loop), and how that compares with one process whose torch ops
use both cores. What they cannot show: scaling beyond the machine. Both cores are already
in use, so more images/s needs more cores or machines (see docs/scaling.md), and on a
machine shared with other work the figures move with its load.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from latentviz.bench.harness import Row, measure

__all__ = ["AREA", "rows"]

AREA = "batch"
MODEL, CLASSIFIER = "cxr-medxgan", "cxr-classifier"
INVERSION = {"steps": 10, "restarts": 1, "refine": None}


def _options():
    from latentviz.batch.jobs import JobOptions

    return JobOptions(command="encode", inversion=dict(INVERSION))


def _job(root: Path, name: str, n: int, batch_size: int):
    from latentviz.batch.runner import prepare_job

    return prepare_job(f"phantom:cxr:{n}", MODEL, CLASSIFIER, root / name, _options(), batch_size)


def _single(root: Path, name: str, n: int, batch_size: int, threads: int):
    """One timed in-process run at ``threads`` torch threads (warm-up runs share ``name``)."""
    from latentviz.batch.runner import run_local

    old = torch.get_num_threads()
    try:
        return run_local(_job(root, name, n, batch_size), progress=False, torch_threads=threads)
    finally:
        torch.set_num_threads(old)


def _cluster(workers: int):
    from latentviz.batch.runner import start_client

    t0 = time.perf_counter()
    client, cluster = start_client(None, workers, dashboard=False)
    return client, cluster, time.perf_counter() - t0


def _dask_overhead(report) -> float:
    """Milliseconds per part that are not the part's own compute: dask and the client."""
    compute = sum(r["seconds"] for r in report.receipts)
    return 1e3 * max(0.0, report.seconds * report.workers - compute) / max(1, report.parts_computed)


def _atlas_rows(quick: bool) -> list[Row]:
    """Atlas of a large cohort: embedding, a tap, a box, and one datashader view."""
    from latentviz.batch.store import ResultStore
    from latentviz.core.atlas import Atlas

    n, d = (20_000, 110) if quick else (100_000, 110)
    rng = np.random.default_rng(0)
    out: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(tmp, job={"command": "encode", "n": n, "batch_size": 4096})
        for part, start in enumerate(range(0, n, 4096)):
            rows = np.arange(start, min(start + 4096, n))
            z = rng.normal(size=(len(rows), d)).astype(np.float32)
            store.write_part(part, {"index": rows, "z": z, "probability": rng.random(len(rows))})
        t0 = time.perf_counter()
        atlas = Atlas(store)
        out.append(Row(AREA, f"atlas: read + PCA of {n:,} latents ({d}-d)", time.perf_counter() - t0, "s"))
    med, p95 = measure(lambda: atlas.nearest(0.1, 0.2), repeats=20)
    out.append(Row(AREA, f"atlas: tap → nearest of {n:,} points", med, "ms", p95))
    med, p95 = measure(lambda: atlas.rows_in_box(-1, 1, -1, 1), repeats=20)
    out.append(Row(AREA, f"atlas: box selection of {n:,} points", med, "ms", p95))
    try:
        import datashader as ds
        import holoviews as hv
        from holoviews.operation.datashader import rasterize
    except ImportError:
        return out
    points = hv.Points((atlas.xy[:, 0], atlas.xy[:, 1], atlas.colour("probability")), ["x", "y"], ["value"])

    def view() -> None:
        rasterize(points, aggregator=ds.mean("value"), dynamic=False, width=700, height=450)

    med, p95 = measure(view, repeats=5 if quick else 10)
    out.append(
        Row(AREA, f"atlas: datashader view of {n:,} points (700×450)", med, "ms", p95, "fluid: < 100 ms")
    )
    return out


def rows(quick: bool = False) -> list[Row]:
    out = _atlas_rows(quick)
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return out
    from latentviz.batch.runner import run_dask

    n, batch_size, repeats = (32, 8, 1) if quick else (64, 8, 5)
    cores = os.cpu_count() or 1
    job = f"encode {n} cxr 64px"
    extra = {"images": n, "batch_size": batch_size, "inversion": INVERSION, "cores": cores}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # One worker against the one-thread loop, run in alternation: a shared machine's load
        # drifts, and pairs see the same load.
        client, cluster, startup = _cluster(1)
        try:
            run_dask(
                _job(root, "warm-dask1", batch_size, batch_size), client, torch_threads=1, progress=False
            )
            _single(root, "warm-single", batch_size, batch_size, threads=1)
            pairs = [
                (
                    _single(root, f"single1-{r}", n, batch_size, threads=1),
                    run_dask(_job(root, f"dask1-{r}", n, batch_size), client, progress=False),
                )
                for r in range(repeats)
            ]
        finally:
            client.close()
            cluster.close()
        single = statistics.median(a.seconds for a, _ in pairs)
        dask1 = statistics.median(b.seconds for _, b in pairs)
        ratios = [b.seconds / a.seconds for a, b in pairs]
        seconds = {"single": [a.seconds for a, _ in pairs], "dask": [b.seconds for _, b in pairs]}
        out.append(Row(AREA, f"{job}, single-process loop, 1 torch thread", n / single, "img/s", extra=extra))
        out.append(
            Row(AREA, f"{job}, dask 1 worker × 1 thread", n / dask1, "img/s", ratio=single / dask1,
                baseline="single-process loop, 1 thread", extra={**extra, "seconds": seconds})
        )  # fmt: skip
        name = "dask 1 worker: time / single-process time (paired runs)"
        out.append(
            Row(AREA, name, statistics.median(ratios), "×", target="<= 1.2×", extra={"ratios": ratios})
        )
        overhead = [_dask_overhead(b) for _, b in pairs]
        name = "dask 1 worker: time per part outside the part's compute"
        out.append(Row(AREA, name, statistics.median(overhead), "ms", extra={"per_run": overhead}))
        out.append(Row(AREA, "LocalCluster start, 1 worker", startup, "s"))

        client, cluster, startup = _cluster(2)
        try:
            warm = _job(root, "warm-dask2", 2 * batch_size, batch_size)
            run_dask(warm, client, torch_threads=1, progress=False)
            runs = [
                run_dask(_job(root, f"dask2-{r}", n, batch_size), client, progress=False)
                for r in range(repeats)
            ]
        finally:
            client.close()
            cluster.close()
        times = [r.seconds for r in runs]
        two = statistics.median(times)
        out.append(
            Row(AREA, f"{job}, dask 2 workers × 1 thread", n / two, "img/s", ratio=single / two,
                baseline="single-process loop, 1 thread", extra={**extra, "seconds": times})
        )  # fmt: skip
        out.append(Row(AREA, "LocalCluster start, 2 workers", startup, "s"))
        if cores > 1:
            _single(root, "warm-single-all", batch_size, batch_size, threads=cores)
            times = [
                _single(root, f"single{cores}-{r}", n, batch_size, cores).seconds for r in range(repeats)
            ]
            t = statistics.median(times)
            name = f"{job}, single-process loop, {cores} torch threads"
            out.append(
                Row(AREA, name, n / t, "img/s", ratio=single / t, baseline="single-process loop, 1 thread",
                    extra={**extra, "seconds": times})
            )  # fmt: skip
    return out
