from __future__ import annotations

import explain_toys as toys
import pytest
import torch

from latentviz.bounds import Bound
from latentviz.errors import OptionError
from latentviz.explain import Attribution, registry
from latentviz.explain.registry import Explainer, MissingModelError, option


@pytest.fixture
def scaled():
    """A throw-away method registered for one test, then removed."""

    class Scaled(Explainer):
        key = "test_scaled"
        label = "Scaled input"
        options = {"factor": option(2, "factor", "multiplier", Bound(1, 4))}  # noqa: RUF012

        def __init__(self, classifier):
            self.classifier = classifier

        def attribute(self, inputs, target=None, **options):
            o = self.resolve(options)
            return Attribution(inputs * o["factor"], self.key, options=o)

    yield Scaled
    registry._REGISTRY.pop("test_scaled")


def test_subclassing_registers_and_the_pipeline_runs_it(scaled, toy_classifier):
    assert registry.get("test_scaled") is scaled and registry.labels()["test_scaled"] == "Scaled input"
    x = torch.ones(1, 1, 16, 16)
    out = registry.attribute_all(toy_classifier, x, ["test_scaled"], options={"test_scaled": {"factor": 3}})
    assert torch.equal(out["test_scaled"].map, 3 * x)
    with pytest.raises(OptionError, match=r"test_scaled\.factor"):
        registry.attribute_all(toy_classifier, x, ["test_scaled"], options={"test_scaled": {"factor": 9}})
    with pytest.raises(OptionError, match="declared option"):
        scaled.resolve({"colour": "red"})


def test_a_key_is_registered_once(scaled):
    with pytest.raises(ValueError, match="registered twice"):

        class Other(Explainer):
            key = "test_scaled"


def test_needs_decide_what_can_run(toy_generator, toy_autoencoder, toy_style_autoencoder, toy_classifier):
    keys = registry.keys()
    assert registry.available() == tuple(
        k for k in keys if not ({"generator", "autoencoder"} & registry.get(k).needs)
    )
    assert "lig" in registry.available(toy_generator) and "latent_shift" not in registry.available(
        toy_generator
    )
    style = ("style_cf", "style_lig")  # these need a style-based autoencoder
    assert registry.available(toy_generator, toy_autoencoder) == tuple(k for k in keys if k not in style)
    assert set(style) <= set(registry.available(toy_generator, toy_style_autoencoder))
    x = toy_generator.generate(toys.positive_latents(1, seed=3))
    with pytest.raises(MissingModelError, match="conditional generator"):
        registry.attribute_all(toy_classifier, x, ["lig"])
    with pytest.raises(MissingModelError, match="inversion"):
        registry.attribute_all(toy_classifier, x, ["medxgan"], generator=toy_generator)
    with pytest.raises(OptionError, match="method"):
        registry.get("no_such_method")


def test_every_method_declares_a_label_and_checkable_defaults():
    for key, cls in registry.explainers().items():
        assert cls.key == key and cls.label
        assert set(cls.needs) <= set(registry.NEEDS)
        cls.resolve()  # the declared defaults satisfy the declared bounds
