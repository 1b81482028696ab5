"""SeFa: closed-form factorisation of the first latent layer (Shen & Zhou, CVPR 2021).

With ``A`` the ``(M, D)`` weight of the layer that consumes z, SeFa maximises
``Σ_i ‖A n_i‖²`` over unit ``n_i`` (paper eq. 4-5): the directions are the eigenvectors
of ``AᵀA``, ranked by eigenvalue. As in the reference implementation, each output unit's
weight vector (a row of ``A``, a column of ``Aᵀ``) is normalised to unit length first.
The reference code calls ``np.linalg.eig`` and does not sort; we use ``eigh`` (``AᵀA`` is
symmetric) and sort descending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latentviz.bounds import Bound
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.latent_layer import find_latent_layer, latent_weight, layer_kind
from latentviz.directions.registry import (
    LATENT_LAYER,
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    option,
    register_method,
)
from latentviz.errors import ArgumentError, ShapeError

__all__ = ["SeFa", "sefa", "sefa_eigen"]


def sefa_eigen(weight: torch.Tensor | np.ndarray, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors (rows) of ``ÂᵀÂ`` for a ``(M, D)`` weight.

    Each eigenvector's sign is fixed so that its largest-magnitude entry is positive.
    """
    a = (
        weight.detach().cpu().double().numpy()
        if isinstance(weight, torch.Tensor)
        else np.asarray(weight, float)
    )
    if normalize:
        a = a / np.clip(np.linalg.norm(a, axis=1, keepdims=True), 1e-12, None)
    values, vectors = np.linalg.eigh(a.T @ a)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order].T
    signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)])
    return values, vectors * signs[:, None]


def sefa(generator: object, k: int | None = None, normalize: bool = True) -> DirectionSet:
    """SeFa directions of ``generator``: the top ``k`` (default all ``D``) eigenvectors.

    Parameters
    ----------
    generator
        A :class:`latentviz.models.Generator` (its ``module.latent_layer`` is read).
    k
        How many directions to keep.
    normalize
        Normalise each output unit's weights first (the reference implementation does).

    Returns
    -------
    DirectionSet
        ``scores`` are the eigenvalues.

    Examples
    --------
    >>> ds = sefa(zoo.load("ct-dcgan"), k=10)  # doctest: +SKIP
    """
    layer = find_latent_layer(generator)
    weight = latent_weight(layer)
    dim = int(getattr(generator, "latent_dim", weight.shape[1]))
    if weight.shape[1] != dim:
        raise ShapeError(f"latent layer takes {weight.shape[1]} inputs but the latent has {dim}")
    values, vectors = sefa_eigen(weight, normalize)
    k = dim if k is None else int(k)
    if not 1 <= k <= dim:
        raise ArgumentError(f"k must be between 1 and the latent size {dim}, got {k}")
    return DirectionSet(
        vectors[:k],
        [f"sefa {i}" for i in range(k)],
        values[:k],
        "sefa",
        {
            "layer": layer_kind(layer) or type(layer).__name__,
            "normalize": normalize,
            "weight_shape": list(weight.shape),
        },
        str(getattr(generator, "sha256", "")),
        str(getattr(generator, "latent_space", "z")),
    )


@register_method
class SeFa(DirectionMethod):
    """SeFa (Shen & Zhou 2021): eigenvectors of ``AᵀA`` for the first layer's weight ``A``."""

    name = "sefa"
    label = "SeFa (Shen & Zhou 2021)"
    order = 10
    summary = "closed form: top eigenvectors of the latent layer's weight (no sampling, no training)"
    needs = frozenset({LATENT_LAYER})
    interactive = True

    @dataclass
    class Options(MethodOptions):
        k: int | None = option(None, "directions", "eigenvectors kept (None: all D)", bound=Bound(1, None))
        normalize: bool = option(True, "normalise", "normalise each output unit's weights first")

    def evaluation_options(self, generator: Any, k: int) -> dict[str, Any]:
        return {"k": min(int(k), int(generator.latent_dim))}  # at most D eigenvectors exist

    def run(self, generator: object, options: Options, inputs: DiscoveryInputs) -> DirectionSet:
        return sefa(generator, options.k, normalize=options.normalize)
