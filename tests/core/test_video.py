"""MP4 and GIF export chosen by file suffix: the interpolation path and the direction walk."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest
from core_toys import toy_generator
from PIL import Image

from latentviz.core.explorer import ExplorerSession
from latentviz.core.interpolation import InterpolationSession
from latentviz.core.video import video_bytes, write_video
from latentviz.directions import sefa
from latentviz.errors import ArgumentError, DependencyMissingError, LatentvizError

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the video extra (in dev) writes MP4")


def _read_mp4(path: Path) -> tuple[tuple[int, int], list[np.ndarray]]:
    """(width, height) and the decoded RGB frames of an MP4."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return (w, h), [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader]


def test_write_video_mp4_reads_back_frames_and_size(tmp_path: Path) -> None:
    # Odd sizes are padded to even (H.264 yuv420p), never rescaled.
    frames = [np.full((33, 41), 20 * i, np.uint8) for i in range(7)]
    out = write_video(frames, tmp_path / "ramp.mp4", duration_ms=100)
    assert out.read_bytes()[4:8] == b"ftyp"  # an ISO-BMFF (MP4) file
    size, decoded = _read_mp4(out)
    assert size == (42, 34) and len(decoded) == 7
    # Grey levels survive the lossy codec within a few levels.
    assert [round(float(f[:33, :41].mean())) for f in decoded] == pytest.approx(
        [20 * i for i in range(7)], abs=3
    )


def test_interpolation_path_as_mp4_and_gif(tmp_path: Path) -> None:
    cond = toy_generator(split_sizes=(6, 2))
    s = InterpolationSession(cond, None, cond.sample_latents(1, seed=1), n_frames=5)
    size, decoded = _read_mp4(s.export_video(tmp_path / "path.mp4"))
    h, w = s._tiles()[0].shape[:2]
    assert len(decoded) == 5 and size == (w + w % 2, h + h % 2)
    assert Image.open(s.export_video(tmp_path / "path.gif")).n_frames == 5


def test_direction_walk_as_mp4(generator, classifier, tmp_path: Path) -> None:
    session = ExplorerSession(generator, sefa(generator, k=2), classifier, seed=3)
    _, decoded = _read_mp4(session.export_video(tmp_path / "walk.mp4", direction=0, n_frames=6))
    assert len(decoded) == 6
    assert Image.open(session.export_video(tmp_path / "walk.GIF", direction=0, n_frames=4)).n_frames == 4


def test_unknown_suffix_and_bad_frames_are_typed_errors(tmp_path: Path) -> None:
    frames = [np.zeros((8, 8), np.uint8)] * 2
    with pytest.raises(ArgumentError, match=r"\.gif or \.mp4"):
        write_video(frames, tmp_path / "walk.avi")
    with pytest.raises(LatentvizError, match="at least one frame"):
        write_video([], tmp_path / "walk.mp4")
    with pytest.raises(LatentvizError, match="same size"):
        write_video([np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8)], tmp_path / "walk.mp4")
    assert video_bytes(frames, "mp4")[4:8] == b"ftyp"


def test_missing_writer_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_ffmpeg(name, *args, **kwargs):
        if name == "imageio_ffmpeg":
            raise ImportError("No module named 'imageio_ffmpeg'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ffmpeg)
    with pytest.raises(DependencyMissingError, match=r"latentviz\[video\]"):
        write_video([np.zeros((8, 8), np.uint8)], tmp_path / "walk.mp4")
    write_video([np.zeros((8, 8), np.uint8)], tmp_path / "walk.gif")  # GIF needs nothing extra
