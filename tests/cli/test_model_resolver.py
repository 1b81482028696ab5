"""One resolver for every --model / --classifier flag: a zoo name, a latentviz model file
or a TorchScript file (issue 16, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from latentviz import zoo
from latentviz.cli import main
from latentviz.errors import ModelFileError, ShapeError
from latentviz.models import Classifier, Generator
from latentviz.models.resolve import is_torchscript, parse_latent_shape, resolve_model


def _decoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(16, 8 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (8, 4, 4)),
        nn.ConvTranspose2d(8, 1, 4, 2, 1), nn.Tanh(),
    )  # fmt: skip


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)
    )


@pytest.fixture
def scripted(tmp_path: Path) -> dict[str, Path]:
    dec, clf = tmp_path / "dec.pt", tmp_path / "clf.ts"
    torch.jit.save(torch.jit.script(_decoder()), str(dec))
    torch.jit.save(torch.jit.script(_cnn()), str(clf))
    return {"dec": dec, "clf": clf}


def test_the_resolver_takes_each_form(scripted: dict[str, Path]) -> None:
    # A zoo name and a latentviz model file give the same model.
    by_name = resolve_model("ct-dcgan", role="generator", device="cpu")
    by_file = resolve_model(zoo.path_of("ct-dcgan"), role="generator", device="cpu")
    assert by_name.sha256 == by_file.sha256
    # A TorchScript generator: its latent shape found from its first layer (checked by a forward).
    g = resolve_model(scripted["dec"], role="generator", device="cpu")
    assert isinstance(g, Generator) and g.latent_shape == (16,) and g.image_shape == (1, 8, 8)
    assert resolve_model(scripted["dec"], role="generator", latent_shape="16", device="cpu").latent_dim == 16
    # A TorchScript classifier, with its settings in the JSON beside it.
    scripted["clf"].with_suffix(".json").write_text(
        json.dumps(
            {"role": "classifier", "activation": "softmax", "target_names": ["a", "b", "c"], "target": "c"}
        )
    )
    c = resolve_model(scripted["clf"], device="cpu")
    assert isinstance(c, Classifier) and c.activation == "softmax" and c.target == 2
    assert c.probabilities(torch.zeros(2, 1, 8, 8)).shape == (2, 3)
    assert is_torchscript(scripted["dec"]) and not is_torchscript(zoo.path_of("ct-dcgan"))
    assert parse_latent_shape("16,1,1") == (16, 1, 1) == parse_latent_shape("16x1x1")


def test_the_resolver_refuses_clearly(tmp_path: Path, scripted: dict[str, Path]) -> None:
    with pytest.raises(ModelFileError, match=r"--model .*nothing\.pt: no such file"):
        resolve_model(tmp_path / "nothing.pt", flag="--model")
    with pytest.raises(ModelFileError, match=r"no zoo model and no file of that name.*zoo: .*ct-dcgan"):
        resolve_model("ct-dcgn", flag="--model")
    pickled = tmp_path / "weights.pt"
    torch.save(_decoder().state_dict(), pickled)
    with pytest.raises(ModelFileError, match=r"torch\.save pickle, which latentviz never loads"):
        resolve_model(pickled, role="generator")
    with pytest.raises(ModelFileError, match="say whether it is a generator or a classifier"):
        resolve_model(scripted["dec"])
    with pytest.raises(ModelFileError, match="not a classifier"):
        resolve_model("ct-dcgan", role="classifier")
    with pytest.raises(ShapeError, match=r"\(N, 8\).*pass latent_shape=16"):
        resolve_model(scripted["dec"], role="generator", latent_shape=8)
    scripted["dec"].with_suffix(".json").write_text(json.dumps({"latent_shap": [16]}))
    with pytest.raises(ModelFileError, match=r"unknown generator settings \['latent_shap'\]"):
        resolve_model(scripted["dec"], role="generator")


def test_cli_discover_takes_a_torchscript_generator(
    tmp_path: Path, scripted: dict[str, Path], capsys
) -> None:
    out = tmp_path / "sefa"
    argv = ["discover", "--model", str(scripted["dec"]), "--method", "sefa", "--out", str(out)]
    rc = main([*argv, "--k", "3", "--seeds", "1", "--no-strip", "--json", "--quiet", "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["directions"] == 3
    # A wrong --latent-shape is one typed line, exit code 2, no traceback.
    rc = main([*argv, "--latent-shape", "8", "--no-strip", "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "pass latent_shape=16" in err and "Traceback" not in err
    # A pickle named as a model: refused with the same one-line error.
    pickled = tmp_path / "w.pth"
    torch.save({"w": torch.zeros(1)}, pickled)
    rc = main(["discover", "--model", str(pickled), "--method", "sefa", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "never loads" in err and "Traceback" not in err


def test_every_model_flag_says_it_takes_the_three_forms(capsys) -> None:
    from latentviz.cli import MODEL_FORMS, build_parser

    parser = build_parser()
    for argv in (["discover"], ["explain"], ["serve"], ["batch"], ["evaluate", "explanations"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*argv, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert MODEL_FORMS in text, argv


def test_cli_explain_takes_a_torchscript_classifier(tmp_path: Path, monkeypatch, capsys) -> None:
    import functools

    from latentviz.errors import ArgumentError
    from latentviz.explain import GradCam, report

    zc = zoo.load("ct-classifier", device="cpu")
    path = tmp_path / "ct_cnn.pt"
    torch.jit.save(torch.jit.trace(zc.module.eval(), torch.zeros(1, 1, 64, 64)), str(path))
    path.with_suffix(".json").write_text(
        json.dumps({"role": "classifier", "activation": "softmax", "target_names": zc.target_names})
    )
    ts = resolve_model(path, role="classifier", device="cpu")
    x = torch.zeros(2, 1, 64, 64)
    torch.testing.assert_close(ts.probabilities(x), zc.probabilities(x))
    with pytest.raises(ArgumentError, match="TorchScript modules do not allow"):
        GradCam(ts)  # hooks are impossible on TorchScript: a typed error, not a RuntimeError
    monkeypatch.setattr(report, "invert", functools.partial(report.invert, refine=None))
    argv = ["explain", "phantom:ct:3", "--model", "ct-medxgan", "--classifier", str(path)]
    cut = ["--steps", "2", "--restarts", "1", "--ig-steps", "2", "--lig-steps", "2", "--frames", "2"]
    cut += ["--quiet"]
    out = tmp_path / "out"
    # --target takes a class name too (issue 16, item 5).
    rc = main([*argv, "--methods", "ig", "--target", "negative", "--out", str(out), *cut, "--device", "cpu"])
    assert rc == 0
    summary = json.loads((out / "explanation.json").read_text())
    assert summary["target"] == 0 and summary["target_name"] == "negative"
    assert main([*argv, "--methods", "gradcam", "--out", str(out), *cut, "--device", "cpu"]) == 2
    assert "TorchScript modules do not allow" in capsys.readouterr().err


def test_weights_without_their_sidecar_say_so(tmp_path: Path) -> None:
    import shutil

    weights = tmp_path / "alone.safetensors"
    shutil.copy(zoo.path_of("ct-dcgan"), weights)
    with pytest.raises(ModelFileError, match="no config sidecar"):
        resolve_model(weights, role="generator")
