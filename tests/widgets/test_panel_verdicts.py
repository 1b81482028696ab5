"""ExplanationPanel takes what read_image returns, and shows the OOD verdict first."""

from __future__ import annotations

import pytest
from pydicom.data import get_testdata_file

from latentviz import zoo
from latentviz.core.explanation import ExplanationOptions
from latentviz.data import read_image
from latentviz.widgets import ExplanationPanel


def test_panel_takes_a_medical_image_and_shows_its_verdict_first() -> None:
    path = get_testdata_file("MR_small.dcm", download=False)
    if path is None:
        pytest.skip("MR_small.dcm is not installed")
    g, clf = zoo.load("ct-medxgan", device="cpu"), zoo.load("ct-classifier", device="cpu")
    p = ExplanationPanel(
        read_image(path), generator=g, classifier=clf, options=ExplanationOptions(), run=False
    )
    assert tuple(p.session.image.shape) == (1, 1, 64, 64)
    assert "OUT OF DISTRIBUTION" in p.verdict.value and "MR" in p.verdict.value
    kids = list(p.children)
    assert kids.index(p.verdict) < kids.index(p.panels)


def test_failed_counterfactual_is_flagged_on_screen(classifier) -> None:
    import dataclasses

    from widget_toys import toy_generator

    from latentviz.explain.verdict import check_counterfactual

    cond = toy_generator(split_sizes=(6, 2))
    x = cond.generate(cond.sample_latents(1, seed=7))
    fast = ExplanationOptions(inversion_steps=3, restarts=1, ig_steps=2, lig_steps=2, refine_evals=0)
    p = ExplanationPanel(x, cond, classifier, options=fast, run=False)
    r = p.session.run()
    p.session.result = dataclasses.replace(r, counterfactual_check=check_counterfactual(0.054, 0.952))
    p._draw()
    assert "COUNTERFACTUAL FAILED" in p.warning.value
    titles = [box.children[0].value for box in p.panels.children]
    assert "<b>Negative (z2 = 0) — FAILED</b>" in titles
