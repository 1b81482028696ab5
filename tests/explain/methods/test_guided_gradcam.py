from __future__ import annotations

import explain_toys as toys
import pytest
import torch
from captum.attr import GuidedGradCam as CaptumGuidedGradCam

from latentviz.explain import GuidedGradCam, registry


@pytest.fixture
def x(toy_generator):
    return toy_generator.generate(toys.positive_latents(3, seed=36)).clone()


def test_guided_gradcam_equals_raw_captum(toy_classifier, x):
    net = toy_classifier.module
    for mode in ("nearest", "bilinear"):
        raw = CaptumGuidedGradCam(net, net.gradcam_layer).attribute(x, target=1, interpolate_mode=mode)
        a = GuidedGradCam(toy_classifier).attribute(x, target=1, interpolate_mode=mode)
        assert a.map.shape == (3, 1, 16, 16) and torch.equal(a.map, raw)


def test_guided_gradcam_needs_a_layer():
    assert "layer" in registry.get("guided_gradcam").needs
