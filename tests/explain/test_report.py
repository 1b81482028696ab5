from __future__ import annotations

import json

import explain_toys as toys
import numpy as np
import torch
from PIL import Image

from latentviz.explain import explain_image, explanation_figure, save_explanation


def test_explain_image_summary_figure_and_files(toy_generator, toy_classifier, tmp_path):
    x = toy_generator.generate(toys.positive_latents(1, seed=81))
    e = explain_image(
        toy_generator, toy_classifier, x, methods=("gradcam", "ig", "lig"), n_frames=6, progress=False
    )
    s = e.summary()
    assert s["probability"]["original"] > 0.5 and s["probability"]["negative"] < 0.5
    assert "warning" not in s and s["low_fidelity"] is False
    gap = s["probability"]["positive"] - s["probability"]["negative"]
    lig = s["methods"]["lig"]
    assert abs(lig["attribution_sum"] - gap - lig["completeness_delta"]) < 1e-5
    assert abs(lig["completeness_delta"]) < 0.02 * gap
    fig = explanation_figure(e)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert len(titles) == 8 and all("p=" in t or "Δp=" in t for t in titles)
    labels = [a.get_ylabel() for a in fig.axes]
    assert "attribution / max |attribution|" in labels and "pixel difference" in labels
    paths = save_explanation(e, tmp_path)
    assert Image.open(paths["gif"]).n_frames == 6
    assert np.load(paths["maps"])["lig"].shape == (1, 16, 16)
    assert json.loads(paths["summary"].read_text())["methods"]["ig"]["method"] == "integrated_gradients"


def test_negative_image_is_flagged(toy_generator, toy_classifier):
    z = toys.positive_latents(1, seed=82)
    z[:, toys.D1 :] = 0.0  # no lesion: the classifier calls it negative
    e = explain_image(
        toy_generator, toy_classifier, toy_generator.generate(z), methods=("gradcam",), progress=False
    )
    assert "negative" in e.summary()["warning"]
    assert "NEGATIVE" in explanation_figure(e)._suptitle.get_text()
    assert torch.isfinite(e.attributions["gradcam"].map).all()
