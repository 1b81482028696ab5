"""The one image type of latentviz: pixels in modality units with their geometry.

Conventions
-----------
* ``pixels`` is float32, ``(H, W)`` for an image or ``(Z, H, W)`` for a volume, in modality units
  (HU for CT after the DICOM Modality LUT; stored values for MR, radiographs and rasters).
* ``spacing`` follows ``pixels.shape``: ``(dy, dx)`` or ``(dz, dy, dx)`` in mm (pixels for rasters).
* ``affine`` (4x4, or None) maps the index ``(x, y, z, 1)``, i.e. ``(column, row, slice, 1)``, to
  RAS+ world millimetres, as a NIfTI affine does for the array ``pixels.transpose()``.
* MONOCHROME1 pixels are kept as stored; :meth:`MedicalImage.windowed` inverts them for display,
  so bright always means dense on screen and in model input.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from latentviz.data.windowing import Window, WindowSpec, apply_window, invert_window, resolve_window
from latentviz.errors import ImageReadError, ShapeError

if TYPE_CHECKING:
    import torch

__all__ = ["MedicalImage", "check_finite"]


def check_finite(pixels: np.ndarray, source: object) -> None:
    """Raise :class:`ImageReadError` naming ``source`` if ``pixels`` holds NaN or infinite values."""
    bad = int(pixels.size - np.count_nonzero(np.isfinite(pixels)))
    if bad:
        raise ImageReadError(source, f"{bad} of {pixels.size} pixel values are NaN or infinite")


@dataclass
class MedicalImage:
    """Pixels in modality units plus what a viewer and a model need to know about them.

    Attributes
    ----------
    pixels
        float32 ``(H, W)`` or ``(Z, H, W)`` in modality units.
    spacing
        Voxel size per axis of ``pixels`` (mm where known).
    modality
        DICOM modality code (``"CT"``, ``"MR"``, ``"CR"``, …) or ``"OT"`` when unknown.
    units
        ``"HU"`` for CT; ``""`` when the values have no physical unit.
    window
        ``(center, width)`` stored with the image (DICOM WindowCenter/Width, NIfTI cal_min/max,
        a raster's bit range), or None.
    photometric
        DICOM PhotometricInterpretation of the source (``"MONOCHROME2"`` for non-DICOM).
    affine
        4x4 index-to-RAS+ matrix (see module docstring), or None when unknown.
    metadata
        De-identified technical metadata (no patient identifiers).
    source
        File or folder name (no directories), for titles and messages.
    """

    pixels: np.ndarray
    spacing: tuple[float, ...]
    modality: str = "OT"
    units: str = ""
    window: Window | None = None
    photometric: str = "MONOCHROME2"
    affine: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        self.pixels = np.asarray(self.pixels, dtype=np.float32)
        if self.pixels.ndim not in (2, 3):
            raise ShapeError(
                f"MedicalImage pixels must be (H, W) or (Z, H, W), got shape {self.pixels.shape}"
            )
        self.spacing = tuple(float(s) for s in self.spacing)
        if len(self.spacing) != self.pixels.ndim:
            raise ShapeError(f"spacing {self.spacing} does not match pixels of shape {self.pixels.shape}")

    # -- geometry ----------------------------------------------------------------------------
    @property
    def is_volume(self) -> bool:
        """True for ``(Z, H, W)`` pixels."""
        return self.pixels.ndim == 3

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.pixels.shape)

    @property
    def origin(self) -> tuple[float, float, float] | None:
        """RAS+ position (mm) of the centre of the first voxel, when the geometry is known."""
        if self.affine is None:
            return None
        return tuple(float(v) for v in self.affine[:3, 3])  # type: ignore[return-value]

    @property
    def inverted(self) -> bool:
        """True when low values display bright (MONOCHROME1)."""
        return self.photometric.upper() == "MONOCHROME1"

    def slice(self, axis: int, index: int) -> MedicalImage:
        """One 2D slice of a volume.

        Parameters
        ----------
        axis
            0 = along Z (``pixels[index]``), 1 = along rows (``pixels[:, index]``),
            2 = along columns (``pixels[:, :, index]``). For NIfTI volumes, which are read in RAS
            orientation, 0/1/2 give axial/coronal/sagittal slices.
        index
            Slice number; negative counts from the end.
        """
        if not self.is_volume:
            raise ShapeError(f"{self.source or 'image'} is 2D; slice() needs a (Z, H, W) volume")
        if axis not in (0, 1, 2):
            raise ShapeError(f"axis must be 0, 1 or 2, got {axis}")
        n = self.pixels.shape[axis]
        if not -n <= index < n:
            raise ShapeError(f"index {index} is out of range for axis {axis} of size {n}")
        index %= n
        pixels = np.take(self.pixels, index, axis=axis)
        spacing = tuple(s for i, s in enumerate(self.spacing) if i != axis)
        affine = None
        if self.affine is not None:
            # Index columns of the affine are (x, y, z) = pixel axes (2, 1, 0).
            cols = {0: 2, 1: 1, 2: 0}
            fixed = cols[axis]
            # The 2D slice's (column, row) are the two remaining pixel axes, last one first.
            kept = [cols[a] for a in (2, 1, 0) if a != axis]
            a = self.affine
            affine = np.eye(4)
            affine[:3, 0] = a[:3, kept[0]]
            affine[:3, 1] = a[:3, kept[1]]
            affine[:3, 2] = a[:3, fixed]
            affine[:3, 3] = a[:3, 3] + index * a[:3, fixed]
        meta = dict(self.metadata, slice_axis=axis, slice_index=index)
        return replace(self, pixels=pixels, spacing=spacing, affine=affine, metadata=meta)

    # -- intensity ---------------------------------------------------------------------------
    def resolve_window(self, window: WindowSpec = None) -> Window:
        """``(center, width)`` for a window argument (see :func:`~latentviz.data.resolve_window`)."""
        return resolve_window(window, header=self.window, pixels=self.pixels)

    def windowed(self, window: WindowSpec = None) -> np.ndarray:
        """Display values in [0, 1] (float32), bright = dense; MONOCHROME1 is inverted here.

        Parameters
        ----------
        window
            ``(center, width)``, a preset (``"lung"``, ``"mediastinum"``, ``"bone"``, ``"brain"``,
            ``"soft_tissue"``), ``"header"``, ``"auto"``, or None (header window, else auto).
        """
        return apply_window(self.pixels, self.resolve_window(window), invert=self.inverted)

    def to_model_input(self, size: int, window: WindowSpec = None) -> torch.Tensor:
        """A ``(1, 1, size, size)`` float32 tensor in [-1, 1] for a model.

        The image is resampled to square pixels, scaled so its shorter side is ``size``, and
        centre-cropped. A volume must be sliced first.
        """
        if self.is_volume:
            raise ShapeError(
                f"{self.source or 'image'} is a volume {self.shape}; take a slice first: image.slice(0, k)"
            )
        import torch  # here, so that reading a file (latentviz info) never imports torch

        from latentviz.data.transforms import fit_to_size

        display = torch.from_numpy(self.windowed(window))
        fitted = fit_to_size(display, size, spacing=self.spacing)
        return (fitted * 2.0 - 1.0).reshape(1, 1, size, size)

    def from_model_range(self, x, window: WindowSpec = None):
        """The inverse of :meth:`to_model_input`'s intensity map: [-1, 1] back to modality units.

        Works on numpy arrays and torch tensors of any shape; values outside the window come
        back at its edges. Use ``(x + 1) / 2`` for display values in [0, 1].
        """
        return invert_window((x + 1.0) / 2.0, self.resolve_window(window), invert=self.inverted)
