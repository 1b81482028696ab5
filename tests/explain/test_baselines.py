from __future__ import annotations

import explain_toys as toys
import pytest
import torch
from captum.attr import IntegratedGradients as CaptumIG
from captum.attr import LayerAttribution, LayerGradCam, NoiseTunnel, Saliency

from latentviz.errors import ShapeError
from latentviz.explain import GradCam, IntegratedGradients, SmoothGrad, gaussian_blur


@pytest.fixture
def x(toy_generator):
    return toy_generator.generate(toys.positive_latents(3, seed=21)).clone()


def test_gradcam_equals_raw_captum(toy_classifier, x):
    net = toy_classifier.module  # 2 logits, [-1, 1] input: captum sees exactly the user's network
    raw = LayerGradCam(net, net.gradcam_layer).attribute(x, target=1, relu_attributions=True)
    raw = LayerAttribution.interpolate(raw, (16, 16), interpolate_mode="bilinear")
    a = GradCam(toy_classifier).attribute(x, target=1)
    assert a.map.shape == (3, 1, 16, 16)
    assert torch.equal(a.map, raw)


def test_gradcam_weights_channels_by_multiplication(toy_classifier, x):
    # The head ignores the dark-blob channel, so Grad-CAM must equal ReLU(w0 * A0) with the
    # bright channel alone (the public code's `+=` would add the unused channel).
    net = toy_classifier.module
    acts = net.features[:3](x)  # the Grad-CAM layer's output A (before the last ReLU)
    w0 = 300.0 / (16 * 16)  # d logit / d A0 where A0 > 0 (ReLU, avg pool, linear)
    alpha0 = w0 * (acts[:, 0] > 0).float().mean((1, 2))  # Grad-CAM channel weight: mean gradient
    ref = torch.relu(alpha0.view(-1, 1, 1, 1) * acts[:, :1])
    assert ref.amax() > 0
    a = GradCam(toy_classifier).attribute(x, interpolate_mode="nearest")
    assert torch.allclose(a.map, ref, atol=1e-5)


def test_integrated_gradients_equals_raw_captum(toy_classifier, x):
    for baseline, ref_base in (("black", -torch.ones_like(x)), ("blur", gaussian_blur(x, 5.0))):
        raw, delta = CaptumIG(toy_classifier.as_module("probability")).attribute(
            x, baselines=ref_base, target=1, n_steps=20, internal_batch_size=7, return_convergence_delta=True
        )
        a = IntegratedGradients(toy_classifier).attribute(
            x, baseline=baseline, n_steps=20, internal_batch_size=7
        )
        assert torch.equal(a.map, raw)
        assert torch.equal(a.delta, delta)


def test_integrated_gradients_is_complete(toy_classifier, x):
    a = IntegratedGradients(toy_classifier).attribute(x, baseline="black", n_steps=64)
    p = toy_classifier.predict(x)
    p0 = toy_classifier.predict(-torch.ones_like(x))
    assert torch.allclose(a.map.flatten(1).sum(1) - (p - p0), a.delta, atol=1e-5)
    assert a.delta.abs().max() < 0.02


def test_smoothgrad_equals_raw_captum(toy_classifier, x):
    torch.manual_seed(3)
    raw = NoiseTunnel(Saliency(toy_classifier.as_module("probability"))).attribute(
        x, nt_type="smoothgrad", nt_samples=6, stdevs=0.3, target=1, abs=True
    )
    state = torch.random.get_rng_state()
    a = SmoothGrad(toy_classifier).attribute(x, nt_samples=6, stdevs=0.3, seed=3)
    assert torch.equal(a.map, raw)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is untouched


def test_single_logit_classifier_target_one():
    from torch import nn

    from latentviz.models import Classifier

    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 1)
    )
    clf = Classifier(net, activation="sigmoid", device="cpu")
    x = torch.randn(2, 1, 8, 8)
    g = GradCam(clf).attribute(x, target=1)
    g0 = GradCam(clf, output="logit").attribute(x, target=0)
    raw = LayerGradCam(net, net[0]).attribute(x, target=0, relu_attributions=True)
    assert torch.allclose(g.map, LayerAttribution.interpolate(raw, (8, 8), interpolate_mode="bilinear"))
    assert g0.map.shape == (2, 1, 8, 8)


def test_three_channels_and_bad_shapes(toy_generator_rgb, toy_classifier_rgb, toy_classifier):
    x = toy_generator_rgb.generate(toys.positive_latents(2, seed=22))
    assert IntegratedGradients(toy_classifier_rgb).attribute(x, n_steps=8).map.shape == (2, 3, 16, 16)
    assert GradCam(toy_classifier_rgb).attribute(x).map.shape == (2, 1, 16, 16)
    with pytest.raises(ShapeError, match="2D image batch"):
        GradCam(toy_classifier).attribute(torch.zeros(1, 16, 16))
    with pytest.raises(ShapeError, match="1 or 3 channels"):
        IntegratedGradients(toy_classifier).attribute(torch.zeros(1, 2, 16, 16))
    with pytest.raises(ValueError, match="baseline"):
        IntegratedGradients(toy_classifier).attribute(torch.zeros(1, 1, 16, 16), baseline="grey")
