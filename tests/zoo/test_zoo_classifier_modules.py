"""The zoo CNN classifiers after giving each pooling its own module: the published weights
load unchanged and give the logits of the old, shared-pooling forward pass."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
import torch
from safetensors.torch import load_file

from latentviz import zoo
from latentviz.data.phantoms import generate
from latentviz.zoo import WEIGHTS_DIR

CLASSIFIERS = [n for n in zoo.names() if n.endswith("-classifier")]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_zoo_classifier_loads_with_identical_keys_and_logits(name: str) -> None:
    c = zoo.load(name, device="cpu")
    module = c.module.eval()
    stored = load_file(str(WEIGHTS_DIR / f"{name}.safetensors"))
    assert set(module.state_dict()) == set(stored)  # pooling has no parameters: same keys
    old = copy.deepcopy(module)
    old.pool2 = old.pool3 = old.pool1  # the published architecture: one MaxPool2d, used 3 times
    size = int(c.config.get("image_size", 64))
    x = torch.from_numpy(generate(name.split("-")[0], 3, size=size, seed=11).images)
    with torch.no_grad():
        assert torch.equal(module(x), old(x))


@pytest.mark.parametrize("name", CLASSIFIERS[:1])
def test_every_zoo_classifier_module_runs_once(name: str) -> None:
    module = zoo.load(name, device="cpu").module.eval()
    calls: Counter = Counter()
    leaves = [m for m in module.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(lambda m, i, o: calls.update([id(m)])) for m in leaves]
    with torch.no_grad():
        module(torch.zeros(1, 1, 64, 64))
    for h in handles:
        h.remove()
    assert calls and max(calls.values()) == 1  # DeepLift and LRP need this
