"""Cohort-scale batch jobs on dask.distributed, and their resumable results store.

* :mod:`~latentviz.batch.store`: the store format (``manifest.json`` + atomic ``.npz`` parts);
* :mod:`~latentviz.batch.source`: cohorts (phantoms, an ``.npz``, a folder of images) cut into
  batches;
* :mod:`~latentviz.batch.jobs`: what one batch computes for ``encode``, ``explain``,
  ``evaluate``;
* :mod:`~latentviz.batch.worker`: the per-process model cache and the task;
* :mod:`~latentviz.batch.runner`: the in-process loop and the dask runner.

``latentviz batch --help`` runs it from the command line; ``docs/scaling.md`` covers clusters
and GPUs. Importing this package does not import dask (only :func:`run_dask` and
:func:`start_client` need the ``cohort`` extra).
"""

from __future__ import annotations

from latentviz.batch.jobs import COMMANDS, JobOptions
from latentviz.batch.runner import (
    BatchJob,
    BatchJobError,
    RunReport,
    prepare_job,
    run_dask,
    run_local,
    start_client,
)
from latentviz.batch.store import ResultStore, StoreIntegrityError, StoreMismatchError

__all__ = [
    "COMMANDS",
    "BatchJob",
    "BatchJobError",
    "JobOptions",
    "ResultStore",
    "RunReport",
    "StoreIntegrityError",
    "StoreMismatchError",
    "prepare_job",
    "run_dask",
    "run_local",
    "start_client",
]
