"""The Interpolation tab: play, pause and scrub a latent path, linked with HoloViews.

One :class:`latentviz.core.InterpolationSession` per path computes every frame in one
batch and pre-renders the PNGs on a worker thread; the player only swaps bytes. Two
HoloViews views are linked to the frame index: the classifier probability along the
path with a moving marker, and the current frame, where tapping a pixel plots that
pixel's intensity along the whole path.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import holoviews as hv
import numpy as np
import panel as pn
import torch

from latentviz.core import render
from latentviz.core.explanation import ExplanationResult
from latentviz.core.explorer import ExplorerSession
from latentviz.core.interpolation import InterpolationSession
from latentviz.core.throttle import LatestWinsWorker
from latentviz.dashboard.dispatch import UiThread
from latentviz.dashboard.resources import Resources
from latentviz.dashboard.style import (
    IMAGE_CSS,
    can_write_mp4,
    colorbar_block,
    error_html,
    image_pane,
    label,
    message_html,
    primary,
    video_download,
)
from latentviz.errors import LatentvizError

__all__ = ["InterpolationTab"]

FROM_DIRECTIONS = "Directions tab's image"
FROM_EXPLANATION = "explained image"
FrameIndex = hv.streams.Stream.define("FrameIndex", index=0)


class InterpolationTab:
    """The path player with probability curve, differences and a tap-a-pixel profile.

    Parameters
    ----------
    resources
        The process's shared models.
    ui
        The session's event-loop dispatcher.
    explorer
        The session's Directions state: its current latent is one path source.
    image_size
        Displayed width of each image.
    """

    def __init__(
        self, resources: Resources, ui: UiThread, explorer: ExplorerSession, image_size: int = 200
    ) -> None:
        self.resources, self.ui, self.explorer = resources, ui, explorer
        self.generator = resources.generator
        self._p_name = render.probability_label(resources.classifier)  # e.g. p(positive)
        self.session: InterpolationSession | None = None
        self.inversion: Any = None
        self._index = FrameIndex()
        self.source = pn.widgets.RadioButtonGroup(
            **label("path"),
            options=[FROM_DIRECTIONS],
            value=FROM_DIRECTIONS,
            css_classes=["lv-interp-source"],
        )
        self.frames = pn.widgets.IntSlider(**label("frames"), start=8, end=64, step=4, value=24, width=200)
        self.compute_button = pn.widgets.Button(
            **label("Compute path"), **primary(), css_classes=["lv-interp-compute"], width=140
        )
        self.player = self._new_player(1)
        self.frame = image_pane(None, image_size, "lv-interp-frame")
        self.step = image_pane(None, image_size, "lv-interp-step")
        self.cumulative = image_pane(None, image_size, "lv-interp-cumulative")
        bar_labels = InterpolationSession.COLORBAR_LABELS
        self.step_bar = colorbar_block(None, bar_labels["step"], "lv-interp-step-bar", visible=False)
        self.cumulative_bar = colorbar_block(
            None, bar_labels["cumulative"], "lv-interp-cumulative-bar", visible=False
        )
        self.caption = pn.pane.HTML("", css_classes=["lv-interp-caption"])
        self.player_row = pn.Row(self.player, self.caption)
        self.message = pn.pane.HTML("", css_classes=["lv-interp-message"])
        self.curve = pn.pane.HoloViews(None, css_classes=["lv-interp-curve"])
        self.tap_image = pn.pane.HoloViews(None, css_classes=["lv-interp-tap"])
        self.profile = pn.pane.HoloViews(None, css_classes=["lv-interp-profile"])
        self.gif = pn.widgets.FileDownload(
            callback=self._gif, filename="latentviz_path.gif", label="GIF of the path", width=200
        )
        self.mp4 = pn.widgets.FileDownload(
            callback=self._mp4,
            filename="latentviz_path.mp4",
            label="MP4 of the path",
            width=200,
            visible=can_write_mp4(),
        )
        self._worker: LatestWinsWorker[tuple, InterpolationSession] = LatestWinsWorker(
            self._compute, self._ready, self._failed, name="latentviz-path"
        )
        self.compute_button.on_click(lambda _: self.compute())

        what = (
            "medXGAN's path from the negative realisation (z2 = 0) to the image"
            if self.generator.is_conditional
            else "the straight path from the image with sliders at 0 to the current one"
        )
        titles = ("frame", "frame − previous frame", "accumulated |difference|")
        images = pn.GridBox(
            *[pn.pane.HTML(f"<b>{t}</b>") for t in titles],
            self.frame,
            self.step,
            self.cumulative,
            pn.Spacer(),
            self.step_bar,
            self.cumulative_bar,
            ncols=3,
            stylesheets=[IMAGE_CSS],
        )
        self.panel = pn.Column(
            pn.pane.Markdown(
                f"**Interpolation**: {what}. Play or scrub; tap a pixel of the frame on the "
                "right to plot its intensity along the path.",
                width=900,
            ),
            pn.Row(self.source, self.frames, self.compute_button),
            self.message,
            self.player_row,
            images,
            pn.Row(self.curve, self.tap_image, self.profile),
            pn.Row(self.gif, self.mp4),
            name="Interpolation",
        )

    # -- path sources ---------------------------------------------------------------------------
    def compute(self) -> None:
        """Compute the chosen path (off the event loop)."""
        n = int(self.frames.value)
        if self.source.value == FROM_EXPLANATION and self.inversion is not None:
            request: tuple = ("inversion", self.inversion, n)
        else:
            st = self.explorer.snapshot()
            end = self.explorer.latents(st)
            start = None
            if not self.generator.is_conditional:
                start = self.explorer.latents(replace(st, values=(0.0,) * len(st.values)))
                if torch.equal(start, end):
                    self.message.object = error_html("move a slider in the Directions tab first")
                    return
            request = ("latents", start, end, n)
        self.message.object = message_html("computing the path …")
        self._worker.submit(request)

    def follow_explanation(self, result: ExplanationResult) -> None:
        """Offer (and compute) the path of a freshly explained image."""
        self.inversion = result.inversion
        self.source.options = [FROM_DIRECTIONS, FROM_EXPLANATION]
        self.source.value = FROM_EXPLANATION
        self.compute()

    def _compute(self, request: tuple) -> InterpolationSession:
        g, c = self.generator, self.resources.classifier
        if request[0] == "inversion":
            s = InterpolationSession.from_inversion(g, request[1], c, request[2])
        else:
            s = InterpolationSession(g, request[1], request[2], c, request[3])
        s.render_all()
        return s

    def _ready(self, request: tuple, session: InterpolationSession) -> None:
        self.ui.call(self._show_path, session)

    def _failed(self, request: tuple, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, LatentvizError) else f"{type(exc).__name__}: {exc}"
        self.ui.call(setattr, self.message, "object", error_html(text))

    # -- display (event loop) --------------------------------------------------------------------
    def _show_path(self, s: InterpolationSession) -> None:
        self.session = s
        bars = s.colorbars(length=self.frame.width - 60, labels=False)  # labels are HTML under them
        self.step_bar[0].object, self.cumulative_bar[0].object = bars["step"], bars["cumulative"]
        self.step_bar.visible = self.cumulative_bar.visible = True
        self.curve.object = self._curve(s)
        self.tap_image.object, self.profile.object = self._tap_views(s)
        self.message.object = message_html(f"{s.n_frames} frames")
        # a new player: Panel's Player does not move its slider's limit when `end` changes
        self.player = self._new_player(s.n_frames)
        self.player_row[0] = self.player
        self.show(0)

    def _new_player(self, n_frames: int) -> pn.widgets.Player:
        player = pn.widgets.Player(
            start=0,
            end=max(1, n_frames - 1),
            value=0,
            interval=150,
            loop_policy="loop",
            show_loop_controls=False,
            width=420,
            css_classes=["lv-player"],
        )
        player.param.watch(lambda ev: self.show(ev.new), "value")
        return player

    def show(self, index: int) -> None:
        """Show frame ``index`` (pre-rendered bytes; the HoloViews marker follows)."""
        s = self.session
        if s is None:
            return
        f = s.frame(min(int(index), s.n_frames - 1))
        self.frame.object, self.step.object, self.cumulative.object = f.png, f.step_png, f.cumulative_png
        p = "" if f.probability is None else f" · {self._p_name} = {f.probability:.3f}"
        self.caption.object = f"<b>frame {f.index + 1}/{s.n_frames} · α = {f.alpha:.2f}{p}</b>"
        self._index.event(index=f.index)

    def _curve(self, s: InterpolationSession) -> hv.DynamicMap | hv.Curve:
        alphas, probs = s.alphas, s.probabilities
        if probs is None:
            return hv.Curve([], "α", self._p_name).opts(title="no classifier", width=420, height=260)
        base = hv.Curve((alphas, probs), "α (0 = start, 1 = end)", self._p_name).opts(
            ylim=(-0.02, 1.02), width=420, height=260, title="classifier probability along the path"
        )

        def marker(index: int) -> hv.Overlay:
            i = min(int(index), len(alphas) - 1)
            return hv.VLine(float(alphas[i])).opts(color="#999") * hv.Points(
                [(float(alphas[i]), float(probs[i]))]
            ).opts(color="#d62728", size=10)

        return base * hv.DynamicMap(marker, streams=[self._index])

    def _tap_views(self, s: InterpolationSession) -> tuple[hv.DynamicMap, hv.DynamicMap]:
        _, h, w = s.path.frames.shape[1:]
        alphas = s.alphas

        def image(index: int) -> hv.Image:
            arr = s.path.frames[min(int(index), s.n_frames - 1)].mean(0).numpy()
            # y grows downwards like array rows: row r spans y in [r, r + 1]
            return hv.Image(
                np.flipud(arr), bounds=(0, 0, w, h), kdims=["column (px)", "row (px)"], vdims=["intensity"]
            ).opts(
                invert_yaxis=True,
                cmap="gray",
                clim=(-1, 1),
                colorbar=True,
                width=330,
                height=280,
                tools=["tap"],
                title="current frame: tap a pixel",
                toolbar="above",
            )

        frame = hv.DynamicMap(image, streams=[self._index])
        tap = hv.streams.Tap(source=frame, x=w / 2, y=h / 2)

        def tapped(x: float | None, y: float | None) -> hv.Points:
            return hv.Points([(x, y)] if x is not None and y is not None else []).opts(
                color="#d62728", marker="x", size=14, line_width=3
            )

        frame = frame * hv.DynamicMap(tapped, streams=[tap])

        def profile(x: float | None, y: float | None, index: int) -> hv.Overlay:
            col = int(np.clip(np.floor(x if x is not None else w / 2), 0, w - 1))
            row = int(np.clip(np.floor(y if y is not None else h / 2), 0, h - 1))
            values = s.pixel_profile(row, col)
            i = min(int(index), len(alphas) - 1)
            return hv.Curve((alphas, values), "α (0 = start, 1 = end)", "intensity (model units)").opts(
                ylim=(-1.05, 1.05),
                width=380,
                height=280,
                title=f"pixel (row {row}, column {col}) along the path",
            ) * hv.Points([(float(alphas[i]), float(values[i]))]).opts(color="#d62728", size=8)

        return frame, hv.DynamicMap(profile, streams=[tap, self._index])

    def _gif(self) -> io.BytesIO:
        if self.session is None:
            raise LatentvizError("compute a path first")
        return io.BytesIO(self.session.export_gif())

    def _mp4(self) -> io.BytesIO:
        if self.session is None:
            raise LatentvizError("compute a path first")
        return io.BytesIO(video_download(self.session.export_video))

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        """True when no path is being computed."""
        return self._worker.idle

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until a requested path is computed (tests)."""
        return self._worker.wait_idle(timeout)

    def close(self) -> None:
        self._worker.close()
