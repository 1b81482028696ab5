from __future__ import annotations

import explain_toys as toys
import pytest
import torch

from latentviz.errors import ShapeError
from latentviz.explain import LatentIntegratedGradients, invert


@pytest.fixture
def z():
    return toys.positive_latents(3, seed=5)


def test_path_variant_is_complete(toy_generator, toy_classifier, z):
    a = LatentIntegratedGradients(toy_generator, toy_classifier).attribute(z, target=1, n_steps=32)
    gap = a.extras["probability_positive"] - a.extras["probability_negative"]
    assert a.map.shape == (3, 1, 16, 16)
    assert (gap > 0.5).all()  # the path really moves the classifier
    assert torch.allclose(a.map.flatten(1).sum(1) - gap, a.delta)
    assert a.delta.abs().max() < 0.02 * gap.min()


def test_completeness_error_shrinks_with_steps(toy_generator, toy_classifier, z):
    lig = LatentIntegratedGradients(toy_generator, toy_classifier)
    coarse = lig.attribute(z, n_steps=4, method="riemann_left").delta.abs().mean()
    fine = lig.attribute(z, n_steps=64, method="riemann_left").delta.abs().mean()
    assert fine < coarse / 4


def test_paper_variant_breaks_completeness_and_both_share_a_pass(toy_generator, toy_classifier, z):
    lig = LatentIntegratedGradients(toy_generator, toy_classifier)
    both = lig.attribute(z, n_steps=32, variant="both")
    path = lig.attribute(z, n_steps=32, variant="path")
    paper = lig.attribute(z, variant="paper")
    assert torch.allclose(both.map, path.map, atol=1e-6)
    assert torch.allclose(both.extras["paper_map"], paper.map, atol=1e-6)
    assert paper.method == "lig_paper"
    assert paper.delta.abs().mean() > 5 * path.delta.abs().mean()
    # The argmax class changes along the path (the paper's moving target).
    am = paper.extras["paper_argmax"]
    assert (am[:, 0] == 0).all() and (am[:, -1] == 1).all()


def test_paper_variant_matches_its_formula(toy_generator, toy_classifier, z):
    g, c = toy_generator, toy_classifier
    a = LatentIntegratedGradients(g, c).attribute(z[:1], variant="paper")
    z1, z2 = g.split(z[:1])
    grads = []
    for i in range(11):  # reference: one point at a time, as the public code does
        x = g(g.join(z1, 0.1 * i * z2)).detach().requires_grad_(True)
        p = c.probabilities(x)
        p[0, p[0].argmax()].backward()
        grads.append(x.grad)
    ref = sum(grads) * (g(z[:1]) - g(g.join(z1))).detach() / 11
    assert torch.allclose(a.map, ref, atol=1e-6)


def test_lesion_carries_the_attribution(toy_generator, toy_classifier, z):
    a = LatentIntegratedGradients(toy_generator, toy_classifier).attribute(z)
    mask = toys.lesion_mask()
    inside = a.map[:, 0][:, mask].sum(1)
    assert (inside / a.map.flatten(1).sum(1) > 0.9).all()


def test_internal_batch_size_gives_same_numbers(toy_generator, toy_classifier, z):
    lig = LatentIntegratedGradients(toy_generator, toy_classifier)
    a = lig.attribute(z, n_steps=16, variant="both")
    b = lig.attribute(z, n_steps=16, variant="both", internal_batch_size=5)
    assert torch.allclose(a.map, b.map, atol=1e-6)
    assert torch.allclose(a.extras["paper_map"], b.extras["paper_map"], atol=1e-6)


def test_three_channels(toy_generator_rgb, toy_classifier_rgb):
    z = toys.positive_latents(2, seed=8)
    a = LatentIntegratedGradients(toy_generator_rgb, toy_classifier_rgb).attribute(z, n_steps=32)
    assert a.map.shape == (2, 3, 16, 16)
    gap = a.extras["probability_positive"] - a.extras["probability_negative"]
    assert a.delta.abs().max() < 0.02 * gap.abs().max()


def test_carries_inversion_fidelity(toy_generator, toy_classifier, z):
    inv = invert(
        toy_generator, toy_classifier, toy_generator.generate(z[:1]), restarts=2, steps=5, progress=False
    )
    a = LatentIntegratedGradients(toy_generator, toy_classifier).attribute(inv)
    assert a.low_fidelity is not None and a.low_fidelity.shape == (1,)
    assert "psnr" in a.extras["fidelity"]


def test_refuses_unconditional_generator_and_bad_latents(toy_autoencoder, toy_generator, toy_classifier):
    with pytest.raises(ShapeError, match="conditional"):
        LatentIntegratedGradients(toy_autoencoder, toy_classifier)
    from latentviz.errors import LatentError

    with pytest.raises(LatentError):
        LatentIntegratedGradients(toy_generator, toy_classifier).attribute(torch.zeros(2, 5))


def test_adaptive_partition_beats_uniform_on_a_steep_classifier(toy_generator):
    from latentviz.models import Classifier

    # Ten times steeper than the fixture's detector: p jumps from 0 to 1 within a few % of α.
    steep = Classifier(toys.BlobDetector(1, scale=3000.0, offset=51.0), activation="softmax", device="cpu")
    z = toys.positive_latents(6, seed=9)
    lig = LatentIntegratedGradients(toy_generator, steep)
    uni = lig.attribute(z, n_steps=16, partition="uniform")
    ada = lig.attribute(z, n_steps=16, partition="adaptive")
    assert ada.delta.abs().mean() < 0.2 * uni.delta.abs().mean()
    a = ada.extras["alphas"]
    assert a.shape == (6, 17) and (a[:, 0] == 0).all() and (a[:, -1] == 1).all()
    assert (a.diff(dim=1) > 0).all()  # a proper partition of [0, 1]


def test_adaptive_partition_is_no_worse_on_a_smooth_classifier(toy_generator, toy_classifier):
    z = toys.positive_latents(6, seed=9)
    lig = LatentIntegratedGradients(toy_generator, toy_classifier)
    uni = lig.attribute(z, n_steps=16, partition="uniform").delta.abs().mean()
    ada = lig.attribute(z, n_steps=16, partition="adaptive").delta.abs().mean()
    assert ada < 1.2 * uni
