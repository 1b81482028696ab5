"""Baseline direction sets: random unit directions and the coordinate axes.

A discovery method is only evidence if it beats directions that were not discovered at
all. These two sets are scored exactly like the others (``latentviz evaluate directions
--methods sefa voynov random axes``): factor recovery, |Spearman|, leakage and effect of
each walk. They are the direction-set counterparts of Voynov–Babenko's frozen random and
axis-aligned matrices, whose RCA alone could not tell the methods apart on ct-dcgan.

Each direction's σ is the standard deviation of the generator's own latents projected on
it (1 for every unit direction of an N(0, I) latent), so a slider step means the same in
every latent space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latentviz.bounds import Bound
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.registry import (
    SEED,
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    option,
    register_method,
)
from latentviz.errors import ArgumentError

__all__ = ["AxisDirections", "RandomDirections", "axis_directions", "random_directions"]

#: Latents drawn to measure each direction's σ.
SIGMA_SAMPLES = 2048


def _flat_latents(generator: Any, n: int, seed: int) -> np.ndarray:
    with torch.no_grad():
        z = generator.sample_latents(n, seed=seed)
    return z.reshape(n, -1).detach().cpu().double().numpy()


def _set(generator: Any, vectors: np.ndarray, method: str, names: list[str], params: dict) -> DirectionSet:
    z = _flat_latents(generator, SIGMA_SAMPLES, seed=12_345)
    if z.shape[1] != vectors.shape[1]:
        raise ArgumentError(f"the latent has {z.shape[1]} values, the directions {vectors.shape[1]}")
    sigmas = np.clip((z @ vectors.T).std(axis=0), 1e-6, None)
    return DirectionSet(
        vectors,
        names,
        None,
        method,
        params | {"sigma_samples": SIGMA_SAMPLES},
        str(getattr(generator, "sha256", "")),
        str(getattr(generator, "latent_space", "z")),
        sigmas,
    )


def random_directions(generator: Any, k: int = 10, seed: int = 0) -> DirectionSet:
    """``k`` directions drawn uniformly on the unit sphere of ``generator``'s latent.

    Examples
    --------
    >>> ds = random_directions(zoo.load("ct-dcgan"), k=32, seed=1)  # doctest: +SKIP
    """
    k = int(k)
    if k < 1:
        raise ArgumentError(f"k must be at least 1, got {k}")
    d = np.random.default_rng(int(seed)).standard_normal((k, int(generator.latent_dim)))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return _set(generator, d, "random", [f"random {i}" for i in range(k)], {"seed": int(seed)})


def axis_directions(generator: Any, k: int | None = None) -> DirectionSet:
    """The first ``k`` (default all ``D``) coordinate axes of ``generator``'s latent."""
    dim = int(generator.latent_dim)
    k = dim if k is None else int(k)
    if not 1 <= k <= dim:
        raise ArgumentError(f"k must be between 1 and the latent size {dim}, got {k}")
    return _set(generator, np.eye(dim)[:k], "axes", [f"axis {i}" for i in range(k)], {})


@register_method
class RandomDirections(DirectionMethod):
    """Random unit directions: the baseline a discovery method must beat."""

    name = "random"
    label = "random directions (baseline)"
    order = 90
    summary = "baseline: directions drawn uniformly on the unit sphere of the latent (nothing discovered)"

    @dataclass
    class Options(MethodOptions):
        k: int = option(10, "directions", "random directions drawn", bound=Bound(1, 4096))
        seed: int = option(0, "seed", "seed of the draw", bound=SEED)

    def run(self, generator: object, options: Options, inputs: DiscoveryInputs) -> DirectionSet:
        return random_directions(generator, options.k, options.seed)


@register_method
class AxisDirections(DirectionMethod):
    """The coordinate axes of the latent: the other baseline a discovery method must beat."""

    name = "axes"
    label = "coordinate axes (baseline)"
    order = 91
    summary = "baseline: the first k coordinate axes of the latent (nothing discovered)"

    @dataclass
    class Options(MethodOptions):
        k: int | None = option(None, "directions", "axes kept (None: all D)", bound=Bound(1, 4096))

    def evaluation_options(self, generator: Any, k: int) -> dict[str, Any]:
        return {"k": min(int(k), int(generator.latent_dim))}

    def run(self, generator: object, options: Options, inputs: DiscoveryInputs) -> DirectionSet:
        return axis_directions(generator, options.k)
