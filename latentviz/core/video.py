"""Animations to files: GIF (Pillow, always available) or MP4 (H.264, optional), by file suffix.

MP4 goes through ``imageio-ffmpeg``, which ships a static ffmpeg binary in its wheel (no system
ffmpeg needed); install it with ``pip install "latentviz[video]"``. Without it, writing an
``.mp4`` raises :class:`~latentviz.errors.DependencyMissingError` naming that extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latentviz.errors import ArgumentError, DependencyMissingError, ShapeError

__all__ = ["VIDEO_SUFFIXES", "video_bytes", "video_format", "write_video"]

#: File suffixes :func:`write_video` understands, and the container each one means.
VIDEO_SUFFIXES: dict[str, str] = {".gif": "gif", ".mp4": "mp4"}


def video_format(path: str | Path) -> str:
    """``"gif"`` or ``"mp4"`` from the suffix of ``path``.

    Raises
    ------
    ArgumentError
        Any other suffix, naming the ones understood.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ArgumentError(
            f"{Path(path).name}: unknown animation format {suffix or '(no suffix)'!r}; "
            f"use {' or '.join(VIDEO_SUFFIXES)}"
        )
    return VIDEO_SUFFIXES[suffix]


def _as_rgb(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """uint8 ``(H, W)`` or ``(H, W, 3|4)`` frames of one size as ``(H, W, 3)``."""
    if not frames:
        raise ShapeError("an animation needs at least one frame")
    out = []
    for f in frames:
        a = np.asarray(f)
        if a.dtype != np.uint8:
            raise ShapeError(f"animation frames must be uint8, got {a.dtype}")
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        elif a.ndim == 3 and a.shape[2] in (3, 4):
            a = a[..., :3]
        else:
            raise ShapeError(f"animation frames must be (H, W) or (H, W, 3), got {a.shape}")
        out.append(np.ascontiguousarray(a))
    if len({a.shape for a in out}) > 1:
        raise ShapeError("all animation frames must have the same size")
    return out


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad with white to even height and width (H.264 in yuv420p needs both even)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)


def _imageio_ffmpeg():
    try:
        import imageio_ffmpeg
    except ImportError:
        raise DependencyMissingError(
            "MP4 export needs imageio-ffmpeg (it bundles ffmpeg): pip install 'latentviz[video]'; "
            "or write a .gif, which needs nothing extra"
        ) from None
    return imageio_ffmpeg


def write_video(
    frames: Sequence[np.ndarray], path: str | Path, duration_ms: int = 120, loop: int = 0
) -> Path:
    """Write ``frames`` as an animation whose format the suffix of ``path`` chooses.

    Parameters
    ----------
    frames
        uint8 frames ``(H, W)`` (grey) or ``(H, W, 3)`` (RGB), all of one size.
    path
        ``*.gif`` (Pillow) or ``*.mp4`` (H.264 yuv420p through imageio-ffmpeg; frames of odd
        size are padded with one white row or column).
    duration_ms
        Time each frame is shown; an MP4 runs at ``1000 / duration_ms`` frames per second.
    loop
        GIF only: 0 loops for ever.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ArgumentError
        An unknown suffix or a non-positive duration.
    DependencyMissingError
        An ``.mp4`` without the ``video`` extra installed.
    """
    path = Path(path)
    fmt = video_format(path)
    if int(duration_ms) < 1:
        raise ArgumentError(f"duration_ms must be >= 1, got {duration_ms}")
    if fmt == "gif":
        from latentviz.core import render

        path.write_bytes(render.gif_bytes(list(frames), duration_ms=duration_ms, loop=loop))
        return path
    ffmpeg = _imageio_ffmpeg()
    rgb = [_even(f) for f in _as_rgb(frames)]
    h, w = rgb[0].shape[:2]
    writer = ffmpeg.write_frames(
        str(path),
        (w, h),
        fps=1000.0 / int(duration_ms),
        codec="libx264",
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        macro_block_size=1,  # sizes are already even; do not let ffmpeg rescale
        quality=8,
        ffmpeg_log_level="error",
    )
    writer.send(None)  # start ffmpeg
    try:
        for f in rgb:
            writer.send(f)
    finally:
        writer.close()
    return path


def video_bytes(frames: Sequence[np.ndarray], fmt: str = "gif", duration_ms: int = 120) -> bytes:
    """The bytes :func:`write_video` would write for a ``fmt`` (``"gif"`` or ``"mp4"``) file."""
    import tempfile

    if fmt not in VIDEO_SUFFIXES.values():
        raise ArgumentError(f"unknown animation format {fmt!r}; use 'gif' or 'mp4'")
    with tempfile.TemporaryDirectory() as tmp:
        return write_video(frames, Path(tmp) / f"animation.{fmt}", duration_ms=duration_ms).read_bytes()
