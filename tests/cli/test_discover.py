from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from latentviz import zoo
from latentviz.cli import main
from latentviz.directions import DirectionSet
from latentviz.models import Generator


class _Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.latent_layer = nn.Linear(5, 16 * 16)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.latent_layer(z)).view(-1, 1, 16, 16)


def _toy() -> Generator:
    return Generator(_Decoder(), latent_shape=(5,), name="toy", device="cpu")


@pytest.fixture
def toy_zoo(monkeypatch):
    g = _toy()
    monkeypatch.setattr(zoo, "load", lambda name, device=None: g)
    return g


def test_discover_sefa_writes_set_and_strip(tmp_path, toy_zoo, capsys):
    out = tmp_path / "sefa"
    rc = main(
        [
            "discover",
            "--model",
            "toy",
            "--method",
            "sefa",
            "--out",
            str(out),
            "--k",
            "3",
            "--seeds",
            "2",
            "--json",
            "--quiet",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["directions"] == 3 and len(summary["files"]) == 3
    ds = DirectionSet.load(out, generator=toy_zoo)
    assert ds.method == "sefa" and ds.directions.shape == (3, 5)
    assert np.all(np.diff(ds.scores) <= 0)
    assert (tmp_path / "sefa.png").stat().st_size > 5000


def test_discover_ganspace_without_strip(tmp_path, toy_zoo, capsys):
    out = tmp_path / "gs.npz"
    rc = main(
        [
            "discover",
            "--model",
            "toy",
            "--method",
            "ganspace",
            "--out",
            str(out),
            "--k",
            "2",
            "--samples",
            "2000",
            "--no-strip",
            "--quiet",
        ]
    )
    assert rc == 0
    assert "ganspace: 2 directions" in capsys.readouterr().out
    assert not (tmp_path / "gs.png").exists()
    assert DirectionSet.load(out).params["n_samples"] == 2000


def test_supervised_method_needs_a_phantom_model(tmp_path, toy_zoo, capsys):
    rc = main(["discover", "--model", "toy", "--method", "probe", "--out", str(tmp_path / "p"), "--quiet"])
    assert rc == 2
    assert "cannot tell which phantom" in capsys.readouterr().err


def test_bad_method_is_rejected_by_argparse(tmp_path):
    with pytest.raises(SystemExit):
        main(["discover", "--model", "toy", "--method", "pca", "--out", str(tmp_path / "x")])


def test_a_flag_the_method_does_not_take_is_a_one_line_error(tmp_path, toy_zoo, capsys):
    rc = main(
        ["discover", "--model", "toy", "--method", "sefa", "--steps", "5", "--out", str(tmp_path / "s")]
    )
    assert rc == 2
    assert "one that sefa declares" in capsys.readouterr().err


def test_a_bound_is_checked_before_the_model_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(zoo, "load", lambda *a, **k: pytest.fail("loaded the model"))
    rc = main(
        ["discover", "--model", "toy", "--method", "ganspace", "--k", "0", "--out", str(tmp_path / "g")]
    )
    assert rc == 2 and "k=0" in capsys.readouterr().err


def test_evaluate_directions_reads_any_declared_option(monkeypatch, capsys):
    monkeypatch.setattr(zoo, "load", lambda *a, **k: pytest.fail("loaded the model"))
    assert main(["evaluate", "directions", "--model", "toy", "--option", "pca.k=3"]) == 2
    assert "unknown direction method 'pca'" in capsys.readouterr().err
