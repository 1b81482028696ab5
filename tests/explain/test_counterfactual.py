from __future__ import annotations

import explain_toys as toys
import pytest
import torch

from latentviz.errors import ShapeError
from latentviz.explain import colorized_map, counterfactual, difference_map, jet, negative_realization


def test_negative_realization_removes_the_lesion_and_flips(toy_generator, toy_classifier):
    z = toys.positive_latents(4, seed=31)
    g = toy_generator
    neg = negative_realization(g, z)
    z1, _ = g.split(z)
    assert torch.allclose(neg, g.generate(g.join(z1)))
    cf = counterfactual(g, toy_classifier, z)
    assert cf.flipped.all()
    assert torch.allclose(cf.difference, difference_map(g, z))
    mask = toys.lesion_mask()
    energy = cf.difference.abs()[:, 0]
    assert (energy[:, mask].sum(1) / energy.flatten(1).sum(1) > 0.8).all()  # Gaussian tails leave the disc


def test_colorized_map_is_rgb_and_hot_on_the_difference():
    orig = torch.zeros(1, 1, 8, 8)
    diff = torch.zeros(1, 1, 8, 8)
    diff[..., 2, 3] = 1.0
    c = colorized_map(orig, diff, alpha=1.0)
    assert c.shape == (1, 3, 8, 8)
    assert torch.allclose(c[0, :, 2, 3], torch.tensor([0.5, 0.0, 0.0]))  # JET top: dark red
    assert torch.allclose(c[0, :, 0, 0], torch.tensor([0.0, 0.0, 0.5]))  # JET bottom: dark blue
    assert torch.allclose(jet(torch.tensor(0.5)), torch.tensor([0.5, 1.0, 0.5]))


def test_requires_a_conditional_generator(toy_autoencoder):
    with pytest.raises(ShapeError, match="conditional"):
        negative_realization(toy_autoencoder, torch.zeros(1, 8))
