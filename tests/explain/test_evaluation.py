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


def test_evaluation_on_toy_models(toy_generator, toy_classifier, toy_autoencoder, toy_style_autoencoder):
    z = toys.positive_latents(4, seed=71)
    x = toy_generator.generate(z)
    masks = toys.lesion_mask().expand(4, -1, -1)
    table = evaluate_explanations(
        toy_classifier,
        x,
        masks,
        generator=toy_generator,
        autoencoder=toy_autoencoder,
        style_autoencoder=toy_style_autoencoder,
        options={
            "inversion": {"restarts": 2, "steps": 150},
            "methods": {"style_cf": {"refine_steps": 10}, "style_lig": {"refine_steps": 10, "lig_steps": 8}},
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
    # the counterfactual searches report whether they reached the other class
    for m in ("latent_shift", "style_cf", "style_lig"):
        assert 0.0 <= s[m]["flipped"][0] <= 1.0
    assert "low_fidelity" in s["style_cf"] and "flipped" not in s["gradcam"]
    assert "completeness" in s["style_lig"]
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


def test_paired_bootstrap_finds_a_known_difference():
    from latentviz.explain.evaluation import paired_bootstrap

    rng = np.random.default_rng(3)
    base = rng.normal(0.5, 0.2, 200)  # large between-image spread...
    a, b = base + 0.05 + rng.normal(0, 0.01, 200), base  # ...and a small, consistent gain
    _, lo, hi, n = paired_bootstrap(a, b)
    assert n == 200 and lo < 0.05 < hi and lo > 0.04
    # The unpaired intervals overlap although the paired one is far from zero.
    low_a, high_b = mean_ci(a)[1], mean_ci(b)[2]
    assert low_a < high_b
    _, lo0, hi0, _ = paired_bootstrap(base, base + rng.normal(0, 0.05, 200))
    assert lo0 < 0 < hi0
    a[3] = np.nan  # an image without a value drops out of both
    assert paired_bootstrap(a, b)[3] == 199
    with pytest.raises(ValueError, match="same images"):
        paired_bootstrap(a, b[:-1])


def test_paired_verdicts_follow_the_metric_direction():
    from latentviz.explain.evaluation import MIN_PAIRED_N, EvaluationTable, quartiles

    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 40)
    table = EvaluationTable(
        values={
            "good": {"iou": x + 0.2, "deletion": x - 0.2, "completeness": x},
            "bad": {"iou": x, "deletion": x, "completeness": 2 * x},
            "same": {"iou": x + rng.normal(0, 0.01, 40)},
        }
    )
    verdicts = {(r["a"], r["b"]): r["verdict"] for r in table.paired("iou")}
    assert verdicts[("good", "bad")] == "good better"
    assert verdicts[("bad", "same")] == "undecided"
    # Lower is better for deletion: the lower curve wins.
    assert table.paired("deletion")[0]["verdict"] == "good better"
    q = table.distributions("completeness")
    assert q["bad"]["median"] == pytest.approx(2 * np.median(x))
    assert quartiles([1.0, 2.0, 3.0, np.nan])["median"] == 2.0
    few = EvaluationTable(values={"a": {"iou": x[:5] + 1}, "b": {"iou": x[:5]}})
    assert few.paired("iou")[0]["verdict"] == f"undecided (n < {MIN_PAIRED_N})"
    md = table.paired_markdown("iou")
    assert "| good − bad |" in md and "good better" in md
    assert set(table.to_dict()["paired"]) >= {"iou", "deletion"}


def test_gradcam_at_an_earlier_block_equals_captum(toy_classifier, toy_generator):
    from captum.attr import LayerAttribution, LayerGradCam

    from latentviz.errors import OptionError
    from latentviz.explain import GradCam
    from latentviz.explain.baselines import conv_blocks, score_module

    x = toy_generator.generate(toys.positive_latents(2, seed=72))
    blocks = conv_blocks(toy_classifier.module)
    gc = GradCam(toy_classifier)
    a = gc.attribute(x, block_from_end=2)
    raw = LayerGradCam(score_module(toy_classifier, "logit"), blocks[-2])
    cam = raw.attribute(x, target=1, relu_attributions=True)
    ref = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    torch.testing.assert_close(a.map, ref.detach())
    assert a.options["block_from_end"] == 2
    torch.testing.assert_close(gc.attribute(x).map, gc.attribute(x, block_from_end=1).map)
    with pytest.raises(OptionError, match="conv blocks"):
        gc.attribute(x, block_from_end=len(blocks) + 1)


def test_gradcam_block_variants_are_extra_rows(toy_classifier, toy_generator):
    from latentviz.explain.evaluation import gradcam_block_variants

    x = toy_generator.generate(toys.positive_latents(3, seed=73))
    masks = toys.lesion_mask().expand(3, -1, -1)
    variants = gradcam_block_variants(toy_classifier)
    assert variants == {"gradcam@block1of2": ("gradcam", {"block_from_end": 2})}
    table = evaluate_explanations(
        toy_classifier, x, masks, methods=["gradcam"], variants=variants,
        robustness=False, sanity=False, progress=False,
    )  # fmt: skip
    assert list(table.values) == ["gradcam", "gradcam@block1of2"]
    assert not np.allclose(table.values["gradcam"]["auprc"], table.values["gradcam@block1of2"]["auprc"])
    with pytest.raises(ValueError):
        evaluate_explanations(
            toy_classifier, x, masks, methods=["gradcam"],
            variants={"bad": ("gradcam", {"block_from_end": 0})},
            robustness=False, sanity=False, progress=False,
        )  # fmt: skip
