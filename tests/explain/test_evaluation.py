from __future__ import annotations

import explain_toys as toys
import numpy as np
import pytest
import torch

from latentviz.explain import registry
from latentviz.explain.evaluation import evaluate_explanations, mean_ci


def test_mean_ci_by_hand():
    m, _, hi = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0
    assert hi - m == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)  # t_{0.975, 2} · s / √n
    assert np.isnan(mean_ci([])[0])


def test_evaluation_on_toy_models(toy_generator, toy_classifier, toy_autoencoder):
    z = toys.positive_latents(4, seed=71)
    x = toy_generator.generate(z)
    masks = toys.lesion_mask().expand(4, -1, -1)
    table = evaluate_explanations(
        toy_classifier,
        x,
        masks,
        generator=toy_generator,
        autoencoder=toy_autoencoder,
        options={
            "inversion": {"restarts": 2, "steps": 150},
            "lig_steps": 16,
            "ig_steps": 16,
            "nt_samples": 4,
        },
        progress=False,
        info={"data": "toy"},
    )
    s = table.summary()
    # One row per registered method (the toy models allow them all).
    assert list(s) == list(registry.keys())
    # On the toy the lesion is all the classifier sees: the generator-based maps localise it.
    assert s["medxgan"]["iou"][0] > 0.6 and s["lig"]["iou"][0] > 0.6
    assert s["lig"]["pointing"][0] == 1.0
    assert s["lig"]["completeness"][0] < 0.02 and s["lig_paper"]["completeness"][0] > 0.1
    assert "completeness" not in s["gradcam"]
    # Deleting what the LIG map ranks first removes the prediction faster than its insertion restores it.
    assert s["lig"]["deletion"][0] < s["lig"]["insertion"][0]
    for m in s:
        assert {"iou_noise", "rank_blur", "rank_randomized"} <= set(s[m])
    assert table.fidelity["low_fidelity"].mean() == 0.0
    md = table.to_markdown()
    assert md.startswith("| method | iou ↑") and md.count("\n") == len(registry.keys()) + 1
    d = table.to_dict()
    assert d["info"]["data"] == "toy" and d["info"]["n"] == 4
    assert d["summary"]["lig"]["iou"]["ci95"][0] <= d["summary"]["lig"]["iou"]["mean"]


def test_evaluation_rejects_missing_models(toy_classifier):
    x = torch.zeros(1, 1, 16, 16)
    m = toys.lesion_mask()[None]
    with pytest.raises(ValueError, match="conditional generator"):
        evaluate_explanations(toy_classifier, x, m, methods=["lig"], progress=False)
    from latentviz.errors import ShapeError

    with pytest.raises(ShapeError, match="masks"):
        evaluate_explanations(toy_classifier, x, m[:, :8], methods=["gradcam"], progress=False)
