from __future__ import annotations

import explain_toys as toys
import pytest
import torch

from latentviz.errors import ShapeError
from latentviz.explain import LatentShift


def test_latent_shift_drops_the_prediction_and_points_at_the_lesion(toy_autoencoder, toy_classifier):
    z = toys.positive_latents(4, seed=41)
    x = toy_autoencoder.generate(z)
    a = LatentShift(toy_autoencoder, toy_classifier).attribute(x, n_frames=10)
    e = a.extras
    assert a.map.shape == (4, 1, 16, 16) and (a.map >= 0).all()
    assert e["frames"].shape == (4, 10, 1, 16, 16)
    assert e["dropped"].all()
    assert (e["frame_probability"][:, 0] > 0.5).all() and (e["frame_probability"][:, -1] < 0.5).all()
    assert (e["lambda_star"] < 0).all()
    mask = toys.lesion_mask()
    assert mask.float().mean() < 0.25  # a uniform map would put < 25 % in the lesion
    assert (a.map[:, 0][:, mask].sum(1) / a.map.flatten(1).sum(1) > 0.55).all()
    # Heat map = mean |consecutive frame difference|.
    f = e["frames"]
    assert torch.allclose(a.map, (f[:, 1:] - f[:, :-1]).abs().mean(1))


def test_latent_shift_needs_an_encoder(toy_generator, toy_classifier):
    with pytest.raises(ShapeError, match="encoder"):
        LatentShift(toy_generator, toy_classifier)
