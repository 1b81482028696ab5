"""Latent Shift (Cohen et al., "Gifsplanation", MIDL 2021; REFERENCES §2), batched.

For an autoencoder/VAE generator with an encoder: ``z = E(x)``; one gradient
``dz = ∂ f(D(z)) / ∂z`` of the target probability through the decoder; a search over
``λ ≤ 0`` (all candidates in one decoder batch) for the smallest shift at which the
prediction drops below ``min(0.5, f(D(z)) − min_drop)``; then ``n_frames`` frames
``D(z + λ_j dz)`` for ``λ_j`` from 0 to that λ. The heat map is the mean absolute
difference between consecutive frames.

latentviz shifts along the unit gradient ``dz / ‖dz‖``, so λ is in latent units;
the search range defaults to ``2 √D``.
"""

from __future__ import annotations

import math
import time
from typing import ClassVar

import torch

from latentviz.bounds import Bound, RealBound
from latentviz.errors import ArgumentError, ShapeError
from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.inversion import fidelity_report
from latentviz.explain.registry import Explainer, Option, option
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["LatentShift"]


class LatentShift(Explainer):
    """Latent Shift counterfactual heat maps for generators with an encoder.

    Parameters
    ----------
    generator
        A VAE or autoencoder wrapped as a :class:`~latentviz.models.Generator` with ``encoder``.
    classifier
        The classifier to explain.
    """

    name = "latent_shift"
    key = "latent_shift"
    label = "Latent Shift"
    needs = frozenset({"autoencoder"})
    options: ClassVar[dict[str, Option]] = {
        "n_frames": option(10, "frames", "λ values of the sweep (Cohen et al.: 10)", Bound(2, 256)),
        "search_steps": option(24, "search steps", "candidate λ of the search", Bound(1, 1024)),
        "search_max": option(None, "search range", "largest |λ| (None: 2 √D)", RealBound(0.0, None)),
        "min_drop": option(0.1, "min drop", "probability drop that ends the search", RealBound(0.0, 1.0)),
    }

    @classmethod
    def build(
        cls, classifier: Classifier, *, generator: object = None, autoencoder: object = None
    ) -> LatentShift:
        return cls(autoencoder, classifier)  # type: ignore[arg-type]

    def __init__(self, generator: Generator, classifier: Classifier) -> None:
        if not generator.has_encoder:
            raise ShapeError(
                f"Latent Shift needs a generator with an encoder (VAE/autoencoder); {generator.name} has none"
            )
        self.generator = generator
        self.classifier = classifier

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            z = self.generator.encode(x)
        z = z[0] if isinstance(z, (tuple, list)) else z
        return z.reshape(x.shape[0], *self.generator.latent_shape)

    def attribute(
        self,
        inputs: torch.Tensor,
        target: int | None = None,
        n_frames: int = 10,
        search_steps: int = 24,
        search_max: float | None = None,
        min_drop: float = 0.1,
    ) -> Attribution:
        """Heat maps ``(N, C, H, W)`` (non-negative).

        Parameters
        ----------
        inputs
            ``(N, C, H, W)`` images in [-1, 1].
        target
            Class whose probability is shifted down.
        n_frames
            λ values of the sweep (Cohen et al.: 10).
        search_steps, search_max
            Candidate λ = −search_max · k / search_steps, k = 1 … search_steps.
        min_drop
            The prediction has "dropped" at ``f ≤ min(0.5, f0 − min_drop)``.

        Returns
        -------
        Attribution
            ``extras``: ``frames`` ``(N, n_frames, C, H, W)``, ``frame_probability``,
            ``lambdas`` ``(N, n_frames)``, ``lambda_star``, ``dropped`` (the search found a λ),
            ``probability_start`` / ``probability_end`` (``f(D(z))`` and the last frame's), and
            the reconstruction ``D(E(x))``'s ``reconstruction_psnr`` / ``reconstruction_ssim`` /
            ``low_fidelity`` (:func:`~latentviz.explain.inversion.fidelity_report`): the frames
            explain ``D(E(x))``, not ``x``.
        """

        t0 = time.perf_counter()
        check_images(inputs)
        if n_frames < 2 or search_steps < 1:
            raise ArgumentError("n_frames must be >= 2 and search_steps >= 1")
        g, clf = self.generator, self.classifier
        x = inputs.to(g.device).clone()
        t = clf.resolve_target(target, per_sample=False)  # one class per batch
        n = x.shape[0]
        z = self._encode(x).requires_grad_(True)
        with torch.enable_grad():
            p0 = clf.probability(g(z), t)
            (dz,) = torch.autograd.grad(p0.sum(), z)
        p0 = p0.detach()
        flat = dz.flatten(1)
        dz = (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)).view_as(dz)
        z = z.detach()
        lat_dims = (1,) * (z.ndim - 1)

        smax = 2.0 * math.sqrt(g.latent_dim) if search_max is None else float(search_max)
        cand = -smax * torch.arange(1, search_steps + 1, device=z.device, dtype=z.dtype) / search_steps
        zs = z.unsqueeze(1) + cand.view(1, -1, *lat_dims) * dz.unsqueeze(1)
        with torch.no_grad():
            p = clf.probability(g.generate(zs.flatten(0, 1)), t).view(n, search_steps)
        threshold = torch.minimum(torch.full_like(p0, 0.5), p0 - min_drop)
        below = p <= threshold.unsqueeze(1)
        dropped = below.any(1)
        first = torch.where(dropped, below.float().argmax(1), torch.full_like(p0, search_steps - 1).long())
        lam_star = cand[first]

        lambdas = lam_star.unsqueeze(1) * torch.linspace(0, 1, n_frames, device=z.device).unsqueeze(0)
        zf = z.unsqueeze(1) + lambdas.view(n, n_frames, *lat_dims) * dz.unsqueeze(1)
        with torch.no_grad():
            frames = g.generate(zf.flatten(0, 1))
            fp = clf.probability(frames, t).view(n, n_frames)
        frames = frames.view(n, n_frames, *frames.shape[1:])
        heat = (frames[:, 1:] - frames[:, :-1]).abs().mean(1)
        fid = fidelity_report(clf, x, frames[:, 0].clamp(-1, 1), t)  # frame 0 is D(E(x)) (λ = 0)
        return Attribution(
            map=heat.cpu(),
            method=self.name,
            options={
                "target": t,
                "n_frames": n_frames,
                "search_steps": search_steps,
                "search_max": smax,
                "min_drop": min_drop,
            },
            seconds=time.perf_counter() - t0,
            extras={
                "frames": frames.cpu(),
                "frame_probability": fp.cpu(),
                "lambdas": lambdas.cpu(),
                "lambda_star": lam_star.cpu(),
                "dropped": dropped.cpu(),
                "probability_start": p0.cpu(),
                "probability_end": fp[:, -1].cpu(),
                "reconstruction_psnr": fid["psnr"],
                "reconstruction_ssim": fid["ssim"],
                "low_fidelity": fid["low_fidelity"],
            },
        )
