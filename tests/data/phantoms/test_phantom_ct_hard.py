"""The hard CT variant: the same anatomy as ``ct``, nodule look-alikes, a difficulty knob."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.data.phantoms import PhantomArgumentError, factor_names, generate, render
from latentviz.data.phantoms import ct as ct_module
from latentviz.models.training.common import PHANTOM_KINDS


def test_kind_is_known_everywhere() -> None:
    from latentviz.data.phantoms import KINDS

    assert PHANTOM_KINDS == KINDS
    assert factor_names("ct-hard")[: len(ct_module.FACTORS)] == list(ct_module.FACTORS)
    assert {"difficulty", "vessel_density"} <= set(factor_names("ct-hard"))


def test_render_reproduces_generate_and_difficulty_is_recorded() -> None:
    b = generate("ct-hard", 6, seed=4, difficulty=0.3)
    again = render("ct-hard", b.factors, seed=4)
    np.testing.assert_array_equal(again.raw, b.raw)
    assert np.allclose(b.factors["difficulty"], 0.3)
    assert np.allclose(generate("ct-hard", 2, seed=4).factors["difficulty"], 0.25)  # the default


def test_negatives_have_nodule_look_alikes_in_the_lungs() -> None:
    # In lungs without nodules, the hard variant has structures as bright as its nodules.
    pos = generate("ct-hard", 24, seed=5, positive_fraction=1.0)
    nodule_hu = float(np.median(pos.raw[pos.masks]))
    labels = np.zeros(24, dtype=np.int64)
    hard = generate("ct-hard", 24, seed=5, labels=labels)
    plain = generate("ct", 24, seed=5, labels=labels)
    lungs = plain.raw < -650  # the same anatomy in both: the plain lung parenchyma
    look_alike = lambda b: float((b.raw[lungs] >= nodule_hu).mean())  # noqa: E731
    assert look_alike(hard) > 0.01 and look_alike(plain) < look_alike(hard) / 5
    assert not hard.masks.any()  # vessels are never in the mask


@pytest.mark.parametrize(("difficulty", "share"), [(0.0, 0.95), (0.5, 0.9), (1.0, 0.85)])
def test_mask_holds_the_lesion_at_every_difficulty(difficulty: float, share: float) -> None:
    # The change a nodule makes lies inside its mask; the faintest, smallest nodules lose
    # the most to the blur's tails.
    b = generate("ct-hard", 12, seed=6, positive_fraction=1.0, difficulty=difficulty)
    healthy = dict(b.factors, lesion_count=np.zeros(12, np.float32))
    diff = b.raw - render("ct-hard", healthy, seed=6).raw
    energy = diff**2
    inside = (energy * b.masks).sum((1, 2)) / energy.sum((1, 2))
    assert inside.min() >= share, np.round(inside, 3)


def test_difficulty_shrinks_and_fades_the_nodules() -> None:
    contrast, area = [], []
    for d in (0.0, 0.5, 1.0):
        b = generate("ct-hard", 40, seed=7, positive_fraction=1.0, difficulty=d)
        healthy = dict(b.factors, lesion_count=np.zeros(40, np.float32))
        diff = np.abs(b.raw - render("ct-hard", healthy, seed=7).raw)
        contrast.append(float((diff * b.masks).sum() / b.masks.sum()))
        area.append(float(b.masks.mean()))
    assert contrast[0] > contrast[1] > contrast[2] and area[0] > area[1] > area[2]


def test_bad_difficulty_is_refused() -> None:
    with pytest.raises(PhantomArgumentError, match="difficulty"):
        generate("ct-hard", 2, difficulty=1.5)
    with pytest.raises(PhantomArgumentError, match="only the hard kinds"):
        generate("ct", 2, difficulty=0.5)
