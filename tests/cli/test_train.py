"""``latentviz train`` through the CLI: outputs, card, and bad input as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentviz.cli import main


def test_train_cli_writes_model_and_recipe(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", images=rng.uniform(-1, 1, (16, 16, 16)).astype(np.float32))
    rc = main(
        [
            "train",
            "gan",
            "--data",
            str(tmp_path / "d.npz"),
            "--size",
            "16",
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--width",
            "4",
            "--latent-dim",
            "5",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
        ]
    )
    assert rc == 0
    assert "trained gan for 3 steps" in capsys.readouterr().out
    card = json.loads((tmp_path / "run" / "model.json").read_text())
    assert card["kwargs"]["latent_dim"] == 5 and card["steps"] == 3
    assert card["recipe"].startswith("latentviz train gan ") and "--latent-dim 5" in card["recipe"]


def test_train_cli_errors(tmp_path: Path, capsys) -> None:
    assert main(["train", "gan", "--data", str(tmp_path / "none.npz"), "--out", str(tmp_path)]) == 2
    assert "none.npz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "gan", "--data", "cxr", "--steps", "0", "--out", str(tmp_path)])


def test_init_from_is_only_for_style_runs(tmp_path: Path, capsys) -> None:
    args = ["train", "gan", "--data", "cxr", "--steps", "1", "--out", str(tmp_path), "--init-from", "ct-gaan"]
    assert main(args) == 2
    assert "--init-from is for stylegan and gaan runs, not gan" in capsys.readouterr().err
    assert not (tmp_path / "model.safetensors").exists()
