"""NPZ arrays and the MedMNIST layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentviz.data import load_split, read_image, read_npz
from latentviz.errors import ImageReadError


@pytest.fixture
def medmnist(tmp_path: Path) -> Path:
    """A small file in the exact MedMNIST layout (uint8 images, (N, 1) labels)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "pneumoniamnist.npz"
    arrays = {}
    for split, n in (("train", 10), ("val", 4), ("test", 6)):
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (n, 1), dtype=np.uint8)
    np.savez(path, **arrays)
    return path


def test_medmnist_split(medmnist: Path) -> None:
    images, labels = load_split(medmnist, "val")
    stored = np.load(medmnist)
    np.testing.assert_array_equal(images, stored["val_images"])
    np.testing.assert_array_equal(labels, stored["val_labels"][:, 0])
    assert labels.shape == (4,)
    with pytest.raises(ImageReadError, match="no split 'dev'"):
        load_split(medmnist, "dev")


def test_medmnist_single_image(medmnist: Path) -> None:
    with pytest.raises(ImageReadError, match=r"MedMNIST-style dataset.*key='train_images'"):
        read_image(medmnist)
    image = read_image(medmnist, key="test_images", index=5)
    np.testing.assert_array_equal(image.pixels, np.load(medmnist)["test_images"][5])
    assert image.window == (127.5, 255.0) and image.shape == (28, 28)


def test_rgb_medmnist_images_become_grey(tmp_path: Path) -> None:
    rgb = np.zeros((3, 28, 28, 3), np.uint8)
    rgb[1, ..., 1] = 200  # green
    np.savez(tmp_path / "derma.npz", train_images=rgb, train_labels=np.arange(3)[:, None])
    image = read_npz(tmp_path / "derma.npz", key="train_images", index=1)
    assert image.shape == (28, 28)
    np.testing.assert_allclose(image.pixels, 0.587 * 200, rtol=1e-5)


def test_single_array_is_an_image_or_volume(tmp_path: Path) -> None:
    np.save(tmp_path / "slice.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    assert read_image(tmp_path / "slice.npy").shape == (3, 4)
    np.savez(tmp_path / "vol.npz", image=np.zeros((5, 6, 7), np.int16))
    assert read_image(tmp_path / "vol.npz").shape == (5, 6, 7)


def test_bad_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "obj.npz", images=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ImageReadError, match="pickled Python objects"):
        read_image(tmp_path / "obj.npz")
    np.savez(tmp_path / "nan.npz", images=np.array([[0.0, np.nan]], np.float32))
    with pytest.raises(ImageReadError, match=r"nan\.npz: 1 of 2 pixel values are NaN"):
        read_image(tmp_path / "nan.npz")
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 2)), b=np.zeros((2, 2)))
    with pytest.raises(ImageReadError, match="several arrays"):
        read_image(tmp_path / "two.npz")
    np.savez(tmp_path / "mismatch.npz", images=np.zeros((3, 4, 4)), labels=np.zeros(2))
    with pytest.raises(ImageReadError, match="3 images but 2 labels"):
        load_split(tmp_path / "mismatch.npz")
