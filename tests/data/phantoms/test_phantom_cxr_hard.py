"""The hard radiograph variant: the same anatomy as ``cxr``, opacity look-alikes, a difficulty knob."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.data.phantoms import HARD_KINDS, PhantomArgumentError, cxr_hard, factor_names, generate, render
from latentviz.data.phantoms import cxr as cxr_module
from latentviz.data.phantoms.geometry import body_grid, col


def test_kind_is_hard_and_keeps_the_plain_factors() -> None:
    assert "cxr-hard" in HARD_KINDS
    assert factor_names("cxr-hard")[: len(cxr_module.FACTORS)] == list(cxr_module.FACTORS)
    assert {"difficulty", "rib_density", "vessel_density"} <= set(factor_names("cxr-hard"))


def test_render_reproduces_generate_and_difficulty_is_recorded() -> None:
    b = generate("cxr-hard", 6, seed=4, difficulty=0.3)
    np.testing.assert_array_equal(render("cxr-hard", b.factors, seed=4).raw, b.raw)
    assert np.allclose(b.factors["difficulty"], 0.3)
    assert np.allclose(generate("cxr-hard", 2, seed=4).factors["difficulty"], 0.25)


def test_empty_hooks_leave_the_plain_render_unchanged() -> None:
    # The plain phantom keeps its published images: hooks that add nothing, and the
    # default opacity written out, give the hook-free render bit for bit.
    b = generate("cxr", 4, seed=3, positive_fraction=1.0)
    plain, plain_mask = cxr_module.render_raw(b.factors, 64, np.random.default_rng([3, 1]))

    def default_opacity(lesion: np.ndarray, ctx: dict) -> np.ndarray:
        return col(ctx["f"]["lesion_intensity"]) * 0.8 * lesion * (0.85 + 0.15 * ctx["texture"])

    hooked, hooked_mask = cxr_module.render_raw(
        b.factors, 64, np.random.default_rng([3, 1]), anatomy=lambda D, ctx: None, opacity=default_opacity
    )
    np.testing.assert_array_equal(hooked, plain)
    np.testing.assert_array_equal(hooked_mask, plain_mask)
    hard = generate("cxr-hard", 4, seed=3, labels=b.labels)
    assert not np.allclose(hard.raw, b.raw)


def test_negatives_have_more_bright_spots_in_the_lungs() -> None:
    # Rib crossings, end-on vessels and nipples: lung pixels brighter than the lung's usual
    # level are far more common in hard negatives than in plain ones with the same anatomy.
    labels = np.zeros(24, dtype=np.int64)
    plain = generate("cxr", 24, seed=5, labels=labels)
    hard = generate("cxr-hard", 24, seed=5, labels=labels)
    lungs = plain.raw < np.percentile(plain.raw, 25, axis=(1, 2), keepdims=True)
    excess = hard.raw - plain.raw
    assert float((excess[lungs] > 0.05).mean()) > 0.05
    assert not hard.masks.any()  # nothing but an opacity is ever in the mask


@pytest.mark.parametrize(("difficulty", "share"), [(0.0, 0.95), (0.5, 0.93), (1.0, 0.9)])
def test_mask_holds_the_opacity_at_every_difficulty(difficulty: float, share: float) -> None:
    b = generate("cxr-hard", 12, seed=6, positive_fraction=1.0, difficulty=difficulty)
    healthy = dict(b.factors, lesion_count=np.zeros(12, np.float32))
    energy = (b.raw - render("cxr-hard", healthy, seed=6).raw) ** 2
    inside = (energy * b.masks).sum((1, 2)) / energy.sum((1, 2))
    assert inside.min() >= share, np.round(inside, 3)


def test_difficulty_shrinks_and_fades_the_opacities() -> None:
    contrast, area = [], []
    for d in (0.0, 0.5, 1.0):
        b = generate("cxr-hard", 40, seed=7, positive_fraction=1.0, difficulty=d)
        healthy = dict(b.factors, lesion_count=np.zeros(40, np.float32))
        diff = np.abs(b.raw - render("cxr-hard", healthy, seed=7).raw)
        contrast.append(float((diff * b.masks).sum() / b.masks.sum()))
        area.append(float(b.masks.mean()))
    assert contrast[0] > contrast[1] > contrast[2] and area[0] > area[1] > area[2]


def _relative_spread(kind: str, seed: int) -> float:
    """Median over the dense opacities of std / mean of the opacity's own contrast."""
    b = generate(kind, 24, seed=seed, positive_fraction=1.0, **({"difficulty": 0.0} if kind != "cxr" else {}))
    healthy = dict(b.factors, lesion_count=np.zeros(24, np.float32))
    diff = b.raw - render(kind, healthy, seed=seed).raw
    dense = np.flatnonzero(b.factors["lesion_intensity"] > 0.85)
    assert dense.size >= 3
    return float(np.median([np.std(diff[i][b.masks[i]]) / np.mean(diff[i][b.masks[i]]) for i in dense]))


def test_opacities_are_more_textured_than_the_plain_ground_glass() -> None:
    assert _relative_spread("cxr-hard", 8) > 1.2 * _relative_spread("cxr", 8)


def test_dense_opacities_carry_air_bronchograms_and_faint_ones_do_not() -> None:
    # One opacity of radius 0.15 in the right lung, without mottle: in a consolidation
    # (intensity 0.95) airways carry its density down to 40 %; a faint one (0.3) stays whole.
    X, Y = body_grid(128, np.zeros(2), np.zeros(2), np.zeros(2), np.ones(2))
    px = col(np.full(2, 2.0 / 128))
    cx, cy, r = np.full(2, 0.45, np.float32), np.zeros(2, np.float32), np.full(2, 0.15, np.float32)
    lesion = (np.hypot(X - 0.45, Y) < 0.15).astype(np.float32)
    ctx = {"X": X, "Y": Y, "px": px, "f": {"lesion_intensity": np.array([0.95, 0.3], np.float32)},
           "centres": [(cx, cy, r)]}  # fmt: skip
    density = cxr_hard._opacity(lesion, ctx, np.zeros_like(X))
    core = np.hypot(X - 0.45, Y) < 0.1
    relative = density / (0.8 * col(ctx["f"]["lesion_intensity"]))
    dense, faint = relative[0][core[0]], relative[1][core[1]]
    assert dense.min() < 0.45 and (dense < 0.6).mean() > 0.05
    assert faint.min() > 0.69


def test_bad_difficulty_is_refused() -> None:
    with pytest.raises(PhantomArgumentError, match="difficulty"):
        generate("cxr-hard", 2, difficulty=-0.1)
