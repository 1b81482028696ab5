from __future__ import annotations

import numpy as np
import pytest
from widget_toys import toy_generator

from latentviz.core import ExplanationOptions
from latentviz.widgets import ExplanationPanel, InterpolationPlayer

FAST = ExplanationOptions(inversion_steps=5, restarts=1, ig_steps=4, lig_steps=4)


@pytest.fixture
def cond():
    return toy_generator(split_sizes=(6, 2))


def test_panel_runs_in_the_background_and_shows_every_panel(cond, classifier) -> None:
    x = cond.generate(cond.sample_latents(1, seed=1))
    mask = np.zeros((32, 32), bool)
    mask[4:12, 4:12] = True
    p = ExplanationPanel(x, cond, classifier, mask=mask, options=FAST)
    assert p.wait(60)
    assert "done" in p.status.value and p.progress.value == p.progress.max
    assert len(p.panels.children) == 8 and not p.run_button.disabled and p.cancel_button.disabled
    first = bytes(p.panels.children[0].children[1].value)
    p.show_mask.value = False
    assert bytes(p.panels.children[0].children[1].value) != first
    assert "p=" in p.panels.children[0].children[2].value
    assert p.colorized_bar.layout.display is None and bytes(p.colorized_bar.value).startswith(b"\x89PNG")
    assert p.colorized_colormap.value == "magma" and p.options().colorized_colormap == "magma"
    p.colorized_colormap.value = "jet"
    assert p.options().colorized_colormap == "jet"


def test_panel_cancel(cond, classifier) -> None:
    x = cond.generate(cond.sample_latents(1, seed=1))
    opts = ExplanationOptions(inversion_steps=5000, restarts=1)
    p = ExplanationPanel(x, cond, classifier, options=opts, run=False)
    p.start()
    assert p.cancel_button.disabled is False
    p.cancel_button.click()
    assert p.wait(30)
    assert "cancelled" in p.status.value and not p.run_button.disabled


def test_panel_options_are_checked(cond, classifier) -> None:
    p = ExplanationPanel(np.zeros((32, 32), np.float32), cond, classifier, options=FAST, run=False)
    p.steps.value = 1
    p.ig_steps.value = 2
    p.start()
    assert p.wait(60)
    assert p.session.options.inversion_steps == 1


def test_player_scrubs_and_moves_the_marker(cond, classifier) -> None:
    z = cond.sample_latents(1, seed=3)
    pl = InterpolationPlayer(cond, None, z, classifier, n_frames=8)
    first = (bytes(pl.image.value), bytes(pl.cumulative.value))
    assert pl.figure.data[1].x == (0.0,)
    pl.scrub.value = 7
    assert (bytes(pl.image.value), bytes(pl.cumulative.value)) != first
    assert pl.figure.data[1].x == (1.0,) and pl.figure.data[1].y[0] == pytest.approx(
        pl.session.probabilities[7]
    )
    assert pl.play.max == 7


def test_panel_progress_follows_the_lbfgs_polish(cond, classifier) -> None:
    x = cond.generate(cond.sample_latents(1, seed=1))
    p = ExplanationPanel(x, cond, classifier, options=ExplanationOptions(inversion_steps=3), run=False)
    p._step(3, 3)  # the core reports Adam steps, then L-BFGS evaluations on a longer total
    assert (p.progress.value, p.progress.max, p.progress.description) == (3, 3, "inversion")
    p._step(10, 303)
    assert (p.progress.value, p.progress.max, p.progress.description) == (10, 303, "refining")


def test_zoo_one_liners() -> None:
    from latentviz.widgets import DirectionExplorer

    e = DirectionExplorer.from_zoo("ct-dcgan", k=2, classifier="ct-classifier")
    try:
        assert "p(positive)" in e.probability.value and "mediastinum" in e.window.options
        full = bytes(e.image.value)
        e.window.value = "mediastinum"  # a CT preset in HU: the phantom's lung window is known
        assert e.wait() and bytes(e.image.value) != full
    finally:
        e.close()
    quick = {"steps": 3, "restarts": 1, "refine_evals": 0}
    pl = InterpolationPlayer.from_zoo("cxr-medxgan", n_frames=4, inversion=quick)
    assert pl.session.inversion is not None and "PSNR" in pl.status.value
    assert len(pl.figure.data[0].y) == 4 and pl.session.classifier.name == "cxr-classifier"
    opts = ExplanationOptions(inversion_steps=3, restarts=1, refine_evals=0, ig_steps=4, lig_steps=4)
    panel = ExplanationPanel.from_zoo("cxr-medxgan", options=opts)
    assert panel.wait(120) and len(panel.panels.children) == 8
    assert panel.show_mask.value and not panel.show_mask.disabled  # a phantom sample has its mask


def test_panel_widget_bounds_are_the_declared_ones(cond, classifier) -> None:
    p = ExplanationPanel(np.zeros((32, 32), np.float32), cond, classifier, options=FAST, run=False)
    boxes = {
        "ig_steps": p.ig_steps,
        "lig_steps": p.lig_steps,
        "inversion_steps": p.steps,
        "restarts": p.restarts,
    }
    for name, box in boxes.items():
        spec = ExplanationOptions.spec(name)
        assert (box.min, box.max) == (spec.low, spec.high), name
    assert tuple(p.baseline.options) == ExplanationOptions.spec("baseline").choices
