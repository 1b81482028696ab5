"""``latentviz explain`` end to end on tiny untrained models saved as latentviz model files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from latentviz.cli import main
from latentviz.models.architectures import build
from latentviz.models.io import save_model


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    gk = {"anatomy_dim": 8, "pathology_dim": 2, "image_size": 32, "width": 8}
    save_model(build("medxgan", **gk), {"architecture": "medxgan", "kwargs": gk}, d / "gen")
    save_model(
        build("cnn-classifier", width=4),
        {"architecture": "cnn-classifier", "kwargs": {"width": 4}},
        d / "clf",
    )
    vk = {"latent_dim": 8, "image_size": 32, "width": 4}
    save_model(build("vae", **vk), {"architecture": "vae", "kwargs": vk}, d / "vae")
    return {k: str(d / f"{k}.safetensors") for k in ("gen", "clf", "vae")}


def test_explain_phantom_writes_figure_maps_json_gif(model_files, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(
        ["explain", "phantom:cxr:3", "--model", model_files["gen"], "--classifier", model_files["clf"],
         "--out", str(out), "--steps", "20", "--restarts", "2", "--ig-steps", "8", "--lig-steps", "8",
         "--frames", "5", "--quiet", "--json"]
    )  # fmt: skip
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["probability"]) == {"original", "reconstruction", "negative", "positive"}
    assert isinstance(summary["low_fidelity"], bool)
    lig = summary["methods"]["lig"]
    # Completeness: the LIG sum matches f(pos) − f(neg) up to the reported delta.
    gap = summary["probability"]["positive"] - summary["probability"]["negative"]
    assert lig["attribution_sum"] - gap == pytest.approx(lig["completeness_delta"], abs=1e-5)
    assert set(summary["localisation"]) == {"medxgan", "gradcam", "ig", "lig"}
    maps = np.load(out / "explanation.npz")
    assert maps["lig"].shape == (1, 32, 32) and maps["gradcam"].shape == (1, 32, 32)
    assert maps["interpolation_frames"].shape == (5, 1, 32, 32)
    png = Image.open(out / "explanation.png")
    assert png.size[0] > 1000
    gif = Image.open(out / "explanation_interpolation.gif")
    assert gif.n_frames == 5
    assert json.loads((out / "explanation.json").read_text())["localisation"]["lig"]["iou"] >= 0


def test_explain_png_input_and_errors(model_files, tmp_path, capsys):
    img = tmp_path / "x.png"
    Image.fromarray((np.random.default_rng(0).random((40, 48)) * 255).astype(np.uint8)).save(img)
    rc = main(
        ["explain", str(img), "--model", model_files["gen"], "--classifier", model_files["clf"],
         "--out", str(tmp_path / "o"), "--steps", "5", "--restarts", "1", "--methods", "gradcam",
         "--frames", "3", "--quiet"]
    )  # fmt: skip
    assert rc == 0
    assert "wrote figure" in capsys.readouterr().out
    # A VAE is not a conditional generator; a missing file and a bad phantom spec are typed errors.
    for argv, msg in (
        (["--model", model_files["vae"], "--classifier", model_files["clf"]], "conditional"),
        (["--model", model_files["gen"], "--classifier", model_files["gen"]], "not a classifier"),
    ):
        assert main(["explain", str(img), *argv, "--out", str(tmp_path / "e"), "--quiet"]) == 2
        assert msg in capsys.readouterr().err
    base = ["--model", model_files["gen"], "--classifier", model_files["clf"], "--out", str(tmp_path / "e")]
    assert main(["explain", str(tmp_path / "missing.dcm"), *base]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["explain", "phantom:xray:1", *base]) == 2
    assert "phantom:KIND:SEED" in capsys.readouterr().err


def test_the_image_file_name_reaches_no_export(model_files, tmp_path, capsys, monkeypatch):
    """File names are identifiers (issue 14, item 12): not in the title, the JSON, the GIF or the maps."""
    import latentviz.explain.report as report

    name = "DOE_JOHN_MRN4471"
    img = tmp_path / f"{name}.png"
    Image.fromarray((np.random.default_rng(0).random((40, 48)) * 255).astype(np.uint8)).save(img)
    titles: list[str] = []
    figure = report.explanation_figure
    monkeypatch.setattr(report, "explanation_figure", lambda e, i, t: (titles.append(t), figure(e, i, t))[1])
    out = tmp_path / "o"
    rc = main(
        ["explain", str(img), "--model", model_files["gen"], "--classifier", model_files["clf"],
         "--out", str(out), "--steps", "5", "--restarts", "1", "--methods", "gradcam",
         "--frames", "3", "--quiet", "--json"]
    )  # fmt: skip
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["image"] == "image.png" and titles and titles[0].startswith("image.png · ")
    assert name not in json.dumps({k: v for k, v in summary.items() if k != "files"})
    for path in out.iterdir():
        assert name.encode() not in path.read_bytes(), path.name
