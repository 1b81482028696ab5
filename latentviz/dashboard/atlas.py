"""The dashboard's latent atlas: HoloViews points rasterised by datashader, so 100k images
stay fluid (the browser gets one image per zoom level, never 100k glyphs).

A tap shows the stored explanation of the nearest image; a box selection becomes group A or
B, and the two groups give a SEE-GAAN centroid path rendered by the generator. Everything is
answered by :class:`latentviz.core.atlas.Atlas`; this module only lays it out.

>>> tab = AtlasTab(Atlas(ResultStore("cohort")), generator, classifier)  # doctest: +SKIP
>>> pn.serve(tab.panel)                                                  # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import datashader as ds
import holoviews as hv
import numpy as np
import panel as pn
from holoviews import streams
from holoviews.operation.datashader import dynspread, rasterize

from latentviz.core.atlas import Atlas, AtlasPath, AtlasSelection

__all__ = ["AtlasTab", "atlas_panel"]

hv.extension("bokeh", logo=False)


class AtlasTab:
    """The atlas view: colour menu, rasterised scatter, explanation and centroid-path panes.

    Parameters
    ----------
    atlas
        The :class:`~latentviz.core.atlas.Atlas` to show.
    generator, classifier
        Render the centroid path and its probabilities (optional).
    colour
        Initial colour key (default: the atlas's first).
    """

    def __init__(
        self, atlas: Atlas, generator: Any = None, classifier: Any = None, colour: str | None = None
    ) -> None:
        self.atlas = atlas
        self.generator, self.classifier = generator, classifier
        self.state = AtlasSelection(atlas, generator, classifier)
        keys = atlas.colour_keys
        self.colour = pn.widgets.Select(label="colour by", options=keys, value=colour or keys[0], width=220)
        points = hv.DynamicMap(self._points, streams=[streams.Params(self.colour, ["value"])])
        var = atlas.embedding.get("explained_variance_ratio")
        labels = [
            f"{atlas.method.upper()} {i + 1}" + (f" ({100 * var[i]:.0f} % var.)" if var else "")
            for i in range(2)
        ]
        self.raster = dynspread(
            rasterize(points, aggregator=ds.mean("value")), threshold=0.8, max_px=4, how="max"
        )  # "max" keeps the values of sparse points ("add", the default, would sum them)
        self.raster.opts(
            hv.opts.Image(
                cmap="viridis",
                colorbar=True,
                tools=["tap", "box_select", "hover"],
                active_tools=["tap", "box_select", "wheel_zoom"],
                xlabel=labels[0],
                ylabel=labels[1],
                responsive=True,
                min_height=420,
                title=f"latent atlas ({atlas.latent}), {len(atlas)} images",
            )
        )
        self.raster = self.raster.apply.opts(clabel=self.colour.param.value)  # colorbar follows the menu
        self.tap = streams.Tap(source=self.raster, x=None, y=None)
        self.box = streams.BoundsXY(source=self.raster, bounds=None)
        self.tap.add_subscriber(self._on_tap)
        self.box.add_subscriber(self._on_box)
        self.status = pn.pane.HTML(css_classes=["lv-atlas-status"], sizing_mode="stretch_width")
        self.point_pane = pn.pane.PNG(None, css_classes=["lv-atlas-point"])
        self.path_pane = pn.pane.PNG(None, css_classes=["lv-atlas-path"])
        buttons = [
            pn.widgets.Button(label="selection → group A", css_classes=["lv-atlas-group-a"]),
            pn.widgets.Button(label="selection → group B", css_classes=["lv-atlas-group-b"]),
            pn.widgets.Button(label="centroid path A → B", color="primary", css_classes=["lv-atlas-run"]),
        ]
        buttons[0].on_click(lambda _e: self.set_group("A"))
        buttons[1].on_click(lambda _e: self.set_group("B"))
        buttons[2].on_click(lambda _e: self.run_path())
        self.panel = pn.Row(
            pn.Column(self.colour, pn.pane.HoloViews(self.raster, sizing_mode="stretch_both"), min_width=520),
            pn.Column(self.status, pn.Row(*buttons), self.point_pane, self.path_pane, width=480),
            sizing_mode="stretch_width",
            css_classes=["lv-atlas"],
        )
        self._say(f"{len(atlas)} images. Tap a point for its explanation; box-select two groups for a path.")

    def _points(self, value: str) -> hv.Points:
        xy = self.atlas.xy
        vdim = hv.Dimension("value", label=value)  # the colorbar's label
        return hv.Points((xy[:, 0], xy[:, 1], self.atlas.colour(value)), ["x", "y"], [vdim])

    # -- actions ---------------------------------------------------------------------------------
    def tap_at(self, x: float, y: float) -> None:
        """Show the stored explanation of the image nearest to ``(x, y)``."""
        point = self.atlas.point(self.atlas.nearest(x, y))
        self.point_pane.object = self.atlas.point_png(point)
        self._say(f"image #{point.index}: p = {point.probability:.3f}")

    def select_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Remember the images inside the box."""
        self._say(self.state.select(self.atlas.rows_in_box(x0, x1, y0, y1)))

    def set_group(self, name: str) -> None:
        self._say(self.state.set_group(name))

    def run_path(self, frames_per_step: int = 8) -> None:
        self._say(self.state.run_path(frames_per_step))
        if self.path is not None and self.path.frames is not None:
            self.path_pane.object = Atlas.path_png(self.path, max_frames=7)

    @property
    def selection(self) -> np.ndarray:
        return self.state.rows

    @property
    def groups(self) -> dict[str, np.ndarray]:
        return self.state.groups

    @property
    def path(self) -> AtlasPath | None:
        return self.state.path

    # -- streams ---------------------------------------------------------------------------------
    def _on_tap(self, x: float | None = None, y: float | None = None) -> None:
        if x is not None and y is not None:
            self.tap_at(x, y)

    def _on_box(self, bounds: tuple[float, float, float, float] | None = None) -> None:
        if bounds is not None:
            self.select_box(*bounds)

    def _say(self, text: str) -> None:
        self.status.object = f"<span class='lv-atlas-status-text'>{html.escape(text)}</span>"


def atlas_panel(atlas: Atlas, generator: Any = None, classifier: Any = None) -> pn.viewable.Viewable:
    """The atlas view as one Panel object (a dashboard tab, or ``pn.serve`` on its own)."""
    return AtlasTab(atlas, generator, classifier).panel
