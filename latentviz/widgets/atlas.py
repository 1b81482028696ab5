"""AtlasView: a cohort's latent atlas in a notebook (thin ipywidgets + plotly view).

Every answer comes from :class:`latentviz.core.atlas.Atlas`: the view draws its 2D points
coloured by a chosen key, shows the stored explanation of a clicked point, and turns two box
or lasso selections (group A, group B) into a centroid path rendered by the generator.
"""

from __future__ import annotations

import html
import os
from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from latentviz.core.atlas import Atlas, AtlasPath, AtlasSelection

__all__ = ["AtlasView"]


class AtlasView(w.VBox):
    """Scatter of the atlas with a colour menu, a point's explanation and a centroid path.

    Parameters
    ----------
    atlas
        An :class:`~latentviz.core.atlas.Atlas`, or the path of a results store.
    generator, classifier
        Render the centroid path's frames and their probabilities (optional).
    colour
        Initial colour key (default: the first of ``atlas.colour_keys``).
    latent, method
        Passed to :class:`Atlas` when ``atlas`` is a path.
    """

    def __init__(
        self,
        atlas: Atlas | str | os.PathLike,
        generator: Any = None,
        classifier: Any = None,
        colour: str | None = None,
        *,
        latent: str = "z",
        method: str = "pca",
        image_width: int = 420,
    ) -> None:
        if not isinstance(atlas, Atlas):
            from latentviz.batch.store import ResultStore

            atlas = Atlas(ResultStore(atlas), latent=latent, method=method)
        self.atlas = atlas
        self.generator, self.classifier = generator, classifier
        self.state = AtlasSelection(atlas, generator, classifier)
        self.point = None

        keys = atlas.colour_keys
        self.colour_menu = w.Dropdown(options=keys, value=colour or keys[0], description="colour")
        self.colour_menu.observe(lambda _change: self._recolour(), "value")
        self.figure = go.FigureWidget(self._scatter())
        self.figure.data[0].on_click(self._on_click)
        self.figure.data[0].on_selection(self._on_selection)
        self.point_image = w.Image(format="png", width=image_width)
        self.point_image.add_class("lv-atlas-point")
        self.status = w.HTML()
        self.group_a = w.Button(description="selection → group A")
        self.group_b = w.Button(description="selection → group B")
        self.path_button = w.Button(description="centroid path A → B", icon="route")
        self.group_a.on_click(lambda _b: self.set_group("A"))
        self.group_b.on_click(lambda _b: self.set_group("B"))
        self.path_button.on_click(lambda _b: self.run_path())
        self.path_image = w.Image(format="png", width=image_width)
        self.path_image.add_class("lv-atlas-path")
        super().__init__(
            [
                self.colour_menu,
                self.figure,
                w.HBox([self.group_a, self.group_b, self.path_button]),
                self.status,
                self.point_image,
                self.path_image,
            ]
        )
        self.add_class("lv-atlas")
        self._say(f"{len(atlas)} images; click a point for its explanation, box-select two groups")

    # -- actions (the plotly callbacks call these; tests call them directly) --------------------
    def tap(self, row: int) -> None:
        """Show the stored explanation of image ``row``."""
        self.point = self.atlas.point(int(row))
        self.point_image.value = self.atlas.point_png(self.point)
        self._say(f"image #{self.point.index}: p = {self.point.probability:.3f}")

    def select(self, rows: Any) -> None:
        """Remember the rows of the current box or lasso selection."""
        self._say(self.state.select(rows))

    def set_group(self, name: str) -> None:
        """Make the current selection group ``name`` (``"A"`` or ``"B"``)."""
        self._say(self.state.set_group(name))

    def run_path(self, frames_per_step: int = 8) -> None:
        """Compute the centroid path from group A to group B (rendered if a generator is set)."""
        self._say(self.state.run_path(frames_per_step))
        if self.path is not None and self.path.frames is not None:
            self.path_image.value = Atlas.path_png(self.path)

    @property
    def selection(self) -> np.ndarray:
        return self.state.rows

    @property
    def groups(self) -> dict[str, np.ndarray]:
        return self.state.groups

    @property
    def path(self) -> AtlasPath | None:
        return self.state.path

    # -- plotly --------------------------------------------------------------------------------
    def _scatter(self) -> go.Figure:
        key = self.colour_menu.value
        xy = self.atlas.xy
        var = self.atlas.embedding.get("explained_variance_ratio")
        axis = [
            f"{self.atlas.method.upper()} {i + 1}" + (f" ({100 * var[i]:.0f} % var.)" if var else "")
            for i in range(2)
        ]
        trace = go.Scattergl(
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers",
            marker={
                "color": self.atlas.colour(key),
                "colorscale": "Viridis",
                "size": 6,
                "colorbar": {"title": key},
            },
            customdata=self.atlas.index,
            hovertemplate="image %{customdata}<extra></extra>",
        )
        layout = go.Layout(
            xaxis_title=axis[0],
            yaxis_title=axis[1],
            dragmode="select",
            height=420,
            margin={"l": 50, "r": 10, "t": 30, "b": 40},
            title=f"latent atlas ({self.atlas.latent}), colour: {key}",
        )
        return go.Figure([trace], layout)

    def _recolour(self) -> None:
        key = self.colour_menu.value
        with self.figure.batch_update():
            self.figure.data[0].marker.color = self.atlas.colour(key)
            self.figure.data[0].marker.colorbar.title = key
            self.figure.layout.title = f"latent atlas ({self.atlas.latent}), colour: {key}"

    def _on_click(self, _trace: Any, points: Any, _state: Any) -> None:
        if points.point_inds:
            self.tap(points.point_inds[0])

    def _on_selection(self, _trace: Any, points: Any, _selector: Any) -> None:
        self.select(points.point_inds)

    def _say(self, text: str) -> None:
        self.status.value = f"<span class='lv-atlas-status'>{html.escape(text)}</span>"
