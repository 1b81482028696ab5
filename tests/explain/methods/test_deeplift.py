from __future__ import annotations

import explain_toys as toys
import pytest
import torch
from captum.attr import DeepLift as CaptumDeepLift

from latentviz import zoo
from latentviz.data.phantoms import generate
from latentviz.explain import DeepLift, gaussian_blur
from latentviz.explain.baselines import score_module


@pytest.fixture
def x(toy_generator):
    return toy_generator.generate(toys.positive_latents(3, seed=34)).clone()


def test_deeplift_equals_raw_captum(toy_classifier, x):
    net = toy_classifier.module  # 2 logits on [-1, 1] images: the logits captum sees
    for baseline, ref in (("black", -torch.ones_like(x)), ("blur", gaussian_blur(x, 5.0))):
        raw, delta = CaptumDeepLift(net).attribute(x, baselines=ref, target=1, return_convergence_delta=True)
        a = DeepLift(toy_classifier).attribute(x, target=1, baseline=baseline)
        assert torch.equal(a.map, raw) and torch.equal(a.delta, delta)
    # Rescale rule on conv + ReLU + linear: complete up to float error.
    assert a.delta.abs().max() < 1e-4


def test_deeplift_runs_on_the_zoo_cnn():
    c = zoo.load("cxr-classifier", device="cpu")
    x = torch.from_numpy(generate("cxr", 2, size=64, seed=3).images)
    raw, delta = CaptumDeepLift(score_module(c, "logit")).attribute(
        x, baselines=-torch.ones_like(x), target=1, return_convergence_delta=True
    )
    a = DeepLift(c).attribute(x, target=1)
    assert a.map.shape == (2, 1, 64, 64) and torch.equal(a.map, raw) and torch.equal(a.delta, delta)
