from __future__ import annotations

import explain_toys as toys
import pytest
import torch
from captum.attr import GuidedBackprop as CaptumGuidedBackprop

from latentviz.explain import GuidedBackprop


@pytest.fixture
def x(toy_generator):
    return toy_generator.generate(toys.positive_latents(3, seed=35)).clone()


def test_guided_backprop_equals_raw_captum(toy_classifier, x):
    raw = CaptumGuidedBackprop(toy_classifier.module).attribute(x, target=1)
    a = GuidedBackprop(toy_classifier).attribute(x, target=1)
    assert a.map.shape == (3, 1, 16, 16) and torch.equal(a.map, raw)
    assert a.options["output"] == "logit"


def test_guided_backprop_removes_its_hooks(toy_classifier, x):
    GuidedBackprop(toy_classifier).attribute(x)
    relus = [m for m in toy_classifier.module.modules() if isinstance(m, torch.nn.ReLU)]
    assert relus and all(not m._backward_hooks and not m._forward_hooks for m in relus)
