"""The dashboard's per-session state without a browser: sliders, isolation, exports, paths."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from latentviz.dashboard.app import DashboardSession
from latentviz.dashboard.dispatch import UiThread


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_slider_changes_the_image_and_the_probability_readout(dashboard) -> None:
    tab = dashboard.directions
    before = tab.image.object
    assert "classifier p(positive) =" in tab.probability.object
    tab.sliders[0].value = 3.0
    assert tab.wait(30)
    assert tab.session.state.values[0] == 3.0
    assert tab.image.object != before
    assert not np.array_equal(_png(tab.image.object), _png(before))
    assert "σ" in tab.sliders[0].name and "(" in tab.sliders[0].name  # name (score), σ units


def test_reset_renders_the_start_image_again(dashboard) -> None:
    tab = dashboard.directions
    start = tab.image.object
    tab.sliders[1].value = -2.5
    tab.sliders[2].value = 2.0
    assert tab.wait(30) and tab.image.object != start
    computed = tab._worker.stats.computed
    tab.reset()
    assert tab.wait(30)
    assert tab.image.object == start and all(s.value == 0.0 for s in tab.sliders)
    assert tab._worker.stats.computed == computed + 1  # one frame, not one per slider


def test_two_sessions_are_isolated(resources) -> None:
    a, b = DashboardSession(resources), DashboardSession(resources)
    try:
        assert a.directions.image.object == b.directions.image.object  # same seed, same start
        b_before = b.directions.image.object
        a.directions.sliders[0].value = 4.0
        a.directions.random_button.clicks += 1
        assert a.directions.wait(30) and b.directions.wait(30)
        assert a.directions.image.object != b_before
        assert b.directions.image.object == b_before
        assert b.directions.session.state.values == (0.0,) * 6 and b.directions.session.state.seed == 0
        assert a.directions.session.generator is b.directions.session.generator  # loaded once
        assert a.directions.session.directions.set is not b.directions.session.directions.set
    finally:
        a.close()
        b.close()


def test_window_grid_difference_and_exports(dashboard) -> None:
    tab = dashboard.directions
    assert "lung" in tab.window.options and "full" in tab.window.options  # CT: HU presets
    full = tab.image.object
    tab.window.value = "mediastinum"
    assert tab.wait(30) and tab.image.object != full
    tab.grid.value = 2
    assert tab.wait(30) and _png(tab.image.object).shape[1] > 2 * 64
    tab.grid.value = 0
    tab.sliders[0].value = 2.0
    tab.show_difference.value = True
    assert tab.wait(30)
    assert tab.difference.visible and tab.difference.object is not None
    assert _png(tab.difference.object).shape[-1] == 3  # diverging colours
    gif = tab.gif.callback().getvalue()
    strip = tab.strip.callback().getvalue()
    assert gif.startswith(b"GIF8") and strip.startswith(b"\x89PNG")


def test_a_bad_setting_shows_a_message_and_keeps_the_state(dashboard) -> None:
    tab = dashboard.directions
    state = tab.session.state
    tab._apply(tab.session.set_window, "no-such-window")
    assert "lv-error" in tab.status.object and "no-such-window" in tab.status.object
    assert tab.session.state == state


def test_interpolation_path_player_and_pixel_profile(dashboard) -> None:
    tab = dashboard.interpolation
    s = tab.session
    assert s is not None and tab.player.end == s.n_frames - 1
    tab.player.value = s.n_frames - 1
    assert tab.frame.object == s.frame(s.n_frames - 1).png
    assert f"frame {s.n_frames}/{s.n_frames}" in tab.caption.object
    profile = tab.profile.object[()]  # the DynamicMap at the current tap (frame centre)
    curve = profile.get(0)
    np.testing.assert_allclose(curve.dimension_values(1), s.pixel_profile(32, 32), rtol=1e-6)
    tab.frames.value = 12
    tab.compute()
    assert tab.wait(30) and tab.session.n_frames == 12 and tab.player.end == 11


class _FakeDoc:
    session_context = object()

    def __init__(self) -> None:
        self.scheduled: list = []

    def add_next_tick_callback(self, fn) -> None:
        self.scheduled.append(fn)


def test_ui_thread_schedules_on_the_document_and_stops_when_closed() -> None:
    doc, seen = _FakeDoc(), []
    ui = UiThread(doc)
    ui.call(seen.append, 1)
    assert seen == [] and len(doc.scheduled) == 1
    doc.scheduled[0]()
    assert seen == [1]
    ui.close()
    ui.call(seen.append, 2)
    assert len(doc.scheduled) == 1
    direct = UiThread(None)
    direct.call(seen.append, 3)
    assert seen == [1, 3] and not direct.served


def test_patches_panel_left_queued_without_a_write_task_are_sent(monkeypatch) -> None:
    import asyncio

    from panel.io import document as pdoc

    from latentviz.dashboard.dispatch import flush_stuck_patches

    sent: list = []

    async def dispatch(doc) -> None:  # stands in for Panel's task that writes the queue
        sent.append(pdoc._WRITE_MSGS.pop(doc))

    monkeypatch.setattr(pdoc, "_dispatch_msgs", dispatch)
    doc = _FakeDoc()

    async def scenario() -> None:
        assert not flush_stuck_patches(doc)  # nothing queued
        pdoc._WRITE_MSGS[doc] = {"connection": ["patch"]}
        pdoc._WRITE_BLOCK[doc] = True
        assert not flush_stuck_patches(doc)  # a write task holds the block: it will send it
        del pdoc._WRITE_BLOCK[doc]  # the race: the block is gone, the patch still queued
        assert flush_stuck_patches(doc) and pdoc._WRITE_BLOCK.get(doc) is True
        await asyncio.sleep(0.01)

    try:
        asyncio.run(scenario())
        assert sent == [{"connection": ["patch"]}]
    finally:
        pdoc._WRITE_MSGS.pop(doc, None)
        pdoc._WRITE_BLOCK.pop(doc, None)


@pytest.mark.parametrize("closed_twice", [False, True])
def test_close_stops_the_workers(resources, closed_twice) -> None:
    d = DashboardSession(resources)
    d.interpolation.wait(30)
    d.close()
    if closed_twice:
        d.close()
    with pytest.raises(RuntimeError):
        d.interpolation._worker.submit(("latents", None, None, 8))


def test_grid_mode_shows_one_difference_per_sample(dashboard) -> None:
    tab = dashboard.directions
    tab.show_difference.value = True
    tab.sliders[0].value = 2.5
    tab.grid.value = 3
    assert tab.wait(30)
    image, diff = _png(tab.image.object), _png(tab.difference.object)
    assert diff.shape[:2] == image.shape[:2]  # laid out as the 3 × 3 sample grid
    s = tab.session
    starts = s.start_images()
    assert starts.shape[0] == 9 and not np.allclose(starts[0], starts[1])  # nine different samples
    # each tile differs: not the single image's difference repeated
    h = diff.shape[0] // 3
    assert not np.array_equal(diff[:h, : diff.shape[1] // 3], diff[h : 2 * h, : diff.shape[1] // 3])


def test_walk_and_path_download_as_mp4(dashboard) -> None:
    pytest.importorskip("imageio_ffmpeg")
    d, i = dashboard.directions, dashboard.interpolation
    assert d.mp4.visible and i.mp4.visible
    d.sliders[0].value = 1.5
    assert d.wait(30)
    for data in (d.mp4.callback().getvalue(), i.mp4.callback().getvalue()):
        assert data[4:8] == b"ftyp"  # an MP4 container
