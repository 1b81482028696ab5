"""Running a batch job: in this process (the reference loop) or on a dask.distributed cluster.

A job is a cohort cut into parts of ``batch_size`` images, two models, and the options of one
command. :func:`run_local` computes the missing parts one after the other;
:func:`run_dask` submits one task per missing part (never one per image) with retries, shows
dask's progress bar and the dashboard link, and gathers only small receipts (the workers write
the parts). Both skip the parts already in the store whose checksum and index range verify,
so an interrupted run resumes and a corrupted part is computed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from latentviz import __version__
from latentviz.batch.jobs import JobOptions, check_models
from latentviz.batch.source import Cohort, open_cohort
from latentviz.batch.store import ResultStore
from latentviz.batch.worker import ModelRef, prepare_process, resolve_model, run_part
from latentviz.errors import ArgumentError, DependencyMissingError, LatentvizError

__all__ = ["BatchJob", "BatchJobError", "RunReport", "prepare_job", "run_dask", "run_local", "start_client"]

log = logging.getLogger(__name__)


class BatchJobError(LatentvizError, RuntimeError):
    """A part failed for good (after its retries); the finished parts are kept."""


@dataclass
class BatchJob:
    """Everything a run needs: where to write, what to read, which models, which options."""

    store: ResultStore
    cohort: Cohort
    model: ModelRef
    classifier: ModelRef
    options: JobOptions
    batch_size: int

    @property
    def n_parts(self) -> int:
        return math.ceil(self.cohort.n / self.batch_size)

    def indices(self, part: int) -> np.ndarray:
        return np.arange(part * self.batch_size, min((part + 1) * self.batch_size, self.cohort.n))

    def pending(self) -> list[int]:
        """Parts not yet written and sound in the store (checksum and index range verified:
        a corrupt or misplaced part is recomputed)."""
        written, done = set(self.store.written_parts()), set(self.store.done_parts())
        bad = sorted(p for p in written - done if p < self.n_parts)
        if bad:
            log.warning("%d corrupt or misplaced parts will be recomputed: %s", len(bad), bad)
        return [p for p in range(self.n_parts) if p not in done]

    @property
    def token(self) -> str:
        """A short id of the job and its store (dask task keys)."""
        text = json.dumps([str(self.store.path.resolve()), self.store.job], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass
class RunReport:
    """What a run did. ``images_per_second`` counts the images of the parts computed now."""

    parts_total: int
    parts_skipped: int
    parts_computed: int
    images: int
    seconds: float
    workers: int = 1
    dashboard: str | None = None
    receipts: list[dict] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else math.nan


def prepare_job(
    data: str,
    model: str,
    classifier: str,
    out: str | os.PathLike,
    options: JobOptions,
    batch_size: int = 32,
    device: str | None = None,
) -> BatchJob:
    """Load and check the models here, open the cohort at the generator's size, and open (or
    resume) the store; a store of another job is refused (:class:`StoreMismatchError`)."""
    if batch_size < 1:
        raise ArgumentError(f"--batch-size must be >= 1, got {batch_size}")
    g = resolve_model(model, device, "generator", "--model")
    c = resolve_model(classifier, device, "classifier", "--classifier")
    check_models(g, c, options)
    size = int(g.image_shape[-1])
    cohort = open_cohort(data, size, seed=options.seed)
    manifest = {
        "format": 1,
        "command": options.command,
        "data": cohort.description,
        "n": cohort.n,
        "image_size": size,
        "batch_size": batch_size,
        "n_parts": math.ceil(cohort.n / batch_size),
        "model": {
            "name": Path(model).name,
            "sha256": g.sha256,
            "latent_dim": g.latent_dim,
            "split_sizes": list(g.split_sizes) if g.is_conditional else None,
        },
        "classifier": {
            "name": Path(classifier).name,
            "sha256": c.sha256,
            "target": c.target,
            "target_names": list(c.target_names),
        },
        "has_masks": cohort.has_masks,
        "factors": sorted(cohort.factors),
        "options": options.to_json(),
        "latentviz": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    store = ResultStore(out, job=manifest)
    store.remove_temporary()
    return BatchJob(
        store,
        cohort,
        ModelRef(model, g.sha256, device, "generator"),
        ModelRef(classifier, c.sha256, device, "classifier"),
        options,
        batch_size,
    )


def run_local(job: BatchJob, progress: bool = True, torch_threads: int | None = None) -> RunReport:
    """Compute the missing parts in this process, one after the other (the reference loop);
    ``torch_threads`` sets torch's threads for the rest of this process (None: unchanged)."""
    pending = job.pending()
    prepare_process((job.model, job.classifier), torch_threads)
    t0 = time.perf_counter()
    receipts = []
    for part in tqdm(pending, desc=f"batch {job.options.command}", unit="part", disable=not progress):
        receipts.append(
            run_part(
                str(job.store.path),
                part,
                job.cohort.batch(job.indices(part)),
                job.model,
                job.classifier,
                job.options,
            )
        )
    return _report(job, pending, receipts, time.perf_counter() - t0, workers=1)


