"""NumPy ``.npz`` / ``.npy`` arrays, including the MedMNIST layout.

MedMNIST files hold ``train_images``, ``train_labels``, ``val_images``, ``val_labels``,
``test_images`` and ``test_labels``; images are uint8 ``(N, H, W)`` or ``(N, H, W, 3)``, labels
``(N, 1)`` (or ``(N, K)`` for multi-label sets). Arrays are always loaded without pickle.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from latentviz.data import limits
from latentviz.data.image import MedicalImage, check_finite
from latentviz.data.raster import raster_to_grey
from latentviz.errors import ArgumentError, ImageReadError, ImageTooLargeError

__all__ = ["MEDMNIST_SPLITS", "array_shapes", "array_window", "load_arrays", "load_split", "read_npz"]

MEDMNIST_SPLITS = ("train", "val", "test")

# Keys tried, in order, for "the images" and "the labels" of a non-MedMNIST file.
_IMAGE_KEYS = ("images", "image", "pixels", "x", "arr_0")
_LABEL_KEYS = ("labels", "label", "y")


def _npy_header(f) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from an ``.npy`` header (numpy's format reader; no data read)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ArgumentError(f"unsupported .npy format version {version}")
    return tuple(int(n) for n in shape), dtype


def array_shapes(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{name: (shape, dtype)}`` of every array of an ``.npz``/``.npy``, from headers only."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "no such file")
    try:
        if zipfile.is_zipfile(path):
            out = {}
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    with zf.open(name) as f:
                        out[name[:-4] if name.endswith(".npy") else name] = _npy_header(f)
            return out
        with open(path, "rb") as f:
            return {"arr_0": _npy_header(f)}
    except Exception as exc:  # zipfile, numpy's header parser and zlib raise their own types
        raise ImageReadError(path, f"cannot read as NumPy arrays ({type(exc).__name__}: {exc})") from None


def load_arrays(path: str | Path, keys: list[str] | None = None) -> dict[str, np.ndarray]:
    """All arrays (or those named in ``keys``) of an ``.npz``, or the one array of an ``.npy``.

    Every array's element count is checked from its header against
    :data:`latentviz.data.limits.MAX_ARRAY_ELEMENTS` before it is loaded.
    """
    path = Path(path)
    shapes = array_shapes(path)
    for name, (shape, _) in shapes.items():
        if keys is not None and name not in keys:
            continue
        count = int(np.prod(shape, dtype=object)) if shape else 1
        if count > limits.MAX_ARRAY_ELEMENTS:
            raise ImageTooLargeError(
                path,
                f"array {name!r} of shape {shape} holds {count / 1e6:.1f} million values; latentviz "
                f"loads at most {limits.MAX_ARRAY_ELEMENTS / 1e6:.1f} million "
                "(latentviz.data.limits.MAX_ARRAY_ELEMENTS)",
            )
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"arr_0": loaded}
        with loaded:
            return {k: loaded[k] for k in loaded.files if keys is None or k in keys}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ImageReadError(path, "holds pickled Python objects; refusing to load them") from None
        raise ImageReadError(path, f"cannot read as NumPy arrays ({exc})") from None
    except Exception as exc:
        raise ImageReadError(path, f"cannot read as NumPy arrays ({type(exc).__name__}: {exc})") from None


def array_window(array: np.ndarray) -> tuple[float, float] | None:
    """The full range of an integer dtype as ``(center, width)``; None for floats."""
    if array.dtype == np.uint8:
        return (127.5, 255.0)
    if array.dtype == np.uint16:
        return (32767.5, 65535.0)
    return None


def _is_medmnist(arrays: dict[str, np.ndarray]) -> bool:
    return any(f"{s}_images" in arrays for s in MEDMNIST_SPLITS)


def load_split(path: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray | None]:
    """``(images, labels)`` of one split (MedMNIST) or of the whole file.

    Parameters
    ----------
    path
        ``.npz`` file: MedMNIST layout (``{split}_images``/``{split}_labels``), or arrays named
        ``images``/``labels`` (also ``x``/``y``), or a single array of images.
    split
        ``"train"``, ``"val"`` or ``"test"`` (MedMNIST files only).

    Returns
    -------
    images, labels
        Images with the sample axis first, as stored; labels ``(N,)`` or ``(N, K)``, or None.
    """
    arrays = load_arrays(path)
    if _is_medmnist(arrays):
        key = f"{split}_images"
        if key not in arrays:
            have = sorted(k[: -len("_images")] for k in arrays if k.endswith("_images"))
            raise ImageReadError(path, f"no split {split!r} (has {have})")
        images, labels = arrays[key], arrays.get(f"{split}_labels")
    else:
        image_key = next((k for k in _IMAGE_KEYS if k in arrays), None)
        if image_key is None:
            if len(arrays) != 1:
                raise ImageReadError(path, f"cannot tell which array holds the images among {sorted(arrays)}")
            image_key = next(iter(arrays))
        images = arrays[image_key]
        labels = next((arrays[k] for k in _LABEL_KEYS if k in arrays), None)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if len(labels) != len(images):
            raise ImageReadError(path, f"{len(images)} images but {len(labels)} labels")
    return images, labels


def _as_image_array(array: np.ndarray, path: Path, index: int | None) -> np.ndarray:
    """A 2D or 3D grey array from a stored array and an optional sample index."""
    if index is not None:
        if array.ndim < 3:
            raise ImageReadError(
                path, f"index={index} given but the array of shape {array.shape} is one image"
            )
        if not -len(array) <= index < len(array):
            raise ImageReadError(path, f"index {index} out of range for {len(array)} images")
        array = array[index]
        if array.ndim == 3 and array.shape[0] == 1:  # (1, H, W) channel-first
            array = array[0]
        return raster_to_grey(array)
    if array.ndim == 2:
        return array
    if array.ndim == 3 and array.shape[-1] in (3, 4) and array.shape[0] > 4:
        return raster_to_grey(array)  # one colour image (H, W, C)
    if array.ndim == 3:
        return array  # a (Z, H, W) volume
    raise ImageReadError(path, f"an array of shape {array.shape} is a batch of images; pass index=")


def read_npz(path: str | Path, key: str | None = None, index: int | None = None) -> MedicalImage:
    """Read one image (or a volume) from an ``.npz``/``.npy`` file.

    Parameters
    ----------
    path
        The file.
    key
        Which array; needed when the file holds several (MedMNIST: e.g. ``"train_images"``).
    index
        Which sample of a batch ``(N, H, W[, C])``; without it a 3D array is a ``(Z, H, W)`` volume.
    """
    path = Path(path)
    arrays = array_shapes(path)  # headers only: the shape is checked before loading
    if key is None:
        if _is_medmnist(arrays):
            raise ImageReadError(
                path,
                f"a MedMNIST-style dataset ({', '.join(sorted(arrays))}); pass key='train_images' "
                "and index=i, or use ImageDataset(path, split='train')",
            )
        key = next((k for k in _IMAGE_KEYS if k in arrays), None)
        if key is None:
            if len(arrays) != 1:
                raise ImageReadError(path, f"holds several arrays {sorted(arrays)}; pass key=")
            key = next(iter(arrays))
    if key not in arrays:
        raise ImageReadError(path, f"no array named {key!r} (has {sorted(arrays)})")
    shape, _ = arrays[key]
    image_shape = shape[1:] if index is not None else shape
    limits.check_size(path, image_shape, frames=image_shape[0] if len(image_shape) > 2 else 1)
    stored = load_arrays(path, [key])[key]
    if not (np.issubdtype(stored.dtype, np.number) or stored.dtype == np.bool_):
        raise ImageReadError(path, f"array {key!r} has non-numeric dtype {stored.dtype}")
    pixels = _as_image_array(stored, path, index).astype(np.float32)
    check_finite(pixels, path)
    return MedicalImage(
        pixels=pixels,
        spacing=(1.0,) * pixels.ndim,
        modality="OT",
        window=array_window(stored),
        metadata={"format": "npz", "key": key, "index": index, "stored_dtype": str(stored.dtype)},
        source=path.name,
    )
