"""The latent atlas: a cohort's stored latents in 2D, for the widget and the dashboard.

An :class:`Atlas` reads a results store (``latentviz batch``; any object with the
:class:`ResultsSource` methods), embeds one stored latent (``z``, or ``z1``/``z2`` of a
conditional model) in 2D by PCA (or UMAP when ``umap-learn`` is installed), and answers what
the views ask: the colour values of a key (classifier probability, label, a factor, a
fidelity or metric column), the rows under a tap or inside a box, one image's stored
explanation (read lazily from its part), and the SEE-GAAN centroid path between two selected
groups (:func:`latentviz.directions.centroid_path` through the groups' mean full latents).
Nothing here imports a UI toolkit; the views only draw what it returns.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from latentviz.core import render
from latentviz.directions.centroid import centroid_path, centroid_walk
from latentviz.directions.direction_set import DirectionSet
from latentviz.errors import DependencyMissingError, LatentvizError, ShapeError

__all__ = ["EMBEDDINGS", "Atlas", "AtlasPath", "AtlasPoint", "AtlasSelection", "ResultsSource", "embed"]

EMBEDDINGS = ("pca", "umap")
#: Per-image scalar columns the atlas can colour by, besides ``factor_*`` and metrics.
_COLOUR_FIRST = ("probability", "label", "psnr", "ssim", "low_fidelity", "probability_negative")


class ResultsSource(Protocol):
    """What the atlas reads (:class:`latentviz.batch.store.ResultStore` is one)."""

    job: dict

    def keys(self) -> list[str]: ...

    def read(self, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]: ...

    def read_row(self, index: int, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]: ...


@dataclass
class AtlasPoint:
    """One image of the atlas: its stored scalars and explanation maps ``(H, W)``."""

    row: int
    index: int
    values: dict[str, float]
    maps: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def probability(self) -> float:
        return float(self.values.get("probability", np.nan))


@dataclass
class AtlasPath:
    """A centroid path from group A to group B: latents, rendered frames and probabilities."""

    directions: DirectionSet
    latents: torch.Tensor
    frames: torch.Tensor | None = None
    probabilities: np.ndarray | None = None


def embed(latents: np.ndarray, method: str = "pca", seed: int = 0) -> tuple[np.ndarray, dict]:
    """2D coordinates ``(N, 2)`` of ``latents`` ``(N, D)`` and what the embedding reports."""
    z = np.asarray(latents, np.float64).reshape(len(latents), -1)
    if len(z) < 3 or not np.isfinite(z).all():
        raise ShapeError(f"an atlas needs at least 3 finite latents, got {len(z)}")
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        xy = pca.fit_transform(z)
        return xy.astype(np.float32), {"explained_variance_ratio": pca.explained_variance_ratio_.tolist()}
    if method == "umap":
        try:
            import umap
        except ImportError as exc:
            raise DependencyMissingError(
                "a UMAP atlas needs umap-learn: pip install 'latentviz[umap]'"
            ) from exc
        reducer = umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, len(z) - 1), n_jobs=1)
        with warnings.catch_warnings():  # "n_jobs overridden by random_state": seeded on purpose
            warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
            xy = reducer.fit_transform(z)
        return np.asarray(xy, np.float32), {}
    raise LatentvizError(f"unknown embedding {method!r}; choose from {EMBEDDINGS}")


class Atlas:
    """A results store's latents embedded in 2D (see the module docstring).

    Parameters
    ----------
    store
        A results store (``ResultStore(path)``).
    latent
        The stored latent to embed: ``"z"``, or ``"z1"`` / ``"z2"`` for a conditional model.
    method
        ``"pca"`` or ``"umap"``.
    seed
        Seed of the embedding.
    """

    def __init__(self, store: ResultsSource, latent: str = "z", method: str = "pca", seed: int = 0) -> None:
        keys = store.keys()
        if latent not in keys:
            choices = [k for k in ("z", "z1", "z2") if k in keys]
            raise LatentvizError(
                f"the store has no latent {latent!r}; it has {choices or 'none (empty store)'}"
            )
        self.store = store
        self.latent, self.method = latent, method
        scalars = [k for k in keys if _is_colour_key(k)]
        table = store.read(dict.fromkeys(["index", "z", latent, *scalars]))
        self.index = table["index"]
        self.z = table["z"].astype(np.float32)
        self.xy, self.embedding = embed(table[latent], method, seed)
        self._colours = {k: table[k].astype(np.float32) for k in scalars if table[k].ndim == 1}
        self.map_keys = [k for k in keys if k.startswith("map_")]

    def __len__(self) -> int:
        return len(self.index)

    @property
    def colour_keys(self) -> list[str]:
        """What the points can be coloured by, most useful first."""
        first = [k for k in _COLOUR_FIRST if k in self._colours]
        return first + sorted(k for k in self._colours if k not in first)

    def colour(self, key: str) -> np.ndarray:
        """Per-point values ``(N,)`` of ``key`` (NaN where a metric has no mask)."""
        if key not in self._colours:
            raise LatentvizError(f"cannot colour by {key!r}; choose from {self.colour_keys}")
        return self._colours[key]

    def rows_in_box(self, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        """Rows whose 2D point lies in the box (bounds in either order)."""
        (xa, xb), (ya, yb) = sorted((x0, x1)), sorted((y0, y1))
        x, y = self.xy[:, 0], self.xy[:, 1]
        return np.flatnonzero((x >= xa) & (x <= xb) & (y >= ya) & (y <= yb))

    def nearest(self, x: float, y: float) -> int:
        """The row of the point nearest to ``(x, y)`` (a tap)."""
        return int(np.argmin((self.xy[:, 0] - x) ** 2 + (self.xy[:, 1] - y) ** 2))

    def point(self, row: int) -> AtlasPoint:
        """Image ``row``'s stored scalars and explanation maps (maps read from its part only)."""
        if not 0 <= row < len(self):
            raise IndexError(f"row {row} is outside the atlas ({len(self)} points)")
        index = int(self.index[row])
        values = {k: float(v[row]) for k, v in self._colours.items()}
        maps = {}
        if self.map_keys:
            stored = self.store.read_row(index, self.map_keys)
            maps = {k.removeprefix("map_"): np.asarray(v, np.float32) for k, v in stored.items()}
        return AtlasPoint(row, index, values, maps)

    def centroid_path(
        self,
        rows_a: Sequence[int] | np.ndarray,
        rows_b: Sequence[int] | np.ndarray,
        frames_per_step: int = 8,
        generator: object = None,
        classifier: object = None,
    ) -> AtlasPath:
        """The SEE-GAAN centroid path from group A's mean latent to group B's.

        The two groups are two strata of :func:`~latentviz.directions.centroid_path` (the
        path uses the full stored latent ``z``); with a ``generator`` the frames are
        rendered in one batch, and with a ``classifier`` their probabilities computed.
        """
        a, b = np.unique(np.asarray(rows_a, int)), np.unique(np.asarray(rows_b, int))
        if len(a) == 0 or len(b) == 0:
            raise LatentvizError("select two non-empty groups of points (group A and group B)")
        rows = np.concatenate([a, b])
        values = np.concatenate([np.zeros(len(a)), np.ones(len(b))])
        directions = centroid_path(
            generator, self.z[rows], values, edges=np.array([0.5]), feature="group A→B", latent_source="given"
        )
        latents = centroid_walk(directions, frames_per_step)
        path = AtlasPath(directions, latents)
        if generator is not None:
            path.frames = generator.generate(latents.to(generator.device)).cpu()
            if classifier is not None:
                with torch.no_grad():
                    p = classifier.probability(path.frames.to(classifier.device))
                path.probabilities = p.cpu().numpy()
        return path

    # -- pictures for the views ---------------------------------------------------------------
    def point_png(self, point: AtlasPoint, scale: int | None = None) -> bytes:
        """The point's explanation maps side by side, each captioned with the probability
        (``scale``: pixel repeat; default: maps of at least 96 px)."""
        caption = f"#{point.index} p={point.probability:.3f}"
        if not point.maps:
            tile = np.full((32, 96), 255, np.uint8)
            return render.png_bytes(render.label_image(tile, caption, footer="no maps stored (batch encode)"))
        side = next(iter(point.maps.values())).shape[0]
        scale = scale or max(1, -(-96 // side))
        tiles = [
            render.label_image(
                render.apply_colormap(render.signed_to_uint8(m), render.SIGNED_COLORMAP),
                f"{name} {caption}",
                scale,
            )
            for name, m in point.maps.items()
        ]
        return render.png_bytes(render.strip(tiles))

    @staticmethod
    def path_png(path: AtlasPath, max_frames: int = 9, scale: int | None = None) -> bytes:
        """Rendered path frames (evenly picked), each captioned with its position along the
        path and its probability (``scale``: pixel repeat; default: frames of at least 64 px)."""
        if path.frames is None:
            raise LatentvizError("render the path with a generator first")
        n = len(path.frames)
        scale = scale or max(1, -(-64 // path.frames.shape[-1]))
        picks = np.unique(np.linspace(0, n - 1, min(max_frames, n)).round().astype(int))
        tiles = []
        for i in picks:
            p = f" p={path.probabilities[i]:.2f}" if path.probabilities is not None else ""
            tiles.append(render.label_image(render.to_uint8(path.frames[i]), f"{i / (n - 1):.2f}{p}", scale))
        return render.png_bytes(render.strip(tiles))


def _is_colour_key(key: str) -> bool:
    if key in _COLOUR_FIRST or key.startswith("factor_") or key == "agrees":
        return True
    return key.split("_")[0] in ("iou", "pointing", "auprc", "deletion", "insertion", "completeness")


class AtlasSelection:
    """One view's selection on an :class:`Atlas`: the selected rows, groups A/B and their path.

    Both atlas views (ipywidgets and Panel) hold one per session; each action returns the
    status line the view shows.
    """

    def __init__(self, atlas: Atlas, generator: object = None, classifier: object = None) -> None:
        self.atlas, self.generator, self.classifier = atlas, generator, classifier
        self.rows = np.array([], dtype=int)
        self.groups: dict[str, np.ndarray] = {}
        self.path: AtlasPath | None = None

    def select(self, rows: Sequence[int] | np.ndarray) -> str:
        """Make ``rows`` the current selection."""
        self.rows = np.asarray(rows, dtype=int)
        return f"{len(self.rows)} images selected"

    def set_group(self, name: str) -> str:
        """Make the current selection group ``name`` (``"A"`` or ``"B"``)."""
        if len(self.rows) == 0:
            return "select some points first (box-select tool)"
        self.groups[name] = self.rows.copy()
        return "groups " + ", ".join(f"{k}: {len(v)}" for k, v in sorted(self.groups.items()))

    def run_path(self, frames_per_step: int = 8) -> str:
        """Compute (and, with a generator, render) the centroid path from group A to group B."""
        if set(self.groups) != {"A", "B"}:
            return "set group A and group B first"
        try:
            self.path = self.atlas.centroid_path(
                self.groups["A"], self.groups["B"], frames_per_step, self.generator, self.classifier
            )
        except LatentvizError as exc:
            return f"error: {exc}"
        length = float(self.path.directions.scores[0])
        return f"centroid path A → B: {len(self.path.latents)} latents, length {length:.3f}"
