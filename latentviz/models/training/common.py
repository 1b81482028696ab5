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
    "CHANNELS",
    "IMAGE_SIZES",
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
    "window_label",
]

# = latentviz.data.phantoms.KINDS (tested)
PHANTOM_KINDS = ("cxr", "ct", "brain", "ct-hard", "cxr-hard", "brain-hard")

#: Image sizes every training kind builds (the DCGAN/VAE/StyleGAN stacks halve a power of two
#: down to 4 px); ``latentviz train --size`` states the same range.
IMAGE_SIZES = tuple(2**k for k in range(3, 11))  # 8 … 1024

#: Image channels a run can train on: grey, or RGB.
CHANNELS = (1, 3)


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
    channels
        1 (grey) or 3 (RGB). RGB rasters keep their colour; grey images and DICOMs are
        repeated to 3 channels.
    window
        Intensity window of grey images (DICOM, NIfTI, grey rasters) in their stored units:
        ``(center, width)`` or a preset name (:data:`latentviz.data.PRESETS`); ``None``: each
        file's own window, else its percentiles. Colour rasters under ``channels=3`` are read as
        they are. A fixed window is recorded on the model card as the window the model's
        [-1, 1] spans.
    positive_class
        A class name (or index) of the labels. A classifier records it as its ``target``
        (default: index 1, the second class in sorted order); medXGAN's z2 ≠ 0 renders it
        (default: the frozen classifier's ``target``), z2 = 0 every other class.
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
    channels: int = 1
    window: tuple[float, float] | str | None = None
    positive_class: str | None = None

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.size not in IMAGE_SIZES:
            raise ArgumentError(
                f"--size must be a power of two from {IMAGE_SIZES[0]} to {IMAGE_SIZES[-1]}, got {self.size}"
            )
        if self.channels not in CHANNELS:
            raise ArgumentError(f"--channels must be 1 (grey) or 3 (RGB), got {self.channels}")
        if self.window is not None and not isinstance(self.window, str):
            from latentviz.data.windowing import resolve_window

            self.window = resolve_window(tuple(self.window))  # checks a finite, positive width
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
    """Images ``(N, C, S, S)`` float32 in [-1, 1], labels ``(N,)`` int64 (−1 when unknown).

    ``classes`` names the label values in order (folder names of a class-folder tree,
    ``negative``/``positive`` for phantoms, ``"0"``, ``"1"``, … for an ``.npz``).
    """

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def has_labels(self) -> bool:
        return bool(len(self.labels)) and bool((self.labels >= 0).all())

    @property
    def num_classes(self) -> int:
        """Classes the labels can take: ``len(classes)``, at least the largest label + 1."""
        top = int(self.labels.max()) + 1 if len(self.labels) else 0
        return max(len(self.classes), top)

    @property
    def class_names(self) -> list[str]:
        """One name per class (the index as text where no name is known)."""
        return [*self.classes, *(str(i) for i in range(len(self.classes), self.num_classes))]

    def class_index(self, name: str | int) -> int:
        """The index of class ``name`` (a class name, or an index as int or text).

        Raises
        ------
        ArgumentError
            An unknown name or an index out of range, naming the classes.
        """
        return class_index(self.class_names, name)


def class_index(names: list[str], name: str | int) -> int:
    """The index of ``name`` in ``names`` (a name, or an index as int or text).

    Raises
    ------
    ArgumentError
        An unknown name or an out-of-range index; the message lists the classes.
    """
    listed = ", ".join(f"{i}={n}" for i, n in enumerate(names))
    if isinstance(name, str) and name in names:
        return names.index(name)
    try:
        k = int(name)
    except (TypeError, ValueError):
        raise ArgumentError(f"no class {name!r}; the classes are {listed}") from None
    if not 0 <= k < len(names):
        raise ArgumentError(f"class index {k} is out of range 0..{len(names) - 1}; the classes are {listed}")
    return k


def window_label(window: tuple[float, float] | str | None) -> str | None:
    """A window as ``latentviz train --window`` takes it (``"C,W"`` or a preset name)."""
    if window is None or isinstance(window, str):
        return window
    return f"{window[0]:g},{window[1]:g}"


def load_training_data(
    data: str,
    size: int,
    n: int,
    seed: int,
    channels: int = 1,
    window: tuple[float, float] | str | None = None,
) -> TrainingData:
    """Phantoms of kind ``data`` (``n`` of them, from ``seed``), or the images at path ``data``.

    Parameters
    ----------
    data
        A phantom kind; an ``.npz`` with ``images`` ((N, H, W) or (N, C, H, W) in [-1, 1]) and
        optional ``labels``; or a folder :class:`latentviz.data.ImageDataset` reads: one
        sub-folder per class (labels = sorted folder index, names = folder names), or flat
        (unlabelled).
    size
        Side length of the square model input.
    n, seed
        Phantoms to render and their seed (ignored for a path).
    channels
        1 (grey) or 3 (RGB: colour rasters keep their colour, grey images are repeated).
    window
        Window of DICOM/NIfTI files (see :class:`TrainConfig`).
    """
    if channels not in CHANNELS:
        raise ArgumentError(f"channels must be 1 (grey) or 3 (RGB), got {channels}")
    if data in PHANTOM_KINDS:
        from latentviz.data.phantoms import generate

        batch = generate(data, n, size=size, seed=seed)
        images = torch.as_tensor(np.asarray(batch.images, dtype=np.float32))
        labels = torch.as_tensor(np.asarray(batch.labels, dtype=np.int64))
        images = images.expand(-1, channels, -1, -1).contiguous()
        return TrainingData(images, labels, f"phantom:{data}", ["negative", "positive"])
    path = Path(data)
    if not path.exists():
        raise ImageReadError(
            path, f"no such file or folder (and not a phantom kind: {', '.join(PHANTOM_KINDS)})"
        )
    if path.suffix == ".npz":
        return _load_npz(path, size, channels)
    try:
        from latentviz.data import ImageDataset
    except ImportError as exc:  # the data layer's dataset class is optional here
        raise DependencyMissingError(
            f"{path}: reading an image folder needs latentviz.data.ImageDataset"
        ) from exc
    ds = ImageDataset(path, size=size, window=window)
    if channels == 3 and ds._files is not None:
        images = torch.stack([_rgb_input(f, size, window) for f in ds._files])
    else:
        images = torch.stack([torch.as_tensor(ds[i][0]).reshape(1, size, size) for i in range(len(ds))])
        images = images.float().expand(-1, channels, -1, -1).contiguous()
    labels = torch.as_tensor(np.asarray(ds.labels, dtype=np.int64))
    if labels.ndim != 1:
        raise ImageReadError(path, f"training takes one label per image, got labels of shape {labels.shape}")
    return TrainingData(images, labels, str(path), list(ds.classes))


def _rgb_input(path: Path, size: int, window: tuple[float, float] | str | None) -> torch.Tensor:
    """One file as a ``(3, size, size)`` model input: a colour raster in colour, others repeated."""
    from latentviz.data.raster import RASTER_SUFFIXES
    from latentviz.data.readers import read_image
    from latentviz.data.transforms import fit_to_size

    if path.suffix.lower() in RASTER_SUFFIXES:
        from PIL import Image

        image = read_image(path)  # the size limits and the error messages of every reader
        with Image.open(path) as im:
            if im.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
                rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
                display = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
                return (fit_to_size(display, size) * 2.0 - 1.0).contiguous()
        return image.to_model_input(size, window)[0].expand(3, -1, -1).contiguous()
    image = read_image(path)
    if image.is_volume:
        raise ImageReadError(path, f"a volume {image.shape}; training takes 2D images")
    return image.to_model_input(size, window)[0].expand(3, -1, -1).contiguous()


def _load_npz(path: Path, size: int, channels: int = 1) -> TrainingData:
    with np.load(path, allow_pickle=False) as f:
        if "images" not in f:
            raise ImageReadError(path, "npz has no 'images' array")
        images = torch.as_tensor(np.asarray(f["images"], dtype=np.float32))
        labels = torch.as_tensor(np.asarray(f["labels"], dtype=np.int64)) if "labels" in f else None
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim == 4 and images.shape[1] == 1 and channels == 3:
        images = images.expand(-1, 3, -1, -1).contiguous()
    if (
        images.ndim != 4
        or images.shape[1] != channels
        or images.shape[-1] != size
        or images.shape[-2] != size
    ):
        want = f"(N, {size}, {size}) or (N, 1, {size}, {size})"
        if channels == 3:
            want += f" or (N, 3, {size}, {size})"
        raise ImageReadError(path, f"images must be {want}; got {tuple(images.shape)}")
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
    """Tile images ``(N, 1, H, W)`` (grey PNG) or ``(N, 3, H, W)`` (RGB PNG) in [-1, 1] into one PNG."""
    from PIL import Image

    if images.ndim != 4 or images.shape[1] not in CHANNELS:
        raise ShapeError(f"sample grid expects (N, 1, H, W) or (N, 3, H, W), got {tuple(images.shape)}")
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    x = x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)  # (N, H, W) or (N, H, W, 3)
    n, h, w = x.shape[:3]
    ncol = min(nrow, n)
    nr = -(-n // ncol)
    canvas = np.full((nr * (h + pad) + pad, ncol * (w + pad) + pad, *x.shape[3:]), 255, dtype=np.uint8)
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
