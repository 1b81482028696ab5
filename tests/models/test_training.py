"""The training loops on a tiny config: every kind runs, seeds reproduce, resume continues."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from latentviz.errors import ImageReadError, ModelFileError
from latentviz.models.architectures import PhantomCNN
from latentviz.models.io import load_model, save_model
from latentviz.models.training import TrainConfig, fit


def _cfg(kind: str, data: Path, out: Path, steps: int = 5, **kw) -> TrainConfig:
    return TrainConfig(
        kind=kind,
        data=str(data),
        out=out,
        size=16,
        steps=steps,
        batch_size=8,
        width=4,
        latent_dim=kw.pop("latent_dim", 6),
        progress=False,
        **kw,
    )


def _losses(out: Path) -> list[dict]:
    with open(out / "losses.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("kind", ["classifier", "gan", "vae"])
def test_each_kind_runs_and_writes_outputs(kind: str, tiny_data: Path, tmp_path: Path) -> None:
    result = fit(_cfg(kind, tiny_data, tmp_path, steps=4, sample_every=2, checkpoint_every=2, early_step=1))
    rows = _losses(tmp_path)
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert all(np.isfinite(float(v)) for r in rows for k, v in r.items())
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    _module, cfg = load_model(result["model"])
    assert cfg["steps"] == 4 and cfg["kind"] == kind and cfg["seed"] == 0 and cfg["train_seconds"] >= 0
    assert load_model(tmp_path / "early")[1]["steps"] == 1
    assert (tmp_path / "checkpoint.pt").is_file()


def test_classifier_learns_the_tiny_task(tiny_data: Path, tmp_path: Path) -> None:
    fit(_cfg("classifier", tiny_data, tmp_path, steps=20, lr=3e-3))
    loss = [float(r["loss"]) for r in _losses(tmp_path)]
    assert np.mean(loss[-10:]) < 0.5 * np.mean(loss[:5])


def test_same_seed_same_losses(tiny_data: Path, tmp_path: Path) -> None:
    fit(_cfg("gan", tiny_data, tmp_path / "a"))
    fit(_cfg("gan", tiny_data, tmp_path / "b"))
    fit(_cfg("gan", tiny_data, tmp_path / "c", seed=1))
    a, b, c = (_losses(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c


def test_resume_continues_the_step_count_and_the_run(tiny_data: Path, tmp_path: Path) -> None:
    # (A GAN: its schedule does not depend on the total step count, as the VAE's KL warm-up does.)
    fit(_cfg("gan", tiny_data, tmp_path / "full", steps=6))
    fit(_cfg("gan", tiny_data, tmp_path / "part", steps=3))
    fit(_cfg("gan", tiny_data, tmp_path / "part", steps=6, resume=True))
    part, full = _losses(tmp_path / "part"), _losses(tmp_path / "full")
    assert [int(r["step"]) for r in part] == [1, 2, 3, 4, 5, 6]
    # Model, optimizer and RNG state are restored: the resumed run matches the straight one.
    for p, f in zip(part, full):
        assert float(p["d_loss"]) == pytest.approx(float(f["d_loss"]), rel=1e-5)
        assert float(p["g_loss"]) == pytest.approx(float(f["g_loss"]), rel=1e-5)
    assert load_model(tmp_path / "part" / "model")[1]["steps"] == 6


def test_medxgan_uses_frozen_classifier_logits(tiny_data: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    clf = PhantomCNN(width=4).eval()
    save_model(
        clf, {"architecture": "cnn-classifier", "kwargs": {"width": 4}, "image_size": 16}, tmp_path / "clf"
    )
    before = {k: v.clone() for k, v in clf.state_dict().items()}
    fit(
        _cfg("medxgan", tiny_data, tmp_path / "m", steps=3, classifier=str(tmp_path / "clf"), pathology_dim=2)
    )
    rows = _losses(tmp_path / "m")
    assert {"cls_ce", "cls_acc"} <= set(rows[0])
    _module, cfg = load_model(tmp_path / "m" / "model")
    assert cfg["split_sizes"] == [6, 2] and cfg["classifier"] == "clf"
    after, _ = load_model(tmp_path / "clf")
    for k, v in after.state_dict().items():  # the classifier file is untouched
        torch.testing.assert_close(v, before[k])


def test_bad_inputs_are_refused(tiny_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="needs --classifier"):
        fit(_cfg("medxgan", tiny_data, tmp_path / "m"))
    with pytest.raises(ImageReadError, match="no such file"):
        fit(_cfg("gan", tmp_path / "missing.npz", tmp_path / "g"))
    with pytest.raises(ImageReadError, match=r"\(N, 32, 32\)"):
        fit(
            TrainConfig(kind="gan", data=str(tiny_data), out=tmp_path / "g", size=32, steps=1, progress=False)
        )
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((4, 16, 16), np.float32))
    with pytest.raises(ValueError, match="needs labelled data"):
        fit(_cfg("classifier", tmp_path / "nolabels.npz", tmp_path / "c"))
