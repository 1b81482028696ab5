"""DirectionExplorer: sliders over latent directions, as a thin ipywidgets view.

All state and compute live in :class:`latentviz.core.ExplorerSession`; this module only
lays widgets out, forwards events to the session and shows the PNG bytes it returns.
Slider events go through the session's latest-wins worker, so a drag never queues a
backlog and the last position is always rendered.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import traitlets

from latentviz.core import loading, render
from latentviz.core.explorer import ExplorerFrame, ExplorerSession, ExplorerState
from latentviz.errors import LatentvizError, OptionError
from latentviz.widgets._static import StaticFallback, captioned

__all__ = ["DirectionExplorer"]


class DirectionExplorer(StaticFallback, w.VBox):
    """One slider per direction (σ units), with seed, truncation, grid, window, difference,
    probability readout, rename/annotate/save and GIF/PNG export.

    Traits (observe them, or ``ipywidgets.link`` them to other widgets):

    * ``value``: the slider positions, a tuple of K floats in σ units; setting it moves the
      sliders and renders one frame.
    * ``target_probability``: the classifier's probability of the target class for the shown
      image (None without a classifier), read-only by convention; ``probability`` is the
      readout widget.

    Saved notebooks keep a picture of the state at display time (``image/png`` beside the
    live view), so nbviewer, GitHub and exported HTML show the image, not a repr.

    Parameters
    ----------
    generator, directions, classifier
        As for :class:`~latentviz.core.ExplorerSession` (``directions`` a DirectionSet or a
        ``(K, D)`` matrix).
    session
        An existing session to show instead (the other arguments are then ignored).
    image_width
        Displayed width of the image in pixels (the browser scales it).
    **session_options
        Passed to :class:`~latentviz.core.ExplorerSession` (``seed``, ``truncation``, …).

    Examples
    --------
    >>> DirectionExplorer.from_zoo("ct-dcgan", method="sefa")  # doctest: +SKIP
    """

    value = traitlets.Tuple(help="slider positions (σ units), one per direction")
    target_probability = traitlets.Float(None, allow_none=True, help="classifier probability of the image")

    def __init__(
        self,
        generator: Any = None,
        directions: Any = None,
        classifier: Any = None,
        *,
        session: ExplorerSession | None = None,
        image_width: int = 320,
        **session_options: Any,
    ) -> None:
        if session is None:
            if generator is None or directions is None:
                raise LatentvizError("DirectionExplorer needs a generator and directions (or session=)")
            session = ExplorerSession(generator, directions, classifier, **session_options)
        self.session = s = session
        self._syncing = False
        clf = s.classifier
        self._target = (
            f"p({html.escape(str(clf.target_names[clf.target]))})"
            if clf is not None and 0 <= clf.target < len(clf.target_names)
            else "p"
        )
        d = s.directions
        style = {"description_width": "160px"}
        layout = w.Layout(width="460px")
        self.sliders = [
            w.FloatSlider(
                value=0.0,
                min=-s.slider_range,
                max=s.slider_range,
                step=0.1,
                description=d.label(k),
                continuous_update=True,
                readout_format="+.1f",
                style=style,
                layout=layout,
                tooltip=(d.set.notes or [""] * len(d))[k],
            )
            for k in range(len(d))
        ]
        for k, sl in enumerate(self.sliders):
            sl.add_class("lv-direction-slider")  # stable hooks for styling and browser tests
            sl.observe(lambda ch, k=k: self._on_slider(k, ch["new"]), names="value")

        self.image = w.Image(format="png", width=image_width, layout=w.Layout(border="1px solid #ccc"))
        self.image.add_class("lv-frame")
        self.difference = w.Image(format="png", width=image_width, layout=w.Layout(display="none"))
        bar = s.difference_colorbar(image_width - 48)
        self.colorbar = w.Image(  # drawn at its natural width, so its labels stay sharp
            value=bar,
            format="png",
            width=render.png_size(bar)[0],
            layout=w.Layout(display="none"),
        )
        self.probability = w.HTML()
        self.status = w.HTML()

        self.reset_button = w.Button(description="Reset", icon="undo")
        self.random_button = w.Button(description="Random seed", icon="random")
        self.seed = w.BoundedIntText(
            value=s.state.seed, min=0, max=2**31 - 2, description="seed", layout=w.Layout(width="180px")
        )
        self.truncation = w.FloatSlider(
            value=s.state.truncation,
            min=0.1,
            max=2.0,
            step=0.05,
            description="truncation",
            continuous_update=False,
        )
        self.grid = w.Dropdown(
            options=[("one image", 0), ("2 × 2", 2), ("3 × 3", 3), ("4 × 4", 4)],
            value=0,
            description="samples",
            layout=w.Layout(width="200px"),
        )
        self.window = w.Dropdown(
            options=s.window_presets(), value="full", description="window", layout=w.Layout(width="220px")
        )
        self.show_difference = w.Checkbox(value=False, description="difference to start")
        # Style-based models: the style layers the W directions move (GANSpace's ranges).
        layer_opts = [
            (f"{n} ({', '.join(map(str, s.layer_resolutions(n)))} px)", n) for n in s.layer_choices()
        ]
        self.layers = w.Dropdown(
            options=layer_opts or [("all", "all")],
            value="all",
            description="style layers",
            layout=w.Layout(width="300px", display=None if layer_opts else "none"),
        )
        if layer_opts:
            self.layers.observe(lambda ch: self._apply(s.set_layers, ch["new"]), names="value")

        self.which = w.Dropdown(options=[(n, k) for k, n in enumerate(d.names)], description="direction")
        self.new_name = w.Text(placeholder="new name", layout=w.Layout(width="160px"))
        self.note = w.Text(placeholder="what it changes", layout=w.Layout(width="220px"))
        self.rename_button = w.Button(description="Rename / annotate")
        self.save_path = w.Text(value="directions", description="save as", layout=w.Layout(width="260px"))
        self.save_button = w.Button(description="Save set", icon="save")
        self.export_path = w.Text(value="walk", description="export", layout=w.Layout(width="260px"))
        self.gif_button = w.Button(description="GIF", icon="film")
        self.strip_button = w.Button(description="PNG strip", icon="image")
        self.mp4_button = w.Button(description="MP4", icon="film", tooltip="needs latentviz[video]")

        self.reset_button.on_click(lambda _: self.reset())
        self.random_button.on_click(lambda _: self._set_seed(s.random_seed()))
        self.seed.observe(lambda ch: self._apply(s.set_seed, ch["new"]), names="value")
        self.truncation.observe(lambda ch: self._apply(s.set_truncation, ch["new"]), names="value")
        self.grid.observe(lambda ch: self._apply(s.set_grid, ch["new"]), names="value")
        self.window.observe(lambda ch: self._apply(s.set_window, ch["new"]), names="value")
        self.show_difference.observe(self._on_difference, names="value")
        self.rename_button.on_click(lambda _: self._rename())
        self.save_button.on_click(lambda _: self._guard(self._save))
        self.gif_button.on_click(lambda _: self._guard(self._export, "gif"))
        self.strip_button.on_click(lambda _: self._guard(self._export, "png"))
        self.mp4_button.on_click(lambda _: self._guard(self._export, "mp4"))

        # Frames first; the probability follows on its own worker (core.ExplorerSession.worker).
        self._shown: ExplorerState | None = None
        self._worker = s.worker(self._show, self._show_error, self._show_probability)
        controls = w.VBox(
            [
                w.HBox([self.reset_button, self.random_button, self.seed]),
                w.HBox([self.truncation, self.grid]),
                w.HBox([self.window, self.show_difference]),
                self.layers,
                *self.sliders,
            ]
        )
        edit = w.VBox(
            [
                w.HBox([self.which, self.new_name, self.note, self.rename_button]),
                w.HBox(
                    [
                        self.save_path,
                        self.save_button,
                        self.export_path,
                        self.gif_button,
                        self.mp4_button,
                        self.strip_button,
                    ]
                ),
            ]
        )
        view = w.VBox([self.probability, w.HBox([self.image, self.difference]), self.colorbar])
        super().__init__([w.HBox([view, controls]), edit, self.status])
        self.value = tuple(float(v) for v in s.state.values)
        self.observe(self._on_value, names="value")
        self._show(s.state, s.render())  # first frame synchronously

    # -- one-liners --------------------------------------------------------------------------
    @classmethod
    def from_zoo(
        cls,
        model: str,
        method: str = "sefa",
        k: int = 6,
        classifier: str | None = None,
        **options: Any,
    ) -> DirectionExplorer:
        """Load a zoo generator, discover ``k`` directions with ``method`` and show sliders."""
        g = loading.load_generator(model)
        return cls(g, loading.discover(g, method, k), loading.load_classifier(classifier), **options)

    # -- events -----------------------------------------------------------------------------
    def _on_slider(self, k: int, value: float) -> None:
        if self._syncing:
            return
        self.session.set_value(k, value)
        self._syncing = True  # the trait follows the sliders without moving them back
        try:
            self.value = tuple(float(v) for v in self.session.state.values)
        finally:
            self._syncing = False
        self._worker.submit(self.session.snapshot())

    @traitlets.validate("value")
    def _check_value(self, proposal: dict) -> tuple[float, ...]:
        v = tuple(proposal["value"])
        k = len(self.session.directions) if hasattr(self, "session") else len(v)
        if len(v) != k:
            raise OptionError("value", v, f"a tuple of {k} slider positions (one per direction)")
        try:
            out = tuple(float(x) for x in v)
        except (TypeError, ValueError):
            raise OptionError("value", v, "numbers (σ units)") from None
        if not all(np.isfinite(out)):
            raise OptionError("value", v, "finite numbers (σ units)")
        return out

    def _on_value(self, change: dict) -> None:
        if self._syncing:
            return
        self._syncing = True  # K slider moves, one frame
        try:
            for k, (sl, v) in enumerate(zip(self.sliders, change["new"])):
                sl.value = v
                self.session.set_value(k, sl.value)  # clipped to the slider's range
            self.value = tuple(float(v) for v in self.session.state.values)  # the clipped values
        finally:
            self._syncing = False
        self._worker.submit(self.session.snapshot())

    # -- static picture -------------------------------------------------------------------
    def to_png(self) -> bytes:
        """The current image (and its difference, when shown) with the probability, as PNG."""
        frame = self.session.render()
        p = "" if frame.probability is None else f"{self._target} = {frame.probability:.3f}"
        tiles = [captioned(frame.png, p or "image")]
        if frame.difference_png is not None:
            tiles.append(captioned(frame.difference_png, "difference to start"))
        return render.png_bytes(render.strip(tiles), compress_level=6)

    def describe(self) -> str:
        s = self.session
        return (
            f"DirectionExplorer: {s.generator.name}, {len(s.directions)} directions; "
            f"sliders {', '.join(f'{v:+.1f}' for v in s.state.values)} σ"
        )

    def _apply(self, setter: Any, value: Any) -> None:
        self._guard(setter, value)
        self._worker.submit(self.session.snapshot())

    def _set_seed(self, seed: int) -> None:
        self.seed.value = seed  # its observer submits the new state

    def _on_difference(self, change: dict) -> None:
        shown = "" if change["new"] else "none"
        self.difference.layout.display = shown
        self.colorbar.layout.display = shown
        self._apply(self.session.set_difference, change["new"])

    def reset(self) -> None:
        """Sliders back to 0; the start image is shown again."""
        self.session.reset()
        self._syncing = True  # moving the sliders back must not submit K intermediate frames
        try:
            for sl in self.sliders:
                sl.value = 0.0
            self.value = (0.0,) * len(self.sliders)
        finally:
            self._syncing = False
        self._worker.submit(self.session.snapshot())

    def _rename(self) -> None:
        k = self.which.value
        if self.new_name.value.strip():
            self._guard(self.session.rename, k, self.new_name.value)
        if self.note.value.strip():
            self._guard(self.session.annotate, k, self.note.value)
        d = self.session.directions
        self.sliders[k].description = d.label(k)
        self.sliders[k].tooltip = (d.set.notes or [""] * len(d))[k]
        self.which.options = [(n, i) for i, n in enumerate(d.names)]
        self.which.value = k

    def _save(self) -> None:
        npz, js = self.session.save_directions(self.save_path.value)
        self.status.value = f"saved {html.escape(str(npz))} and {html.escape(str(js))}"

    def _export(self, kind: str) -> None:
        path = Path(self.export_path.value).with_suffix(f".{kind}")
        if kind == "gif":
            self.session.export_gif(path)
        elif kind == "mp4":
            self.session.export_video(path)
        else:
            self.session.export_strip(path)
        self.status.value = f"wrote {html.escape(str(path))} (start → current walk)"

    def _guard(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except LatentvizError as exc:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"

    # -- results (called on the worker thread) ---------------------------------------------------
    def _show(self, state: ExplorerState, frame: ExplorerFrame) -> None:
        self.image.value = frame.png
        self._shown = frame.state
        if frame.difference_png is not None:
            self.difference.value = frame.difference_png
        if self.session.classifier is None:
            self.probability.value = "<i>no classifier</i>"
            self.target_probability = None
        elif frame.probability is None:  # on its way: never the previous frame's number
            self.probability.value = f"<b>classifier {self._target} = …</b>"
            self.target_probability = None
        else:
            self._show_probability(frame.state, frame.probability)

    def _show_probability(self, state: ExplorerState, p: float) -> None:
        if state != self._shown:
            return  # the probability of a frame that is no longer on screen
        self.probability.value = f"<b>classifier {self._target} = {p:.3f}</b>"
        self.target_probability = p

    def _show_error(self, state: ExplorerState, exc: BaseException) -> None:
        self.status.value = (
            f"<span style='color:#b00'>{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>"
        )

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until the latest slider position is rendered (for scripts and tests)."""
        return self.session.wait_idle(timeout)

    def close(self) -> None:
        """Stop the background worker and close the widgets."""
        session = getattr(self, "session", None)  # absent when __init__ raised
        if session is not None:
            session.close()
        super().close()
