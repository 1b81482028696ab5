"""A labelled gallery figure of a phantom batch (mask contours on positives)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentviz.data.phantoms.batch import PhantomBatch
from latentviz.data.phantoms.errors import PhantomArgumentError

__all__ = ["DEFAULT_CAPTION_FACTORS", "gallery_figure", "save_gallery"]

# The factors printed under each tile, per kind.
DEFAULT_CAPTION_FACTORS = {
    "cxr": ("ctr", "rotation", "breast_size"),
    "ct": ("z_position", "rotation", "breast_size"),
    "ct-hard": ("z_position", "lesion_size", "lesion_intensity"),
    "cxr-hard": ("ctr", "lesion_size", "vessel_density"),
    "brain-hard": ("slice_z", "lesion_size", "lesion_enhancement"),
    "brain": ("slice_z", "rotation", "elastic"),
}


# Short caption names so three factors fit under a tile.
_SHORT = {
    "rotation": "rot",
    "breast_size": "breast",
    "z_position": "z",
    "slice_z": "z",
    "lesion_count": "lesions",
    "lesion_size": "size",
    "lesion_intensity": "HU",
    "lesion_enhancement": "enh",
    "vessel_density": "vessels",
}


def _number(v: float) -> str:
    """A factor value for a caption: two significant digits, whole numbers from 100 on."""
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.2g}"


def gallery_figure(
    batch: PhantomBatch,
    n_cols: int = 6,
    max_tiles: int = 24,
    caption_factors: tuple[str, ...] | None = None,
    tile_inches: float = 1.9,
):
    """A matplotlib figure: one tile per sample with its label, factors and mask contour.

    Tiles show ``batch.images`` (the windowed model input) in grey; positives get a
    red contour of their pathology mask.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if n_cols < 1 or max_tiles < 1:
        raise PhantomArgumentError(f"n_cols={n_cols}, max_tiles={max_tiles}: both must be >= 1")
    names = caption_factors or DEFAULT_CAPTION_FACTORS.get(batch.kind, ())
    unknown = [k for k in names if k not in batch.factors]
    if unknown:
        raise PhantomArgumentError(f"caption_factors: {unknown} are not factors of {batch.kind!r}")
    count = min(len(batch), max_tiles)
    n_rows = int(np.ceil(count / n_cols))
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(tile_inches * n_cols, tile_inches * 1.22 * n_rows + 0.5), squeeze=False
    )
    center, width = batch.window
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= count:
            continue
        im = ax.imshow(batch.images[i, 0], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        if batch.labels[i] and batch.masks[i].any():
            ax.contour(batch.masks[i].astype(float), levels=[0.5], colors="#ff3030", linewidths=0.8)
        label = "positive" if batch.labels[i] else "negative"
        facts = " ".join(f"{_SHORT.get(k, k)}={_number(batch.factors[k][i])}" for k in names)
        ax.set_title(f"#{i} {label}\n{facts}", fontsize=6.5, color="#b00000" if batch.labels[i] else "black")
    units = batch.meta.get("units", "")
    fig.suptitle(
        f"latentviz phantom '{batch.kind}' — {batch.size}px, seed {batch.seed}; "
        f"window center {center:g}, width {width:g} {units}; red = pathology mask",
        fontsize=9,
    )
    fig.colorbar(im, ax=axes, fraction=0.015, pad=0.01, label="model input [-1, 1]")
    return fig


def save_gallery(batch: PhantomBatch, path: str | Path, dpi: int = 110, **kwargs) -> Path:
    """Save :func:`gallery_figure` of ``batch`` as a PNG at ``path``."""
    import matplotlib.pyplot as plt

    fig = gallery_figure(batch, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
