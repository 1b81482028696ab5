"""AtlasView: colour menu, tap → stored explanation, box selections → centroid path."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from latentviz.batch.store import ResultStore
from latentviz.widgets.atlas import AtlasView

N = 24


@pytest.fixture
def store_path(tmp_path, generator) -> str:
    """Two latent clusters in the toy generator's space, with maps and probabilities."""
    rng = np.random.default_rng(0)
    d = generator.latent_dim
    z = rng.normal(0, 0.3, (N, d)).astype(np.float32)
    z[: N // 2, 0] += 2.0
    store = ResultStore(tmp_path / "s", job={"command": "explain", "n": N, "batch_size": 8})
    for part in range(3):
        rows = np.arange(part * 8, part * 8 + 8)
        store.write_part(
            part,
            {
                "index": rows,
                "z": z[rows],
                "probability": np.linspace(0, 1, N, dtype=np.float32)[rows],
                "label": (rows < N // 2).astype(np.int64),
                "map_gradcam": rng.normal(size=(8, 16, 16)).astype(np.float16),
            },
        )
    return str(tmp_path / "s")


def test_colour_menu_recolours_the_scatter(store_path) -> None:
    view = AtlasView(store_path)
    trace = view.figure.data[0]
    assert view.colour_menu.options == ("probability", "label") and len(trace.x) == N
    np.testing.assert_allclose(trace.marker.color, np.linspace(0, 1, N), atol=1e-6)
    assert "PCA 1" in view.figure.layout.xaxis.title.text
    view.colour_menu.value = "label"
    np.testing.assert_array_equal(trace.marker.color, (np.arange(N) < N // 2).astype(float))
    assert trace.marker.colorbar.title.text == "label"


def test_click_shows_the_points_explanation(store_path) -> None:
    view = AtlasView(store_path)
    assert view.point_image.value == b""
    view._on_click(None, SimpleNamespace(point_inds=[5]), None)
    assert view.point.index == 5 and "p = 0.217" in view.status.value
    assert Image.open(io.BytesIO(view.point_image.value)).size[0] >= 32


def test_two_selections_make_a_rendered_centroid_path(store_path, generator, classifier) -> None:
    view = AtlasView(store_path, generator, classifier)
    view.run_path()
    assert "group A and group B first" in view.status.value and view.path is None
    view.set_group("A")
    assert "select some points first" in view.status.value
    view._on_selection(None, SimpleNamespace(point_inds=list(range(12))), None)
    view.set_group("A")
    view.select(range(12, 24))
    view.set_group("B")
    assert "A: 12, B: 12" in view.status.value
    view.run_path(frames_per_step=4)
    assert view.path is not None and view.path.latents.shape == (5, generator.latent_dim)
    assert view.path.probabilities.shape == (5,) and "centroid path A → B" in view.status.value
    np.testing.assert_allclose(view.path.latents[0].numpy(), view.atlas.z[:12].mean(0), atol=1e-5)
    assert Image.open(io.BytesIO(view.path_image.value)).size[0] > 5 * 32
