"""The results store of batch jobs: a folder of atomically written ``.npz`` parts.

Layout of a store folder::

    STORE/
      manifest.json        # the job: command, data, models (+ checksums), n, batch_size, options
      parts/
        part-000000.npz    # images 0 … B-1, written by the worker that ran the batch
        part-000001.npz    # images B … 2B-1
        ...

``manifest.json`` holds ``format``, ``command``, ``data`` (a phantom spec, or the number of
images and a digest of the file names and sizes: never a path), ``n``, ``image_size``,
``batch_size`` (B), ``n_parts``, ``model`` / ``classifier`` (name, parameter sha256, latent
size and z1/z2 split, target), ``has_masks``, ``factors``, ``options`` and ``created``. A run
on an existing store must describe the same job, or it is refused (:class:`StoreMismatchError`).

Every part is a plain ``numpy.savez`` file whose arrays all have one row per image of the
batch (see :mod:`latentviz.batch.jobs` for what each command writes):

* always: ``index`` (global image index), ``label``, ``factor_<name>`` (phantoms);
* ``encode``: ``z`` (+ ``z1``, ``z2``), ``probability``, ``mse``, ``psnr``, ``ssim``,
  ``probability_reconstruction``, ``agrees``, ``low_fidelity``;
* ``explain``: + ``probability_negative``/``_positive``, ``path_probability`` ``(n, F)``,
  ``map_<method>`` ``(n, H, W)`` float16, ``completeness_<method>``, and
  ``iou_``/``pointing_``/``auprc_<method>`` (NaN where the image has no lesion mask);
* ``evaluate``: as ``explain`` without maps, + ``deletion_``/``insertion_<method>``.

A part is written to a temporary name and renamed (``os.replace``), so it is either complete
or absent: a killed worker never leaves a half-written part, and a resumed run computes exactly
the missing parts. :meth:`ResultStore.read` concatenates the parts in index order,
:meth:`ResultStore.read_row` reads one image from its part. One run writes to a store at a
time.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from latentviz.errors import LatentvizError

__all__ = ["ResultStore", "StoreMismatchError"]

MANIFEST = "manifest.json"


class StoreMismatchError(LatentvizError, ValueError):
    """A store on disk belongs to another job (other data, model or part size)."""


class ResultStore:
    """A results store folder (see the module docstring for the layout).

    Parameters
    ----------
    path
        The store folder; created if missing.
    job
        The job description (JSON-serialisable). When the folder already holds a manifest, it
        must describe the same job (so a resumed run cannot mix results of two jobs).
    """

    def __init__(self, path: str | os.PathLike, job: dict | None = None) -> None:
        self.path = Path(path)
        self.parts_dir = self.path / "parts"
        manifest = self.path / MANIFEST
        if job is None:
            if not manifest.is_file():
                raise StoreMismatchError(f"{self.path}: no {MANIFEST}; not a latentviz results store")
            self.job = json.loads(manifest.read_text())
            return
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        if manifest.is_file():
            old = json.loads(manifest.read_text())
            keys = [k for k in set(old) | set(job) if k not in ("created", "scheduler", "workers")]
            diff = [k for k in sorted(keys) if old.get(k) != job.get(k)]
            if diff:
                raise StoreMismatchError(
                    f"{self.path} holds results of another job (differs in {', '.join(diff)}); "
                    "use another --out folder"
                )
            self.job = old
        else:
            self.job = dict(job)
            _atomic_write_bytes(manifest, json.dumps(self.job, indent=2).encode())

    @staticmethod
    def part_name(part: int) -> str:
        return f"part-{part:06d}.npz"

    def part_path(self, part: int) -> Path:
        return self.parts_dir / self.part_name(part)

    def is_done(self, part: int, verify: bool = False) -> bool:
        """Whether ``part`` exists and is a readable npz (a complete write).

        The zip's central directory (at the end of the file) is read, so a truncated file is
        not done; ``verify=True`` also checks every member's CRC (reads the whole part).
        """
        p = self.part_path(part)
        if not p.is_file():
            return False
        try:
            with zipfile.ZipFile(p) as zf:
                return bool(zf.namelist()) and (not verify or zf.testzip() is None)
        except (zipfile.BadZipFile, OSError):
            return False

    def done_parts(self) -> list[int]:
        """Parts whose file is present and complete, in order."""
        found = sorted(int(p.stem.split("-")[1]) for p in self.parts_dir.glob("part-*.npz") if p.is_file())
        return [part for part in found if self.is_done(part)]

    def remove_temporary(self) -> int:
        """Delete leftovers of writes that were killed before their rename (``.tmp-*``).

        Call it only when no other run writes to this store. Returns how many were removed.
        """
        stale = [*self.parts_dir.glob(".tmp-*"), *self.path.glob(".tmp-*")]
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def write_part(self, part: int, arrays: dict[str, np.ndarray]) -> Path:
        """Write one part atomically; ``arrays`` must contain ``index``."""
        if "index" not in arrays:
            raise ValueError("a part needs an 'index' array of global image indices")
        n = len(arrays["index"])
        bad = [k for k, v in arrays.items() if np.ndim(v) == 0 or len(v) != n]
        if bad:
            raise ValueError(f"arrays {bad} do not have {n} rows like 'index'")
        target = self.part_path(part)
        fd, tmp = tempfile.mkstemp(dir=self.parts_dir, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def read(self, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """All parts concatenated and sorted by ``index``."""
        parts = self.done_parts()
        if not parts:
            return {}
        chunks: dict[str, list[np.ndarray]] = {}
        for part in parts:
            with np.load(self.part_path(part)) as z:
                for k in keys or z.files:
                    chunks.setdefault(k, []).append(z[k])
                if keys is not None and "index" not in chunks:
                    chunks.setdefault("index", []).append(z["index"])
        out = {k: np.concatenate(v) for k, v in chunks.items()}
        order = np.argsort(out["index"], kind="stable")
        return {k: v[order] for k, v in out.items()}

    def keys(self) -> list[str]:
        """The arrays every part holds (read from the first part's zip directory)."""
        parts = self.done_parts()
        if not parts:
            return []
        with zipfile.ZipFile(self.part_path(parts[0])) as zf:
            return [n.removesuffix(".npy") for n in zf.namelist()]

    def read_row(self, index: int, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """The arrays of one image (global ``index``), reading only its part.

        Parts hold ``batch_size`` consecutive indices (``manifest["batch_size"]``).
        """
        size = int(self.job.get("batch_size", 0))
        if size < 1 or not 0 <= index < int(self.job.get("n", 0)):
            raise IndexError(f"image {index} is not in this store ({self.job.get('n', 0)} images)")
        part = index // size
        if not self.is_done(part):
            raise IndexError(f"image {index} is in part {part}, which is not written yet")
        with np.load(self.part_path(part)) as z:
            row = int(np.flatnonzero(z["index"] == index)[0])
            return {k: z[k][row] for k in (keys or z.files)}

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r}, parts={len(self.done_parts())})"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
