"""Strip grids: each direction walked over a range of shifts, for a few seeds, labelled.

Every frame is titled with its shift (σ units) and, when a factor read-out is given, the
value of the direction's factor in that frame, so a reader can see what changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.scoring import intervention_walks
from latentviz.errors import ShapeError

__all__ = ["strip_grid"]


def strip_grid(
    generator,
    directions: DirectionSet,
    keys: Sequence[int | str] | None = None,
    shifts: Sequence[float] = (-3, -2, -1, 0, 1, 2, 3),
    seeds: Sequence[int] = (0, 1, 2),
    factor_fn: Callable[[torch.Tensor], Mapping[str, np.ndarray]] | None = None,
    factors: Sequence[str | None] | None = None,
    title: str | None = None,
    path: str | Path | None = None,
    frame_inches: float = 1.05,
):
    """Draw (and optionally save as PNG) a grid: rows = direction × seed, columns = shifts.

    Parameters
    ----------
    generator
        The generator the set belongs to (checked).
    directions
        The set; ``keys`` chooses directions (default: all).
    shifts
        Slider positions in σ units.
    seeds
        One start latent per seed.
    factor_fn, factors
        Read-out ``images -> {factor: values}`` and, per chosen direction, the factor to
        print on its frames (``None`` prints none for that row).
    path
        Save the figure there (PNG, 110 dpi).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    directions.check_compatible(generator)
    idx = [directions.index(k) for k in (keys if keys is not None else range(len(directions)))]
    if factors is not None and len(factors) != len(idx):
        raise ShapeError(f"{len(factors)} factor names for {len(idx)} directions")
    shifts = np.asarray(shifts, np.float64)
    starts = torch.cat([generator.sample_latents(1, seed=int(s)) for s in seeds])
    walks = intervention_walks(generator, directions, starts, shifts, idx)  # (K, S, T, D)
    k, s, t = walks.shape[:3]
    images = generator.generate(walks.reshape(k * s * t, -1))
    values = factor_fn(images) if factor_fn is not None and factors is not None else None
    pix = ((images[:, 0].float().cpu().numpy() + 1) / 2).clip(0, 1).reshape(k, s, t, *images.shape[-2:])

    fig, axes = plt.subplots(
        k * s, t, figsize=(t * frame_inches + 1.4, k * s * (frame_inches + 0.22) + 0.5), squeeze=False
    )
    for i in range(k):
        fname = factors[i] if factors is not None else None
        for j in range(s):
            row = i * s + j
            for c in range(t):
                ax = axes[row, c]
                ax.imshow(pix[i, j, c], cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                label = f"{shifts[c]:+.1f}σ"
                if values is not None and fname is not None:
                    v = values[fname][((i * s) + j) * t + c]
                    label += f"\n{_short(fname)}={v:.2f}"
                ax.set_title(label, fontsize=6.5, pad=2)
            axes[row, 0].set_ylabel(f"{directions.names[idx[i]]}\nseed {seeds[j]}", fontsize=7)
    fig.suptitle(title or f"{directions.method} directions: each row walks one direction", fontsize=9)
    top = 1 - 0.4 / fig.get_figheight()  # keep 0.4 in for the title above the first row's labels
    fig.tight_layout(pad=0.3, h_pad=0.2, w_pad=0.1, rect=(0, 0, 1, top))
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def _short(name: str) -> str:
    return {"z_position": "z", "rotation": "rot", "breast_size": "breast", "body_thickness": "thick"}.get(
        name, name
    )
