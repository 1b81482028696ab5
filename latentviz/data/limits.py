"""Limits on the decoded size of an image, checked from its header before any pixel is decoded.

A small compressed file can declare a huge image (a 164 KB one-colour PNG of 13000x13000 px
decodes to 169 megapixels, GBs once converted to float). Every reader in :mod:`latentviz.data`
reads the declared size from the header and calls :func:`check_size` first.

Override the limits by assigning the module attributes (read at each call)::

    import latentviz.data.limits as limits
    limits.MAX_PIXELS = 256 * 1024 * 1024
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from latentviz.errors import ImageTooLargeError

__all__ = ["MAX_ARRAY_ELEMENTS", "MAX_FRAMES", "MAX_FRAME_PIXELS", "MAX_PIXELS", "check_size"]

#: Most pixels one frame, slice or page may declare: 64 Mi (8192 x 8192). The 13000 x 13000
#: PNG bomb is refused here.
MAX_FRAME_PIXELS: int = 64 * 1024 * 1024

#: Most pixels all frames/slices of one image may declare together: 256 Mi, e.g. a CT volume
#: of 1024 slices of 512 x 512 (1 GiB as float32).
MAX_PIXELS: int = 256 * 1024 * 1024

#: Most values one stored array (e.g. a whole MedMNIST split in an ``.npz``) may hold: 1 Gi.
MAX_ARRAY_ELEMENTS: int = 1024 * 1024 * 1024

#: Most frames, slices or pages of a volume a reader will decode.
MAX_FRAMES: int = 4096


def check_size(path: str | Path, shape: Sequence[int], frames: int = 1) -> None:
    """Raise :class:`ImageTooLargeError` if an image of ``shape`` exceeds the limits.

    Parameters
    ----------
    path
        The file, named in the message.
    shape
        The declared shape of the image (all axes, as read from the header).
    frames
        The declared number of frames/slices/pages (also counted in ``shape`` when it is an axis).
    """
    dims = [int(n) for n in shape]
    if any(n < 0 for n in dims):
        raise ImageTooLargeError(path, f"the header declares a negative size {tuple(dims)}")
    total = 1
    for n in dims:
        total *= n  # Python ints: no overflow
    if int(frames) > MAX_FRAMES:
        raise ImageTooLargeError(
            path, f"the header declares {int(frames)} frames/slices; latentviz reads at most {MAX_FRAMES}"
        )
    per_frame = total // max(1, int(frames))
    if per_frame > MAX_FRAME_PIXELS:
        size = "x".join(str(n) for n in dims)
        raise ImageTooLargeError(
            path,
            f"the header declares {size}, {per_frame / 1e6:.1f} megapixels per frame; latentviz "
            f"decodes at most {MAX_FRAME_PIXELS / 1e6:.1f} megapixels per frame "
            "(latentviz.data.limits.MAX_FRAME_PIXELS)",
        )
    if total > MAX_PIXELS:
        size = "x".join(str(n) for n in dims)
        raise ImageTooLargeError(
            path,
            f"the header declares {size} = {total / 1e6:.1f} megapixels; latentviz decodes at most "
            f"{MAX_PIXELS / 1e6:.1f} megapixels (latentviz.data.limits.MAX_PIXELS)",
        )
