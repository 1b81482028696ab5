from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from core_toys import toy_generator
from PIL import Image

from latentviz.core.interpolation import InterpolationSession
from latentviz.errors import LatentvizError


@pytest.fixture
def cond():
    return toy_generator(split_sizes=(6, 2))


def test_default_path_is_negative_to_positive(cond, classifier) -> None:
    z = cond.sample_latents(1, seed=2)
    s = InterpolationSession(cond, None, z, classifier, n_frames=6)
    assert torch.allclose(s.start[6:], torch.zeros(2)) and torch.allclose(s.start[:6], z[0, :6])
    assert s.probabilities.shape == (6,)
    last = s.frame(5)
    assert np.allclose(
        np.asarray(Image.open(io.BytesIO(last.png)), dtype=float) / 255 * 2 - 1,
        cond.generate(z)[0, 0].numpy(),
        atol=1 / 127,
    )


def test_accumulating_difference_grows(cond) -> None:
    a, b = cond.sample_latents(2, seed=4)
    s = InterpolationSession(cond, a, b, n_frames=8)
    sums = s.path.cumulative_difference.flatten(1).sum(1)
    assert (sums[1:] >= sums[:-1]).all() and sums[0] == 0
    first, last = s.frame(0), s.frame(7)
    assert first.probability is None and last.alpha == 1.0
    assert Image.open(io.BytesIO(s.export_gif())).n_frames == 8
    assert set(s.colorbars()) == {"step", "cumulative"}


def test_bad_input(cond, generator) -> None:
    with pytest.raises(LatentvizError, match="not a conditional"):
        InterpolationSession(generator, None, generator.sample_latents(1))
    with pytest.raises(LatentvizError, match="frames"):
        InterpolationSession(cond, None, cond.sample_latents(1), n_frames=1)
    s = InterpolationSession(cond, None, cond.sample_latents(1), n_frames=3)
    with pytest.raises(LatentvizError, match="out of range"):
        s.frame(3)


def test_from_seeds_and_from_image(cond, generator, classifier) -> None:
    s = InterpolationSession.from_seeds(generator, 3, 4, n_frames=4)
    assert torch.allclose(s.start, generator.sample_latents(1, seed=3)[0])
    assert torch.allclose(s.end, generator.sample_latents(1, seed=4)[0]) and s.inversion is None
    x = cond.generate(cond.sample_latents(1, seed=5))
    steps: list[int] = []
    inv_s = InterpolationSession.from_image(
        cond,
        x,
        classifier,
        n_frames=5,
        steps=4,
        restarts=1,
        refine_evals=0,
        callback=lambda i, info: steps.append(i),
    )
    assert steps == [1, 2, 3, 4]  # no L-BFGS polish when refine_evals=0
    inv = inv_s.inversion
    assert torch.allclose(inv_s.end, inv.z[0].cpu()) and torch.allclose(inv_s.start[6:], torch.zeros(2))
    assert inv_s.probabilities.shape == (5,)


def test_from_zoo_needs_a_conditional_model_for_an_image(generator) -> None:
    with pytest.raises(LatentvizError, match="not a conditional"):
        InterpolationSession.from_zoo(generator, image=np.zeros((32, 32), np.float32))
    s = InterpolationSession.from_zoo(generator, n_frames=3, seed=7)
    assert s.classifier is None and torch.allclose(s.start, generator.sample_latents(1, seed=7)[0])


def test_colormaps_are_options_and_the_colorbars_follow_them(cond) -> None:
    from latentviz.core import render
    from latentviz.errors import UnknownColormapError

    a, b = cond.sample_latents(2, seed=4).chunk(2)
    default = InterpolationSession(cond, a, b, n_frames=4)
    jet = InterpolationSession(cond, a, b, n_frames=4, cumulative_colormap="jet", step_colormap="PuOr")
    assert default.cumulative_colormap == render.MAGNITUDE_COLORMAP
    assert default.step_colormap == render.SIGNED_COLORMAP
    assert default.frame(3).cumulative_png != jet.frame(3).cumulative_png
    assert default.frame(3).step_png != jet.frame(3).step_png
    assert default.colorbars()["cumulative"] != jet.colorbars()["cumulative"]
    assert default.colorbars()["cumulative"] == render.colorbar_png(
        render.MAGNITUDE_COLORMAP, 0.0, default.cumulative_scale, "accumulated |difference|"
    )
    with pytest.raises(UnknownColormapError):
        InterpolationSession(cond, a, b, n_frames=4, cumulative_colormap="jet-ish")
