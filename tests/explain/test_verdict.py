"""What an explanation may claim: failed counterfactuals and foreign images in JSON and figure."""

from __future__ import annotations

import json

import explain_toys as toys
import pytest
import torch

from latentviz.explain import explain_image, explanation_figure, save_explanation
from latentviz.explain.attribution import Attribution
from latentviz.explain.verdict import OODVerdict, check_counterfactual, check_method, probability_text

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
    # every method's map of the foreign image is untrusted in the JSON, with the reason
    for m in s["methods"].values():
        assert m["trust"]["trusted"] is False and m["trust"]["foreign"] is True
        assert any(w.startswith("OUT OF DISTRIBUTION") for w in m["trust"]["warnings"])
    assert s["methods"]


def test_a_map_of_a_foreign_image_is_not_trusted() -> None:
    in_dist = OODVerdict("in_distribution", ())
    assert check_method("ig", _attr(), 0, verdict=in_dist).trusted
    bad = check_method("ig", _attr(), 0, verdict=FOREIGN)
    assert bad.foreign and not bad.trusted and not bad.failed
    assert bad.warnings("Integrated Gradients")[0].startswith("OUT OF DISTRIBUTION (Integrated Gradients)")
    assert check_method("ig", _attr(), 0).foreign is None  # not checked: nothing claimed either way


def _attr(**extras) -> Attribution:
    return Attribution(torch.zeros(2, 1, 4, 4), "m", extras=extras)


def test_a_walk_that_did_not_flip_failed_and_says_so():
    a = _attr(
        flipped=torch.tensor([True, False]),
        low_fidelity=torch.tensor([False, True]),
        reconstruction_psnr=torch.tensor([28.0, 14.5]),
        probability_start=torch.tensor([0.9, 0.8]),
        probability_end=torch.tensor([0.2, 0.7]),
    )
    ok, bad = check_method("style_cf", a, 0), check_method("style_cf", a, 1)
    assert ok.trusted and not ok.failed and ok.warnings() == []
    assert bad.failed and not bad.trusted
    w = bad.warnings("style counterfactual")
    assert len(w) == 2
    assert w[0].startswith("NO COUNTERFACTUAL (style counterfactual)") and "0.800 → 0.700" in w[0]
    assert w[1].startswith("LOW FIDELITY") and "14.5 dB" in w[1]
    d = bad.to_dict()
    assert d["failed"] and not d["trusted"] and d["found"] is False and d["low_fidelity"] is True
    assert d["probability_end"] == torch.tensor(0.7).item()


def test_latent_shift_reports_dropped_and_maps_of_the_image_ignore_the_inversion_flag():
    assert check_method("latent_shift", _attr(dropped=torch.tensor([False, True])), 0).failed
    plain = check_method("ig", _attr(low_fidelity=torch.tensor([True, True])), 0, uses_reconstruction=False)
    assert plain.trusted and plain.low_fidelity is None and plain.found is None
    assert check_method("ig", _attr(), 1).to_dict() == {"trusted": True, "failed": False, "warnings": []}


def test_a_style_walk_without_a_flip_is_flagged_in_the_json_and_on_the_figure(
    toy_generator, toy_classifier, toy_style_autoencoder
):
    x = toy_generator.generate(toys.positive_latents(1, seed=81))
    expl = explain_image(
        toy_generator,
        toy_classifier,
        x,
        methods=("ig", "style_cf"),
        autoencoder=toy_style_autoencoder,
        method_options={"style_cf": {"max_amount": 1e-6, "refine_steps": 0, "path_images": 4}},
        n_frames=3,
        progress=False,
    )
    s = json.loads(json.dumps(expl.summary(), default=float))
    trust = s["methods"]["style_cf"]["trust"]
    assert trust["failed"] and not trust["trusted"] and trust["found"] is False
    assert any(w.startswith("NO COUNTERFACTUAL (style counterfactual)") for w in trust["warnings"])
    assert "reconstruction_psnr" in trust and "probability_end" in trust
    # IG maps the image itself: the inversion's flag is not its own
    assert "low_fidelity" not in expl.attributions["ig"].extras
    assert s["methods"]["ig"]["trust"] == {"trusted": True, "failed": False, "foreign": False, "warnings": []}
    fig = explanation_figure(expl)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t == "style counterfactual\nNO COUNTERFACTUAL" for t in titles)
    crossed = next(ax for ax in fig.axes if ax.get_title().endswith("NO COUNTERFACTUAL"))
    assert crossed.get_images()[0].get_alpha() == 0.25
    assert any("not an\nexplanation" == t.get_text() for t in crossed.texts)
    assert "NO COUNTERFACTUAL: style counterfactual" in fig._suptitle.get_text()
    assert expl.method_warnings() == trust["warnings"]
