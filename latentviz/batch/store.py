"""The results store of batch jobs: a folder of atomically written ``.npz`` parts.

Layout of a store folder::

    STORE/
      manifest.json        # the job: command, data, models (+ checksums), n, batch_size, options
      parts/
        part-000000.npz    # images 0 … B-1, written by the worker that ran the batch
        part-000000.json   # its record: sha256, bytes, first / last index, count
        part-000001.npz    # images B … 2B-1
        part-000001.json
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

A part and its record are each written to a temporary name and renamed (``os.replace``),
the record first: a killed worker never leaves a half-written part, and a part is done only
when its file matches the sha256 of its record and holds the index range of its number
(``batch_size`` consecutive images). Each record is its own file, so workers writing
different parts never touch a shared file. A resumed run recomputes the parts that are
missing, truncated, bit-flipped or misplaced (:meth:`ResultStore.is_done`).

:meth:`ResultStore.read` concatenates the parts in index order after verifying each one; a
corrupt part, an image stored twice or a missing image raises
:class:`~latentviz.errors.StoreIntegrityError` instead of returning rows
(``read(partial=True)`` reads a store whose job is still running). :meth:`ResultStore.read_row`
reads one image from its part, verified too. One run writes to a store at a time.

Stores written before the records existed stay readable: a part without a record is checked
by its zip CRCs and its index range instead of a checksum (a resumed run writes records for
the parts it computes).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from latentviz.errors import ArgumentError, LatentvizError, StoreIntegrityError

__all__ = ["ResultStore", "StoreIntegrityError", "StoreMismatchError"]

log = logging.getLogger(__name__)

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

    def record_path(self, part: int) -> Path:
        """The part's sidecar record (``part-NNNNNN.json``: sha256 and index range)."""
        return self.parts_dir / f"part-{part:06d}.json"

    @property
    def n_parts(self) -> int | None:
        """How many parts the job has (None when the manifest does not say)."""
        if "n_parts" in self.job:
            return int(self.job["n_parts"])
        size, n = self.job.get("batch_size"), self.job.get("n")
        if size and n is not None:
            return -(-int(n) // int(size))
        return None

    def expected_range(self, part: int) -> tuple[int, int] | None:
        """``(first, count)`` of the indices ``part`` must hold, or None when the manifest has no
        ``n`` and ``batch_size``. A part past the end of the cohort gets ``count == 0``."""
        size, n = self.job.get("batch_size"), self.job.get("n")
        if not size or n is None:
            return None
        first = part * int(size)
        return first, max(0, min(int(size), int(n) - first))

    def written_parts(self) -> list[int]:
        """Parts whose file is present (verified or not), in order."""
        return sorted(int(p.stem.split("-")[1]) for p in self.parts_dir.glob("part-*.npz") if p.is_file())

    def verify_part(self, part: int) -> bytes:
        """The bytes of ``part`` after checking them; raises if the part is not sound.

        A part with a sidecar record must match its sha256, and the record must name this
        part. A part without one (written before records existed) must pass its zip CRCs.
        Either way its ``index`` array must be the part's range of ``batch_size`` consecutive
        indices (when the manifest gives ``n`` and ``batch_size``).

        Raises
        ------
        FileNotFoundError
            The part is not written.
        StoreIntegrityError
            It is corrupt, truncated, or holds another part's rows.
        """
        path = self.part_path(part)
        data = path.read_bytes()

        def bad(reason: str) -> StoreIntegrityError:
            return StoreIntegrityError(path, f"part {part} {reason}; rerun the job to recompute it", part)

        record = self._record(part)
        if record is not None:
            if record.get("part") != part or record.get("file") != path.name:
                raise bad(f"has the record of {record.get('file')!r}")
            digest, want = hashlib.sha256(data).hexdigest(), str(record.get("sha256"))
            if digest != want:
                raise bad(f"has sha256 {digest[:12]}, not the {want[:12]} recorded when it was written")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if record is None and zf.testzip() is not None:
                    raise bad("fails its zip CRC check")
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                index = np.asarray(z["index"])
        except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as exc:
            raise bad(f"is not a readable part ({type(exc).__name__}: {exc})") from exc
        if record is not None and (
            len(index) != record.get("count")
            or (len(index) and (int(index[0]), int(index[-1])) != (record.get("first"), record.get("last")))
        ):
            raise bad("holds other indices than its record says")
        expected = self.expected_range(part)
        if expected is not None:
            first, count = expected
            if not np.array_equal(index, np.arange(first, first + count)):
                got = f"{int(index[0])}..{int(index[-1])}" if len(index) else "no rows"
                raise bad(f"holds images {got}, not {first}..{first + count - 1}")
        return data

    def is_done(self, part: int) -> bool:
        """Whether ``part`` is written and sound (:meth:`verify_part`; reads the whole part).

        A truncated, bit-flipped or misplaced part is not done, so a resumed run recomputes it.
        """
        try:
            self.verify_part(part)
        except FileNotFoundError:
            return False
        except StoreIntegrityError as exc:
            log.warning("%s", exc)
            return False
        return True

    def done_parts(self) -> list[int]:
        """Parts whose file is present and sound, in order."""
        return [part for part in self.written_parts() if self.is_done(part)]

    def remove_temporary(self) -> int:
        """Delete leftovers of writes that were killed before their rename (``.tmp-*``).

        Call it only when no other run writes to this store. Returns how many were removed.
        """
        stale = [*self.parts_dir.glob(".tmp-*"), *self.path.glob(".tmp-*")]
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def write_part(self, part: int, arrays: dict[str, np.ndarray]) -> Path:
        """Write one part and its record atomically; ``arrays`` must contain ``index``.

        The record (sha256, first/last index, count) is renamed into place first, the part
        last: a write killed in between leaves a record without its part (not done), and two
        writers of one part that interleave leave a pair that does not match (not done either).
        """
        if "index" not in arrays:
            raise ArgumentError("a part needs an 'index' array of global image indices")
        index = np.asarray(arrays["index"])
        n = len(index)
        if n == 0:
            raise ArgumentError("a part needs at least one row")
        bad = [k for k, v in arrays.items() if np.ndim(v) == 0 or len(v) != n]
        if bad:
            raise ArgumentError(f"arrays {bad} do not have {n} rows like 'index'")
        expected = self.expected_range(part)
        if expected is not None and not np.array_equal(index, np.arange(expected[0], sum(expected))):
            raise ArgumentError(f"part {part} must hold images {expected[0]}..{sum(expected) - 1}")
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        data = buf.getvalue()
        target = self.part_path(part)
        record = {
            "part": part,
            "file": target.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "count": n,
            "first": int(index[0]),
            "last": int(index[-1]),
        }
        _atomic_write_bytes(self.record_path(part), json.dumps(record, indent=1).encode())
        _atomic_write_bytes(target, data)
        return target

    def read(self, keys: Iterable[str] | None = None, partial: bool = False) -> dict[str, np.ndarray]:
        """All parts concatenated and sorted by ``index``, every part verified first.

        Parameters
        ----------
        keys
            The arrays to read (None: all); ``index`` is always read.
        partial
            Allow parts that are not written yet (a running job); their images are left out.

        Raises
        ------
        StoreIntegrityError
            A part is corrupt or misplaced (:meth:`verify_part`), an image appears twice, or
            (unless ``partial``) images are missing. No rows are returned then.
        """
        keys = None if keys is None else list(keys)  # read once per part
        n_parts = self.n_parts
        parts = range(n_parts) if n_parts is not None else self.written_parts()
        chunks: dict[str, list[np.ndarray]] = {}
        owner: list[np.ndarray] = []
        missing = []
        for part in parts:
            try:
                data = self.verify_part(part)
            except FileNotFoundError:
                missing.append(part)
                continue
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                for k in dict.fromkeys([*(keys or z.files), "index"]):
                    chunks.setdefault(k, []).append(z[k])
                owner.append(np.full(len(z["index"]), part))
        if missing and not partial:
            raise StoreIntegrityError(
                self.path,
                f"{len(missing)} of {len(parts)} parts are not written yet (first: part {missing[0]}); "
                "finish the job, or read(partial=True)",
            )
        if not chunks:
            return {}
        out = {k: np.concatenate(v) for k, v in chunks.items()}
        order = np.argsort(out["index"], kind="stable")
        out = {k: v[order] for k, v in out.items()}
        index, owners = out["index"], np.concatenate(owner)[order]
        repeated = np.flatnonzero(index[1:] == index[:-1])
        if len(repeated):
            i = repeated[0]
            raise StoreIntegrityError(
                self.path,
                f"{len(repeated)} images appear twice (first: image {int(index[i])}, in parts "
                f"{int(owners[i])} and {int(owners[i + 1])})",
            )
        if not partial:
            n = int(self.job.get("n", len(index)))
            if len(index) != n or not np.array_equal(index, np.arange(n)):
                absent = np.setdiff1d(np.arange(n), index)
                first = f" (first: image {int(absent[0])})" if len(absent) else ""
                raise StoreIntegrityError(
                    self.path, f"the parts hold {len(index)} images, not images 0..{n - 1} once each{first}"
                )
        return out

    def keys(self) -> list[str]:
        """The arrays every part holds (read from the first sound part)."""
        for part in self.written_parts():
            if self.is_done(part):
                with zipfile.ZipFile(self.part_path(part)) as zf:
                    return [n.removesuffix(".npy") for n in zf.namelist()]
        return []

    def read_row(self, index: int, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """The arrays of one image (global ``index``), reading only its part (verified).

        Parts hold ``batch_size`` consecutive indices (``manifest["batch_size"]``). A corrupt
        part raises :class:`~latentviz.errors.StoreIntegrityError`.
        """
        size = int(self.job.get("batch_size", 0))
        if size < 1 or not 0 <= index < int(self.job.get("n", 0)):
            raise IndexError(f"image {index} is not in this store ({self.job.get('n', 0)} images)")
        part = index // size
        try:
            data = self.verify_part(part)
        except FileNotFoundError:
            raise IndexError(f"image {index} is in part {part}, which is not written yet") from None
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            row = int(np.flatnonzero(z["index"] == index)[0])
            return {k: z[k][row] for k in (keys or z.files)}

    def _record(self, part: int) -> dict | None:
        """The part's sidecar record, or None for a part written without one."""
        path = self.record_path(part)
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreIntegrityError(path, f"part {part}'s record is unreadable ({exc})", part) from exc
        if not isinstance(record, dict):
            raise StoreIntegrityError(path, f"part {part}'s record is not a JSON object", part)
        return record

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r}, parts written={len(self.written_parts())})"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, and rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
