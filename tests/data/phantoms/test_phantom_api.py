"""Contract of generate / render / factor_names for every phantom kind."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.data.phantoms import KINDS, PhantomArgumentError, factor_names, generate, render
from latentviz.errors import LatentvizError

CHEST = ("cxr", "ct")


@pytest.mark.parametrize("kind", CHEST)
def test_batch_shapes_dtypes_and_ranges(kind: str) -> None:
    b = generate(kind, 10, size=64, seed=3)
    assert b.images.shape == (10, 1, 64, 64) and b.images.dtype == np.float32
    assert b.raw.shape == (10, 64, 64) and b.raw.dtype == np.float32
    assert b.labels.dtype == np.int64 and set(np.unique(b.labels)) <= {0, 1}
    assert b.masks.shape == (10, 64, 64) and b.masks.dtype == bool
    assert b.images.min() >= -1.0 and b.images.max() <= 1.0
    assert list(b.factors) == factor_names(kind)
    assert all(v.shape == (10,) and v.dtype == np.float32 for v in b.factors.values())
    assert b.labels.sum() == 5  # positive_fraction 0.5 is an exact count


@pytest.mark.parametrize("kind", CHEST)
def test_deterministic_for_a_seed(kind: str) -> None:
    a, b, c = generate(kind, 6, seed=7), generate(kind, 6, seed=7), generate(kind, 6, seed=8)
    np.testing.assert_array_equal(a.raw, b.raw)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.allclose(a.raw, c.raw)


@pytest.mark.parametrize("kind", CHEST)
def test_render_reproduces_generate(kind: str) -> None:
    b = generate(kind, 6, size=64, seed=4)
    again = render(kind, b.factors, size=64, seed=4)
    np.testing.assert_array_equal(again.raw, b.raw)
    np.testing.assert_array_equal(again.labels, b.labels)


def test_kinds_and_bad_arguments() -> None:
    assert KINDS == ("cxr", "ct", "brain", "ct-hard", "cxr-hard", "brain-hard")
    with pytest.raises(PhantomArgumentError, match="kind"):
        generate("mri", 2)
    with pytest.raises(PhantomArgumentError, match="size"):
        generate("cxr", 2, size=8)
    with pytest.raises(PhantomArgumentError, match="n=0"):
        generate("cxr", 0)
    with pytest.raises(PhantomArgumentError, match="positive_fraction"):
        generate("ct", 2, positive_fraction=1.5)
    with pytest.raises(LatentvizError, match="labels"):
        generate("ct", 2, labels=np.array([0, 2]))
    f = generate("cxr", 2).factors
    del f["ctr"]
    with pytest.raises(PhantomArgumentError, match=r"missing.*ctr"):
        render("cxr", f)
