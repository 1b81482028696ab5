from __future__ import annotations

import explain_toys as toys
import pytest
import torch

from latentviz.errors import LatentError
from latentviz.explain import interpolate


def test_single_path(toy_generator, toy_classifier):
    g = toy_generator
    z = toys.positive_latents(1, seed=51)[0]
    start = g.join(g.split(z[None])[0])[0]
    it = interpolate(g, start, z, n_frames=9, classifier=toy_classifier)
    assert it.frames.shape == (9, 1, 16, 16)
    assert it.probabilities.shape == (9,)
    assert torch.allclose(it.frames[0], g.generate(start)[0]) and torch.allclose(
        it.frames[-1], g.generate(z)[0]
    )
    assert it.probabilities[0] < 0.5 < it.probabilities[-1]
    assert torch.allclose(it.step_difference[1:], it.frames[1:] - it.frames[:-1])
    assert torch.equal(it.step_difference[0], torch.zeros(1, 16, 16))
    assert torch.allclose(it.cumulative_difference[-1], it.step_difference.abs().sum(0), atol=1e-6)


def test_batch_of_paths_and_mismatch(toy_generator):
    a = toys.positive_latents(3, seed=52)
    b = toys.positive_latents(3, seed=53)
    it = interpolate(toy_generator, a, b, n_frames=5)
    assert it.frames.shape == (3, 5, 1, 16, 16) and it.probabilities is None
    assert torch.allclose(it.latents[:, 2], (a + b) / 2)
    with pytest.raises(LatentError):
        interpolate(toy_generator, a, b[:2])
