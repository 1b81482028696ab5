"""``ImageDataset``: a torch Dataset of ``(image (1, s, s) in [-1, 1], label)`` over any source."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from latentviz.data.readers import detect_format, read_image
from latentviz.data.transforms import fit_to_size
from latentviz.data.windowing import WindowSpec, apply_window, resolve_window
from latentviz.errors import ImageReadError, ShapeError

__all__ = ["ImageDataset"]

_IMAGE_FILE_SUFFIXES = frozenset({".dcm", ".dicom", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".nii"})


def _image_files(folder: Path) -> list[Path]:
    from latentviz.data.dicom import is_dicom_file

    files = [
        p
        for p in sorted(folder.iterdir())
        if p.is_file()
        and not p.name.startswith(".")
        and (
            p.suffix.lower() in _IMAGE_FILE_SUFFIXES or p.name.lower().endswith(".nii.gz") or is_dicom_file(p)
        )
    ]
    return files


class ImageDataset(Dataset):
    """Model-ready images and labels from files, folders, NPZ splits or in-memory batches.

    Each item is ``(image, label)``: a float32 tensor ``(1, size, size)`` in [-1, 1] and an int64
    tensor (a scalar, or a vector for multi-label NPZ sets; -1 when unlabelled).

    Parameters
    ----------
    source
        * a folder of images — with one sub-folder per class (labels = sorted sub-folder
          index, names in :attr:`classes`), or flat (labels from ``labels`` or -1);
        * a list of image files (DICOM, PNG/JPEG/TIFF, 2D NIfTI);
        * an ``.npz`` file: MedMNIST (``{split}_images``/``{split}_labels``) or ``images``/``labels``;
        * an array ``(N, H, W)`` / ``(N, H, W, C)`` / ``(N, 1, H, W)``;
        * any object with ``.images`` and ``.labels`` (a phantom batch), whose images are
          already model input in [-1, 1].
    labels
        Labels for a file list, a flat folder or an array source.
    size
        Output side length; images are resampled to square pixels, scaled and centre-cropped.
    window
        For files: passed to :meth:`MedicalImage.to_model_input` (None = header window, else auto).
        For arrays: integer dtypes default to their full range; floats in [-1, 1] with negative
        values are taken as model input already, floats in [0, 1] as display values, other floats
        need a window.
    split
        MedMNIST split: ``"train"``, ``"val"`` or ``"test"``.

    Examples
    --------
    >>> ds = ImageDataset(np.zeros((4, 28, 28), np.uint8), labels=[0, 1, 0, 1], size=32)
    >>> x, y = ds[1]
    >>> tuple(x.shape), int(y)
    ((1, 32, 32), 1)
    """

    def __init__(
        self,
        source: Any,
        labels: Sequence[int] | np.ndarray | None = None,
        *,
        size: int = 64,
        window: WindowSpec = None,
        split: str = "train",
    ) -> None:
        self.size = int(size)
        self.window = window
        self.classes: list[str] = []
        self._files: list[Path] | None = None
        self._arrays: np.ndarray | None = None
        self._array_mode = "display"
        self._array_window: tuple[float, float] | None = None

        if hasattr(source, "images") and hasattr(source, "labels"):
            images = np.asarray(source.images, dtype=np.float32)
            if images.size and (images.min() < -1.0 - 1e-4 or images.max() > 1.0 + 1e-4):
                raise ShapeError("an object with .images must hold model input in [-1, 1]")
            self._set_arrays(images, mode="model")
            labels = np.asarray(source.labels) if labels is None else labels
        elif isinstance(source, np.ndarray | torch.Tensor):
            self._set_arrays(np.asarray(source))
        elif isinstance(source, (str, Path)):
            path = Path(source)
            if path.is_dir():
                labels = self._scan_folder(path, labels)
            elif detect_format(path) == "npz":
                from latentviz.data.npz import load_split

                images, file_labels = load_split(path, split)
                self._set_arrays(images)
                labels = file_labels if labels is None else labels
            else:
                self._files = [path]
        elif isinstance(source, Sequence):
            self._files = [Path(p) for p in source]
            if not self._files:
                raise ImageReadError("file list", "no files given")
        else:
            raise TypeError(f"ImageDataset cannot read a source of type {type(source).__name__}")

        n = len(self._files) if self._files is not None else len(self._arrays)  # type: ignore[arg-type]
        if labels is None:
            self.labels = np.full(n, -1, dtype=np.int64)
        else:
            self.labels = np.asarray(labels).astype(np.int64)
            if len(self.labels) != n:
                raise ShapeError(f"{n} images but {len(self.labels)} labels")

    # -- sources -----------------------------------------------------------------------------
    def _scan_folder(self, folder: Path, labels: Any) -> Any:
        subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        per_class = [(d.name, _image_files(d)) for d in subfolders]
        per_class = [(name, files) for name, files in per_class if files]
        if per_class:
            self.classes = [name for name, _ in per_class]
            self._files = [f for _, files in per_class for f in files]
            return np.concatenate([np.full(len(files), i) for i, (_, files) in enumerate(per_class)])
        self._files = _image_files(folder)
        if not self._files:
            raise ImageReadError(folder, "no image files (DICOM, PNG/JPEG/TIFF, NIfTI) in the folder")
        return labels

    def _set_arrays(self, images: np.ndarray, mode: str | None = None) -> None:
        if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3, 4):
            images = np.moveaxis(images, 1, -1)  # (N, C, H, W) -> (N, H, W, C)
        if images.ndim == 4:
            from latentviz.data.raster import raster_to_grey

            images = raster_to_grey(images) if images.shape[-1] != 1 else images[..., 0]
        if images.ndim != 3:
            raise ShapeError(f"images must be (N, H, W), (N, H, W, C) or (N, C, H, W), got {images.shape}")
        if mode is None:
            from latentviz.data.npz import array_window

            integer_window = array_window(images)
            if self.window is not None or integer_window is not None:
                mode = "window"
                sample = images[:: max(1, len(images) // 64)]
                self._array_window = resolve_window(self.window, header=integer_window, pixels=sample)
            else:
                lo, hi = float(images.min()), float(images.max())
                if not (np.isfinite(lo) and np.isfinite(hi)):
                    raise ImageReadError("array", "images hold NaN or infinite values")
                if lo >= 0.0 and hi <= 1.0:
                    mode = "display"
                elif lo >= -1.0 and hi <= 1.0:
                    mode = "model"
                else:
                    raise ShapeError(
                        f"float images in [{lo:.3g}, {hi:.3g}] need window=(center, width) to map to [-1, 1]"
                    )
        self._array_mode = mode
        self._arrays = images

    # -- Dataset -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        label = torch.as_tensor(self.labels[index], dtype=torch.int64)
        if self._files is not None:
            image = read_image(self._files[index])
            if image.is_volume:
                raise ShapeError(f"{image.source} is a volume {image.shape}; ImageDataset takes 2D images")
            return image.to_model_input(self.size, self.window)[0], label
        array = self._arrays[index]  # type: ignore[index]
        if self._array_mode == "window":
            display = torch.from_numpy(apply_window(array, self._array_window))  # type: ignore[arg-type]
        elif self._array_mode == "model":
            display = (torch.from_numpy(np.asarray(array, dtype=np.float32)) + 1.0) / 2.0
        else:
            display = torch.from_numpy(np.asarray(array, dtype=np.float32))
        x = fit_to_size(display[None], self.size) * 2.0 - 1.0
        return x.contiguous(), label
