from __future__ import annotations

import explain_toys as toys
import numpy as np
import pytest
import torch

from latentviz.errors import ShapeError, UnknownColormapError
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
    c = colorized_map(orig, diff, alpha=1.0, colormap="jet")  # the medXGAN paper's look
    assert c.shape == (1, 3, 8, 8)
    assert torch.allclose(c[0, :, 2, 3], torch.tensor([0.5, 0.0, 0.0]))  # JET top: dark red
    assert torch.allclose(c[0, :, 0, 0], torch.tensor([0.0, 0.0, 0.5]))  # JET bottom: dark blue
    assert torch.allclose(jet(torch.tensor(0.5)), torch.tensor([0.5, 1.0, 0.5]))


def test_colorized_map_defaults_to_magma_with_monotone_luminance():
    orig = torch.zeros(1, 1, 1, 256)
    diff = torch.linspace(0, 1, 256).view(1, 1, 1, 256)
    c = colorized_map(orig, diff, alpha=1.0)[0, :, 0]  # (3, 256)
    import matplotlib

    expected = matplotlib.colormaps["magma"](np.linspace(0, 1, 256))[:, :3]
    assert np.allclose(c.T.numpy(), expected, atol=1 / 255)
    luminance = (torch.tensor([0.2126, 0.7152, 0.0722]) @ c).numpy()
    assert np.all(np.diff(luminance) > -1e-6)  # equal steps in |difference| never get darker
    jet_lum = (torch.tensor([0.2126, 0.7152, 0.0722]) @ jet(torch.linspace(0, 1, 256)).T).numpy()
    assert np.any(np.diff(jet_lum) < -1e-3)  # jet's does: the reason it is not the default


def test_unknown_colorized_colormap_is_a_typed_error(toy_generator, toy_classifier):
    with pytest.raises(UnknownColormapError, match="nope"):
        colorized_map(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), colormap="nope")
    with pytest.raises(UnknownColormapError):
        counterfactual(toy_generator, toy_classifier, toys.positive_latents(1, seed=0), colormap="rainbow")


def test_requires_a_conditional_generator(toy_autoencoder):
    with pytest.raises(ShapeError, match="conditional"):
        negative_realization(toy_autoencoder, torch.zeros(1, 8))
