"""Resampling to the model size: square pixels, shorter side to size, centre crop."""

from __future__ import annotations

import pytest
import torch

from latentviz.data.transforms import center_crop, fit_to_size
from latentviz.errors import ShapeError


def test_shorter_side_scaled_then_centre_cropped() -> None:
    # a wide image whose columns carry their index: the crop must keep the middle columns
    image = torch.arange(200, dtype=torch.float32).repeat(100, 1)  # (100, 200)
    out = fit_to_size(image, 50)
    assert out.shape == (50, 50)
    # scale 0.5: output column j samples input column 2j + 0.5; the crop starts at column 25
    assert out[0, 0].item() == pytest.approx(2 * 25 + 0.5, abs=0.6)
    assert out[0, -1].item() == pytest.approx(2 * 74 + 0.5, abs=0.6)
    torch.testing.assert_close(out[0], out[-1])


def test_anisotropic_pixels_are_made_square() -> None:
    # 64 rows of 2 mm x 128 columns of 1 mm = a 128 x 128 mm square: no crop is needed
    image = torch.zeros(64, 128)
    image[:, :64] = 1.0  # left half of the field of view
    out = fit_to_size(image, 64, spacing=(2.0, 1.0))
    assert out.shape == (64, 64)
    assert out[:, :31].min() == 1.0 and out[:, 33:].max() == 0.0


def test_batch_and_constant_preserved() -> None:
    batch = torch.full((3, 1, 30, 40), 0.25)
    out = fit_to_size(batch, 16)
    assert out.shape == (3, 1, 16, 16)
    torch.testing.assert_close(out, torch.full_like(out, 0.25))


def test_upsampling_and_errors() -> None:
    assert fit_to_size(torch.rand(8, 8), 32).shape == (32, 32)
    with pytest.raises(ShapeError):
        fit_to_size(torch.rand(8), 4)
    with pytest.raises(ShapeError):
        center_crop(torch.rand(4, 4), 8)
