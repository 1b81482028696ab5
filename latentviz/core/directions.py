"""Bind a direction set (or a plain matrix) to a generator, once, for fast slider shifts.

The hot path shifts a latent by ``Σ_k value_k · σ_k · d_k``. Everything that can be
prepared ahead (the device tensor of unit rows, the σ scales, the check that the set
belongs to this model) is done here, so the slider path does no re-normalising and no
checks. Names, notes and the file format stay with
:class:`latentviz.directions.DirectionSet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from latentviz.directions import DirectionSet
from latentviz.errors import DirectionSetMismatchError, ShapeError
from latentviz.models.generator import Generator

__all__ = ["BoundDirections", "bind_directions"]


@dataclass
class BoundDirections:
    """A :class:`DirectionSet` plus its tensors on the generator's device.

    Attributes
    ----------
    set
        The direction set (names, scores, notes, provenance; renamed in place).
    matrix
        ``(K, D)`` float32 unit rows on the generator's device.
    sigmas
        ``(K,)`` float32: one slider unit (σ) of each direction, in latent units.
    """

    set: DirectionSet
    matrix: torch.Tensor
    sigmas: torch.Tensor

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def names(self) -> list[str]:
        return list(self.set.names or [])

    def label(self, k: int) -> str:
        """``name (score)`` for a slider label (just the name for a plain matrix)."""
        if self.set.method == "matrix":
            return self.set.names[k]
        return f"{self.set.names[k]} ({float(self.set.scores[k]):.3g})"


def bind_directions(
    generator: Generator,
    directions: DirectionSet | np.ndarray | torch.Tensor,
    names: Sequence[str] | None = None,
) -> BoundDirections:
    """Check ``directions`` against ``generator`` and prepare them for the slider path.

    Parameters
    ----------
    generator
        The model the sliders drive.
    directions
        A :class:`DirectionSet` (refused when built for another model or latent space)
        or a plain ``(K, D)`` matrix, wrapped into a set bound to this model (its rows
        are normalised once, by :class:`DirectionSet`).
    names
        Slider names for a plain matrix (default ``d0, d1, …``).

    Raises
    ------
    DirectionSetMismatchError
        If the set was built for another model (checksum), latent space or latent size.
    ShapeError
        If a plain matrix is not ``(K, latent_dim)`` or holds a zero row.
    """
    if isinstance(directions, DirectionSet):
        directions.check_compatible(generator)
        ds = directions
    else:
        if isinstance(directions, torch.Tensor):
            directions = directions.detach().to("cpu").numpy()
        try:
            arr = np.asarray(directions, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ShapeError(f"directions must be a DirectionSet or a (K, D) matrix ({exc})") from exc
        arr = arr[None, :] if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[1] != generator.latent_dim:
            raise DirectionSetMismatchError(
                f"directions have shape {arr.shape}; {generator.name} needs (K, {generator.latent_dim}) "
                f"for its latent of shape {generator.latent_shape}"
            )
        k = arr.shape[0]
        ds = DirectionSet(
            arr,
            list(names) if names is not None else [f"d{i}" for i in range(k)],
            method="matrix",
            model_sha256=generator.sha256,
            latent_space=generator.latent_space,
        )
    dev = generator.device
    return BoundDirections(
        set=ds,
        matrix=torch.as_tensor(ds.directions, dtype=torch.float32, device=dev).contiguous(),
        sigmas=torch.as_tensor(ds.sigmas, dtype=torch.float32, device=dev),
    )
