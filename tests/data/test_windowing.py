"""Windows: presets, resolution of the window argument, the map and its inverse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz.data.windowing import PRESETS, apply_window, invert_window, resolve_window


def test_apply_window_maps_edges_and_clips() -> None:
    hu = np.array([-2000.0, -1000.0, -600.0, -225.0, 150.0, 3000.0])
    shown = apply_window(hu, (-600.0, 1500.0))  # lung: [-1350, 150]
    np.testing.assert_allclose(shown, [0.0, 350 / 1500, 0.5, 0.75, 1.0, 1.0], rtol=1e-6)
    assert shown.dtype == np.float32
    np.testing.assert_allclose(apply_window(hu, (-600.0, 1500.0), invert=True), 1.0 - shown)


def test_torch_and_numpy_agree() -> None:
    values = np.linspace(-1500, 1500, 101, dtype=np.float32)
    a = apply_window(values, (40.0, 400.0))
    b = apply_window(torch.from_numpy(values), (40.0, 400.0))
    np.testing.assert_allclose(a, b.numpy(), rtol=1e-6)


@pytest.mark.parametrize("invert", [False, True])
def test_inverse_recovers_values_inside_the_window(invert: bool) -> None:
    hu = np.linspace(-159.0, 239.0, 50, dtype=np.float32)  # inside (40, 400)
    back = invert_window(apply_window(hu, (40.0, 400.0), invert=invert), (40.0, 400.0), invert=invert)
    np.testing.assert_allclose(back, hu, atol=1e-3)
    # outside values come back at the window edge
    edge = invert_window(apply_window(np.array([-5000.0, 5000.0]), (40.0, 400.0)), (40.0, 400.0))
    np.testing.assert_allclose(edge, [-160.0, 240.0])


def test_resolve_window() -> None:
    assert resolve_window("lung") == PRESETS["lung"] == (-600.0, 1500.0)
    assert resolve_window("Soft Tissue") == PRESETS["soft_tissue"]
    assert resolve_window(None, header=(40.0, 80.0)) == (40.0, 80.0)
    assert resolve_window("header", header=(1.0, 2.0)) == (1.0, 2.0)
    assert resolve_window([10, 20]) == (10.0, 20.0)
    pixels = np.concatenate([np.zeros(1), np.linspace(0.0, 100.0, 10_000), np.full(1, 1e6)])
    center, width = resolve_window(None, pixels=pixels)  # auto: percentiles ignore the hot pixel
    assert center == pytest.approx(50.0, abs=1.0) and width == pytest.approx(99.0, abs=1.0)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("spleen", "unknown window 'spleen'"),
        ((40.0, 0.0), "width must be finite and > 0"),
        ((np.nan, 10.0), "width must be finite and > 0"),
        ("header", "carries no window"),
        (3.0, "must be \\(center, width\\)"),
    ],
)
def test_bad_windows(spec, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_window(spec)
