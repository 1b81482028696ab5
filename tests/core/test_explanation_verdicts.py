"""The session's out-of-distribution verdict, its MedicalImage input and failed counterfactuals."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from core_toys import toy_generator
from pydicom.data import get_testdata_file

from latentviz import zoo
from latentviz.core import upload
from latentviz.core.explanation import ExplanationOptions, ExplanationSession
from latentviz.data import read_image
from latentviz.errors import LatentvizError, ShapeError
from latentviz.explain.registry import MissingModelError
from latentviz.explain.verdict import OODVerdict, check_counterfactual

FAST = ExplanationOptions(inversion_steps=3, restarts=1, ig_steps=2, lig_steps=2, refine_evals=0)
FOREIGN = OODVerdict("out_of_distribution", ("a test reason",))


@pytest.fixture(scope="module")
def ct_models():
    return zoo.load("ct-medxgan", device="cpu"), zoo.load("ct-classifier", device="cpu")


def _dicom(name: str) -> str:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not installed (pydicom-data)")
    return path


@pytest.mark.parametrize("name", ["MR_small.dcm", "RG1_UNCI.dcm"])
def test_foreign_dicoms_are_out_of_distribution_before_anything_runs(ct_models, name) -> None:
    g, c = ct_models
    s = ExplanationSession(read_image(_dicom(name)), g, c, options=FAST)  # a MedicalImage (item 7)
    assert s.result is None and s.ood.foreign and s.source_image.modality in ("MR", "CR")
    assert "but the model was trained on CT" in s.ood.message


def test_a_ct_phantom_is_in_distribution(ct_models) -> None:
    g, c = ct_models
    s = ExplanationSession.from_phantom(g, c, seed=3, options=FAST)
    assert s.ood.in_distribution and s.ood.distance < s.ood.threshold


def test_a_path_a_medical_image_and_the_dashboard_share_the_default_window(ct_models) -> None:
    g, c = ct_models
    path = _dicom("CT_small.dcm")
    image = read_image(path)
    assert upload.model_window_for(image, g) == (-600.0, 1500.0)  # the dashboard's first option
    expected = image.to_model_input(64, (-600.0, 1500.0))
    for source in (path, image):
        assert torch.equal(ExplanationSession(source, g, c, options=FAST).image, expected)


def test_failed_counterfactual_panels_are_greyed_and_flagged(classifier) -> None:
    cond = toy_generator(split_sizes=(6, 2))
    s = ExplanationSession(cond.generate(cond.sample_latents(1, seed=7)), cond, classifier, options=FAST)
    r = s.run()
    assert r.counterfactual_check is not None and r.ood is s.ood
    s.result = dataclasses.replace(r, counterfactual_check=check_counterfactual(0.054, 0.952))
    panels = {p.key: p for p in s.panels()}
    for key in ("negative", "difference", "colorized"):
        assert panels[key].title.endswith("FAILED") and "COUNTERFACTUAL FAILED" in panels[key].warning
        assert panels[key].caption.startswith("not an explanation")
    assert "FAILED" not in panels["original"].title
    s.result = dataclasses.replace(r, ood=FOREIGN)
    panels = s.panels()
    assert all("n/a (out of distribution)" in p.caption for p in panels)
    # no method's map of a foreign image is trusted, and each says why, on screen too
    checks = s.method_checks()
    assert checks and all(c.foreign and not c.trusted for c in checks.values())
    for p in panels:
        if p.key in checks:
            assert "OUT OF DISTRIBUTION" in p.warning
    s.result = r  # in distribution again: the same maps are trusted
    assert all(not c.foreign for c in s.method_checks().values())


@pytest.fixture(scope="module")
def cxr_style_models():
    return (
        zoo.load("cxr-medxgan", device="cpu"),
        zoo.load("cxr-classifier", device="cpu"),
        zoo.load("cxr-gaan", device="cpu"),
    )


def test_style_walks_are_offered_with_an_autoencoder_and_a_failed_walk_is_greyed(cxr_style_models) -> None:
    g, c, ae = cxr_style_models
    bare = ExplanationSession.from_phantom(g, c, seed=2, options=FAST)
    assert "style_cf" not in bare.available_methods
    bare.options.methods = ("style_cf",)
    with pytest.raises(MissingModelError, match="style-based generator with an encoder"):
        bare.run()
    walk = {"max_amount": 1e-6, "refine_steps": 0, "path_images": 4, "n_attributes": 1}
    opts = dataclasses.replace(FAST, methods=("lig", "style_cf"), method_options={"style_cf": walk})
    s = ExplanationSession.from_phantom(g, c, seed=2, options=opts, autoencoder=ae)
    assert {"style_cf", "style_lig", "latent_shift"} <= set(s.available_methods)
    s.run()
    panels = {p.key: p for p in s.panels()}
    cf = panels["style_cf"]
    assert cf.title == "style counterfactual — NO COUNTERFACTUAL"
    assert cf.warning.startswith("NO COUNTERFACTUAL (style counterfactual)")
    assert cf.caption.startswith("not an explanation: p ") and cf.caption.endswith("along the walk")
    # the encoder's code alone (no refinement) does not reproduce the phantom: said too
    assert "LOW FIDELITY (style counterfactual)" in cf.warning
    assert not panels["lig"].warning.startswith("NO COUNTERFACTUAL")
    # the same verdicts, by method, for code that reads them
    checks = s.method_checks()
    assert set(checks) == {"lig", "style_cf"}
    assert checks["style_cf"].failed and not checks["style_cf"].trusted
    assert checks["style_cf"].warnings("style counterfactual")[0] == cf.warning.split(" · ")[0]
    assert not checks["lig"].failed
    with pytest.raises(LatentvizError, match="call run"):
        bare.method_checks()


def test_an_autoencoder_of_another_size_is_refused(cxr_style_models) -> None:
    g, c, _ = cxr_style_models
    with pytest.raises(ShapeError, match="autoencoder"):
        ExplanationSession.from_phantom(g, c, options=FAST, autoencoder=toy_generator())
