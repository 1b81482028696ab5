from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz.directions import DirectionSet
from latentviz.directions.factor_regressor import FactorRegressor
from latentviz.directions.probes import probe_directions
from latentviz.directions.scoring import intervention_walks, score_directions
from latentviz.errors import DirectionSetMismatchError


def _planted(generator, axes: np.ndarray) -> DirectionSet:
    rng = np.random.default_rng(0)
    null = rng.standard_normal(axes.shape[1])
    null -= axes.T @ (axes @ null)  # orthogonal to every factor axis: changes nothing
    mixed = axes[0] + axes[2]
    return DirectionSet(
        np.stack([axes[1], -axes[0], null, mixed]),
        ["planted size", "planted -x", "null", "mixed x+brightness"],
        method="planted",
        model_sha256=generator.sha256,
        latent_space="z",
    )


def test_walks_are_shifted_starts(blob_generator):
    ds = _planted(blob_generator, blob_generator.module.axes.numpy())
    ds.sigmas[1] = 2.0
    starts = blob_generator.sample_latents(3, seed=0)
    w = intervention_walks(blob_generator, ds, starts, np.array([-1.0, 0.0, 2.0]))
    assert w.shape == (4, 3, 3, 8)
    torch.testing.assert_close(w[:, :, 1], starts.expand(4, 3, 8))
    torch.testing.assert_close(w[1, 2, 2], starts[2] + 4.0 * torch.as_tensor(ds.directions[1]))


def test_scoring_finds_planted_directions(blob_generator, blob_reader):
    module = blob_generator.module
    axes = module.axes.numpy()
    ds = _planted(blob_generator, axes)
    z = blob_generator.sample_latents(800, seed=5)
    truth = module.factors(z).numpy()
    probes = probe_directions(blob_generator, z, {"x_position": truth[:, 0], "size": truth[:, 1]})
    sc = score_directions(
        blob_generator,
        ds,
        blob_reader,
        n_starts=6,
        shifts=np.linspace(-2, 2, 7),
        probes=probes,
        progress=False,
    )
    assert sc.matched[:2] == ["size", "x_position"]
    assert sc.spearman[0, 1] > 0.99 and sc.spearman[1, 0] < -0.99  # "-x" walks x down
    assert sc.slope[1, 0] < 0 and sc.leakage[0] < 0.2 and sc.leakage[1] < 0.2
    assert sc.effect[2].max() < 0.05  # the null direction moves nothing
    assert not sc.recovers(2)
    assert sc.leakage[3] > 0.5 and not sc.recovers(3)
    assert sc.recovered == {"size": "planted size", "x_position": "planted -x"}
    assert sc.probe_cosine[0] > 0.95 and sc.probe_cosine[1] > 0.95  # sign-aligned
    assert sc.disentanglement[0] > 0.8 and sc.disentanglement[3] < sc.disentanglement[0]
    d = sc.to_dict()
    assert d["n_recovered"] == 2 and len(d["directions"]) == 4
    md = sc.to_markdown()
    assert md.count("\n") == 5 and "planted size | size" in md


def test_scoring_refuses_foreign_set(blob_generator, conv_generator):
    ds = _planted(blob_generator, blob_generator.module.axes.numpy())
    with pytest.raises(DirectionSetMismatchError):
        score_directions(conv_generator, ds, lambda x: {"a": x.mean((1, 2, 3)).numpy()}, progress=False)


def test_regressor_scores_planted_direction_on_rerendered_phantom(phantom_generator):
    """The end-to-end check: a phantom re-rendered from z, factors read by a trained CNN."""
    module = phantom_generator.module
    names = ["rotation", "z_position", "breast_size"]
    reg = FactorRegressor.for_phantom("ct", size=32, n=1200, names=names, steps=400, progress=False)
    assert reg.r2["rotation"] > 0.8 and reg.r2["z_position"] > 0.8
    axes = module.axes.numpy()
    null = np.random.default_rng(1).standard_normal(6)
    null -= axes.T @ (axes @ null)
    ds = DirectionSet(
        np.stack([axes[1], null]),
        ["planted z", "null"],
        method="planted",
        model_sha256=phantom_generator.sha256,
        latent_space="z",
    )
    sc = score_directions(
        phantom_generator,
        ds,
        reg,
        n_starts=4,
        shifts=np.linspace(-1.5, 1.5, 7),
        n_reference=256,
        progress=False,
    )
    assert sc.matched[0] == "z_position" and sc.spearman[0, 1] > 0.9
    assert "z_position" in sc.recovered and sc.recovered["z_position"] == "planted z"
    assert not sc.recovers(1)
