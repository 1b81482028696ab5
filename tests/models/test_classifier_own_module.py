"""Wrapping a user's classifier leaves the module as it was (issue 16, item 1), and targets
may be an index, a class name or one per sample, with typed errors out of range (item 5)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from latentviz.errors import ShapeError, TargetError
from latentviz.explain import GradCam, IntegratedGradients
from latentviz.models import Classifier


class _DenseNetish(nn.Module):
    """A MONAI-like network: BatchNorm, dropout, dense concatenation, a pooled head."""

    def __init__(self, k: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.block = nn.Sequential(
            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5)
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.stem(x)
        return self.head(torch.cat([a, self.block(a)], dim=1))


def _state(net: nn.Module) -> dict:
    """Everything wrapping must not change: modes, requires_grad, hooks, grads."""
    return {
        "training": [m.training for m in net.modules()],
        "requires_grad": [p.requires_grad for p in net.parameters()],
        "grads": [p.grad is None for p in net.parameters()],
        "hooks": [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in net.modules()
        ],
        "device": [p.device for p in net.parameters()],
    }


def _exercise(clf: Classifier, x: torch.Tensor) -> None:
    clf.probability(x)
    GradCam(clf).attribute(x)
    IntegratedGradients(clf).attribute(x, n_steps=4)
    # An optimisation through the classifier (as inversion does) must not fill .grad.
    z = x.clone().requires_grad_(True)
    clf.probability(z).sum().backward()


def test_plain_module_keeps_mode_grads_and_hooks() -> None:
    torch.manual_seed(0)
    net = _DenseNetish()
    calls: list[int] = []
    net.stem.register_forward_hook(lambda m, i, o: calls.append(1))
    net.train()  # the user is training it
    before = _state(net)
    clf = Classifier(net, activation="softmax", target_names=("a", "b", "c"))
    _exercise(clf, torch.rand(2, 1, 16, 16) * 2 - 1)
    assert _state(net) == before
    assert calls, "the user's own forward hook still fires"
    # Explanations ran in eval mode: the same input gives the same probability twice.
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    torch.testing.assert_close(clf.probabilities(x), clf.probabilities(x))
    # And the module still trains: a loss on the user's own forward fills its grads.
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_eval_module_stays_in_eval_and_copies_get_their_own_lock() -> None:
    import copy

    net = _DenseNetish().eval()
    clf = Classifier(net, activation="softmax")
    twin = copy.deepcopy(clf)
    assert twin._lock is not clf._lock
    twin.probability(torch.zeros(1, 1, 8, 8))
    assert not net.training and all(p.requires_grad for p in net.parameters())


def test_monai_densenet_is_untouched_and_monai_gradcam_still_works() -> None:
    monai = pytest.importorskip("monai")
    from monai.networks.nets import DenseNet121
    from monai.visualize import GradCAM

    torch.manual_seed(0)
    net = DenseNet121(spatial_dims=2, in_channels=1, out_channels=2)
    before = _state(net)
    clf = Classifier(net, activation="softmax", gradcam_layer="features", target_names=("normal", "nodule"))
    _exercise(clf, torch.rand(1, 1, 32, 32) * 2 - 1)
    assert _state(net) == before
    # MONAI's own Grad-CAM on the same net (it failed with "element 0 of tensors does not
    # require grad" when wrapping froze the parameters).
    cam = GradCAM(nn_module=net.eval(), target_layers="class_layers.relu")
    assert cam(torch.rand(1, 1, 32, 32), class_idx=1).shape == (1, 1, 32, 32)
    assert monai.__version__


def test_targets_by_index_name_and_per_sample() -> None:
    torch.manual_seed(0)
    clf = Classifier(_DenseNetish(4), activation="sigmoid", target_names=("a", "b", "c", "d"), device="cpu")
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    p = clf.probabilities(x)
    torch.testing.assert_close(clf.probability(x, "c"), p[:, 2])
    per = torch.tensor([0, 3, 1])
    torch.testing.assert_close(clf.probability(x, per), p[torch.arange(3), per])
    torch.testing.assert_close(clf.probability(x, ["a", "d", "b"]), p[torch.arange(3), per])
    # captum-backed and Grad-CAM maps take one target per sample: each row is its own class.
    ig = IntegratedGradients(clf).attribute(x, target=per, n_steps=4)
    assert ig.options["target"] == [0, 3, 1]
    for i, t in enumerate(per.tolist()):
        one = IntegratedGradients(clf).attribute(x[i : i + 1], target=t, n_steps=4)
        torch.testing.assert_close(ig.map[i : i + 1], one.map, atol=1e-5, rtol=1e-4)
    cam = GradCam(clf).attribute(x, target="d")
    assert cam.options["target"] == 3
    assert Classifier(_DenseNetish(4), target="c", target_names="abcd", device="cpu").target == 2


def test_out_of_range_and_unknown_targets_are_typed() -> None:
    clf = Classifier(_DenseNetish(3), activation="softmax", target_names=("a", "b", "c"), device="cpu")
    x = torch.zeros(2, 1, 8, 8)
    # Before any forward pass, the attribution methods find the width themselves (it was a
    # raw IndexError from captum).
    with pytest.raises(TargetError, match=r"valid indices 0\.\.2 \(a, b, c\)"):
        IntegratedGradients(clf).attribute(x, target=3, n_steps=2)
    with pytest.raises(TargetError, match=r"0\.\.2"):
        GradCam(clf).attribute(x, target=torch.tensor([0, 7]))
    with pytest.raises(TargetError, match="known names 'a', 'b', 'c'"):
        clf.probability(x, "z")
    with pytest.raises(TargetError, match="3 per-sample targets for a batch of 2"):
        clf.probability(x, [0, 1, 2])
    with pytest.raises(ShapeError):  # still a ShapeError for older callers
        clf.probability(x, -1)
    with pytest.raises(TargetError):
        Classifier(_DenseNetish(3), target="nope", target_names=("a", "b", "c"))
