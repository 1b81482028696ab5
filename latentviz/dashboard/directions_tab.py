"""The Directions tab: sliders over latent directions, as a thin Panel view.

Everything is computed by one :class:`latentviz.core.ExplorerSession` per browser
session. Slider events go to the session's latest-wins worker (a drag never queues a
backlog and its last position is always rendered); frames come back on the worker
thread and are handed to the page's event loop by :class:`~latentviz.dashboard.dispatch.UiThread`.
"""

from __future__ import annotations

import html
import io
from typing import Any

import panel as pn

from latentviz.core import render
from latentviz.core.explorer import ExplorerFrame, ExplorerSession, ExplorerState
from latentviz.dashboard.dispatch import UiThread
from latentviz.dashboard.resources import Resources
from latentviz.dashboard.style import (
    IMAGE_CSS,
    can_write_mp4,
    colorbar_block,
    error_html,
    image_pane,
    label,
    primary,
    video_download,
)
from latentviz.directions.registry import method_label
from latentviz.errors import LatentvizError

__all__ = ["DirectionsTab"]

GRID_CHOICES = {"one image": 0, "2 × 2 samples": 2, "3 × 3 samples": 3, "4 × 4 samples": 4}


class DirectionsTab:
    """One slider per direction (σ units, labelled with name and score), seed, truncation,
    sample grid, display window, difference view, probability readout and GIF/PNG export.

    Parameters
    ----------
    resources
        The process's shared models and directions.
    ui
        The session's event-loop dispatcher.
    seed
        Seed of the first base latent.
    image_size
        Displayed width of the image in pixels (the browser upscales, pixelated).
    """

    def __init__(self, resources: Resources, ui: UiThread, seed: int = 0, image_size: int = 320) -> None:
        self.ui = ui
        self.session = s = ExplorerSession(
            resources.generator,
            resources.session_directions(),
            resources.classifier,
            seed=seed,
            frame_calls=resources.frame_calls,  # frames of concurrent sessions share a forward
        )
        self._syncing = False
        d = s.directions
        self.sliders = [
            pn.widgets.FloatSlider(
                **label(f"{d.label(k)}, σ"),
                start=-s.slider_range,
                end=s.slider_range,
                step=0.1,
                value=0.0,
                format="+0.0",
                css_classes=["lv-direction-slider"],
                width=360,
            )
            for k in range(len(d))
        ]
        for k, sl in enumerate(self.sliders):
            sl.param.watch(lambda ev, k=k: self._on_slider(k, ev.new), "value")

        self.image = image_pane(s.render().png, image_size, "lv-frame")
        self.difference = image_pane(None, image_size, "lv-difference", visible=False)
        self.colorbar = colorbar_block(
            s.difference_colorbar(length=image_size - 60, label=False),
            s.DIFFERENCE_LABEL,
            "lv-difference-bar",
            visible=False,
        )
        self._p_name = render.probability_label(resources.classifier)  # e.g. p(positive)
        self.probability = pn.pane.HTML("", css_classes=["lv-probability"])
        self.status = pn.pane.HTML("", css_classes=["lv-status"])

        self.reset_button = pn.widgets.Button(**label("Reset sliders"), width=130)
        self.random_button = pn.widgets.Button(**label("Random seed"), width=130, css_classes=["lv-random"])
        self.seed = pn.widgets.IntInput(
            **label("seed"), value=s.state.seed, start=0, end=2**31 - 2, width=140
        )
        self.truncation = pn.widgets.FloatSlider(
            **label("truncation"), start=0.1, end=2.0, step=0.05, value=s.state.truncation, width=220
        )
        self.grid = pn.widgets.Select(**label("samples"), options=GRID_CHOICES, value=0, width=150)
        self.window = pn.widgets.Select(
            **label("display window"), options=s.window_presets(), value="full", width=150
        )
        # Style-based models: which style layers the W directions move (GANSpace's ranges).
        layer_opts = {
            f"{name} ({', '.join(map(str, s.layer_resolutions(name)))} px)": name
            for name in s.layer_choices()
        }
        self.layers = pn.widgets.Select(
            **label("style layers"),
            options=layer_opts,
            value="all" if layer_opts else None,
            visible=bool(layer_opts),
            css_classes=["lv-style-layers"],
            width=300,
        )
        self.show_difference = pn.widgets.Checkbox(
            **label("difference to start (sliders at 0)"), css_classes=["lv-difference-toggle"]
        )
        self.gif = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(s.export_gif()),
            filename="latentviz_walk.gif",
            label="GIF of the walk (start → current)",
            **primary(pn.widgets.FileDownload),
            css_classes=["lv-export-gif"],
            width=300,
        )
        self.mp4 = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(video_download(s.export_video)),
            filename="latentviz_walk.mp4",
            label="MP4 of the walk (start → current)",
            css_classes=["lv-export-mp4"],
            width=300,
            visible=can_write_mp4(),
        )
        self.strip = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(s.export_strip()),
            filename="latentviz_walk.png",
            label="PNG strip of the walk",
            css_classes=["lv-export-png"],
            width=300,
        )

        self.reset_button.on_click(lambda _: self.reset())
        self.random_button.on_click(lambda _: self._new_seed())
        self.seed.param.watch(lambda ev: self._apply(s.set_seed, ev.new), "value")
        self.truncation.param.watch(lambda ev: self._apply(s.set_truncation, ev.new), "value_throttled")
        self.grid.param.watch(lambda ev: self._apply(s.set_grid, ev.new), "value")
        self.window.param.watch(lambda ev: self._apply(s.set_window, ev.new), "value")
        self.show_difference.param.watch(self._on_difference, "value")
        if layer_opts:
            self.layers.param.watch(lambda ev: self._apply(s.set_layers, ev.new), "value")

        # Frames first; the probability follows on its own worker (core.ExplorerSession.worker).
        self._shown: ExplorerState | None = None
        self._worker = s.worker(self._frame_ready, self._frame_failed, self._probability_ready)
        self._show(s.render())
        g = resources.generator
        about = (
            f"**{html.escape(g.name)}** (latent space {html.escape(s.generator.latent_space)}): "
            f"{len(d)} directions found by "
            f"**{html.escape(method_label(d.set.method))}**; sliders move the latent in σ units "
            "(one standard deviation of the latent along each direction). The label shows each "
            "direction's score."
        )
        controls = pn.Column(
            pn.pane.Markdown(about, width=380),
            pn.Row(self.reset_button, self.random_button),
            pn.Row(self.seed, self.grid),
            pn.Row(self.truncation, self.window),
            self.show_difference,
            self.layers,
            *self.sliders,
            self.gif,
            self.mp4,
            self.strip,
            width=400,
        )
        view = pn.Column(
            self.probability,
            pn.Row(self.image, pn.Column(self.difference, self.colorbar)),
            self.status,
            stylesheets=[IMAGE_CSS],
        )
        self.panel = pn.Row(controls, view, name="Directions")

    # -- events (event loop) ------------------------------------------------------------------
    def _on_slider(self, k: int, value: float) -> None:
        if self._syncing:
            return
        self.session.set_value(k, value)
        self._worker.submit(self.session.snapshot())

    def _apply(self, setter: Any, value: Any) -> None:
        try:
            setter(value)
        except LatentvizError as exc:
            self.status.object = error_html(str(exc))
            return
        self._worker.submit(self.session.snapshot())

    def _new_seed(self) -> None:
        self.seed.value = self.session.random_seed()  # its watcher submits the new state

    def _on_difference(self, event: Any) -> None:
        self.difference.visible = self.colorbar.visible = bool(event.new)
        self._apply(self.session.set_difference, event.new)

    def reset(self) -> None:
        """Sliders back to 0: the start image again (one frame, not one per slider)."""
        self.session.reset()
        self._syncing = True
        try:
            for sl in self.sliders:
                sl.value = 0.0
        finally:
            self._syncing = False
        self._worker.submit(self.session.snapshot())

    # -- results (worker thread → event loop) ---------------------------------------------
    def _frame_ready(self, state: ExplorerState, frame: ExplorerFrame) -> None:
        self.ui.call(self._show, frame)

    def _frame_failed(self, state: ExplorerState, exc: BaseException) -> None:
        self.ui.call(setattr, self.status, "object", error_html(f"{type(exc).__name__}: {exc}"))

    def _probability_ready(self, state: ExplorerState, p: float) -> None:
        self.ui.call(self._show_probability, state, p)

    def _show(self, frame: ExplorerFrame) -> None:
        # No update that changes nothing: with many sessions, much of the server's cost per
        # frame is this model traffic.
        self.image.object = frame.png
        self._shown = frame.state
        if frame.difference_png is not None:
            self.difference.object = frame.difference_png
        if self.session.classifier is None:
            self._set(self.probability, "<i>no classifier</i>")
        elif frame.probability is None:  # on its way: never the previous frame's number
            self._set(
                self.probability,
                f"<b>classifier {html.escape(self._p_name)} = <span class='lv-p-pending'>…</span></b>",
            )
        else:
            self._show_probability(frame.state, frame.probability)
        self._set(self.status, "")

    @staticmethod
    def _set(pane: Any, text: str) -> None:
        if pane.object != text:
            pane.object = text

    def _show_probability(self, state: ExplorerState, p: float) -> None:
        if state != self._shown:
            return  # the probability of a frame that is no longer on screen
        self._set(
            self.probability,
            f"<b>classifier {html.escape(self._p_name)} = <span class='lv-p'>{p:.3f}</span></b>",
        )

    # -- lifecycle ----------------------------------------------------------------------------
    def wait(self, timeout: float = 10.0) -> bool:
        """Block until the latest slider position and its probability are rendered (tests and
        benchmarks)."""
        return self.session.wait_idle(timeout)

    def close(self) -> None:
        """Stop the session's worker."""
        self.session.close()
