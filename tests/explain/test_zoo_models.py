"""Explanations on the bundled zoo models (skipped until the zoo ships cxr-medxgan and
cxr-classifier): the negative realisation must flip the classifier on positives, and an
inversion of a phantom must be faithful enough to explain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz import zoo
from latentviz.explain import LatentIntegratedGradients, counterfactual, invert

NEEDED = {"cxr-medxgan", "cxr-classifier"}
pytestmark = pytest.mark.skipif(
    not NEEDED <= set(zoo.names()), reason="zoo models cxr-medxgan / cxr-classifier not bundled yet"
)


@pytest.fixture(scope="module")
def models():
    return zoo.load("cxr-medxgan", device="cpu"), zoo.load("cxr-classifier", device="cpu")


def test_negative_realization_flips_the_classifier_on_positives(models):
    g, c = models
    z = g.sample_latents(64, seed=7)  # z2 ~ N(0, I): positive latents
    cf = counterfactual(g, c, z)
    positive = cf.probability_positive >= 0.5
    assert positive.float().mean() > 0.8  # the generator makes positives the classifier accepts
    flipped = cf.flipped[positive].float().mean()
    assert flipped > 0.9, f"only {flipped:.0%} of positives flip"
    assert (cf.probability_negative[positive] < 0.5).float().mean() > 0.9


def test_phantom_inversion_and_lig_completeness(models):
    from latentviz.data.phantoms import generate

    g, c = models
    batch = generate("cxr", 2, size=g.image_shape[-1], seed=4321, labels=np.ones(2, dtype=np.int64))
    x = torch.from_numpy(batch.images)
    inv = invert(g, c, x, restarts=2, steps=120, progress=False)
    assert (inv.psnr > 15).all()  # a phantom the GAN never saw: loose but real bound
    a = LatentIntegratedGradients(g, c).attribute(inv, n_steps=64)
    gap = (a.extras["probability_positive"] - a.extras["probability_negative"]).abs()
    assert (gap > 0.9).all()  # the path crosses the decision: a saturating classifier
    # Completeness within 5 % of the explained gap (adaptive partition; uniform 64 is worse).
    assert (a.delta.abs() <= 0.05 * gap).all(), a.delta
