"""The baseline direction sets (random unit directions, coordinate axes)."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.directions.baselines import axis_directions, random_directions
from latentviz.directions.discover import discover
from latentviz.directions.scoring import score_directions
from latentviz.errors import ArgumentError


def test_random_directions_are_unit_seeded_and_scaled_to_the_latent(blob_generator) -> None:
    a, b = random_directions(blob_generator, k=5, seed=3), random_directions(blob_generator, k=5, seed=3)
    np.testing.assert_array_equal(a.directions, b.directions)
    assert not np.allclose(a.directions, random_directions(blob_generator, k=5, seed=4).directions)
    np.testing.assert_allclose(np.linalg.norm(a.directions, axis=1), 1.0)
    # an N(0, I) latent has σ = 1 along every unit direction (2048 draws: within a few %)
    np.testing.assert_allclose(a.sigmas, 1.0, atol=0.06)
    assert a.method == "random" and a.params["seed"] == 3 and a.model_sha256 == str(blob_generator.sha256)
    assert random_directions(blob_generator, k=20).directions.shape == (20, 8)  # more than D is fine
    with pytest.raises(ArgumentError, match="at least 1"):
        random_directions(blob_generator, k=0)


def test_axes_are_the_identity_rows_and_at_most_d(blob_generator) -> None:
    ds = axis_directions(blob_generator, k=3)
    np.testing.assert_array_equal(ds.directions, np.eye(8)[:3])
    assert axis_directions(blob_generator).directions.shape == (8, 8)
    with pytest.raises(ArgumentError, match="between 1 and the latent size 8"):
        axis_directions(blob_generator, k=9)


def test_baselines_run_through_the_registry_and_are_scored_like_the_rest(blob_generator, blob_reader) -> None:
    rand = discover(blob_generator, "random", 4, seed=1)
    axes = discover(blob_generator, "axes", 4)
    assert len(rand) == 4 and len(axes) == 4
    for ds in (rand, axes):
        scores = score_directions(
            blob_generator, ds, blob_reader, n_starts=4, shifts=np.linspace(-2, 2, 5), progress=False
        )
        assert scores.method == ds.method and scores.spearman.shape == (4, 3)
        assert np.isfinite(scores.leakage).all() and len(scores.matched) == 4
