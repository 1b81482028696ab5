from __future__ import annotations

import explain_toys as toys
import pytest
import torch
from captum.attr import Saliency as CaptumSaliency

from latentviz.errors import OptionError
from latentviz.explain import Saliency, registry


@pytest.fixture
def x(toy_generator):
    return toy_generator.generate(toys.positive_latents(3, seed=31)).clone()


def test_saliency_equals_raw_captum(toy_classifier, x):
    for absolute in (True, False):
        raw = CaptumSaliency(toy_classifier.as_module("probability")).attribute(x, target=1, abs=absolute)
        a = Saliency(toy_classifier).attribute(x, target=1, absolute=absolute)
        assert a.map.shape == (3, 1, 16, 16) and torch.equal(a.map, raw)
        assert a.method == "saliency" and a.options["absolute"] is absolute


def test_saliency_is_registered_and_checks_its_options(toy_classifier, x):
    assert registry.get("saliency") is Saliency
    with pytest.raises(OptionError, match="absolute"):
        Saliency(toy_classifier).attribute(x, absolute="yes")
    with pytest.raises(OptionError, match="declared option"):
        Saliency(toy_classifier).attribute(x, n_steps=3)
