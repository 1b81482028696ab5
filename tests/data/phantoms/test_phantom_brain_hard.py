"""The hard brain variant: enhancing look-alikes and tumours from ring-enhancing to non-enhancing."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.data.phantoms import HARD_KINDS, PhantomArgumentError, factor_names, generate, render

pytest.importorskip("nilearn")

from latentviz.data.phantoms import brain as brain_module


def _lesion_change(b, seed: int) -> np.ndarray:
    healthy = dict(b.factors, lesion_count=np.zeros(len(b), np.float32))
    return b.raw - render(b.kind, healthy, seed=seed).raw


def test_kind_is_hard_and_keeps_the_plain_factors() -> None:
    assert "brain-hard" in HARD_KINDS
    assert factor_names("brain-hard")[: len(brain_module.FACTORS)] == list(brain_module.FACTORS)
    assert {"difficulty", "lesion_enhancement"} <= set(factor_names("brain-hard"))


def test_render_reproduces_generate_and_negatives_carry_no_enhancement() -> None:
    b = generate("brain-hard", 6, seed=4, difficulty=0.6)
    np.testing.assert_array_equal(render("brain-hard", b.factors, seed=4).raw, b.raw)
    assert np.allclose(b.factors["difficulty"], 0.6)
    assert not b.factors["lesion_enhancement"][b.labels == 0].any()


def test_empty_hooks_leave_the_plain_render_unchanged() -> None:
    b = generate("brain", 4, seed=3, positive_fraction=1.0)
    plain, plain_mask = brain_module.render_raw(b.factors, 64, np.random.default_rng([3, 1]))
    hooked, hooked_mask = brain_module.render_raw(
        b.factors, 64, np.random.default_rng([3, 1]), before_tumour=lambda img, ctx: None
    )
    np.testing.assert_array_equal(hooked, plain)
    np.testing.assert_array_equal(hooked_mask, plain_mask)


def test_negatives_have_enhancing_look_alikes() -> None:
    # Bright spots above white matter appear in lesion-free hard slices, not in plain ones.
    labels = np.zeros(16, dtype=np.int64)
    plain = generate("brain", 16, seed=5, labels=labels)
    hard = generate("brain-hard", 16, seed=5, labels=labels)
    excess = hard.raw - plain.raw
    assert (excess.reshape(16, -1).max(axis=1) > 30).mean() >= 0.9
    assert not hard.masks.any()


@pytest.mark.parametrize(("difficulty", "share"), [(0.0, 0.95), (0.5, 0.95), (1.0, 0.9)])
def test_mask_holds_the_lesion_at_every_difficulty(difficulty: float, share: float) -> None:
    # The smallest tumours (difficulty 1) lose the most to their rim's partial pixels.
    b = generate("brain-hard", 16, seed=6, positive_fraction=1.0, difficulty=difficulty)
    energy = _lesion_change(b, 6) ** 2
    inside = (energy * b.masks).sum((1, 2)) / energy.sum((1, 2))
    assert inside.min() >= share, np.round(inside, 3)


def test_difficulty_fades_shrinks_and_silences_the_tumours() -> None:
    contrast, area, silent = [], [], []
    for d in (0.0, 0.5, 1.0):
        b = generate("brain-hard", 40, seed=7, positive_fraction=1.0, difficulty=d)
        diff = np.abs(_lesion_change(b, 7))
        contrast.append(float((diff * b.masks).sum() / b.masks.sum()))
        area.append(float(b.masks.mean()))
        silent.append(float((b.factors["lesion_enhancement"] < 0.15).mean()))
    assert contrast[0] > contrast[1] > contrast[2] and area[0] > area[1] > area[2]
    assert silent[0] == 0.0 and silent[1] > 0.1 and silent[2] > 0.4


def test_non_enhancing_tumours_are_darker_with_no_bright_rim() -> None:
    b = generate("brain-hard", 40, seed=8, positive_fraction=1.0, difficulty=1.0)
    diff = _lesion_change(b, 8)
    e = b.factors["lesion_enhancement"]
    quiet, loud = np.flatnonzero(e < 0.15), np.flatnonzero(e > 0.6)
    assert quiet.size >= 5 and loud.size >= 3
    brightest = np.array([diff[i][b.masks[i]].max() for i in range(len(b))])
    mean = np.array([diff[i][b.masks[i]].mean() for i in range(len(b))])
    assert (mean[quiet] < 0).all()  # hypointense lesions
    assert np.median(brightest[quiet]) < 0.3 * np.median(brightest[loud])


def test_bad_difficulty_is_refused() -> None:
    with pytest.raises(PhantomArgumentError, match="difficulty"):
        generate("brain-hard", 2, difficulty=2.0)
