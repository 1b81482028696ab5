from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz.directions.centroid import centroid_path, centroid_walk, encode_images
from latentviz.directions.probes import conditional_direction, fit_probe, probe_directions
from latentviz.errors import LatentError, ShapeError


def test_probe_on_phantom_factor_has_high_validation_accuracy(phantom_generator):
    module = phantom_generator.module
    z = phantom_generator.sample_latents(1500, seed=3)
    truth = module.factor_values(z)
    ds = probe_directions(
        phantom_generator,
        z,
        {"rotation": truth["rotation"], "z_position": truth["z_position"]},
        label_source="phantom factors",
    )
    assert ds.names == ["rotation", "z_position"]
    assert ds.scores.min() >= 0.95  # validation accuracy
    cos = np.abs(ds.directions @ module.axes.numpy().T)
    assert cos[0, 0] > 0.97 and cos[1, 1] > 0.97
    assert ds.params["label_source"] == "phantom factors" and ds.params["latent_source"] == "prior"
    # oriented towards larger values
    assert ds.directions[0] @ module.axes.numpy()[0] > 0
    logistic = fit_probe(z, truth["breast_size"], model="logistic", keep=0.5)
    assert logistic.val_accuracy >= 0.95


def test_conditional_editing_removes_other_attributes():
    rng = np.random.default_rng(0)
    n, c1, c2 = rng.standard_normal((3, 10))
    out = conditional_direction(n, np.stack([c1, c2]))
    assert abs(np.linalg.norm(out) - 1) < 1e-9
    assert abs(out @ c1) < 1e-9 and abs(out @ c2) < 1e-9
    # single condition: n − (n·c)c with unit c
    c = c1 / np.linalg.norm(c1)
    ref = n - (n @ c) * c
    np.testing.assert_allclose(conditional_direction(n, c), ref / np.linalg.norm(ref))
    with pytest.raises(ValueError, match="span"):
        conditional_direction(c1 + c2, np.stack([c1, c2]))


def test_probe_bad_input():
    z = np.random.default_rng(0).standard_normal((50, 4))
    with pytest.raises(ShapeError):
        fit_probe(z, np.ones(49))
    with pytest.raises(ValueError, match="single class"):
        fit_probe(z, np.ones(50))
    with pytest.raises(LatentError):
        fit_probe(np.full((50, 4), np.nan), np.arange(50))


def test_centroid_path_through_strata_means(blob_generator):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3000, 8))
    axis = blob_generator.module.axes.numpy()[1]
    value = z @ axis + 0.1 * rng.standard_normal(3000)
    ds = centroid_path(blob_generator, z, value, n_strata=4, feature="size", latent_source="given")
    assert len(ds) == 4 and ds.names[0] == "size: low→high"
    assert ds.directions[0] @ axis > 0.95  # the overall path follows the planted axis
    assert ds.params["counts"] == [750, 750, 750, 750]
    centroids = np.array(ds.params["centroids"])
    stratum = np.searchsorted(ds.params["edges"], value, side="right")
    np.testing.assert_allclose(centroids[2], z[stratum == 2].mean(0))
    walk = centroid_walk(ds, frames_per_step=3)
    assert walk.shape == (3 * 3 + 1, 8)
    torch.testing.assert_close(walk[0], torch.as_tensor(centroids[0], dtype=torch.float32))
    torch.testing.assert_close(walk[-1], torch.as_tensor(centroids[-1], dtype=torch.float32))
    with pytest.raises(ValueError, match="empty strata"):
        centroid_path(blob_generator, z, value, edges=np.array([100.0, 200.0]))
    with pytest.raises(NotImplementedError, match="no encoder"):
        encode_images(blob_generator, torch.zeros(1, 1, 24, 24))
