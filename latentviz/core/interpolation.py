"""The UI-free state behind an interpolation player.

:class:`InterpolationSession` computes every frame of a straight latent path in one
batch (:func:`latentviz.explain.interpolate`, classifier on the same batch), then
pre-renders, per frame, the image, the per-frame difference and the accumulating
absolute difference as PNG bytes, so scrubbing and playing only look bytes up.
For an inverted image the default path is medXGAN's ``(z1*, 0) → (z1*, z2*)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from latentviz.core import loading, render
from latentviz.errors import LatentvizError
from latentviz.explain import Interpolation, interpolate
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["InterpolationFrame", "InterpolationSession"]


@dataclass
class InterpolationFrame:
    """One step of the path, ready to show."""

    index: int
    alpha: float
    png: bytes
    step_png: bytes
    cumulative_png: bytes
    probability: float | None


class InterpolationSession:
    """Frames, probabilities and differences along ``z(α) = (1 − α) z_start + α z_end``.

    Parameters
    ----------
    generator
        The generator.
    start, end
        Latents ``(D,)`` or ``(1, D)``. For a conditional generator ``start=None`` means
        the negative realisation of ``end``: ``(z1, 0)`` (medXGAN's path).
    classifier
        Optional: its target probability is computed for every frame.
    n_frames
        Frames along the path (α from 0 to 1 inclusive).
    target
        Class whose probability is reported.
    step_colormap, cumulative_colormap
        Matplotlib colormaps of the signed per-frame difference (default
        :data:`~latentviz.core.render.SIGNED_COLORMAP`) and of the accumulated
        ``|difference|`` (default :data:`~latentviz.core.render.MAGNITUDE_COLORMAP`;
        ``"jet"`` for medXGAN's look); the colorbars use the same maps.
    """

    def __init__(
        self,
        generator: Generator,
        start: torch.Tensor | None,
        end: torch.Tensor,
        classifier: Classifier | None = None,
        n_frames: int = 32,
        target: int | None = None,
        step_colormap: str = render.SIGNED_COLORMAP,
        cumulative_colormap: str = render.MAGNITUDE_COLORMAP,
    ) -> None:
        self.step_colormap = render.check_colormap(step_colormap)
        self.cumulative_colormap = render.check_colormap(cumulative_colormap)
        if not 2 <= int(n_frames) <= 512:
            raise LatentvizError(f"an interpolation needs 2..512 frames, got {n_frames}")
        self.generator = generator
        self.classifier = classifier
        self.target = target
        end = generator.check_latents(torch.as_tensor(end))
        if start is None:
            if not generator.is_conditional:
                raise LatentvizError(
                    f"{generator.name} is not a conditional (z1, z2) model: give a start latent explicitly"
                )
            z1, _ = generator.split(end)
            start = generator.join(z1, None)
        start = generator.check_latents(torch.as_tensor(start))
        if start.shape[0] != 1 or end.shape[0] != 1:
            raise LatentvizError("interpolate one path: start and end must be single latents")
        self.start, self.end = start[0], end[0]
        self.n_frames = int(n_frames)
        self.path: Interpolation = interpolate(
            generator, self.start, self.end, self.n_frames, classifier, target
        )
        self._frames: list[InterpolationFrame | None] = [None] * self.n_frames
        cum = self.path.cumulative_difference.abs()
        self.cumulative_scale = float(cum[-1].max()) or 1.0  # the final frame holds the largest sum
        self.step_scale = float(self.path.step_difference.abs().max()) or 1.0
        self.inversion: object | None = None  # set by from_image / from_inversion

    @classmethod
    def from_inversion(
        cls, generator: Generator, inversion: object, classifier: Classifier | None = None, n_frames: int = 32
    ) -> InterpolationSession:
        """medXGAN's path for an inverted image: ``(z1*, 0) → (z1*, z2*)``."""
        z = getattr(inversion, "z", inversion)
        session = cls(generator, None, torch.as_tensor(z)[:1], classifier, n_frames)
        session.inversion = inversion if hasattr(inversion, "z") else None
        return session

    @classmethod
    def from_image(
        cls,
        generator: Generator,
        image: torch.Tensor | np.ndarray | str | Path,
        classifier: Classifier,
        n_frames: int = 32,
        *,
        window: Any = None,
        restarts: int = 2,
        steps: int = 100,
        refine_evals: int = 300,
        seed: int = 0,
        callback: Any = None,
    ) -> InterpolationSession:
        """Invert ``image`` (:func:`latentviz.explain.invert`) and follow medXGAN's
        ``(z1*, 0) → (z1*, z2*)`` path of its latent. ``callback`` is the inversion's."""
        from latentviz.explain import invert

        x = loading.as_model_image(image, generator, window)
        inv = invert(
            generator,
            classifier,
            x,
            restarts=restarts,
            steps=steps,
            refine="lbfgs" if refine_evals > 0 else None,
            refine_evals=max(1, refine_evals),
            seed=seed,
            progress=False,
            callback=callback,
        )
        return cls.from_inversion(generator, inv, classifier, n_frames)

    @classmethod
    def from_seeds(
        cls,
        generator: Generator,
        start_seed: int = 0,
        end_seed: int = 1,
        classifier: Classifier | None = None,
        n_frames: int = 32,
    ) -> InterpolationSession:
        """The straight path between the prior samples of two seeds."""
        return cls(
            generator,
            generator.sample_latents(1, seed=start_seed),
            generator.sample_latents(1, seed=end_seed),
            classifier,
            n_frames,
        )

    @classmethod
    def from_zoo(
        cls,
        model: str | Generator,
        classifier: str | Classifier | None = None,
        image: torch.Tensor | np.ndarray | str | Path | None = None,
        n_frames: int = 32,
        *,
        index: int = 0,
        seed: int = 0,
        **inversion: Any,
    ) -> InterpolationSession:
        """The one-liner behind the player.

        For a conditional (medXGAN) model: invert ``image`` (default: a positive phantom
        sample) and follow its ``z2 → 0`` path; ``classifier=None`` takes the zoo classifier
        of the generator's phantom. For any other model: the path between the prior samples
        of seeds ``seed`` and ``seed + 1``.
        """
        g = loading.load_generator(model)
        c = loading.load_classifier(classifier) if classifier is not None else loading.default_classifier(g)
        if not g.is_conditional:
            if image is not None:
                raise LatentvizError(f"{g.name} is not a conditional model; an image path needs one")
            return cls.from_seeds(g, seed, seed + 1, c, n_frames)
        if c is None:
            raise LatentvizError(f"{g.name} has no zoo classifier; pass classifier=")
        if image is None:
            from latentviz.data.phantoms import generate

            kind = loading.phantom_kind(g) or "cxr"
            labels = np.ones(index + 1, dtype=np.int64)
            batch = generate(kind, index + 1, size=g.image_shape[-1], seed=seed, labels=labels)
            image = torch.as_tensor(batch.images[index : index + 1])
        return cls.from_image(g, image, c, n_frames, seed=seed, **inversion)

    @property
    def probabilities(self) -> np.ndarray | None:
        """``(T,)`` target probability per frame."""
        p = self.path.probabilities
        return None if p is None else p.numpy()

    @property
    def alphas(self) -> np.ndarray:
        return self.path.alphas.numpy()

    def pixel_profile(self, row: int, col: int) -> np.ndarray:
        """``(T,)`` intensity (model units, channel mean) of pixel ``(row, col)`` along the path."""
        _, h, w = self.path.frames.shape[1:]
        if not (0 <= int(row) < h and 0 <= int(col) < w):
            raise LatentvizError(f"pixel ({row}, {col}) is outside the {h} x {w} frame")
        return self.path.frames[:, :, int(row), int(col)].mean(1).numpy()

    def frame(self, index: int) -> InterpolationFrame:
        """Frame ``index`` rendered (cached): image, per-frame and accumulating difference."""
        if not 0 <= int(index) < self.n_frames:
            raise LatentvizError(f"frame {index} out of range 0..{self.n_frames - 1}")
        i = int(index)
        f = self._frames[i]
        if f is None:
            p = self.path
            step = render.apply_colormap(
                render.signed_to_uint8(p.step_difference[i], self.step_scale), self.step_colormap
            )
            cum = p.cumulative_difference[i].mean(0)
            heat = render.apply_colormap(
                render.to_uint8(cum, (0.0, self.cumulative_scale)), self.cumulative_colormap
            )
            f = InterpolationFrame(
                index=i,
                alpha=float(p.alphas[i]),
                png=render.png_bytes(render.to_uint8(p.frames[i])),
                step_png=render.png_bytes(step),
                cumulative_png=render.png_bytes(heat),
                probability=None if p.probabilities is None else float(p.probabilities[i]),
            )
            self._frames[i] = f
        return f

    def render_all(self) -> list[InterpolationFrame]:
        """Every frame rendered (the player then only looks bytes up)."""
        return [self.frame(i) for i in range(self.n_frames)]

    #: What each colour bar measures (front ends that lay the labels out themselves).
    COLORBAR_LABELS: ClassVar[dict[str, str]] = {
        "step": "frame − previous frame",
        "cumulative": "accumulated |difference|",
    }

    def colorbars(self, length: int = 256, labels: bool = True) -> dict[str, bytes]:
        """PNG colorbars of the per-frame and the accumulating difference (``length`` px ramps);
        ``labels=False`` leaves the labels (:attr:`COLORBAR_LABELS`) to the caller."""
        name = lambda key: self.COLORBAR_LABELS[key] if labels else None  # noqa: E731
        return {
            "step": render.colorbar_png(
                self.step_colormap, -self.step_scale, self.step_scale, name("step"), length=length
            ),
            "cumulative": render.colorbar_png(
                self.cumulative_colormap, 0.0, self.cumulative_scale, name("cumulative"), length=length
            ),
        }

    def _tiles(self, n: int | None = None) -> list[np.ndarray]:
        idx = (
            np.arange(self.n_frames)
            if n is None
            else np.linspace(0, self.n_frames - 1, n).round().astype(int)
        )
        tiles = []
        for i in idx:
            u8 = render.to_uint8(self.path.frames[i])
            p = self.path.probabilities
            top = f"p={float(p[i]):.2f}" if p is not None else "no classifier"
            tiles.append(
                render.label_image(
                    u8, top, scale=max(1, 128 // u8.shape[1]), footer=f"a={self.alphas[i]:.2f}"
                )
            )
        return tiles

    def strip_png(self, n: int | None = None) -> bytes:
        """``n`` frames (default all) in one labelled PNG strip."""
        return render.png_bytes(render.strip(self._tiles(n)))

    def export_gif(self, path: str | Path | None = None, duration_ms: int = 100) -> bytes:
        """The path as a GIF with the probability on every frame; written to ``path`` if given."""
        data = render.gif_bytes(self._tiles(), duration_ms=duration_ms)
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def export_video(self, path: str | Path, duration_ms: int = 100) -> Path:
        """The path as an animation chosen by the suffix of ``path``: ``.gif`` or ``.mp4``.

        Each frame carries its probability and α, as in :meth:`export_gif`. An ``.mp4``
        needs the ``video`` extra (:func:`latentviz.core.video.write_video`).
        """
        from latentviz.core.video import write_video

        return write_video(self._tiles(), path, duration_ms=duration_ms)
