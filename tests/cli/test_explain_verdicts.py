"""``latentviz explain``: the dashboard's default window, the OOD verdict and failed counterfactuals."""

from __future__ import annotations

import json

import pytest
import torch
from pydicom.data import get_testdata_file

from latentviz.cli import build_parser, main
from latentviz.cli.explain import load_source
from latentviz.models.architectures import build
from latentviz.models.io import save_model

FAST = ["--steps", "2", "--restarts", "1", "--ig-steps", "2", "--lig-steps", "2", "--frames", "2"]


@pytest.fixture(scope="module")
def ct_card_models(tmp_path_factory):
    """Tiny untrained models whose cards say they were trained on CT."""
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("models")
    gk = {"anatomy_dim": 8, "pathology_dim": 2, "image_size": 32, "width": 8}
    save_model(build("medxgan", **gk), {"architecture": "medxgan", "kwargs": gk}, d / "gen")
    card = {"modality": ["CT"], "photometric": ["MONOCHROME2"], "what": "thoracic CT slices"}
    save_model(
        build("cnn-classifier", width=4),
        {"architecture": "cnn-classifier", "kwargs": {"width": 4}, "training_data": card},
        d / "clf",
    )
    return str(d / "gen.safetensors"), str(d / "clf.safetensors")


def _dicom(name: str) -> str:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_help_names_the_default_window() -> None:
    text = build_parser(["explain"])._subparsers._group_actions[0].choices["explain"].format_help()
    assert "C -600, W 1500" in " ".join(text.split()) and "as in the dashboard" in " ".join(text.split())


def test_cli_takes_the_dashboards_window_on_a_ct() -> None:
    from latentviz import zoo
    from latentviz.core import upload

    g = zoo.load("ct-medxgan", device="cpu")
    x, _, image = load_source(_dicom("CT_small.dcm"), 64, None, g)
    window = upload.model_window_for(image, g)  # what the dashboard selects first
    assert window == (-600.0, 1500.0) and torch.equal(x, image.to_model_input(64, window))


def test_foreign_image_verdict_comes_first_and_p_is_not_applicable(ct_card_models, tmp_path, capsys):
    gen, clf = ct_card_models
    out = tmp_path / "mr"
    args = ["explain", _dicom("MR_small.dcm"), "--model", gen, "--classifier", clf, "--out", str(out)]
    assert main([*args, *FAST, "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("warning: OUT OF DISTRIBUTION")
    assert lines[1].startswith("p(original)=n/a (out of distribution)")
    summary = json.loads((out / "explanation.json").read_text())
    assert list(summary)[:3] == ["ood", "probability_applicable", "counterfactual"]
    assert summary["ood"]["status"] == "out_of_distribution" and summary["probability_applicable"] is False
    assert "image modality MR" in summary["ood"]["reasons"][0]
    assert isinstance(summary["counterfactual"]["failed"], bool)
