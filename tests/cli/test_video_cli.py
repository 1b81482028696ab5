"""MP4 from the CLI: ``latentviz explain --video mp4`` and ``latentviz discover --walk FILE.mp4``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latentviz import zoo
from latentviz.cli import main
from latentviz.models import Generator
from latentviz.models.architectures import build
from latentviz.models.io import save_model

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the video extra (in dev) writes MP4")


def _mp4_frames(path) -> tuple[tuple[int, int], int]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    return tuple(meta["size"]), sum(1 for _ in reader)


class _Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.latent_layer = nn.Linear(5, 16 * 16)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.latent_layer(z)).view(-1, 1, 16, 16)


def test_discover_walk_mp4(tmp_path, monkeypatch, capsys) -> None:
    g = Generator(_Decoder(), latent_shape=(5,), name="toy", device="cpu")
    monkeypatch.setattr(zoo, "load", lambda name, device=None: g)
    base = ["discover", "--model", "toy", "--method", "sefa", "--out", str(tmp_path / "sefa"), "--no-strip"]
    rc = main([*base, "--walk", str(tmp_path / "walk.mp4"), "--walk-direction", "1", "--walk-frames", "6"])
    assert rc == 0 and "walk.mp4" in capsys.readouterr().out
    (w, h), n = _mp4_frames(tmp_path / "walk.mp4")
    assert n == 6 and w % 2 == 0 and h % 2 == 0 and w >= 128
    assert main([*base, "--walk", str(tmp_path / "walk.avi")]) == 2
    assert ".gif or .mp4" in capsys.readouterr().err
    assert main([*base, "--walk", str(tmp_path / "w.gif"), "--walk-direction", "99"]) == 2
    assert "--walk-direction" in capsys.readouterr().err


def test_explain_video_mp4(tmp_path, capsys) -> None:
    torch.manual_seed(0)
    gk = {"anatomy_dim": 8, "pathology_dim": 2, "image_size": 32, "width": 8}
    save_model(build("medxgan", **gk), {"architecture": "medxgan", "kwargs": gk}, tmp_path / "gen")
    ck = {"width": 4}
    clf = build("cnn-classifier", **ck)
    save_model(clf, {"architecture": "cnn-classifier", "kwargs": ck}, tmp_path / "clf")
    out = tmp_path / "out"
    rc = main(
        ["explain", "phantom:cxr:3", "--model", str(tmp_path / "gen.safetensors"),
         "--classifier", str(tmp_path / "clf.safetensors"), "--out", str(out), "--steps", "3",
         "--restarts", "1", "--methods", "gradcam", "--frames", "4", "--video", "mp4", "--quiet"]
    )  # fmt: skip
    assert rc == 0 and "wrote mp4" in capsys.readouterr().out
    assert not (out / "explanation_interpolation.gif").exists()
    (w, h), n = _mp4_frames(out / "explanation_interpolation.mp4")
    assert n == 4 and (w, h) == (256, 256 + 2 * 14 + 10)  # 32 px ×8, plus the caption band
    assert np.load(out / "explanation.npz")["interpolation_frames"].shape == (4, 1, 32, 32)
