"""One entry point over every method: ``discover(generator, method, ...) -> DirectionSet``.

The supervised methods need labels. For a zoo model trained on a phantom they come from
the phantom's ground truth: ``probe`` labels prior samples with a factor regressor
(:class:`FactorRegressor`, trained on the same phantom), and ``centroid`` encodes (VAE) or
inverts (GAN) fresh phantom images whose factors are known exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from latentviz.directions.centroid import centroid_path, encode_images, invert_images
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.factor_regressor import FactorRegressor, anatomy_factors
from latentviz.directions.ganspace import ganspace
from latentviz.directions.probes import probe_directions
from latentviz.directions.sefa import sefa
from latentviz.directions.voynov import voynov
from latentviz.errors import ArgumentError, ModelFileError

__all__ = ["METHODS", "discover", "phantom_kind"]

METHODS = ("sefa", "ganspace", "voynov", "probe", "centroid")


def phantom_kind(generator: object) -> str:
    """The phantom a zoo generator was trained on (its config's ``data``, or its name prefix)."""
    from latentviz.data.phantoms import KINDS

    config = getattr(generator, "config", {}) or {}
    for cand in (str(config.get("data", "")), str(getattr(generator, "name", "")).split("-")[0]):
        if cand in KINDS:
            return cand
    raise ModelFileError(
        f"cannot tell which phantom {getattr(generator, 'name', 'the model')} was trained on; "
        "supervised methods need phantom labels (pass kind=)"
    )


def discover(
    generator,
    method: str,
    k: int | None = None,
    *,
    factors: Sequence[str] | None = None,
    regressor: FactorRegressor | None = None,
    kind: str | None = None,
    n_samples: int | None = None,
    layer: str | None = None,
    steps: int = 3000,
    variant: str = "proj",
    reconstructor: str = "lenet",
    batch_size: int = 128,
    lr: float = 1e-4,
    baselines: bool = True,
    baseline_steps: int | None = None,
    checkpoint: str | None = None,
    precision: str = "auto",
    n_strata: int = 5,
    seed: int = 0,
    progress: bool = True,
) -> DirectionSet:
    """Run one discovery method.

    Parameters
    ----------
    method
        ``"sefa"``, ``"ganspace"``, ``"voynov"``, ``"probe"`` or ``"centroid"``.
    k
        Number of directions (sefa, ganspace, voynov).
    factors
        Factors to probe / the stratifying factor for ``centroid`` (first one used).
        Default: the phantom's anatomical factors (probe) or ``z_position`` (centroid).
    regressor
        Factor regressor for ``probe`` labels (trained on the phantom when ``None``).
    n_samples
        Prior samples (ganspace: 100 000; probe: 3000) or phantom images (centroid: 2000).
    layer, steps, variant, reconstructor, batch_size, lr, baselines, baseline_steps, checkpoint, precision
        Method options (see :func:`ganspace` and :func:`voynov`).
    """
    if method not in METHODS:
        raise ArgumentError(f"method must be one of {METHODS}, got {method!r}")
    if method == "sefa":
        return sefa(generator, k)
    if method == "ganspace":
        return ganspace(generator, k or 10, n_samples or 100_000, layer=layer, seed=seed, progress=progress)
    if method == "voynov":
        return voynov(
            generator,
            k,
            variant,
            steps=steps,
            baselines=baselines,
            baseline_steps=baseline_steps,
            checkpoint=checkpoint,
            reconstructor=reconstructor,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            precision=precision,
            progress=progress,
        )
    kind = kind or phantom_kind(generator)
    size = int(generator.image_shape[-1])
    if method == "probe":
        names = list(factors or anatomy_factors(kind))
        if regressor is None:
            regressor = FactorRegressor.for_phantom(
                kind, size=size, names=names, seed=seed, progress=progress
            )
        z = generator.sample_latents(n_samples or 3000, seed=seed)
        values = {}
        for i in range(0, len(z), 512):
            part = regressor(generator.generate(z[i : i + 512]))
            for n in names:
                values.setdefault(n, []).append(torch.as_tensor(part[n]))
        targets = {n: torch.cat(v).numpy() for n, v in values.items()}
        r2 = {n: round(regressor.r2.get(n, float("nan")), 3) for n in names}
        return probe_directions(generator, z, targets, label_source=f"factor regressor on {kind} (R² {r2})")
    from latentviz.data.phantoms import generate

    feature = (list(factors) if factors else ["z_position"])[0]
    batch = generate(kind, n_samples or 2000, size=size, seed=seed + 7)
    images = torch.as_tensor(batch.images)
    if getattr(generator, "has_encoder", False):
        latents, source = encode_images(generator, images), "encoder (posterior mean) of phantom images"
    else:
        latents = invert_images(generator, images, seed=seed, progress=progress)
        source = "MSE inversion of phantom images"
    return centroid_path(
        generator, latents, batch.factors[feature], n_strata, feature=feature, latent_source=source
    )