def start_client(scheduler: str | None = None, workers: int = 1, dashboard: bool = True):
    """A dask client: connected to ``scheduler``, or to a new LocalCluster on loopback with
    ``workers`` processes of one thread each. Returns ``(client, cluster_or_None)``."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise DependencyMissingError(
            "batch jobs on dask need dask.distributed: pip install 'latentviz[cohort]'"
        ) from exc
    if scheduler:
        return Client(scheduler, timeout="30s"), None
    if workers < 1:
        raise ArgumentError(f"--workers must be >= 1, got {workers}")
    import dask

    # dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers, which turns off glibc's
    # adaptive mmap threshold: torch's many mid-size tensors then cost an mmap/munmap each
    # (inversion measured 2.6x slower). Workers of this cluster keep glibc's defaults.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0" if dashboard else None,
            silence_logs=logging.ERROR,
        )
    return Client(cluster), cluster


def run_dask(
    job: BatchJob,
    client,
    retries: int = 3,
    torch_threads: int | None = None,
    progress: bool = True,
) -> RunReport:
    """Compute the missing parts on the cluster behind ``client`` (one task per part).

    Parameters
    ----------
    job
        From :func:`prepare_job`.
    client
        A ``dask.distributed.Client``; its workers must see the store folder (and a file
        cohort) at the same path.
    retries
        Re-runs of a part whose task raised (a part that lost its worker is rescheduled by
        dask itself, up to ``distributed.scheduler.allowed-failures`` times).
    torch_threads
        torch threads per worker (None: leave the workers' setting).
    progress
        Show dask's progress bar (and print the dashboard link).
    """
    from dask.distributed import WorkerPlugin, wait
    from dask.distributed import progress as dask_progress

    class _Plugin(WorkerPlugin):
        name = "latentviz-batch"
        idempotent = False

        def __init__(self, models: tuple[ModelRef, ...], threads: int | None) -> None:
            self.models, self.threads = models, threads

        def setup(self, worker) -> None:
            prepare_process(self.models, self.threads)

    pending = job.pending()
    dashboard = getattr(client, "dashboard_link", None)
    if progress and dashboard:
        print(f"dask dashboard: {dashboard}")
    client.register_plugin(_Plugin((job.model, job.classifier), torch_threads), name=f"latentviz-{job.token}")
    t0 = time.perf_counter()
    futures = [
        client.submit(
            run_part,
            str(job.store.path),
            part,
            job.cohort.batch(job.indices(part)),
            job.model,
            job.classifier,
            job.options,
            key=f"latentviz-batch-{job.token}-part-{part:06d}",
            retries=retries,
            pure=False,
        )
        for part in pending
    ]
    try:
        if progress and futures:
            dask_progress(futures, notebook=False)
        wait(futures)
        failed = [f for f in futures if f.status != "finished"]
        if failed:
            exc = failed[0].exception()
            raise BatchJobError(
                f"{len(failed)} of {len(futures)} parts failed ({type(exc).__name__}: {exc}); "
                f"the {len(futures) - len(failed)} finished parts are kept: rerun to resume"
            ) from exc
        receipts = client.gather(futures)
    finally:
        client.cancel([f for f in futures if not f.done()])
    workers = len(client.scheduler_info().get("workers", {}))
    return _report(job, pending, receipts, time.perf_counter() - t0, workers=workers, dashboard=dashboard)


def _report(
    job: BatchJob, pending: list[int], receipts: list[dict], seconds: float, workers: int, dashboard=None
) -> RunReport:
    return RunReport(
        parts_total=job.n_parts,
        parts_skipped=job.n_parts - len(pending),
        parts_computed=len(pending),
        images=int(sum(r["n"] for r in receipts)),
        seconds=seconds,
        workers=workers,
        dashboard=dashboard,
        receipts=receipts,
    )
