"""InterpolationPlayer: play, pause and scrub a latent path (thin view over the core).

Every frame is computed in one batch by :class:`latentviz.core.InterpolationSession`;
the player only swaps pre-rendered PNG bytes and moves a marker on a plotly curve of the
classifier probability.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w
import plotly.graph_objects as go
import traitlets

from latentviz.core import loading, render
from latentviz.core.interpolation import InterpolationSession
from latentviz.errors import LatentvizError, OptionError
from latentviz.widgets._static import StaticFallback, captioned

__all__ = ["InterpolationPlayer"]


class InterpolationPlayer(StaticFallback, w.VBox):
    """Image, per-frame difference and accumulating difference along a path, with a
    probability curve whose marker follows the frame.

    Traits: ``value``, the index of the frame shown (0 … n_frames − 1; link it to a slider
    or observe it), and ``target_probability`` of that frame (None without a classifier).
    Saved notebooks keep a picture of the frame shown at display time.

    Parameters
    ----------
    generator, start, end, classifier, n_frames
        As for :class:`~latentviz.core.InterpolationSession` (``start=None``: medXGAN's
        ``(z1, 0) → (z1, z2)`` path of ``end``).
    session
        An existing session to show instead.
    interval_ms
        Milliseconds per frame when playing.
    image_width
        Displayed width of each image.
    """

    value = traitlets.Int(0, help="index of the frame shown")
    target_probability = traitlets.Float(None, allow_none=True, help="classifier probability of the frame")

    def __init__(
        self,
        generator: Any = None,
        start: Any = None,
        end: Any = None,
        classifier: Any = None,
        n_frames: int = 32,
        *,
        session: InterpolationSession | None = None,
        interval_ms: int = 150,
        image_width: int = 220,
    ) -> None:
        if session is None:
            if generator is None or end is None:
                raise LatentvizError("InterpolationPlayer needs a generator and an end latent (or session=)")
            session = InterpolationSession(generator, start, end, classifier, n_frames)
        self.session = s = session
        s.render_all()
        last = s.n_frames - 1
        self.play = w.Play(value=0, min=0, max=last, step=1, interval=interval_ms, description="play")
        self.scrub = w.IntSlider(value=0, min=0, max=last, description="frame", continuous_update=True)
        w.jslink((self.play, "value"), (self.scrub, "value"))
        self.image = w.Image(format="png", width=image_width)
        self.image.add_class("lv-player-frame")  # stable hooks for styling and browser tests
        self.scrub.add_class("lv-player-scrub")
        self.step = w.Image(format="png", width=image_width)
        self.cumulative = w.Image(format="png", width=image_width)
        bars = s.colorbars(image_width - 48)  # natural width = image width: sharp labels
        captions = [
            w.HTML(f"<b>{t}</b>") for t in ("frame", "frame − previous frame", "accumulated |difference|")
        ]
        self.caption = w.HTML()
        self.status = w.HTML()
        self.export_path = w.Text(
            value="interpolation.gif", description="export", layout=w.Layout(width="280px")
        )
        self.gif_button = w.Button(description="GIF", icon="film")
        self.gif_button.on_click(lambda _: self._export(".gif"))
        self.mp4_button = w.Button(description="MP4", icon="film", tooltip="needs latentviz[video]")
        self.mp4_button.on_click(lambda _: self._export(".mp4"))

        probs = s.probabilities
        clf = s.classifier
        t = s.target if s.target is not None else (clf.target if clf is not None else 0)
        target = clf.target_names[t] if clf is not None and 0 <= t < len(clf.target_names) else "target"
        self.figure = go.FigureWidget(
            data=[
                go.Scatter(
                    x=s.alphas.tolist(),
                    y=[] if probs is None else probs.tolist(),
                    mode="lines",
                    name=f"p({target})",
                ),
                go.Scatter(
                    x=[0.0],
                    y=[] if probs is None else [float(probs[0])],
                    mode="markers",
                    marker={"size": 12, "color": "#d62728"},
                    name="current",
                ),
            ],
            layout=go.Layout(
                height=220,
                width=3 * image_width,
                margin={"l": 50, "r": 10, "t": 30, "b": 40},
                title="classifier probability along the path" if probs is not None else "no classifier",
                xaxis={"title": "α (0 = start, 1 = end)", "range": [-0.03, 1.03]},
                yaxis={"title": f"p({target})", "range": [-0.05, 1.05]},
                showlegend=False,
            ),
        )
        self.scrub.observe(lambda ch: self.show(ch["new"]), names="value")
        self._p_name = f"p({target})" if clf is not None else "p"
        grid = w.GridBox(
            [
                *captions,
                self.image,
                self.step,
                self.cumulative,
                w.HTML(),
                w.Image(value=bars["step"], format="png", width=render.png_size(bars["step"])[0]),
                w.Image(value=bars["cumulative"], format="png", width=render.png_size(bars["cumulative"])[0]),
            ],
            layout=w.Layout(grid_template_columns=f"repeat(3, {image_width + 10}px)"),
        )
        super().__init__(
            [
                w.HBox([self.play, self.scrub, self.caption]),
                grid,
                self.figure,
                w.HBox([self.export_path, self.gif_button, self.mp4_button]),
                self.status,
            ]
        )
        w.link((self.scrub, "value"), (self, "value"))
        self.show(0)
        inv = s.inversion
        if inv is not None:  # the path starts from an inverted image: say how faithful it is
            fid = f"inverted image: PSNR {float(inv.psnr[0]):.1f} dB, SSIM {float(inv.ssim[0]):.2f}"
            if bool(inv.low_fidelity[0]):
                self.status.value = (
                    "<div style='background:#fdd;color:#900;padding:4px;font-weight:bold'>⚠ LOW FIDELITY "
                    f"({fid}): the path explains the reconstruction, not the image</div>"
                )
            else:
                self.status.value = f"<small>{fid}</small>"

    def show(self, index: int) -> None:
        """Show frame ``index`` (bytes are pre-rendered; nothing is computed here)."""
        f = self.session.frame(index)
        self.image.value, self.step.value, self.cumulative.value = f.png, f.step_png, f.cumulative_png
        p = "" if f.probability is None else f" · {self._p_name} = {f.probability:.3f}"
        self.caption.value = f"<b>frame {f.index + 1}/{self.session.n_frames} · α = {f.alpha:.2f}{p}</b>"
        self.target_probability = f.probability
        if f.probability is not None:
            with self.figure.batch_update():
                self.figure.data[1].x = [f.alpha]
                self.figure.data[1].y = [f.probability]

    @traitlets.validate("value")
    def _check_value(self, proposal: dict) -> int:
        v = proposal["value"]
        n = self.session.n_frames if hasattr(self, "session") else v + 1
        if not 0 <= v < n:
            raise OptionError("value", v, f"a frame index 0..{n - 1}")
        return v

    # -- static picture -------------------------------------------------------------------
    def to_png(self) -> bytes:
        """The frame shown, its step and accumulated differences, captioned, as PNG."""
        f = self.session.frame(self.value)
        p = "" if f.probability is None else f", {self._p_name} = {f.probability:.3f}"
        tiles = [
            captioned(f.png, f"frame {f.index + 1}, α = {f.alpha:.2f}{p}"),
            captioned(f.step_png, "frame − previous frame"),
            captioned(f.cumulative_png, "accumulated |difference|"),
        ]
        return render.png_bytes(render.strip(tiles), compress_level=6)

    def describe(self) -> str:
        return f"InterpolationPlayer: {self.session.n_frames} frames, frame {self.value + 1} shown"

    def _export(self, suffix: str = ".gif") -> None:
        try:
            path = Path(self.export_path.value).with_suffix(suffix)
            self.session.export_video(path)  # GIF or MP4 by the suffix
            self.status.value = f"wrote {html.escape(str(path))}"
        except (LatentvizError, OSError) as exc:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"

    @classmethod
    def from_zoo(
        cls,
        model: str,
        classifier: str | None = None,
        image: Any = None,
        n_frames: int = 32,
        *,
        index: int = 0,
        seed: int = 0,
        inversion: dict | None = None,
        **kw: Any,
    ) -> InterpolationPlayer:
        """Play a zoo model's path: ``InterpolationPlayer.from_zoo("cxr-medxgan")``.

        A medXGAN model inverts ``image`` (default: a positive phantom sample) with a
        progress bar and plays its ``z2 → 0`` path; any other model plays the path between
        the samples of seeds ``seed`` and ``seed + 1``. ``inversion`` holds options of
        :meth:`~latentviz.core.InterpolationSession.from_image` (``steps``, ``restarts``,
        ``refine_evals``).
        """
        from tqdm.auto import tqdm

        g = loading.load_generator(model)
        if not g.is_conditional:  # a seed-to-seed path: nothing to invert
            s = InterpolationSession.from_zoo(g, classifier, image, n_frames, index=index, seed=seed)
            return cls(session=s, **kw)
        with tqdm(desc="inverting", unit="step", leave=False) as bar:

            def step(i: int, info: dict) -> None:
                bar.total = int(info.get("steps", i))
                bar.update(i - bar.n)

            s = InterpolationSession.from_zoo(
                g, classifier, image, n_frames, index=index, seed=seed, callback=step, **(inversion or {})
            )
        return cls(session=s, **kw)

    @classmethod
    def from_inversion(
        cls, generator: Any, inversion: Any, classifier: Any = None, n_frames: int = 32, **kw: Any
    ) -> InterpolationPlayer:
        """medXGAN's z2 → 0 path for an inverted image."""
        return cls(
            session=InterpolationSession.from_inversion(generator, inversion, classifier, n_frames), **kw
        )
