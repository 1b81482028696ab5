"""``latentviz evaluate explanations`` on tiny untrained models (numbers are not meaningful,
the plumbing is): every method row, every metric column, JSON and markdown output."""

from __future__ import annotations

import json

import pytest
import torch

from latentviz.cli import main
from latentviz.cli.evaluate import default_models
from latentviz.explain import registry
from latentviz.models.architectures import build
from latentviz.models.architectures.stylegan import StyleGAN2Generator
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
    sk = {"image_size": 32, "z_dim": 8, "w_dim": 8, "n_mlp": 2, "channel_base": 64, "channel_max": 8,
          "encoder": "w+"}  # fmt: skip
    save_model(
        StyleGAN2Generator(**sk), {"architecture": "style-gaan", "kwargs": sk, "latent_space": "w+"}, d / "sg"
    )
    return {k: str(d / f"{k}.safetensors") for k in ("gen", "clf", "vae", "sg")}


def _argv(files, *extra):
    return ["evaluate", "explanations", "--data", "cxr", "--n", "3", "--model", files["gen"],
            "--classifier", files["clf"], "--autoencoder", files["vae"], "--style-model", files["sg"],
            "--steps", "10",
            "--restarts", "1", "--quiet", *extra]  # fmt: skip


def test_evaluate_explanations_json(model_files, capsys):
    assert main(_argv(model_files, "--json")) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["info"]["n"] == 3 and d["info"]["data"] == "cxr"
    assert list(d["summary"]) == list(registry.keys())  # every registered method is a row
    row = d["summary"]["lig"]
    for k in (
        "iou",
        "pointing",
        "auprc",
        "deletion",
        "insertion",
        "iou_noise",
        "rank_randomized",
        "completeness",
    ):
        assert k in row
        lo, hi = row[k]["ci95"]
        assert lo <= row[k]["mean"] <= hi or lo != lo  # NaN CI only for constant columns
    assert 0.0 <= row["iou"]["mean"] <= 1.0
    assert {"flipped", "low_fidelity", "completeness"} <= set(d["summary"]["style_lig"])
    assert d["info"]["style_model"] == model_files["sg"]


def test_evaluate_markdown_subset(model_files, capsys):
    assert main(_argv(model_files, "--methods", "gradcam", "ig", "--no-robustness", "--no-sanity")) == 0
    out = capsys.readouterr().out
    assert "| method | iou ↑" in out and "| gradcam |" in out and "| ig |" in out
    assert "rank_noise" not in out


def test_evaluate_without_target_prints_usage(capsys):
    assert main(["evaluate"]) == 1
    assert "explanations" in capsys.readouterr().err


def test_default_models_only_names_what_the_zoo_has():
    d = default_models("brain")
    from latentviz import zoo

    for v in d.values():
        assert v is None or v in zoo.names()


def test_directions_target_is_dispatched_when_its_module_exists(capsys):
    import importlib.util

    if importlib.util.find_spec("latentviz.cli._evaluate_directions") is None:
        pytest.skip("latentviz.cli._evaluate_directions not installed")
    import argparse

    import latentviz.cli._evaluate_directions as mod

    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "directions", "--help"])
    assert exc.value.code == 0
    ours = capsys.readouterr().out
    p = argparse.ArgumentParser(prog="x")
    mod.add_arguments(p)
    # Every option of the directions module appears in `latentviz evaluate directions --help`.
    for action in p._actions:
        for opt in action.option_strings:
            assert opt in ours


def test_evaluate_paired_and_gradcam_blocks(model_files, capsys):
    argv = _argv(model_files, "--methods", "gradcam", "ig", "lig", "lig_paper", "--gradcam-blocks", "all",
                 "--paired", "iou", "--no-sanity", "--no-robustness")  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    for block in ("gradcam@block1of4", "gradcam@block2of4", "gradcam@block3of4"):
        assert f"| {block} |" in out  # a row of the table
    assert "| iou: A − B | difference [95 % paired bootstrap CI] | n | verdict |" in out
    assert "| gradcam − ig |" in out and "undecided (n < 10)" in out  # n = 3: no verdicts
    assert "| completeness | median | q1 | q3 |" in out and "| lig_paper |" in out
    assert main(_argv(model_files, "--methods", "gradcam", "--gradcam-blocks", "2", "--json")) == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d["summary"]) == ["gradcam", "gradcam@block3of4"]
    assert d["paired"]["iou"][0]["a"] == "gradcam"


def test_evaluate_refuses_bad_blocks_and_metrics(model_files, capsys):
    assert main(_argv(model_files, "--methods", "gradcam", "--gradcam-blocks", "deep")) != 0
    assert "--gradcam-blocks takes block numbers" in capsys.readouterr().err
    assert main(_argv(model_files, "--methods", "gradcam", "--gradcam-blocks", "9")) != 0
    assert "conv blocks" in capsys.readouterr().err
    assert main(_argv(model_files, "--methods", "gradcam", "--paired", "speed")) != 0
    assert "unknown metric 'speed'" in capsys.readouterr().err
