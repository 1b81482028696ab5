from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from latentviz.directions import sefa
from latentviz.directions.strips import strip_grid


def test_strip_grid_labels_every_frame(tmp_path, blob_generator, blob_reader):
    ds = sefa(blob_generator, k=3, normalize=False).rename(0, "x axis")
    out = tmp_path / "strip.png"
    fig = strip_grid(
        blob_generator,
        ds,
        keys=[0, 1],
        shifts=[-2, 0, 2],
        seeds=[0, 1],
        factor_fn=blob_reader,
        factors=["x_position", None],
        path=out,
    )
    axes = fig.axes
    assert len(axes) == 2 * 2 * 3
    titles = [a.get_title() for a in axes]
    assert all(t.splitlines()[0] in ("-2.0σ", "+0.0σ", "+2.0σ") for t in titles)
    assert all("x_position=" in t for t in titles[:6]) and not any("=" in t for t in titles[6:])
    xs = [float(t.split("=")[1]) for t in titles[:3]]
    assert abs(xs[0] - xs[2]) > 0.1  # the printed factor changes along the walk
    assert axes[0].get_ylabel().startswith("x axis")
    assert np.asarray(Image.open(out)).shape[0] > 200
    with pytest.raises(ValueError):
        strip_grid(blob_generator, ds, keys=[0], factors=["a", "b"])
