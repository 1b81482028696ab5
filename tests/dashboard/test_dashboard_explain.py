"""The Explain tab without a browser: uploads (real DICOM, corrupt, too large, NIfTI volume),
phantom samples, a full explanation and the hand-over to the Interpolation tab."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from latentviz.core.explanation import ExplanationOptions
from latentviz.dashboard.app import DashboardSession
from latentviz.dashboard.dispatch import UiThread
from latentviz.dashboard.explain_tab import ExplainTab
from latentviz.dashboard.resources import DashboardConfig, Resources, clear_cache, load_resources
from latentviz.errors import LatentvizError, OptionError

CT_SMALL = Path(get_testdata_file("CT_small.dcm"))
IDENTIFIERS = ("CompressedSamples", "CT1", "JFK", "20040119")


def _upload(tab: ExplainTab, data: bytes, name: str) -> None:
    tab.file_input.filename = name
    tab.file_input.value = data
    assert tab.wait(60)


def _page_text(tab: ExplainTab) -> str:
    return " ".join(str(getattr(o, "object", "")) for o in (tab.info, tab.message)) + " ".join(
        map(str, tab.window.options)
    )


def test_dicom_upload_is_windowed_with_the_model_window_and_deidentified(dashboard) -> None:
    tab = dashboard.explain
    _upload(tab, CT_SMALL.read_bytes(), "CompressedSamples^CT1.dcm")
    assert "CT image, 128 × 128 px" in tab.info.object and "center -600, width 1500 HU" in tab.info.object
    assert tab.window.visible and tab.window.value == (-600.0, 1500.0)
    preview = np.asarray(Image.open(io.BytesIO(tab.preview.object))).astype(float)
    ds = pydicom.dcmread(CT_SMALL)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    expected = np.clip((hu - (-600 - 750)) / 1500, 0, 1) * 255  # the lung window, by hand
    assert preview.shape == (128, 128) and np.abs(preview - expected).max() <= 1.0
    assert tuple(tab.session.image.shape) == (1, 1, 64, 64) and not tab.run_button.disabled
    for ident in IDENTIFIERS:
        assert ident not in _page_text(tab)
    lung = tab.preview.object
    tab.window.value = "bone"
    assert tab.preview.object != lung and "center 400, width 1800" in tab.info.object


def test_corrupt_and_too_large_uploads_keep_the_previous_image(resources) -> None:
    small = Resources(
        replace(resources.config, max_upload_bytes=200_000),
        resources.generator,
        resources.classifier,
        resources.directions,
    )
    tab = ExplainTab(small, UiThread(None))
    try:
        _upload(tab, CT_SMALL.read_bytes(), "a.dcm")
        kept = tab.session
        _upload(tab, b"this is not a medical image" * 10, "bad.dcm")
        assert "lv-error" in tab.message.object and "not a DICOM file" in tab.message.object
        assert "previous image is kept" in tab.message.object and tab.session is kept
        _upload(tab, b"\0" * 300_000, "big.dcm")
        assert "limit is 195.3 KB" in tab.message.object and tab.session is kept
        _upload(tab, CT_SMALL.read_bytes(), "again.dcm")  # the tab still works
        assert tab.session is not kept and "ready" in tab.message.object
    finally:
        tab.close()


def test_nifti_volume_upload_gets_a_slice_slider(dashboard, tmp_path) -> None:
    tab = dashboard.explain
    vol = np.zeros((40, 30, 5), np.float32)
    for k in range(5):  # a bright square that moves from slice to slice
        vol[5 * k : 5 * k + 8, 4:12, k] = 100.0
    nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / "v.nii.gz")
    _upload(tab, (tmp_path / "v.nii.gz").read_bytes(), "v.nii.gz")
    assert tab.slice.visible and tab.slice.end == 4 and tab.slice.value == 2
    middle = tab.session.image.clone()
    tab.slice.value = 4
    assert not np.array_equal(middle.numpy(), tab.session.image.numpy())


def test_phantom_explanation_fills_every_panel_and_feeds_the_player(dashboard) -> None:
    tab = dashboard.explain
    for k, v in {"restarts": 1, "steps": 3, "refine": 0, "ig_steps": 4, "lig_steps": 4}.items():
        getattr(tab, k).value = v
    tab.use_phantom(seed=2)
    tab.start()
    assert tab.cancel_button.disabled is False
    assert tab.wait(120)
    assert "done in" in tab.message.object
    keys = [c.objects[1].css_classes[0] for c in tab.panels.objects]
    assert keys == [
        f"lv-panel-{k}"
        for k in ("original", "reconstruction", "negative", "difference", "colorized", "gradcam", "ig", "lig")
    ]
    assert all("p=" in c.objects[2].object or "Δp=" in c.objects[2].object for c in tab.panels.objects)
    assert tab.bars.visible and tab.colorbar.visible and tab.show_mask.visible
    bars = tab.bars.object
    assert list(bars.dimension_values(0)) == ["Original", "Reconstruction", "Negative (z2 = 0)"]
    assert tab.low_fidelity.visible == tab.result.low_fidelity  # 3 steps: likely flagged
    with_mask = tab.panels.objects[0].objects[1].object
    tab.show_mask.value = False
    assert tab.panels.objects[0].objects[1].object != with_mask
    player = dashboard.interpolation
    assert player.wait(60) and player.source.value == "explained image"
    assert player.session.inversion is tab.result.inversion


def test_cancel_stops_the_inversion(dashboard) -> None:
    tab = dashboard.explain
    tab.steps.value, tab.refine.value = 5000, 0
    tab.use_phantom(seed=1)
    tab.start()
    tab.cancel_button.clicks += 1
    assert tab.wait(120)
    assert tab.result is None and "cancelled" in tab.message.object
    assert tab.run_button.disabled is False


def test_a_plain_generator_explains_nothing_but_says_why() -> None:
    cfg = DashboardConfig(model="ct-dcgan", k=2)
    try:
        session = DashboardSession(load_resources(cfg))
        text = session.explain.panel.objects[0].object
        assert "not a conditional" in text and "--model ct-medxgan" in text
        session.tabs.active = 2
        assert session.interpolation.wait(60)
        assert "move a slider in the Directions tab first" in session.interpolation.message.object
        session.directions.sliders[0].value = 2.0
        session.interpolation.compute()  # not conditional: from sliders at 0 to the current image
        assert session.interpolation.wait(60) and session.interpolation.session.n_frames == 24
        session.close()
    finally:
        clear_cache(cfg)


OPTION_WIDGETS = {
    "restarts": "restarts",
    "inversion_steps": "steps",
    "refine_evals": "refine",
    "ig_steps": "ig_steps",
    "lig_steps": "lig_steps",
}


def test_option_widget_bounds_are_the_declared_ones(dashboard) -> None:
    tab = dashboard.explain
    for name, attr in OPTION_WIDGETS.items():
        spec = ExplanationOptions.spec(name)
        widget = getattr(tab, attr)
        assert (widget.start, widget.end) == (spec.low, spec.high), name
    assert tuple(tab.baseline.options) == ExplanationOptions.spec("baseline").choices


def test_values_past_the_widget_bounds_are_refused_on_the_server(dashboard) -> None:
    tab = dashboard.explain
    tab.use_phantom(seed=1)
    # A crafted browser message can set any value; the server must still refuse it.
    tab.restarts.value = 10**4
    tab.start()
    assert "restarts=10000" in tab.message.object and "1 … 32" in tab.message.object
    assert tab.result is None and tab.run_button.disabled is False and tab.cancel_button.disabled
    tab.restarts.value, tab.ig_steps.value, tab.lig_steps.value = 1, 10**6, 10**6
    tab.start()
    assert "ig_steps=1000000" in tab.message.object and tab.result is None
    with pytest.raises(OptionError, match="ig_steps"):
        tab.session.run()  # the session checks too, whatever view drives it


def test_progress_grows_past_its_first_maximum_and_shrinks_again(resources) -> None:
    # Regression: value was set before max grew (Panel's "must be at most 100, not 200"),
    # which raised on every explanation with more than 100 inversion steps.
    tab = ExplainTab(resources, UiThread(None))
    try:
        tab._show_progress(0, 100)
        tab._show_progress(200, 300)
        assert (tab.progress.value, tab.progress.max) == (200, 300)
        assert tab.progress_text.object == "inversion step 200 / 300"
        tab._show_progress(40, 50)  # a shorter run afterwards
        assert (tab.progress.value, tab.progress.max) == (40, 50)
        tab._show_progress(999, 50)  # a step past the total is clamped
        assert tab.progress.value == 50
    finally:
        tab.close()


def test_the_session_compute_budget_is_enforced_with_a_message(resources) -> None:
    """Issue 14, item 4: a per-session budget (time and memory) with a clear message."""
    res = Resources(
        replace(resources.config, explanation_s=0.3),
        resources.generator,
        resources.classifier,
        resources.directions,
    )
    tab = ExplainTab(res, UiThread(None))
    try:
        tab.use_phantom(seed=1)
        tab.restarts.value, tab.steps.value = 8, 4000  # far longer than 0.3 s
        tab.start()
        assert tab.wait(120)
        assert "one explanation may run 0 s on this server" in tab.message.object
        assert tab.result is None and tab.run_button.disabled is False
        assert tab.budget.used_s > 0.25
        tab.budget.used_s = tab.budget.session_s  # the session's time is spent
        tab.start()
        assert "this session has used its 900 s of compute" in tab.message.object
        assert tab.session is not None and not tab.session.running
    finally:
        tab.close()


def test_a_new_image_clears_the_last_results_and_names_itself_without_identifiers(dashboard) -> None:
    tab = dashboard.explain
    for k, v in {"restarts": 1, "steps": 3, "refine": 0, "ig_steps": 4, "lig_steps": 4}.items():
        getattr(tab, k).value = v
    tab.colorized_colormap.value = "jet"
    tab.use_phantom(seed=3)
    assert "in use: phantom sample, seed 3" in tab.current.object
    tab.start()
    assert tab.wait(120) and tab.panels.objects and tab.show_mask.visible
    assert tab.session.options.colorized_colormap == "jet"
    assert tab.colorized_bar.visible and tab.colorbar.visible
    assert tab.bars.object.vdims[0].name == "p(positive)"  # the target is named
    _upload(tab, CT_SMALL.read_bytes(), "CompressedSamples^CT1.dcm")
    # the old panels described the phantom: gone, and no lesion contour box for an upload
    assert tab.panels.objects == [] and tab.result is None
    assert not tab.show_mask.visible and not tab.colorbar.visible and not tab.colorized_bar.visible
    assert "in use: uploaded CT image (file name withheld)" in tab.current.object
    for ident in (*IDENTIFIERS, ".dcm"):
        assert ident not in tab.current.object


def test_colour_bar_labels_are_html_text_under_the_ramps(dashboard) -> None:
    from latentviz.core.explanation import ExplanationSession

    tab = dashboard.explain
    label = tab.colorbar[1].object
    assert "lv-colorbar-label" in label and "value / max|value| of each map" in label
    assert "colorized" in tab.colorized_bar[1].object
    assert ExplanationSession.colorbar(label=False) != ExplanationSession.colorbar()
    player = dashboard.interpolation
    step, cumulative = player.step_bar[1].object, player.cumulative_bar[1].object
    assert "frame − previous frame" in step and "accumulated |difference|" in cumulative
    assert "difference to start" in dashboard.directions.colorbar[1].object


def test_an_autoencoder_adds_the_style_walks_and_a_failed_walk_is_said_on_screen() -> None:
    cfg = DashboardConfig(model="cxr-medxgan", autoencoder="cxr-gaan", k=2)
    try:
        session = DashboardSession(load_resources(cfg))
        tab = session.explain
        assert {"style_cf", "style_lig", "latent_shift"} <= set(tab.methods.options.values())
        for k, v in {"restarts": 1, "steps": 3, "refine": 0}.items():
            getattr(tab, k).value = v
        tab.methods.value = ["style_cf"]
        walk = {"max_amount": 1e-6, "refine_steps": 0, "path_images": 4, "n_attributes": 1}
        for name, v in walk.items():
            tab.method_options[("style_cf", name)].value = v
        tab.use_phantom(seed=2)
        tab.start()
        assert tab.wait(120) and "done in" in tab.message.object
        keys = [c.objects[1].css_classes[0] for c in tab.panels.objects]
        assert "lv-panel-style_cf" in keys
        assert (
            tab.low_fidelity.visible and "NO COUNTERFACTUAL (style counterfactual)" in tab.low_fidelity.object
        )
        session.close()
    finally:
        clear_cache(cfg)


def test_an_autoencoder_without_an_encoder_is_refused() -> None:
    with pytest.raises(LatentvizError, match="has no encoder"):
        load_resources(DashboardConfig(model="cxr-medxgan", autoencoder="cxr-dcgan", k=2))
