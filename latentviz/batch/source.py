"""The cohort a batch job reads, cut into batches that travel to the workers.

``--data`` names the cohort:

* ``phantom:KIND[:N]``: ``N`` phantoms (default 256) of ``KIND`` (cxr, ct, brain), seed 0, at
  the model's image size, with labels, lesion masks and ground-truth factors;
* a ``.npz`` file: ``images`` (+ optional ``labels``, ``masks`` ``(N, H, W)`` and
  ``factor_<name>`` arrays), or anything :class:`latentviz.data.ImageDataset` reads;
* a folder (or one file) of DICOM / PNG / JPEG / TIFF / NIfTI images: read by the worker that
  runs a batch, so only indices travel (the folder must be visible to the workers at the same
  path, e.g. a shared file system).

In-memory cohorts send each batch's arrays with its task (never the whole cohort to every
worker); file cohorts send indices and the worker reads those files.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentviz.errors import ImageReadError, LatentvizError, ShapeError

__all__ = ["Cohort", "FileBatch", "ImageBatch", "open_cohort"]

DEFAULT_PHANTOM_N = 256


@dataclass
class ImageBatch:
    """One batch of a cohort, ready for the models.

    Attributes
    ----------
    index
        ``(n,)`` global image indices (the store's row keys).
    images
        ``(n, 1, S, S)`` float32 model input in [-1, 1].
    labels
        ``(n,)`` int64 labels, -1 where unknown.
    masks
        ``(n, S, S)`` bool lesion masks, or None when the cohort has none.
    factors
        Ground-truth factors ``name -> (n,)`` (phantoms), possibly empty.
    """

    index: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None = None
    factors: dict[str, np.ndarray] = field(default_factory=dict)

    def load(self) -> ImageBatch:
        return self


@dataclass
class FileBatch:
    """A batch of a folder (or file) cohort, read where it runs (:meth:`load`)."""

    index: np.ndarray
    root: str
    size: int

    def load(self) -> ImageBatch:
        """Read the batch's images.

        Raises
        ------
        ImageReadError
            Naming the failing image by its cohort index, never by its file name (file names
            are identifiers, and this message reaches worker logs and the job's error).
        """
        ds = _dataset(self.root, self.size)
        items = [_item(ds, int(i)) for i in self.index]
        images = np.stack([x.numpy() for x, _ in items]).astype(np.float32)
        labels = np.array([int(y) for _, y in items], np.int64)
        return ImageBatch(self.index, images, labels)


def _item(ds, i: int):
    try:
        return ds[i]
    except LatentvizError as exc:
        reason = exc.reason if isinstance(exc, ImageReadError) else str(exc)
        for name in _names(getattr(ds, "_files", None), i, exc):
            reason = reason.replace(name, "the file")
        raise ImageReadError(f"cohort image {i}", reason) from None
    except Exception as exc:  # a reader library's own error: its text may hold the path
        raise ImageReadError(f"cohort image {i}", f"cannot be read ({type(exc).__name__})") from None


def _names(files: list | None, i: int, exc: Exception) -> list[str]:
    """Strings that name image ``i``'s file, longest first (full path, then the bare name)."""
    names = {str(getattr(exc, "path", ""))}
    if files is not None and 0 <= i < len(files):
        names |= {str(files[i]), str(Path(files[i]).resolve()), Path(files[i]).name}
    names |= {Path(n).name for n in list(names) if n}
    return sorted((n for n in names if n), key=len, reverse=True)


@functools.lru_cache(maxsize=4)
def _dataset(root: str, size: int):  # -> ImageDataset, scanned once per process
    from latentviz.data import ImageDataset

    return ImageDataset(root, size=size)


@dataclass
class Cohort:
    """All images of a job: in memory (``images``…) or a folder read by the workers (``root``).

    Attributes
    ----------
    description
        What the manifest records about the data: the phantom spec, or the number of images and
        a digest of the file names and sizes (never a path, which may carry patient names).
    """

    n: int
    size: int
    description: dict
    images: np.ndarray | None = None
    labels: np.ndarray | None = None
    masks: np.ndarray | None = None
    factors: dict[str, np.ndarray] = field(default_factory=dict)
    root: str | None = None

    def __len__(self) -> int:
        return self.n

    @property
    def has_masks(self) -> bool:
        return self.masks is not None

    def batch(self, index: np.ndarray) -> ImageBatch | FileBatch:
        """The payload of one batch of global indices ``index``."""
        index = np.asarray(index, np.int64)
        labels = self.labels[index] if self.labels is not None else np.full(len(index), -1, np.int64)
        if self.root is not None:
            return FileBatch(index, self.root, self.size)
        assert self.images is not None
        return ImageBatch(
            index,
            np.ascontiguousarray(self.images[index]),
            labels,
            None if self.masks is None else np.ascontiguousarray(self.masks[index]),
            {k: v[index] for k, v in self.factors.items()},
        )


def open_cohort(spec: str, size: int, seed: int = 0) -> Cohort:
    """The cohort named by ``spec`` (see the module docstring), at ``size`` pixels."""
    if spec.startswith("phantom:"):
        return _phantoms(spec, size, seed)
    path = Path(spec)
    if not path.exists():
        raise ImageReadError(spec, "no such file or folder (or use phantom:KIND[:N])")
    if path.suffix == ".npz":
        return _npz(path, size)
    ds = _dataset(str(path.resolve()), size)
    digest = hashlib.sha256()
    for dirpath, _dirs, names in sorted(os.walk(path)):
        for name in sorted(names):
            p = Path(dirpath, name)
            digest.update(f"{p.relative_to(path)}:{p.stat().st_size}\n".encode())
    desc = {"kind": "images", "n": len(ds), "digest": digest.hexdigest()[:16], "size": size}
    return Cohort(len(ds), size, desc, labels=np.asarray(ds.labels, np.int64), root=str(path.resolve()))


def _phantoms(spec: str, size: int, seed: int) -> Cohort:
    from latentviz.data.phantoms import KINDS, generate

    parts = spec.split(":")
    if len(parts) not in (2, 3) or parts[1] not in KINDS or (len(parts) == 3 and not parts[2].isdigit()):
        raise ImageReadError(spec, f"expected phantom:KIND[:N] with KIND in {KINDS} and a positive N")
    n = int(parts[2]) if len(parts) == 3 else DEFAULT_PHANTOM_N
    if n < 1:
        raise ImageReadError(spec, "N must be a positive number of images")
    b = generate(parts[1], n, size=size, seed=seed)
    desc = {"kind": "phantom", "phantom": parts[1], "n": n, "size": size, "seed": seed}
    factors = {k: np.asarray(v, np.float32) for k, v in b.factors.items()}
    return Cohort(n, size, desc, b.images.astype(np.float32), b.labels, b.masks.astype(bool), factors)


def _npz(path: Path, size: int) -> Cohort:
    from latentviz.data import ImageDataset

    ds = ImageDataset(path, size=size)
    images = np.stack([ds[i][0].numpy() for i in range(len(ds))]).astype(np.float32)
    masks = None
    factors: dict[str, np.ndarray] = {}
    with np.load(path, allow_pickle=False) as f:
        if "masks" in f:
            masks = np.asarray(f["masks"]).astype(bool)
            if masks.shape != (len(images), size, size):
                raise ShapeError(f"{path.name}: masks {masks.shape} must be ({len(images)}, {size}, {size})")
        for k in f.files:
            if k.startswith("factor_"):
                v = np.asarray(f[k], np.float32)
                if v.shape != (len(images),):
                    raise ShapeError(f"{path.name}: {k} must have one value per image")
                factors[k.removeprefix("factor_")] = v
        digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]
    desc = {"kind": "npz", "n": len(images), "digest": digest, "size": size}
    return Cohort(len(images), size, desc, images, np.asarray(ds.labels, np.int64), masks, factors)
