from __future__ import annotations

import explain_toys as toys
import numpy as np
import pytest
import torch
from captum.attr import GradientShap as CaptumGradientShap

from latentviz.explain import GradientShap


@pytest.fixture
def x(toy_generator):
    return toy_generator.generate(toys.positive_latents(3, seed=33)).clone()


def test_gradient_shap_equals_raw_captum(toy_classifier, x):
    torch.manual_seed(5)
    np.random.seed(5)  # noqa: NPY002 (captum draws from the legacy global RNG)
    raw = CaptumGradientShap(toy_classifier.as_module("probability")).attribute(
        x, baselines=-torch.ones_like(x), n_samples=6, stdevs=0.2, target=1
    )
    state, np_state = torch.random.get_rng_state(), np.random.get_state()[1].copy()  # noqa: NPY002 (captum draws from the legacy global RNG)
    a = GradientShap(toy_classifier).attribute(x, target=1, n_samples=6, stdevs=0.2, seed=5)
    assert a.map.shape == (3, 1, 16, 16) and torch.equal(a.map, raw)
    # The global generators are untouched.
    assert torch.equal(torch.random.get_rng_state(), state)
    assert (np.random.get_state()[1] == np_state).all()  # noqa: NPY002 (captum draws from the legacy global RNG)


def test_gradient_shap_is_reproducible(toy_classifier, x):
    a = GradientShap(toy_classifier).attribute(x, n_samples=4)
    b = GradientShap(toy_classifier).attribute(x, n_samples=4)
    assert torch.equal(a.map, b.map)
