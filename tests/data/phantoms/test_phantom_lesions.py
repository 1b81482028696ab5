"""Pathology masks match the rendered lesions, for every kind."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.data.phantoms import generate, render

KINDS = ("cxr", "ct", "brain", "ct-hard", "cxr-hard", "brain-hard")


def _without_lesion(kind: str, factors: dict[str, np.ndarray], size: int, seed: int) -> np.ndarray:
    healthy = dict(factors)
    healthy["lesion_count"] = np.zeros_like(factors["lesion_count"])
    return render(kind, healthy, size=size, seed=seed).raw


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [64, 128])
def test_lesion_difference_lies_inside_the_mask(kind: str, size: int) -> None:
    if kind.startswith("brain"):
        pytest.importorskip("nilearn")
    b = generate(kind, 12, size=size, seed=11, positive_fraction=1.0)
    assert (b.labels == 1).all()
    area = b.masks.sum(axis=(1, 2))
    assert (area > 0).all(), f"positives with an empty mask: {np.flatnonzero(area == 0)}"
    diff = b.raw - _without_lesion(kind, b.factors, size, 11)
    energy = diff**2
    inside = (energy * b.masks).sum(axis=(1, 2)) / energy.sum(axis=(1, 2))
    assert inside.min() >= 0.9, f"{kind} {size}px: |diff|^2 inside the mask {np.round(inside, 3)}"
    # The lesion is visible: a clear contrast inside the mask, relative to the window width.
    mean_abs = (np.abs(diff) * b.masks).sum(axis=(1, 2)) / area / b.window[1]
    # The hard CT variant's nodules are faint on purpose (and vessels show through them).
    assert mean_abs.min() > (0.015 if kind == "ct-hard" else 0.04), np.round(mean_abs, 3)


@pytest.mark.parametrize("kind", ("cxr", "ct"))
def test_lesions_are_small_but_not_tiny_at_64px(kind: str) -> None:
    b = generate(kind, 40, size=64, seed=2, positive_fraction=1.0)
    frac = b.masks.mean(axis=(1, 2))
    assert frac.min() > 0.0015  # at least ~6 pixels
    assert frac.max() < 0.08  # never a quarter of the lung field
    assert 0.003 < np.median(frac) < 0.03


@pytest.mark.parametrize("kind", KINDS)
def test_negatives_have_empty_masks_and_zero_lesion_factors(kind: str) -> None:
    if kind.startswith("brain"):
        pytest.importorskip("nilearn")
    b = generate(kind, 10, size=64, seed=5, positive_fraction=0.0)
    assert (b.labels == 0).all() and not b.masks.any()
    for name, values in b.factors.items():
        if name.startswith("lesion"):
            assert not values.any(), name


def test_removing_only_the_second_lesion_changes_only_its_region() -> None:
    b = generate("cxr", 40, size=64, seed=1, positive_fraction=1.0)
    fewer = dict(b.factors)
    fewer["lesion_count"] = np.minimum(fewer["lesion_count"], 1.0)
    one = render("cxr", fewer, size=64, seed=1)
    several = b.factors["lesion_count"] >= 2
    assert several.any()
    # Dropping the extra lesions shrinks those masks to a subset and leaves the others alone.
    # (up to a pixel or two where the blurred lesion sits on the threshold within float rounding)
    assert (one.masks & ~b.masks).sum() <= 2
    assert (one.masks.sum(axis=(1, 2)) < b.masks.sum(axis=(1, 2)))[several].all()
    np.testing.assert_array_equal(one.raw[~several], b.raw[~several])
