"""Declared upper and lower bounds of invert / IG / LIG: absurd values raise OptionError
(a LatentvizError and a ValueError) before any compute, not captum's AssertionError."""

from __future__ import annotations

import explain_toys as toys
import pytest
import torch

from latentviz.bounds import IG_STEPS, INVERT_RESTARTS, INVERT_STEPS, LIG_STEPS, Bound
from latentviz.errors import LatentvizError, OptionError
from latentviz.explain import (
    IntegratedGradients,
    LatentIntegratedGradients,
    SmoothGrad,
    deletion_insertion,
    invert,
)


def test_option_error_is_typed_and_names_option_value_and_range() -> None:
    with pytest.raises(OptionError) as info:
        Bound(1, 8).check("restarts", 9)
    err = info.value
    assert isinstance(err, LatentvizError) and isinstance(err, ValueError)
    assert err.option == "restarts" and err.value == 9
    assert "restarts=9" in str(err) and "1 … 8" in str(err)
    for bad in (True, 2.5, "3", None):
        with pytest.raises(OptionError):
            Bound(1, 8).check("restarts", bad)
    assert Bound(1, 8).check("restarts", 8) == 8


@pytest.mark.parametrize(
    ("option", "value"),
    [("restarts", 0), ("restarts", 10**5), ("steps", -1), ("steps", 10**9), ("refine_evals", 10**9)],
)
def test_invert_refuses_absurd_values(toy_generator, toy_classifier, option, value) -> None:
    x = toy_generator.generate(toys.positive_latents(1, seed=3))
    with pytest.raises(OptionError, match=f"{option}={value}"):
        invert(toy_generator, toy_classifier, x, progress=False, **{option: value})


def test_invert_accepts_its_bounds(toy_generator, toy_classifier) -> None:
    x = toy_generator.generate(toys.positive_latents(1, seed=3))
    lo = {"restarts": INVERT_RESTARTS.low, "steps": INVERT_STEPS.low}
    r = invert(toy_generator, toy_classifier, x, progress=False, **lo)
    assert r.z.shape[0] == 1


@pytest.mark.parametrize("n_steps", [0, -3, IG_STEPS.high + 1, 10**6])
def test_integrated_gradients_refuses_absurd_steps(toy_generator, toy_classifier, n_steps) -> None:
    x = toy_generator.generate(toys.positive_latents(1, seed=4))
    with pytest.raises(OptionError, match="n_steps"):
        IntegratedGradients(toy_classifier).attribute(x, n_steps=n_steps)


@pytest.mark.parametrize("n_steps", [0, LIG_STEPS.high + 1, 10**6])
def test_lig_refuses_absurd_steps(toy_generator, toy_classifier, n_steps) -> None:
    z = toys.positive_latents(1, seed=5)
    with pytest.raises(OptionError, match="n_steps"):
        LatentIntegratedGradients(toy_generator, toy_classifier).attribute(z, n_steps=n_steps)


@pytest.mark.parametrize("nt_samples", [0, 10**6])
def test_smoothgrad_refuses_absurd_samples(toy_generator, toy_classifier, nt_samples) -> None:
    x = toy_generator.generate(toys.positive_latents(1, seed=6))
    with pytest.raises(OptionError, match="nt_samples"):
        SmoothGrad(toy_classifier).attribute(x, nt_samples=nt_samples)


@pytest.mark.parametrize("n_steps", [0, 10**6])
def test_deletion_insertion_refuses_absurd_steps(toy_generator, toy_classifier, n_steps) -> None:
    x = toy_generator.generate(toys.positive_latents(1, seed=7))
    with pytest.raises(OptionError, match="n_steps"):
        deletion_insertion(toy_classifier, x, torch.ones_like(x), torch.zeros_like(x), n_steps=n_steps)
