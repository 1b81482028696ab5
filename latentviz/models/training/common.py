"""What every training loop shares: the run configuration, training data, batch
sampling, checkpoints (model + optimizer + RNG state, loaded with
``torch.load(weights_only=True)``: no pickle), the CSV loss log and PNG sample grids."""

from __future__ import annotations

import csv
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from latentviz.errors import ArgumentError, DependencyMissingError, ImageReadError, ModelFileError, ShapeError

__all__ = [
    "PHANTOM_KINDS",
    "BatchSampler",
    "LossLog",
    "TrainConfig",
    "TrainingData",
    "describe_device",
    "ema_update",
    "load_checkpoint",
    "load_training_data",
    "save_checkpoint",
    "save_grid",
]

PHANTOM_KINDS = ("cxr", "ct", "brain")


@dataclass
class TrainConfig:
    """One training run (the options of ``latentviz train``).

    Attributes
    ----------
    kind
        ``classifier``, ``gan``, ``vae`` or ``medxgan``.
    data
        A phantom kind (``cxr``, ``ct``, ``brain``) or a path to the user's images.
    out
        Run folder: ``model.safetensors`` + ``model.json``, ``checkpoint.pt``,
        ``losses.csv``, ``samples/step_*.png``.
    steps, batch_size, lr, seed
        Optimisation; ``lr=None`` uses the recipe's default.
    resume
        Continue from ``out/checkpoint.pt`` when it exists.
    n_train
        Phantom images generated for training (ignored for a path).
    latent_dim, pathology_dim, width
        Architecture sizes; ``None`` uses the recipe's default.
    classifier
        The frozen classifier of a medXGAN run: a weights path or a zoo name.
    lambda_cls
        medXGAN's weight λ of the classifier's cross-entropy (1 for chest X-ray in the paper).
    checkpoint_every, sample_every
        Periods in steps (a last checkpoint and grid are always written).
    early_step
        Also export the model at this step (``early.safetensors``), the weak baseline of the
        realism metric; ``None`` = 5 % of the steps, ``0`` = never.
    """

    kind: str
    data: str
    out: Path
    size: int = 64
    steps: int = 1000
    batch_size: int = 64
    lr: float | None = None
    seed: int = 0
    resume: bool = False
    device: str | None = None
    n_train: int = 4096
    latent_dim: int | None = None
    pathology_dim: int | None = None
    width: int | None = None
    classifier: str | None = None
    lambda_cls: float = 1.0
    checkpoint_every: int = 500
    sample_every: int = 500
    early_step: int | None = None
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.steps < 1:
            raise ArgumentError(f"--steps must be >= 1, got {self.steps}")
        if self.batch_size < 1:
            raise ArgumentError(f"--batch-size must be >= 1, got {self.batch_size}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


@dataclass
class TrainingData:
    """Images ``(N, 1, S, S)`` float32 in [-1, 1], labels ``(N,)`` int64 (−1 when unknown)."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str

    def __len__(self) -> int:
        return len(self.images)

    @property
    def has_labels(self) -> bool:
        return bool((self.labels >= 0).all())


def load_training_data(data: str, size: int, n: int, seed: int) -> TrainingData:
    """Phantoms of kind ``data`` (``n`` of them, from ``seed``), or the images at path ``data``.

    A path may be an ``.npz`` with ``images`` ((N, H, W) or (N, 1, H, W) in [-1, 1]) and
    optional ``labels``, or anything :class:`latentviz.data.ImageDataset` reads.
    """
    if data in PHANTOM_KINDS:
        from latentviz.data.phantoms import generate

        batch = generate(data, n, size=size, seed=seed)
        images = torch.as_tensor(np.asarray(batch.images, dtype=np.float32))
        labels = torch.as_tensor(np.asarray(batch.labels, dtype=np.int64))
        return TrainingData(images, labels, f"phantom:{data}")
    path = Path(data)
    if not path.exists():
        raise ImageReadError(
            path, f"no such file or folder (and not a phantom kind: {', '.join(PHANTOM_KINDS)})"
        )
    if path.suffix == ".npz":
        return _load_npz(path, size)
    try:
        from latentviz.data import ImageDataset
    except ImportError as exc:  # the data layer's dataset class is optional here
        raise DependencyMissingError(
            f"{path}: reading an image folder needs latentviz.data.ImageDataset"
        ) from exc
    ds = ImageDataset(path, size=size)
    images = torch.stack([torch.as_tensor(ds[i][0]).reshape(1, size, size) for i in range(len(ds))]).float()
    labels = torch.as_tensor([int(ds[i][1]) if ds[i][1] is not None else -1 for i in range(len(ds))])
    return TrainingData(images, labels, str(path))


def _load_npz(path: Path, size: int) -> TrainingData:
    with np.load(path, allow_pickle=False) as f:
        if "images" not in f:
            raise ImageReadError(path, "npz has no 'images' array")
        images = torch.as_tensor(np.asarray(f["images"], dtype=np.float32))
        labels = torch.as_tensor(np.asarray(f["labels"], dtype=np.int64)) if "labels" in f else None
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] != 1 or images.shape[-1] != size or images.shape[-2] != size:
        raise ImageReadError(
            path, f"images must be (N, {size}, {size}) or (N, 1, {size}, {size}); got {tuple(images.shape)}"
        )
    if images.min() < -1.0001 or images.max() > 1.0001:
        raise ImageReadError(path, "images must be scaled to [-1, 1]")
    if labels is None:
        labels = torch.full((len(images),), -1, dtype=torch.int64)
    elif labels.shape != (len(images),):
        raise ImageReadError(path, f"labels must be ({len(images)},), got {tuple(labels.shape)}")
    return TrainingData(images, labels, str(path))


class BatchSampler:
    """Random mini-batches with replacement from a seeded generator (its state is checkpointed)."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n = n
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> torch.Tensor:
        return torch.randint(self.n, (self.batch_size,), generator=self.generator)


class LossLog:
    """Appends one CSV row per step: ``step`` then the loss columns."""

    def __init__(self, path: Path, columns: list[str], append: bool) -> None:
        self.path = path
        self.columns = ["step", *columns]
        fresh = not (append and path.is_file())
        self._file = open(path, "w" if fresh else "a", newline="")
        self._writer = csv.writer(self._file)
        if fresh:
            self._writer.writerow(self.columns)

    def write(self, step: int, losses: dict[str, float]) -> None:
        self._writer.writerow([step, *(f"{losses[c]:.6g}" for c in self.columns[1:])])

    def close(self) -> None:
        self._file.close()


def save_checkpoint(path: Path, state: dict) -> None:
    """Write a checkpoint atomically (tensors, dicts, numbers only)."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint with ``weights_only=True`` (no arbitrary code on load)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle.UnpicklingError / RuntimeError
        raise ModelFileError(
            f"{path}: not a readable latentviz checkpoint ({exc.__class__.__name__})"
        ) from exc


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema ← decay · ema + (1 − decay) · model``; buffers (BN statistics) are copied."""
    # One fused call instead of a Python loop over parameters (GPU launch overhead).
    torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in model.parameters()], 1.0 - decay)
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8, pad: int = 2) -> None:
    """Tile images ``(N, 1, H, W)`` in [-1, 1] into one grey PNG."""
    from PIL import Image

    if images.ndim != 4 or images.shape[1] != 1:
        raise ShapeError(f"sample grid expects (N, 1, H, W), got {tuple(images.shape)}")
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()[:, 0]
    n, h, w = x.shape
    ncol = min(nrow, n)
    nr = -(-n // ncol)
    canvas = np.full((nr * (h + pad) + pad, ncol * (w + pad) + pad), 255, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        canvas[
            pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w
        ] = x[i]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)


def describe_device(device: torch.device) -> str:
    """A human description of where training ran (recorded in the model card)."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
