"""PNG / JPEG / TIFF files and folders through Pillow: 8-bit, 16-bit, colour, pages, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentviz.data import read_image, read_raster, read_raster_folder
from latentviz.errors import ImageReadError


def test_png_8bit(tmp_path: Path) -> None:
    data = (np.arange(40 * 30) % 256).astype(np.uint8).reshape(40, 30)
    Image.fromarray(data).save(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(image.pixels, data.astype(np.float32))
    assert image.window == (127.5, 255.0) and image.metadata["bits"] == 8
    np.testing.assert_allclose(image.windowed(), data / 255.0, atol=1e-6)


def test_png_16bit_keeps_full_range(tmp_path: Path) -> None:
    data = np.linspace(0, 65535, 64 * 64).astype(np.uint16).reshape(64, 64)
    Image.fromarray(data).save(tmp_path / "deep.png")
    image = read_raster(tmp_path / "deep.png")
    np.testing.assert_array_equal(image.pixels, data.astype(np.float32))
    assert image.window == (32767.5, 65535.0) and image.pixels.max() == 65535.0


def test_rgb_jpeg_becomes_luminance(tmp_path: Path) -> None:
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:, :16] = (255, 0, 0)
    rgb[:, 16:] = (0, 0, 255)
    Image.fromarray(rgb).save(tmp_path / "c.jpg", quality=100)
    image = read_image(tmp_path / "c.jpg")
    assert image.shape == (32, 32)
    assert image.pixels[16, 4] == pytest.approx(0.299 * 255, abs=4)  # red
    assert image.pixels[16, 28] == pytest.approx(0.114 * 255, abs=4)  # blue


def test_multipage_tiff_is_a_volume(tmp_path: Path) -> None:
    pages = [Image.fromarray(np.full((10, 12), v, np.uint16)) for v in (100, 200, 300)]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    image = read_image(tmp_path / "stack.tif")
    assert image.shape == (3, 10, 12)
    np.testing.assert_array_equal(image.pixels[:, 0, 0], [100, 200, 300])


def test_float_tiff_nan_is_rejected(tmp_path: Path) -> None:
    data = np.zeros((8, 8), np.float32)
    data[2, 2] = np.nan
    Image.fromarray(data).save(tmp_path / "f.tif")
    with pytest.raises(ImageReadError, match=r"f\.tif: 1 of 64 pixel values are NaN"):
        read_image(tmp_path / "f.tif")


def test_folder_stacks_in_natural_order(tmp_path: Path) -> None:
    for n in (1, 2, 10):
        Image.fromarray(np.full((6, 7), n, np.uint8)).save(tmp_path / f"img{n}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    image = read_image(tmp_path)
    assert image.shape == (3, 6, 7)
    np.testing.assert_array_equal(image.pixels[:, 0, 0], [1, 2, 10])  # img2 before img10
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "img3.png")
    with pytest.raises(ImageReadError, match=r"img3\.png: image of shape \(5, 5\) differs"):
        read_raster_folder(tmp_path)


def test_truncated_png(tmp_path: Path) -> None:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(
        tmp_path / "t.png"
    )
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"t\.png: cannot read as an image"):
        read_image(tmp_path / "t.png")
