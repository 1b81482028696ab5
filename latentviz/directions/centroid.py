"""Centroid paths (SEE-GAAN, seed 002): step through the mean latents of strata.

Real images are encoded (a VAE's posterior mean) or inverted into the latent space, then
binned by a clinical feature or a CNN prediction into strata (quantile bins by default).
The path visits the strata's mean latents in order. The first direction is the overall
one (last centroid − first); the others are the consecutive steps. The centroids, bin
edges and counts are kept in ``params`` so the exact path can be replayed
(:func:`centroid_walk`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from latentviz.bounds import Bound
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.registry import (
    ENCODER,
    LABELS,
    SEED,
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    option,
    phantom_kind,
    register_method,
)
from latentviz.errors import ArgumentError, DirectionSetMismatchError, LatentError, ShapeError

__all__ = ["CentroidPath", "centroid_path", "centroid_walk", "encode_images", "invert_images"]


def invert_images(
    generator: object,
    images: torch.Tensor,
    steps: int = 300,
    lr: float = 0.05,
    batch_size: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> torch.Tensor:
    """Latents whose renders match ``images`` in MSE (batched Adam from prior samples).

    A plain reconstruction inversion for GANs without an encoder; classifier-aware
    inversion lives in :mod:`latentviz.explain`.
    """
    out = []
    starts = range(0, len(images), batch_size)
    for i in tqdm(starts, desc="inverting", disable=not progress):
        x = images[i : i + batch_size].to(generator.device)
        z = generator.sample_latents(len(x), seed=seed + i).mul_(0.5).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        for _ in range(steps):
            loss = ((generator(z) - x) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        out.append(z.detach())
    return torch.cat(out)


def encode_images(generator: object, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Encoder latents (a VAE's posterior mean) for ``images``, batched, without a graph."""
    if not getattr(generator, "has_encoder", False):
        raise NotImplementedError(
            f"{getattr(generator, 'name', 'generator')} has no encoder; use invert_images"
        )
    with torch.inference_mode():
        return torch.cat(
            [
                generator.encode(images[i : i + batch_size]).reshape(-1, generator.latent_dim)
                for i in range(0, len(images), batch_size)
            ]
        )


def centroid_path(
    generator: object,
    latents: np.ndarray | torch.Tensor,
    values: np.ndarray | torch.Tensor,
    n_strata: int = 5,
    edges: np.ndarray | None = None,
    feature: str = "feature",
    latent_source: str = "encoder",
) -> DirectionSet:
    """Directions through the mean latents of ``n_strata`` strata of ``values``.

    Parameters
    ----------
    latents
        ``(N, D)`` latents of real images.
    values
        ``(N,)`` the stratifying feature (a clinical value, a CNN probability).
    n_strata
        Number of quantile strata (ignored when ``edges`` is given).
    edges
        Explicit inner bin edges (``n_strata - 1`` increasing values).
    feature
        Name of the feature, used for the direction names.
    latent_source
        ``"encoder"``, ``"inversion"`` or ``"given"``; recorded in ``params``.
    """
    z = latents.detach().cpu().numpy() if isinstance(latents, torch.Tensor) else np.asarray(latents)
    v = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    z, v = z.reshape(len(z), -1).astype(np.float64), v.reshape(-1).astype(np.float64)
    if len(z) != len(v):
        raise ShapeError(f"{len(z)} latents but {len(v)} values")
    if not (np.isfinite(z).all() and np.isfinite(v).all()):
        raise LatentError("latents or values contain NaN or infinite values")
    if edges is None:
        if n_strata < 2:
            raise ArgumentError("need at least two strata")
        edges = np.quantile(v, np.linspace(0, 1, n_strata + 1)[1:-1])
    edges = np.asarray(edges, np.float64)
    if np.any(np.diff(edges) <= 0):
        raise ArgumentError(f"strata edges must increase strictly, got {edges}")
    stratum = np.searchsorted(edges, v, side="right")
    counts = np.bincount(stratum, minlength=len(edges) + 1)
    if (counts == 0).any():
        raise ArgumentError(f"empty strata (counts {counts.tolist()}); use fewer strata")
    centroids = np.stack([z[stratum == s].mean(0) for s in range(len(counts))])
    steps = np.diff(centroids, axis=0)
    dirs = np.concatenate([centroids[-1:] - centroids[:1], steps])
    lengths = np.linalg.norm(dirs, axis=1)
    names = [f"{feature}: low→high"] + [f"{feature}: stratum {s}→{s + 1}" for s in range(len(steps))]
    return DirectionSet(
        dirs,
        names,
        lengths,
        "centroid",
        {
            "feature": feature,
            "latent_source": latent_source,
            "edges": edges.tolist(),
            "counts": counts.tolist(),
            "centroids": centroids.tolist(),
            "stratum_means": [float(v[stratum == s].mean()) for s in range(len(counts))],
        },
        str(getattr(generator, "sha256", "")),
        str(getattr(generator, "latent_space", "z")),
        sigmas=lengths,  # one slider unit = the full step between the centroids
    )


def centroid_walk(directions: DirectionSet, frames_per_step: int = 4) -> torch.Tensor:
    """The piecewise-linear latent path through a centroid set's strata means, ``(F, D)``."""
    if directions.method != "centroid" or "centroids" not in directions.params:
        raise DirectionSetMismatchError("centroid_walk needs a DirectionSet made by centroid_path")
    c = torch.as_tensor(np.asarray(directions.params["centroids"]), dtype=torch.float32)
    t = torch.linspace(0, 1, frames_per_step + 1)[:-1, None]
    path = [c[i] + t * (c[i + 1] - c[i]) for i in range(len(c) - 1)]
    return torch.cat([*path, c[-1:]])


@register_method
class CentroidPath(DirectionMethod):
    """Centroid paths: directions through the mean latents of strata of a known factor."""

    name = "centroid"
    label = "centroid path (phantom strata)"
    order = 50
    summary = "supervised: phantom images encoded (VAE) or inverted (GAN), latents averaged per stratum"
    needs = frozenset({LABELS})
    uses = frozenset({ENCODER})
    evaluated_by_default = False  # a GAN inverts every phantom image: slow

    @dataclass
    class Options(MethodOptions):
        factors: tuple[str, ...] | None = option(
            None, "factor", "stratifying factor (the first one given; None: z_position)", many=True
        )
        n_samples: int = option(2000, "images", "phantom images", bound=Bound(2, 1_000_000), flag="--samples")
        n_strata: int = option(5, "strata", "strata of the factor", bound=Bound(2, 1000), flag="--strata")
        seed: int = option(0, "seed", "seed of the phantom images and of the inversion", bound=SEED)

    def run(self, generator: Any, options: Options, inputs: DiscoveryInputs) -> DirectionSet:
        from latentviz.data.phantoms import generate

        kind = inputs.kind or phantom_kind(generator)
        feature = (list(options.factors) if options.factors else ["z_position"])[0]
        size = int(generator.image_shape[-1])
        batch = generate(kind, options.n_samples, size=size, seed=options.seed + 7)
        images = torch.as_tensor(batch.images)
        if getattr(generator, "has_encoder", False):
            latents, source = encode_images(generator, images), "encoder (posterior mean) of phantom images"
        else:
            latents = invert_images(generator, images, seed=options.seed, progress=inputs.progress)
            source = "MSE inversion of phantom images"
        return centroid_path(
            generator,
            latents,
            batch.factors[feature],
            options.n_strata,
            feature=feature,
            latent_source=source,
        )
