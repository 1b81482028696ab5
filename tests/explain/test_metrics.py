from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score

from latentviz.errors import ShapeError
from latentviz.explain import Attribution, IntegratedGradients, LatentIntegratedGradients
from latentviz.explain.metrics import (
    auprc,
    completeness_error,
    deletion_insertion,
    iou_at_mask_percentile,
    pointing_game,
    randomized_classifier,
    saliency,
    spearman,
)


def _square_mask() -> torch.Tensor:
    m = torch.zeros(1, 4, 4, dtype=torch.bool)
    m[0, :2, :2] = True  # 4 pixels
    return m


def test_iou_by_hand():
    mask = _square_mask()
    perfect = mask.float().unsqueeze(1)
    assert iou_at_mask_percentile(perfect, mask).item() == 1.0
    half = torch.zeros(1, 1, 4, 4)
    half[0, 0, 0, :4] = torch.tensor([4.0, 3.0, 2.0, 1.0])  # top-4 = row 0: 2 of them in the mask
    assert iou_at_mask_percentile(half, mask).item() == pytest.approx(2 / 6)
    # Signed maps: |value| by default, positive part on request.
    neg = -perfect
    assert iou_at_mask_percentile(neg, mask).item() == 1.0
    assert saliency(neg, "positive").sum() == 0
    # An all-zero map selects nothing (no positional tie-breaking).
    assert iou_at_mask_percentile(torch.zeros(1, 1, 4, 4), mask).item() == 0.0
    # Ties at the threshold are all selected: 8 pixels of value 1 (4 in the mask) → 4 / 8.
    tied = torch.zeros(1, 1, 4, 4)
    tied[0, 0, :2, :] = 1.0
    assert iou_at_mask_percentile(tied, mask).item() == pytest.approx(4 / 8)


def test_pointing_game_and_auprc_against_sklearn(rng):
    mask = _square_mask()
    m = torch.zeros(1, 1, 4, 4)
    m[0, 0, 3, 3] = 1.0
    assert pointing_game(m, mask).item() == 0.0
    m[0, 0, 1, 1] = 2.0
    assert pointing_game(m, mask).item() == 1.0
    assert pointing_game(torch.zeros(1, 1, 4, 4), mask).item() == 0.0
    maps = torch.from_numpy(rng.random((5, 1, 12, 12)))
    masks = torch.from_numpy(rng.random((5, 12, 12)) < 0.2)
    ref = [average_precision_score(masks[i].flatten(), maps[i, 0].flatten()) for i in range(5)]
    assert np.allclose(auprc(maps, masks).numpy(), ref, atol=1e-12)
    # Heavy ties (values rounded to 3 levels) match sklearn too; a zero map scores chance.
    coarse = (maps * 3).floor()
    ref = [average_precision_score(masks[i].flatten(), coarse[i, 0].flatten()) for i in range(5)]
    assert np.allclose(auprc(coarse, masks).numpy(), ref, atol=1e-12)
    chance = auprc(torch.zeros_like(maps), masks)
    assert torch.allclose(chance, masks.flatten(1).float().mean(1))


def test_spearman_matches_scipy(rng):
    a = torch.from_numpy(rng.random((3, 50)))
    b = a + 0.3 * torch.from_numpy(rng.random((3, 50)))
    ref = [spearmanr(a[i], b[i]).statistic for i in range(3)]
    assert np.allclose(spearman(a, b).numpy(), ref, atol=1e-6)
    assert torch.allclose(spearman(a, -a), -torch.ones(3))
    tied_a, tied_b = (a * 4).floor(), (b * 4).floor()
    ref = [spearmanr(tied_a[i], tied_b[i]).statistic for i in range(3)]
    assert np.allclose(spearman(tied_a, tied_b).numpy(), ref, atol=1e-6)
    assert torch.isnan(spearman(torch.zeros(1, 9), a[:1, :9])).all()  # constant map: undefined


def test_deletion_insertion_by_hand():
    # Classifier = mean brightness of the top-left quadrant; deleting it first kills the score.
    from torch import nn

    from latentviz.models import Classifier

    class Quadrant(nn.Module):
        def forward(self, x):
            return x[:, :, :2, :2].mean((1, 2, 3)).unsqueeze(1)

    clf = Classifier(Quadrant(), output="probabilities", activation="sigmoid", device="cpu")
    x = torch.ones(1, 1, 4, 4)
    base = torch.zeros_like(x)
    good = _square_mask().float().unsqueeze(1)
    bad = 1 - good
    g = deletion_insertion(clf, x, good, base, n_steps=4)
    b = deletion_insertion(clf, x, bad, base, n_steps=4)
    assert torch.allclose(g["deletion_curve"][0], torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))
    assert g["deletion"].item() == pytest.approx(0.125) and b["deletion"].item() == pytest.approx(0.875)
    assert g["insertion"].item() == pytest.approx(0.875) and b["insertion"].item() == pytest.approx(0.125)


def test_shape_errors():
    with pytest.raises(ShapeError, match="do not match"):
        iou_at_mask_percentile(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5, 5, dtype=torch.bool))
    with pytest.raises(ShapeError, match="at least one"):
        auprc(torch.zeros(1, 1, 4, 4), torch.zeros(1, 4, 4, dtype=torch.bool))


def test_completeness_error(toy_generator, toy_classifier):
    import explain_toys as toys

    z = toys.positive_latents(2, seed=61)
    a = LatentIntegratedGradients(toy_generator, toy_classifier).attribute(z)
    assert torch.allclose(completeness_error(a), a.delta.abs())
    assert (completeness_error(a, relative=True) < 0.02).all()
    with pytest.raises(ValueError, match="no completeness"):
        completeness_error(Attribution(torch.zeros(1, 1, 2, 2), "gradcam"))


def test_randomisation_sanity_check(toy_generator, toy_classifier):
    """IG maps of the real classifier and of a re-initialised copy must decorrelate."""
    import explain_toys as toys

    x = toy_generator.generate(toys.positive_latents(4, seed=62))
    rnd = randomized_classifier(toy_classifier, seed=1)
    assert not torch.equal(rnd.module.features[0].weight, toy_classifier.module.features[0].weight)
    assert rnd.gradcam_layer is rnd.module.features[2]
    a = IntegratedGradients(toy_classifier).attribute(x, n_steps=16)
    b = IntegratedGradients(rnd).attribute(x, n_steps=16)
    rho = spearman(a.map.abs().sum(1), b.map.abs().sum(1))
    again = spearman(
        a.map.abs().sum(1), IntegratedGradients(toy_classifier).attribute(x, n_steps=16).map.abs().sum(1)
    )
    assert torch.allclose(again, torch.ones(4, dtype=again.dtype))
    assert (rho < 0.6).all()
