from __future__ import annotations

import explain_toys as toys
import torch
from captum.attr import LRP as CaptumLRP

from latentviz import zoo
from latentviz.data.phantoms import generate
from latentviz.explain import LRP
from latentviz.explain.baselines import score_module


def test_lrp_equals_raw_captum_on_the_zoo_cnn():
    c = zoo.load("cxr-classifier", device="cpu")
    x = torch.from_numpy(generate("cxr", 2, size=64, seed=3).images)
    raw, delta = CaptumLRP(score_module(c, "logit")).attribute(x, target=1, return_convergence_delta=True)
    a = LRP(c).attribute(x, target=1)
    assert a.map.shape == (2, 1, 64, 64) and torch.equal(a.map, raw) and torch.equal(a.delta, delta)


def test_lrp_hooks_an_aliased_layer_once(toy_generator, toy_classifier):
    # The toy registers its Grad-CAM layer twice (features.2 and gradcam_layer) and ends
    # in a Flatten: raw captum refuses both; the wrapper hooks each layer once.
    x = toy_generator.generate(toys.positive_latents(2, seed=37)).clone()
    a = LRP(toy_classifier).attribute(x, target=1)
    assert a.map.shape == (2, 1, 16, 16) and torch.isfinite(a.map).all() and a.map.abs().sum() > 0
