"""What runs inside a worker process: the model cache, the worker plugin and the task.

Models are loaded once per process and kept in :data:`_MODELS`, keyed by ``(name, sha256)``:
every task of a job on a worker reuses them, and a model file changed on disk between jobs
is noticed (its checksum no longer matches) instead of silently mixing two models in a store.
:func:`prepare_process` warms that cache and sets torch's threads; the dask runner calls it
from a worker plugin, so a worker that joins later (one that replaces a dead one) gets it too.
Nothing here imports dask: the single-process path runs the same :func:`run_part`.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass

import torch

from latentviz.batch.jobs import JobOptions, compute_batch
from latentviz.batch.source import FileBatch, ImageBatch
from latentviz.batch.store import ResultStore
from latentviz.errors import ModelFileError, StoreIntegrityError

__all__ = ["ModelRef", "cached_model", "load_counts", "prepare_process", "resolve_model", "run_part"]

_MODELS: dict[tuple[str, str], object] = {}
#: How often each ``(name, sha256)`` was loaded in this process (a test and a sanity check).
_LOADS: Counter = Counter()
#: torch threads asked for by :func:`prepare_process`; re-applied in the thread that runs a
#: task (OpenMP's thread count is per calling thread, and dask runs tasks in its own threads).
_THREADS: int | None = None


@dataclass(frozen=True)
class ModelRef:
    """A model as a job names it: a zoo name, a model file or a TorchScript file, its
    parameter checksum, and its role (``"generator"`` / ``"classifier"``)."""

    name: str
    sha256: str
    device: str | None = None
    role: str | None = None


def resolve_model(name: str, device: str | None = None, role: str | None = None, flag: str | None = None):
    """A latentviz model file, a TorchScript file or a zoo model (the one resolver,
    :func:`latentviz.core.loading.load_model`), on ``device`` when one is given."""
    from latentviz.core.loading import load_model

    return load_model(name, device, role=role, flag=flag)


def cached_model(ref: ModelRef):
    """The model ``ref`` names, loaded at most once per process (then in eval mode)."""
    key = (ref.name, ref.sha256)
    if key not in _MODELS:
        model = resolve_model(ref.name, ref.device, ref.role)
        if model.sha256 != ref.sha256:
            raise ModelFileError(
                f"{ref.name} on this worker has checksum {model.sha256[:12]}, the job was started "
                f"with {ref.sha256[:12]}: the workers must see the same model file"
            )
        model.module.eval()
        _MODELS[key] = model
        _LOADS[key] += 1
    return _MODELS[key]


def load_counts() -> dict[str, int]:
    """``{"name@sha12": loads}`` of this process (run on workers with ``client.run``)."""
    return {f"{name}@{sha[:12]}": n for (name, sha), n in _LOADS.items()}


def prepare_process(models: tuple[ModelRef, ...], torch_threads: int | None) -> None:
    """Set torch's threads and load ``models`` into this process's cache (a worker's setup)."""
    global _THREADS
    if torch_threads:
        _THREADS = torch_threads
        torch.set_num_threads(torch_threads)
    for ref in models:
        cached_model(ref)


def run_part(
    store: str,
    part: int,
    payload: ImageBatch | FileBatch,
    model: ModelRef,
    classifier: ModelRef,
    options: JobOptions,
) -> dict:
    """Compute one part and write it to the store (atomically); return a small receipt.

    Idempotent: a part that is already complete (and verifies) is not recomputed, so a task
    that dask runs again (a worker died after writing, a retry) cannot duplicate or change rows.
    """
    results = ResultStore(store)
    if results.is_done(part):
        return {"part": part, "n": len(payload.index), "seconds": 0.0, "skipped": True, "pid": os.getpid()}
    t0 = time.perf_counter()
    if _THREADS and torch.get_num_threads() != _THREADS:
        torch.set_num_threads(_THREADS)
    batch = payload.load()
    g, c = cached_model(model), cached_model(classifier)
    rows = compute_batch(g, c, batch, options)
    results.write_part(part, rows)
    # Another writer of this part could interleave its record and file with ours (a task dask
    # ran twice): fail, so that dask retries and the part ends up verified.
    if not results.is_done(part):
        raise StoreIntegrityError(
            results.part_path(part), f"part {part} does not verify after its write", part
        )
    return {
        "part": part,
        "n": len(batch.index),
        "seconds": time.perf_counter() - t0,
        "skipped": False,
        "pid": os.getpid(),
    }
