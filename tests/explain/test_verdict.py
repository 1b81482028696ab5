"""What an explanation may claim: failed counterfactuals and foreign images in JSON and figure."""

from __future__ import annotations

import json

import explain_toys as toys
import pytest
import torch

from latentviz.explain import explain_image, explanation_figure, save_explanation
from latentviz.explain.verdict import OODVerdict, check_counterfactual, probability_text

FOREIGN = OODVerdict("out_of_distribution", ("image modality MR, but the model was trained on CT",))


@pytest.fixture
def explanation(toy_generator, toy_classifier):
    x = toy_generator.generate(toys.positive_latents(1, seed=81))
    return explain_image(toy_generator, toy_classifier, x, methods=("gradcam",), n_frames=3, progress=False)


def test_check_counterfactual() -> None:
    bad = check_counterfactual(0.054, 0.952)  # the CT_small case of issue 19
    assert bad.failed and "more positive than" in bad.reason and bad.to_dict()["failed"] is True
    assert check_counterfactual(0.5, 0.5).failed and "not below" in check_counterfactual(0.5, 0.5).reason
    ok = check_counterfactual(0.99, 0.02)
    assert not ok.failed and ok.reason == ""
    assert check_counterfactual(0.6, 0.55, min_drop=0.1).failed


def test_probability_text() -> None:
    assert probability_text(0.12345, None) == "0.123"
    assert probability_text(1.0, FOREIGN) == "n/a (out of distribution)"


def test_a_working_counterfactual_is_not_flagged(explanation) -> None:
    s = explanation.summary()
    assert s["counterfactual"]["failed"] is False and s["probability_applicable"] is True
    assert s["ood"]["status"] == "unchecked"  # the toy classifier has no card statistics
    assert "FAILED" not in explanation_figure(explanation)._suptitle.get_text()


def test_failed_counterfactual_is_flagged_in_json_and_figure(explanation, tmp_path) -> None:
    explanation.probability = torch.tensor([0.054])
    explanation.counterfactual.probability_negative = torch.tensor([0.952])
    s = explanation.summary()
    assert s["counterfactual"]["failed"] is True and "COUNTERFACTUAL FAILED" in s["counterfactual"]["reason"]
    fig = explanation_figure(explanation)
    assert "COUNTERFACTUAL FAILED" in fig._suptitle.get_text()
    titles = [a.get_title() for a in fig.axes[:5]]
    assert titles[2:5] == ["FAILED\ncounterfactual"] * 3  # negative, difference, colorized
    texts = [t.get_text() for a in fig.axes[2:5] for t in a.texts]
    assert texts == ["not an\nexplanation"] * 3
    assert all(im.get_alpha() == 0.25 for a in fig.axes[2:5] for im in a.get_images())
    paths = save_explanation(explanation, tmp_path)
    assert json.loads(paths["summary"].read_text())["counterfactual"]["failed"] is True


def test_foreign_image_probabilities_are_not_applicable(explanation) -> None:
    explanation.ood = [FOREIGN]
    s = explanation.summary()
    assert list(s)[:3] == ["ood", "probability_applicable", "counterfactual"]  # before any p
    assert s["ood"]["status"] == "out_of_distribution" and s["probability_applicable"] is False
    fig = explanation_figure(explanation)
    assert fig._suptitle.get_text().startswith("OUT OF DISTRIBUTION")
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert all("n/a" in t for t in titles) and not any("p=0." in t or "p=1." in t for t in titles)
