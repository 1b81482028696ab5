"""The classifier wrapper's output semantics and Grad-CAM layer pick."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from latentviz.errors import ImageValueError, ShapeError
from latentviz.models import Classifier, find_gradcam_layer


def _net(k: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, k),
    )


def test_sigmoid_single_logit_gives_two_probabilities() -> None:
    net = _net(1)
    clf = Classifier(net, activation="sigmoid", device="cpu")
    x = torch.randn(3, 1, 12, 12)
    p = clf.probabilities(x)
    assert p.shape == (3, 2)
    torch.testing.assert_close(p[:, 1], torch.sigmoid(net(x))[:, 0])
    torch.testing.assert_close(p.sum(1), torch.ones(3))


def test_probability_module_is_not_softmaxed_twice() -> None:
    net = nn.Sequential(_net(2), nn.Softmax(dim=1))
    clf = Classifier(net, output="probabilities", activation="softmax", device="cpu")
    x = torch.randn(3, 1, 12, 12)
    torch.testing.assert_close(clf.probabilities(x), net(x))
    torch.testing.assert_close(torch.softmax(clf.logits(x), 1), net(x), atol=1e-5, rtol=1e-5)


def test_gradcam_layer_is_last_conv_and_resnet_layer4() -> None:
    net = _net()
    assert find_gradcam_layer(net) is net[2]

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer4 = nn.Conv2d(1, 1, 1)

    r = ResNet()
    assert find_gradcam_layer(r) is r.layer4
    with pytest.raises(ValueError, match="no Conv2d"):
        find_gradcam_layer(nn.Linear(2, 2))


def test_input_range_and_channels() -> None:
    seen = {}

    class Spy(nn.Module):
        def forward(self, x):
            seen["x"] = x
            return x.mean(dim=(1, 2, 3))

    clf = Classifier(Spy(), input_range=(0, 1), in_channels=3, device="cpu")
    clf.logits(torch.full((2, 1, 4, 4), -1.0))
    assert seen["x"].shape == (2, 3, 4, 4) and float(seen["x"].max()) == 0.0
    with pytest.raises(ShapeError):
        clf.logits(torch.zeros(4, 4))


# --- input checks at the public entry points (issue 14, item 13) ---


@pytest.fixture(scope="module")
def zoo_classifier():
    from latentviz import zoo

    return zoo.load("ct-classifier", device="cpu")


def test_nan_image_is_refused_not_scored(zoo_classifier) -> None:
    x = torch.zeros(1, 1, 64, 64)
    x[0, 0, 3, 3] = float("nan")
    with pytest.raises(ImageValueError, match="NaN"):
        zoo_classifier.probability(x)


def test_image_of_another_size_is_refused(zoo_classifier) -> None:
    with pytest.raises(ShapeError, match="64x64"):
        zoo_classifier.probability(torch.zeros(1, 1, 32, 32))


def test_image_in_grey_levels_is_refused(zoo_classifier) -> None:
    x = torch.full((1, 1, 64, 64), 128.0)
    with pytest.raises(ImageValueError, match=r"\[-1, 1\]"):
        zoo_classifier.predict(x)
    with pytest.raises(ImageValueError):
        zoo_classifier.logits(x)


def test_empty_batch_and_bad_target_are_typed(zoo_classifier) -> None:
    with pytest.raises(ShapeError, match="empty"):
        zoo_classifier.probability(torch.zeros(0, 1, 64, 64))
    with pytest.raises(ShapeError, match=r"0\.\.1"):
        zoo_classifier.probability(torch.zeros(1, 1, 64, 64), target=5)


def test_captum_head_still_takes_perturbed_inputs(zoo_classifier) -> None:
    # Noise tunnels push pixels past [-1, 1]; the captum head must only map them.
    x = torch.zeros(2, 1, 64, 64)
    x[0, 0, 0, 0] = 20.0
    out = zoo_classifier.as_module("probability")(x)
    assert out.shape == (2, 2) and torch.isfinite(out).all()


def test_multi_class_target_is_checked_against_the_output_width() -> None:
    # Default target_names has two entries; a 5-class softmax model takes targets 0..4.
    clf = Classifier(_net(5), activation="softmax", device="cpu")
    x = torch.zeros(2, 1, 12, 12)
    assert clf.probability(x, target=4).shape == (2,)
    with pytest.raises(ShapeError, match=r"0\.\.4"):
        clf.probability(x, target=5)
