"""The Explain tab shows the out-of-distribution verdict before any probability."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.data import get_testdata_file


def _upload(tab, path: str) -> None:
    tab.file_input.filename = Path(path).name
    tab.file_input.value = Path(path).read_bytes()
    assert tab.wait(60)


@pytest.mark.parametrize("name", ["MR_small.dcm", "RG1_UNCI.dcm"])
def test_foreign_upload_is_flagged_and_its_probabilities_greyed(dashboard, name) -> None:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not installed")
    tab = dashboard.explain
    _upload(tab, path)
    assert tab.ood.visible and tab.ood.alert_type == "danger"
    assert "OUT OF DISTRIBUTION" in tab.ood.object and "trained on CT" in tab.ood.object
    objects = list(tab.panel.objects)
    assert objects.index(tab.ood) < objects.index(tab.panels)  # above every probability
    bars = tab._probability_bars([])
    assert "not applicable" in bars.opts.get().kwargs["title"]


def test_phantom_is_in_distribution(dashboard) -> None:
    tab = dashboard.explain
    tab.use_phantom(seed=1)
    assert tab.ood.visible and tab.ood.alert_type == "success" and "in distribution" in tab.ood.object


def test_failed_counterfactual_is_flagged_on_screen(dashboard) -> None:
    import dataclasses

    from latentviz.core.explanation import ExplanationOptions
    from latentviz.explain.verdict import check_counterfactual

    tab = dashboard.explain
    tab.use_phantom(seed=2)
    s = tab.session
    s.options = ExplanationOptions(inversion_steps=3, restarts=1, ig_steps=2, lig_steps=2, refine_evals=0)
    r = s.run()
    s.result = dataclasses.replace(r, counterfactual_check=check_counterfactual(0.054, 0.952))
    panels = {True: s.panels(show_mask=True), False: s.panels(show_mask=False)}
    tab._show_result(s, s.result, panels)
    assert tab.low_fidelity.visible and "COUNTERFACTUAL FAILED" in tab.low_fidelity.object
    html = " ".join(str(c.objects[0].object) for c in tab.panels.objects)
    assert "Negative (z2 = 0) — FAILED" in html and "Difference pos − neg — FAILED" in html
