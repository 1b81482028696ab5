"""ImageDataset over folders, file lists, NPZ splits, arrays and phantom-like batches."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from latentviz.data import ImageDataset, read_image
from latentviz.errors import ShapeError


def test_class_folders(tmp_path: Path) -> None:
    for label, value in (("normal", 0), ("pneumonia", 255)):
        (tmp_path / label).mkdir()
        for n in range(3):
            Image.fromarray(np.full((40, 60), value, np.uint8)).save(tmp_path / label / f"{n}.png")
    ds = ImageDataset(tmp_path, size=32)
    assert ds.classes == ["normal", "pneumonia"] and len(ds) == 6
    x, y = ds[4]
    assert x.shape == (1, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert int(y) == 1
    torch.testing.assert_close(x, torch.ones_like(x))  # white PNG -> +1
    torch.testing.assert_close(ds[0][0], -torch.ones_like(x))
    assert int(ds[0][1]) == 0
    xb, yb = next(iter(DataLoader(ds, batch_size=6)))
    assert xb.shape == (6, 1, 32, 32) and yb.tolist() == [0, 0, 0, 1, 1, 1]


def test_dicom_file_list_matches_model_input(ct_path: Path, mr_path: Path) -> None:
    ds = ImageDataset([ct_path, mr_path], labels=[1, 0], size=48, window="soft_tissue")
    x, y = ds[0]
    expected = read_image(ct_path).to_model_input(48, "soft_tissue")[0]
    torch.testing.assert_close(x, expected)
    assert int(y) == 1 and int(ds[1][1]) == 0


def test_medmnist_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "m.npz", test_images=images, test_labels=np.arange(5)[:, None] % 2)
    ds = ImageDataset(tmp_path / "m.npz", split="test", size=28)
    x, y = ds[3]
    np.testing.assert_allclose(x[0].numpy(), images[3] / 255.0 * 2 - 1, atol=1e-5)
    assert int(y) == 1 and len(ds) == 5


def test_phantom_like_batch_passes_through() -> None:
    images = torch.linspace(-1, 1, 2 * 16 * 16).reshape(2, 1, 16, 16)
    batch = SimpleNamespace(images=images.numpy(), labels=np.array([0, 1]))
    ds = ImageDataset(batch, size=16)
    torch.testing.assert_close(ds[1][0], images[1])
    assert int(ds[1][1]) == 1
    assert ImageDataset(batch, size=8)[0][0].shape == (1, 8, 8)
    with pytest.raises(ShapeError, match=r"\[-1, 1\]"):
        ImageDataset(SimpleNamespace(images=images.numpy() * 3, labels=np.array([0, 1])))


def test_arrays_and_windows() -> None:
    hu = np.full((2, 20, 20), 50.0, np.float32)  # soft tissue centre
    ds = ImageDataset(hu, labels=[0, 1], size=10, window="soft_tissue")
    torch.testing.assert_close(ds[0][0], torch.zeros(1, 10, 10))
    unlabelled = ImageDataset(np.zeros((3, 8, 8), np.uint8), size=8)
    assert int(unlabelled[2][1]) == -1
    torch.testing.assert_close(unlabelled[0][0], -torch.ones(1, 8, 8))
    with pytest.raises(ShapeError, match="need window"):
        ImageDataset(hu, size=10)
    with pytest.raises(ShapeError, match="3 images but 2 labels"):
        ImageDataset(np.zeros((3, 8, 8), np.uint8), labels=[0, 1])
