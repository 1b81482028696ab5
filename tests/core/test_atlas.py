"""The latent atlas on a small store with planted structure: two latent clusters, known
probabilities and maps, so embedding, selection, lazy maps and the centroid path have
exact answers."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from latentviz.batch.store import ResultStore
from latentviz.core.atlas import Atlas, embed
from latentviz.errors import DependencyMissingError, LatentvizError

N, D, BATCH = 40, 8, 16


@pytest.fixture
def store(tmp_path) -> ResultStore:
    """Rows 0..19 sit around +3·e0 (label 1, high p), rows 20..39 around −3·e0 (label 0)."""
    rng = np.random.default_rng(0)
    labels = (np.arange(N) < 20).astype(np.int64)
    z = rng.normal(0, 0.3, (N, D)).astype(np.float32)
    z[:, 0] += np.where(labels == 1, 3.0, -3.0)
    s = ResultStore(tmp_path / "atlas", job={"command": "explain", "n": N, "batch_size": BATCH})
    for part, start in enumerate(range(0, N, BATCH)):
        rows = np.arange(start, min(start + BATCH, N))
        s.write_part(
            part,
            {
                "index": rows,
                "z": z[rows],
                "z1": z[rows, :6],
                "z2": z[rows, 6:],
                "label": labels[rows],
                "probability": np.where(labels[rows] == 1, 0.9, 0.1).astype(np.float32) + rows * 1e-3,
                "factor_size": rows.astype(np.float32),
                "iou_lig": np.where(labels[rows] == 1, 0.5, np.nan).astype(np.float32),
                "map_lig": np.stack([np.full((8, 8), float(i), np.float16) for i in rows]),
            },
        )
    return s


def test_pca_separates_the_planted_clusters_and_colours_follow_rows(store) -> None:
    atlas = Atlas(store)
    assert len(atlas) == N and atlas.xy.shape == (N, 2)
    x = atlas.xy[:, 0]
    assert (np.sign(x[:20]) == -np.sign(x[20:]).mean()).all()  # one side per cluster
    assert atlas.embedding["explained_variance_ratio"][0] > 0.8
    assert atlas.colour_keys[:2] == ["probability", "label"]
    assert {"factor_size", "iou_lig"} <= set(atlas.colour_keys) and "map_lig" not in atlas.colour_keys
    np.testing.assert_allclose(atlas.colour("factor_size"), np.arange(N))
    assert np.isnan(atlas.colour("iou_lig")[20:]).all()
    with pytest.raises(LatentvizError, match="colour by"):
        atlas.colour("nope")
    assert Atlas(store, latent="z2").xy.shape == (N, 2)
    with pytest.raises(LatentvizError, match="no latent"):
        Atlas(store, latent="w")


def test_tap_and_box_select_rows(store) -> None:
    atlas = Atlas(store)
    for row in (0, 17, 33):
        assert atlas.nearest(*atlas.xy[row]) == row
    x = atlas.xy[:, 0]
    side = 1.0 if x[:20].mean() > 0 else -1.0
    rows = atlas.rows_in_box(0.0, side * 100, -100, 100)  # the positives' half, bounds reversed ok
    np.testing.assert_array_equal(rows, np.arange(20))


def test_point_reads_its_maps_from_its_part_only(store) -> None:
    point = Atlas(store).point(21)  # image 21 lives in part 1
    assert point.index == 21 and point.values["label"] == 0.0
    assert point.probability == pytest.approx(0.1 + 0.021)
    assert list(point.maps) == ["lig"] and (point.maps["lig"] == 21.0).all()
    png = Image.open(io.BytesIO(Atlas(store).point_png(point)))
    assert png.size[0] >= 16 and png.size[1] > 16
    with pytest.raises(IndexError):
        Atlas(store).point(N)


def test_centroid_path_between_groups(store, generator, classifier) -> None:
    atlas = Atlas(store)
    a, b = np.arange(20, 30), np.arange(0, 10)
    path = atlas.centroid_path(a, b, frames_per_step=4)
    centroids = np.asarray(path.directions.params["centroids"])
    np.testing.assert_allclose(centroids[0], atlas.z[a].mean(0), atol=1e-5)
    np.testing.assert_allclose(centroids[1], atlas.z[b].mean(0), atol=1e-5)
    assert path.directions.params["counts"] == [10, 10]
    assert path.latents.shape == (5, D)
    torch.testing.assert_close(path.latents[0], torch.as_tensor(centroids[0], dtype=torch.float32))
    torch.testing.assert_close(path.latents[-1], torch.as_tensor(centroids[1], dtype=torch.float32))
    assert path.frames is None

    rendered = atlas.centroid_path(a, b, 4, generator=generator, classifier=classifier)
    assert rendered.frames.shape == (5, 1, 32, 32) and rendered.probabilities.shape == (5,)
    with torch.no_grad():
        expected = classifier.probability(generator.generate(rendered.latents)).numpy()
    np.testing.assert_allclose(rendered.probabilities, expected, atol=1e-5)
    assert Image.open(io.BytesIO(Atlas.path_png(rendered))).size[0] > 5 * 32
    with pytest.raises(LatentvizError, match="two non-empty groups"):
        atlas.centroid_path([], b)


def test_embedding_refusals() -> None:
    with pytest.raises(LatentvizError, match="unknown embedding"):
        embed(np.zeros((5, 3)), "tsne")
    with pytest.raises(LatentvizError, match="at least 3"):
        embed(np.zeros((2, 3)))


def test_umap_embedding_when_installed(store) -> None:
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(DependencyMissingError, match="umap-learn"):
            Atlas(store, method="umap")
        return
    atlas = Atlas(store, method="umap")
    same_cluster = np.linalg.norm(atlas.xy[:20].mean(0) - atlas.xy[20:].mean(0))
    assert same_cluster > 3 * atlas.xy[:20].std(0).max()  # the clusters stay apart


def test_selection_state_groups_and_path(store, generator) -> None:
    from latentviz.core.atlas import AtlasSelection

    sel = AtlasSelection(Atlas(store), generator)
    assert sel.run_path() == "set group A and group B first" and sel.path is None
    assert sel.set_group("A").startswith("select some points first") and sel.groups == {}
    assert sel.select(np.arange(20, 30)) == "10 images selected"
    assert sel.set_group("A") == "groups A: 10"
    sel.select(np.arange(0, 5))
    assert sel.set_group("B") == "groups A: 10, B: 5"
    assert sel.run_path(frames_per_step=4).startswith("centroid path A → B: 5 latents")
    np.testing.assert_allclose(sel.path.latents[0].numpy(), sel.atlas.z[20:30].mean(0), atol=1e-5)
    assert sel.path.frames.shape == (5, 1, 32, 32)
