"""The classifier wrapper's output semantics and Grad-CAM layer pick."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from latentviz.errors import ShapeError
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
