"""Benchmark rows of the batch area: images/s of ``batch encode`` in this process (the
single-process loop) against dask.distributed with 1 and 2 worker processes on loopback, and
the latent atlas of a large cohort (embedding, selection, one datashader view).

The job is the zoo's cxr medXGAN + classifier at 64 px on cxr phantoms, with a short
inversion (Adam only) so that the per-task overhead of dask is as visible as it gets. Every
setting first runs a warm-up job (one part per worker: model loads, first autograd calls),
then the timed job; cluster start-up is its own row, not part of the throughput.

Every worker runs one torch thread, and the overhead row compares it with the loop at one
thread, so the ratio is dask's cost alone (task submission, pickling a batch, the receipt).
The loop at all cores is shown beside it.

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


def _single(root: Path, n: int, batch_size: int, repeats: int, threads: int) -> list[float]:
    from latentviz.batch.runner import run_local

    old = torch.get_num_threads()
    try:
        warm = _job(root, f"warm-single{threads}", batch_size, batch_size)
        run_local(warm, progress=False, torch_threads=threads)
        jobs = [_job(root, f"single{threads}-{r}", n, batch_size) for r in range(repeats)]
        return [run_local(job, progress=False).seconds for job in jobs]
    finally:
        torch.set_num_threads(old)


def _dask(root: Path, workers: int, n: int, batch_size: int, repeats: int):
    from latentviz.batch.runner import run_dask, start_client

    t0 = time.perf_counter()
    client, cluster = start_client(None, workers, dashboard=False)
    startup = time.perf_counter() - t0
    try:
        warm = _job(root, f"warm-dask{workers}", workers * batch_size, batch_size)
        run_dask(warm, client, torch_threads=1, progress=False)
        runs = [
            run_dask(_job(root, f"dask{workers}-{r}", n, batch_size), client, progress=False)
            for r in range(repeats)
        ]
    finally:
        client.close()
        cluster.close()
    return [r.seconds for r in runs], startup


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
    n, batch_size, repeats = (32, 8, 1) if quick else (64, 8, 3)
    cores = os.cpu_count() or 1
    job = f"encode {n} cxr 64px"
    extra = {"images": n, "batch_size": batch_size, "inversion": INVERSION, "cores": cores}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        single = {}
        for threads in sorted({1, cores}):
            runs = _single(root, n, batch_size, repeats, threads)
            single[threads] = statistics.median(runs)
            name = f"{job}, single-process loop, {threads} torch thread(s)"
            out.append(Row(AREA, name, n / single[threads], "img/s", extra={**extra, "seconds": runs}))
        for workers in (1, 2):
            runs, startup = _dask(root, workers, n, batch_size, repeats)
            t = statistics.median(runs)
            name = f"{job}, dask {workers} worker(s) × 1 thread"
            base = "single-process loop, 1 thread"
            out.append(
                Row(
                    AREA,
                    name,
                    n / t,
                    "img/s",
                    ratio=single[1] / t,
                    baseline=base,
                    extra={**extra, "seconds": runs},
                )
            )
            if workers == 1:
                overhead = {"single_s": single[1], "dask_s": t}
                name = "dask 1 worker: time / single-process time (1 thread each)"
                out.append(Row(AREA, name, t / single[1], "×", target="<= 1.2×", extra=overhead))
            out.append(Row(AREA, f"LocalCluster start, {workers} worker(s)", startup, "s"))
    return out
