"""The :class:`PhantomBatch` container returned by every phantom renderer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PhantomBatch"]


@dataclass
class PhantomBatch:
    """A batch of phantom images with their ground truth.

    Attributes
    ----------
    kind
        ``"cxr"``, ``"ct"`` or ``"brain"``.
    images
        float32 ``(n, 1, size, size)`` in ``[-1, 1]``: the model input.
    raw
        float32 ``(n, size, size)`` in modality units (HU for ``ct``; normalised
        brightness in ``[0, 1]`` for ``cxr``; template intensity for ``brain``).
    labels
        int64 ``(n,)``; 1 = positive (lesion present).
    masks
        bool ``(n, size, size)``: the pathology mask (empty for negatives).
    factors
        ``{name: float32 (n,)}``: the continuous ground-truth generative factors.
    window
        ``(center, width)`` in ``raw`` units that maps ``raw`` to ``images``:
        ``images = clip(2 * (raw - (center - width / 2)) / width - 1, -1, 1)``.
    seed
        The seed the batch was rendered with.
    """

    kind: str
    images: np.ndarray
    raw: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    factors: dict[str, np.ndarray]
    window: tuple[float, float]
    seed: int = 0
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def size(self) -> int:
        """Image side length in pixels."""
        return int(self.raw.shape[-1])

    def subset(self, index: np.ndarray | slice | list[int]) -> PhantomBatch:
        """The samples at ``index`` (a new batch sharing ``kind``, ``window`` and ``seed``)."""
        return PhantomBatch(
            kind=self.kind,
            images=self.images[index],
            raw=self.raw[index],
            labels=self.labels[index],
            masks=self.masks[index],
            factors={k: v[index] for k, v in self.factors.items()},
            window=self.window,
            seed=self.seed,
            meta=dict(self.meta),
        )
