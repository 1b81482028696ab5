"""The UI-free state behind a direction explorer: latent, sliders, frames, exports.

A view (ipywidgets or Panel) owns one :class:`ExplorerSession`. It changes the state
with the setters, asks for :meth:`ExplorerSession.render` of a :meth:`snapshot`
(usually through the session's latest-wins worker) and shows the returned
:class:`ExplorerFrame`'s PNG bytes. The hot path, slider → frame, is: shift the base
latent by ``values · σ`` along unit directions → generator at batch 1 under
``torch.inference_mode`` → LUT → PNG. Frames are cached by state.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentviz.core import loading, render
from latentviz.core.batching import FrameCalls
from latentviz.core.directions import BoundDirections, bind_directions
from latentviz.core.memory import note_activity
from latentviz.core.throttle import LatestWinsWorker
from latentviz.directions import DirectionSet
from latentviz.errors import LatentvizError, ShapeError
from latentviz.models.classifier import Classifier
from latentviz.models.device import to_device_async
from latentviz.models.generator import Generator
from latentviz.models.style import LAYER_GROUPS, StyleGenerator

__all__ = ["RELATIVE_WINDOWS", "ExplorerFrame", "ExplorerSession", "ExplorerState"]

#: Display windows for images without absolute units (MR, radiographs): the low and high
#: percentile of the shown frame(s) span the grey scale.
RELATIVE_WINDOWS: dict[str, tuple[float, float]] = {"auto": (1.0, 99.0), "high-contrast": (5.0, 95.0)}


@dataclass(frozen=True)
class ExplorerState:
    """Everything a frame depends on (hashable: the frame cache key).

    ``values`` are slider positions in σ units, one per direction.
    """

    values: tuple[float, ...]
    seed: int
    truncation: float = 1.0
    window: str = "full"
    grid: int = 0  # 0: one image; n > 0: an n × n sample grid
    difference: bool = False
    layers: str = "all"  # style-based models: the style layers the directions move


@dataclass
class ExplorerFrame:
    """One rendered view of an :class:`ExplorerState`.

    Attributes
    ----------
    state
        What was rendered.
    png
        The image (or the sample grid) as PNG bytes.
    image
        Float image ``(C, H, W)`` in ``[-1, 1]`` (the first sample in grid mode).
    probability
        The classifier's target probability of ``image`` (None without a classifier, and
        None while it is still being computed when the frame came from a worker that sends
        frames first: see :meth:`ExplorerSession.worker`).
    difference_png
        The signed difference to the start image (sliders at 0), ``difference_colormap`` on
        ``±difference_scale``; None unless ``state.difference``.
    """

    state: ExplorerState
    png: bytes
    image: np.ndarray
    probability: float | None
    difference_png: bytes | None = None


class ExplorerSession:
    """State and compute of a direction explorer, shared by every front end.

    Parameters
    ----------
    generator
        The model.
    directions
        A DirectionSet (checked against the model) or a ``(K, D)`` matrix.
    classifier
        Optional: its target probability is reported for every frame.
    seed
        Seed of the base latent.
    truncation
        Scale of the base latent (1 = the prior).
    names
        Slider names for a plain matrix.
    model_window
        ``(center, width)`` in modality units spanned by the model's ``[-1, 1]``
        (default: ``generator.config["window"]``, or the window of the phantom a zoo model
        was trained on); enables the HU presets when the units are HU or not stated.
    slider_range
        Slider limits in σ.
    cache_size
        Frames kept in the LRU cache.
    difference_scale
        Model-unit magnitude at the ends of the difference colour scale.
    difference_colormap
        Matplotlib colormap of the difference view and its colorbar (default
        :data:`~latentviz.core.render.SIGNED_COLORMAP`, white at 0).
    frame_calls
        Forward passes shared with other sessions (:class:`~latentviz.core.batching.FrameCalls`):
        frames that several sessions ask for at once render as one batch. Used for the
        probability only when it holds this session's classifier.

    Examples
    --------
    >>> s = ExplorerSession(generator, directions)  # doctest: +SKIP
    >>> s.set_value(0, 2.0); frame = s.render()  # doctest: +SKIP
    """

    def __init__(
        self,
        generator: Generator,
        directions: DirectionSet | np.ndarray | torch.Tensor,
        classifier: Classifier | None = None,
        *,
        seed: int = 0,
        truncation: float = 1.0,
        names: Sequence[str] | None = None,
        model_window: tuple[float, float] | None = None,
        slider_range: float = 5.0,
        cache_size: int = 256,
        difference_scale: float = 1.0,
        difference_colormap: str = render.SIGNED_COLORMAP,
        frame_calls: FrameCalls | None = None,
    ) -> None:
        self._w_set: DirectionSet | None = None
        self.style_layers = "all"
        if isinstance(generator, StyleGenerator) and isinstance(directions, DirectionSet):
            generator, directions = self._style_view(generator, directions)
        self.generator = generator
        self.difference_colormap = render.check_colormap(difference_colormap)
        self._truncation_centre = None
        if isinstance(generator, StyleGenerator) and generator.latent_space != "z":
            self._truncation_centre = generator.w_avg.detach().reshape(1, -1)
        self.classifier = classifier
        self.directions: BoundDirections = bind_directions(generator, directions, names)
        if model_window is not None:
            window, self.units = model_window, None
        else:
            window, self.units = loading.model_intensity(generator)
        self.model_window = (float(window[0]), float(window[1])) if window is not None else None
        self.slider_range = float(slider_range)
        self.difference_scale = float(difference_scale)
        self._check_truncation(truncation)
        self.state = ExplorerState(
            values=(0.0,) * len(self.directions), seed=int(seed), truncation=float(truncation)
        )
        self._cache: OrderedDict[ExplorerState, ExplorerFrame] = OrderedDict()
        self._cache_size = int(cache_size)
        self._base: dict[tuple[int, int], torch.Tensor] = {}
        self._start: dict[tuple, np.ndarray] = {}
        self._ranges: dict[str, tuple[float, float] | None] = {}
        self._worker: LatestWinsWorker[ExplorerState, ExplorerFrame] | None = None
        self._prob_worker: LatestWinsWorker[tuple[ExplorerState, ExplorerFrame], float] | None = None
        self._lock = threading.RLock()  # the worker and the caller's thread share caches
        self._frame_calls = frame_calls
        self.resolve_window("full")

    def _style_view(
        self, generator: StyleGenerator, directions: DirectionSet
    ) -> tuple[StyleGenerator, DirectionSet]:
        """Run a style-based model in the space of its set; W sets run in W+ so that a
        layer range (:meth:`set_layers`) can be chosen without changing the latent."""
        from latentviz.directions.style import lift_set

        if directions.latent_space == "w":
            self._w_set = directions
            plus = generator.in_space("w+")
            return plus, lift_set(directions, plus, "all")
        return generator.in_space(directions.latent_space), directions

    def layer_choices(self) -> list[str]:
        """Style-layer ranges the sliders can act on (empty unless a W set drives a style model)."""
        return list(LAYER_GROUPS) if self._w_set is not None else []

    def layer_resolutions(self, layers: str) -> list[int]:
        """The resolutions the style layers of ``layers`` drive (for the control's label)."""
        from latentviz.models.style import layer_range

        res = self.generator.layer_resolutions
        return sorted({res[i] for i in layer_range(layers, self.generator.num_ws)})

    def set_layers(self, layers: str) -> ExplorerState:
        """Apply the W directions to the style layers ``layers`` only (``"all"``, ``"coarse"``,
        ``"middle"``, ``"fine"``, ``"a:b"``); slider values are kept."""
        from latentviz.directions.style import lift_set

        if self._w_set is None:
            raise LatentvizError("layer ranges apply to W direction sets of a style-based model")
        lifted = lift_set(self._w_set, self.generator, layers)
        with self._lock:
            self.directions = bind_directions(self.generator, lifted)
            self.style_layers = layers
            self._cache.clear()
            self.state = replace(self.state, layers=layers)
        return self.state

    # -- state changes -------------------------------------------------------------------
    @property
    def n_directions(self) -> int:
        return len(self.directions)

    def _check_index(self, k: int) -> int:
        if not 0 <= int(k) < self.n_directions:
            raise LatentvizError(f"direction index {k} out of range 0..{self.n_directions - 1}")
        return int(k)

    @staticmethod
    def _check_truncation(t: float) -> None:
        if not (np.isfinite(t) and 0.0 < t <= 2.0):
            raise LatentvizError(f"truncation must be in (0, 2], got {t}")

    def set_value(self, k: int, value: float) -> ExplorerState:
        """Move slider ``k`` to ``value`` σ (clipped to ``±slider_range``)."""
        k = self._check_index(k)
        v = float(value)
        if not np.isfinite(v):
            raise LatentvizError(f"slider value must be finite, got {value}")
        v = min(max(v, -self.slider_range), self.slider_range)
        vals = list(self.state.values)
        vals[k] = v
        self.state = replace(self.state, values=tuple(vals))
        return self.state

    def set_values(self, values: Sequence[float]) -> ExplorerState:
        """Set every slider at once."""
        if len(values) != self.n_directions:
            raise ShapeError(f"{len(values)} slider values for {self.n_directions} directions")
        for k, v in enumerate(values):
            self.set_value(k, v)
        return self.state

    def reset(self) -> ExplorerState:
        """All sliders back to 0 (the base latent)."""
        self.state = replace(self.state, values=(0.0,) * self.n_directions)
        return self.state

    def set_seed(self, seed: int) -> ExplorerState:
        self.state = replace(self.state, seed=int(seed))
        return self.state

    def random_seed(self) -> int:
        """Pick a fresh random seed for the base latent and return it."""
        seed = secrets.randbelow(2**31 - 1)
        self.set_seed(seed)
        return seed

    def set_truncation(self, truncation: float) -> ExplorerState:
        self._check_truncation(float(truncation))
        self.state = replace(self.state, truncation=float(truncation))
        return self.state

    def set_window(self, window: str) -> ExplorerState:
        """Display window: one of :meth:`window_presets` (``"full"``, a relative window of
        :data:`RELATIVE_WINDOWS`, or a CT preset of :data:`latentviz.core.render.WINDOW_PRESETS`)."""
        self.resolve_window(window)
        self.state = replace(self.state, window=str(window))
        return self.state

    def set_grid(self, n: int) -> ExplorerState:
        """``n × n`` sample grid (seeds ``seed … seed + n² − 1``), or 0 for one image."""
        if not 0 <= int(n) <= 8:
            raise LatentvizError(f"grid size must be 0 (off) to 8, got {n}")
        self.state = replace(self.state, grid=int(n))
        return self.state

    def set_difference(self, on: bool) -> ExplorerState:
        self.state = replace(self.state, difference=bool(on))
        return self.state

    def window_presets(self) -> list[str]:
        """Window choices this model supports.

        ``"full"`` and the relative (MR/radiograph) windows always; the CT presets in HU
        only when the model's window is known and its units are HU (or not stated).
        """
        out = ["full", *RELATIVE_WINDOWS]
        if self.model_window is not None and self.units in (None, "HU"):
            out += list(render.WINDOW_PRESETS)
        return out

    def resolve_window(self, window: str) -> tuple[float, float] | None:
        """A fixed window's ``(low, high)`` in model units (None: the whole ``[-1, 1]``, or a
        relative window, which :meth:`display_range` resolves per frame)."""
        if window in RELATIVE_WINDOWS:
            return None
        if window not in self._ranges:
            if (
                window in render.WINDOW_PRESETS
                and self.model_window is not None
                and self.units not in (None, "HU")
            ):
                raise LatentvizError(
                    f"window {window!r} is a CT preset in HU, but {self.generator.name}'s images are "
                    f"in {self.units}; choose one of {self.window_presets()}"
                )
            self._ranges[window] = render.resolve_window(window, self.model_window)
        return self._ranges[window]

    def display_range(self, window: str, images: np.ndarray | torch.Tensor) -> tuple[float, float] | None:
        """``(low, high)`` in model units that ``window`` maps to black and white for ``images``."""
        if window not in RELATIVE_WINDOWS:
            return self.resolve_window(window)
        arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        lo, hi = np.percentile(arr, RELATIVE_WINDOWS[window])
        return (float(lo), float(hi)) if hi > lo else None

    # -- directions: rename, annotate, save -------------------------------------------------
    @property
    def direction_set(self) -> DirectionSet:
        """The (renamed, annotated) :class:`DirectionSet` the sliders use."""
        return self.directions.set

    def rename(self, k: int, name: str) -> None:
        """Rename direction ``k``; names must stay unique."""
        k = self._check_index(k)
        name = str(name).strip()
        if not name:
            raise LatentvizError("a direction name cannot be empty")
        names = self.direction_set.names or []
        if name in names and names.index(name) != k:
            raise LatentvizError(f"another direction is already called {name!r}")
        self.direction_set.rename(k, name)

    def annotate(self, k: int, note: str) -> None:
        """Attach a free-text note (what the direction seems to change) to direction ``k``."""
        self.direction_set.annotate(self._check_index(k), note)

    def save_directions(self, path: str | Path) -> tuple[Path, Path]:
        """Save the set with its current names and notes (``path.npz`` + ``path.json``)."""
        return self.direction_set.save(path)

    # -- compute ----------------------------------------------------------------------------
    def snapshot(self) -> ExplorerState:
        """The current state (immutable; safe to hand to the worker)."""
        return self.state

    def _base_latents(self, seed: int, n: int) -> torch.Tensor:
        key = (seed, n)
        with self._lock:
            z = self._base.get(key)
            if z is None:
                if n == 1:
                    z = self.generator.sample_latents(1, seed=seed)
                else:  # one latent per seed, so tile 0 of the grid is the single-image latent
                    z = torch.cat([self.generator.sample_latents(1, seed=seed + i) for i in range(n)])
                self._base[key] = z = z.reshape(n, -1).contiguous()
                if len(self._base) > 64:
                    self._base.pop(next(iter(self._base)))
            return z

    def latents(self, state: ExplorerState | None = None, n: int = 1) -> torch.Tensor:
        """The shifted latents ``(n, D)`` of ``state``: ``t · z_seed + Σ v_k σ_k d_k``."""
        st = self.state if state is None else state
        z = self._base_latents(st.seed, n)
        # The slider values come from the host; pinned and asynchronous on an accelerator.
        v = to_device_async(torch.tensor(st.values, dtype=torch.float32), z.device)
        shift = (v * self.directions.sigmas) @ self.directions.matrix
        if self._truncation_centre is not None:  # style-based: truncate towards the mean w
            c = self._truncation_centre
            return c + (z - c) * st.truncation + shift
        return z * st.truncation + shift

    def _forward(self, z: torch.Tensor, probability: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        # Latents built from checked state (seeded draws, a loaded direction set, finite
        # slider values) and the generator's own images: no value checks, no host reads;
        # the frame's one read is the image copy for the PNG.
        z = z.reshape(z.shape[0], *self.generator.latent_shape)
        clf = self.classifier
        if self._frame_calls is not None:  # batched with the other sessions' frames
            x = self._frame_calls.generator(self.generator)(z)
            p = self._probabilities(x) if (clf is not None and probability) else None
            return x, p
        with torch.inference_mode():
            x = self.generator.forward_trusted(z)
            p = clf.probability_trusted(x) if (clf is not None and probability) else None
        return x, p

    @property
    def _shares_classifier(self) -> bool:
        fc = self._frame_calls
        return fc is not None and fc.probability is not None and fc.classifier is self.classifier

    def _probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """The classifier's probabilities of generated images, batched with other sessions'
        when the shared calls hold this classifier."""
        if self._shares_classifier:
            return self._frame_calls.probability(x)
        with torch.inference_mode():
            return self.classifier.probability_trusted(x)

    def render(self, state: ExplorerState | None = None, probability: bool = True) -> ExplorerFrame:
        """Render ``state`` (default: the current one); cached.

        ``probability=False`` skips the classifier for a single image (the frame's
        ``probability`` is then None until :meth:`probability_of` fills it in); a sample
        grid always carries its probabilities, which are drawn on its tiles.
        """
        st = self.state if state is None else state
        note_activity()  # a user waits for this frame: the server defers its garbage collection
        with self._lock:
            hit = self._cache.get(st)
            complete = hit is not None and (hit.probability is not None or self.classifier is None)
            if hit is not None and (complete or not probability):
                self._cache.move_to_end(st)
                return hit
        if hit is not None:  # the frame without its probability: only the classifier runs
            self.probability_of(hit)
            return self._cache.get(st, hit)
        frame = self._render(st, probability or bool(st.grid))
        with self._lock:
            self._cache[st] = frame
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return frame

    def probability_of(self, frame: ExplorerFrame) -> float | None:
        """The classifier's probability of ``frame``'s image (cached with the frame)."""
        if frame.probability is not None or self.classifier is None:
            return frame.probability
        x = torch.from_numpy(frame.image).unsqueeze(0).to(self.classifier.device)
        if self._shares_classifier:
            p = float(self._frame_calls.probability(x)[0])
        else:
            with torch.inference_mode():
                p = float(self.classifier.probability(x)[0])
        with self._lock:
            if frame.state in self._cache:
                self._cache[frame.state] = replace(frame, probability=p)
        return p

    def _render(self, st: ExplorerState, probability: bool = True) -> ExplorerFrame:
        n = st.grid * st.grid if st.grid else 1
        x, p = self._forward(self.latents(st, n), probability)
        vrange = self.display_range(st.window, x)
        image = x[0].cpu().numpy()
        prob = float(p[0]) if p is not None else None
        if st.grid:
            width = x.shape[-1]
            scale = max(1, 96 // width)
            # the sample and difference grids share one caption height, so their tiles line up
            lines = max(
                render.label_lines("p=0.00", width, scale), render.label_lines(f"Δ sample {n}", width, scale)
            )
            tiles = []
            for i in range(n):
                u8 = render.to_uint8(x[i], vrange)
                if p is not None:
                    u8 = render.label_image(u8, f"p={float(p[i]):.2f}", scale=scale, lines=lines)
                tiles.append(u8)
            png = render.png_bytes(render.grid(tiles, st.grid))
        else:
            png = render.png_bytes(render.to_uint8(image, vrange))
        diff_png = None
        if st.difference:
            colour = lambda d: render.apply_colormap(  # noqa: E731
                render.signed_to_uint8(d, self.difference_scale), self.difference_colormap
            )
            if st.grid:  # one difference tile per sample, laid out as the sample grid
                diffs = x.cpu().numpy() - self.start_images(st)
                tiles = [
                    render.label_image(colour(diffs[i]), f"Δ sample {i + 1}", scale=scale, lines=lines)
                    if p is not None
                    else colour(diffs[i])
                    for i in range(n)
                ]
                diff_png = render.png_bytes(render.grid(tiles, st.grid))
            else:
                diff_png = render.png_bytes(colour(image - self.start_image(st)))
        return ExplorerFrame(state=st, png=png, image=image, probability=prob, difference_png=diff_png)

    def start_image(self, state: ExplorerState | None = None) -> np.ndarray:
        """The image with every slider at 0 for ``state``'s seed and truncation."""
        st = self.state if state is None else state
        key = (st.seed, st.truncation)
        with self._lock:
            img = self._start.get(key)
        if img is None:
            zero = replace(st, values=(0.0,) * self.n_directions, grid=0, difference=False)
            x, _ = self._forward(self.latents(zero), probability=False)
            self._start[key] = img = x[0].cpu().numpy()
        return img

    def start_images(self, state: ExplorerState | None = None) -> np.ndarray:
        """The sample grid of ``state`` with every slider at 0, ``(n², C, H, W)`` (cached)."""
        st = self.state if state is None else state
        n = st.grid * st.grid if st.grid else 1
        key = (st.seed, st.truncation, n)
        with self._lock:
            imgs = self._start.get(key)
        if imgs is None:
            zero = replace(st, values=(0.0,) * self.n_directions, difference=False)
            x, _ = self._forward(self.latents(zero, n), probability=False)
            self._start[key] = imgs = x.cpu().numpy()
        return imgs

    #: What the difference view's colour bar measures (front ends that lay the label out).
    DIFFERENCE_LABEL = "difference to start (model units)"

    def difference_colorbar(self, length: int = 256, label: bool = True) -> bytes:
        """PNG colorbar of the difference view's colour scale (``length`` px of colour ramp);
        ``label=False`` leaves the label to the caller (:attr:`DIFFERENCE_LABEL`)."""
        s = self.difference_scale
        return render.colorbar_png(
            self.difference_colormap, -s, s, self.DIFFERENCE_LABEL if label else None, length=length
        )

    # -- exports -------------------------------------------------------------------------
    def walk(
        self, direction: int | None = None, span: float = 3.0, n_frames: int = 16
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Frames of a walk, computed in one batch.

        With ``direction=None`` the walk goes from the start latent (sliders at 0) to the
        current one; with ``direction=k`` it sweeps slider ``k`` over ``±span`` σ with the
        other sliders where they are.

        Returns
        -------
        images : ndarray ``(n_frames, C, H, W)`` in ``[-1, 1]``
        probabilities : ndarray ``(n_frames,)`` or None
        steps : ndarray ``(n_frames,)``: the path parameter (fraction or σ)
        """
        if not 2 <= int(n_frames) <= 256:
            raise LatentvizError(f"a walk needs 2..256 frames, got {n_frames}")
        st = replace(self.state, grid=0)
        if direction is None:
            steps = np.linspace(0.0, 1.0, int(n_frames))
            vals = np.outer(steps, np.asarray(st.values))
        else:
            k = self._check_index(direction)
            steps = np.linspace(-float(span), float(span), int(n_frames))
            vals = np.repeat(np.asarray(st.values)[None, :], len(steps), axis=0)
            vals[:, k] = steps
        z0 = self._base_latents(st.seed, 1)
        c = self._truncation_centre
        z0 = c + (z0 - c) * st.truncation if c is not None else z0 * st.truncation
        v = torch.as_tensor(vals, dtype=torch.float32, device=z0.device)
        z = z0 + (v * self.directions.sigmas) @ self.directions.matrix
        x, p = self._forward(z)
        return x.cpu().numpy(), (p.cpu().numpy() if p is not None else None), steps

    def _walk_tiles(self, direction: int | None, span: float, n_frames: int) -> list[np.ndarray]:
        images, probs, steps = self.walk(direction, span, n_frames)
        vrange = self.display_range(self.state.window, images)
        what = "start->current" if direction is None else self.directions.names[self._check_index(direction)]
        tiles = []
        for i, img in enumerate(images):
            u8 = render.to_uint8(img, vrange)
            step = f"{steps[i]:.2f}" if direction is None else f"{steps[i]:+.1f} sd"
            top = f"p={probs[i]:.2f}" if probs is not None else "no classifier"
            tiles.append(
                render.label_image(u8, top, scale=max(1, 128 // u8.shape[1]), footer=f"{what} {step}")
            )
        return tiles

    def export_gif(
        self,
        path: str | Path | None = None,
        direction: int | None = None,
        span: float = 3.0,
        n_frames: int = 16,
        duration_ms: int = 120,
    ) -> bytes:
        """The walk as an animated GIF with the probability on every frame; written to ``path`` if given."""
        data = render.gif_bytes(self._walk_tiles(direction, span, n_frames), duration_ms=duration_ms)
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def export_video(
        self,
        path: str | Path,
        direction: int | None = None,
        span: float = 3.0,
        n_frames: int = 16,
        duration_ms: int = 120,
    ) -> Path:
        """The walk as an animation chosen by the suffix of ``path``: ``.gif`` or ``.mp4``.

        The frames are those of :meth:`export_gif`; an ``.mp4`` needs the ``video`` extra
        (:func:`latentviz.core.video.write_video`).
        """
        from latentviz.core.video import write_video

        return write_video(self._walk_tiles(direction, span, n_frames), path, duration_ms=duration_ms)

    def export_strip(
        self,
        path: str | Path | None = None,
        direction: int | None = None,
        span: float = 3.0,
        n_frames: int = 8,
    ) -> bytes:
        """The walk as one labelled PNG strip; written to ``path`` if given."""
        data = render.png_bytes(render.strip(self._walk_tiles(direction, span, n_frames)), compress_level=6)
        if path is not None:
            Path(path).write_bytes(data)
        return data

    # -- background rendering ---------------------------------------------------------------
    def worker(
        self,
        on_frame: Callable[[ExplorerState, ExplorerFrame], Any],
        on_error: Callable[[ExplorerState, BaseException], Any] | None = None,
        on_probability: Callable[[ExplorerState, float], Any] | None = None,
    ) -> LatestWinsWorker[ExplorerState, ExplorerFrame]:
        """This session's latest-wins worker (created once; the callbacks of the first call stay).

        With ``on_probability`` the frame does not wait for the classifier: ``on_frame``
        gets the image as soon as the generator and the PNG encoder are done (its
        ``probability`` None), and a second latest-wins worker computes the probability
        and calls ``on_probability(state, p)``. A front end shows ``p`` only while the
        frame of ``state`` is the one on screen, so a label never shows the probability of
        another frame; a newer frame drops an older frame's pending probability.
        """
        if self._worker is not None:
            return self._worker
        if on_probability is None or self.classifier is None:
            self._worker = LatestWinsWorker(self.render, on_frame, on_error, name="latentviz-explorer")
            return self._worker

        def probability(request: tuple[ExplorerState, ExplorerFrame]) -> float:
            return float(self.probability_of(request[1]))

        self._prob_worker = LatestWinsWorker(
            probability,
            lambda req, p: on_probability(req[0], p),
            (lambda req, exc: on_error(req[0], exc)) if on_error is not None else None,
            name="latentviz-probability",
        )

        def frame_ready(state: ExplorerState, frame: ExplorerFrame) -> None:
            on_frame(state, frame)
            if frame.probability is None and self._prob_worker is not None:
                self._prob_worker.submit((state, frame))
            elif frame.probability is not None:
                on_probability(state, frame.probability)

        self._worker = LatestWinsWorker(
            lambda st: self.render(st, probability=False), frame_ready, on_error, name="latentviz-explorer"
        )
        return self._worker

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the frame worker and the probability worker are idle."""
        ok = self._worker is None or self._worker.wait_idle(timeout)
        return ok and (self._prob_worker is None or self._prob_worker.wait_idle(timeout))

    def close(self) -> None:
        """Stop the background workers."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._prob_worker is not None:
            self._prob_worker.close()
            self._prob_worker = None
