from __future__ import annotations

import explain_toys as toys
import pytest
import torch
from captum.attr import Occlusion as CaptumOcclusion

from latentviz.errors import OptionError
from latentviz.explain import Occlusion, gaussian_blur


@pytest.fixture
def x(toy_generator):
    return toy_generator.generate(toys.positive_latents(2, seed=32)).clone()


def test_occlusion_equals_raw_captum(toy_classifier, x):
    for baseline, ref in (("black", -torch.ones_like(x)), ("blur", gaussian_blur(x, 5.0))):
        raw = CaptumOcclusion(toy_classifier.as_module("probability")).attribute(
            x, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2), baselines=ref, target=1,
            perturbations_per_eval=7,
        )  # fmt: skip
        a = Occlusion(toy_classifier).attribute(
            x, target=1, window=4, stride=2, baseline=baseline, perturbations_per_eval=7
        )
        assert a.map.shape == (2, 1, 16, 16) and torch.equal(a.map, raw)


def test_occlusion_finds_the_lesion(toy_classifier, x):
    a = Occlusion(toy_classifier).attribute(x, window=4, stride=2)
    inside = a.map[:, 0][:, toys.lesion_mask()].mean()
    outside = a.map[:, 0][:, ~toys.lesion_mask()].mean()
    assert inside > outside


def test_occlusion_window_is_bounded(toy_classifier, x):
    with pytest.raises(OptionError, match="window"):
        Occlusion(toy_classifier).attribute(x, window=0)
