"""Models named by file path (the dashboard's --model PATH) and pixel profiles along a path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz import zoo
from latentviz.core import InterpolationSession, loading
from latentviz.errors import LatentvizError, ModelFileError


def test_model_file_path_loads_like_the_zoo_name() -> None:
    by_name = loading.load_generator("ct-dcgan")
    weights = zoo.path_of("ct-dcgan")
    for spec in (weights, str(weights), str(weights.with_suffix(""))):
        g = loading.load_generator(spec)
        assert g.sha256 == by_name.sha256
    c = loading.load_classifier(zoo.path_of("ct-classifier"))
    assert c.sha256 == loading.load_classifier("ct-classifier").sha256


def test_wrong_kind_and_missing_model_are_clear_errors(tmp_path) -> None:
    with pytest.raises(LatentvizError, match="not a generator"):
        loading.load_generator(zoo.path_of("ct-classifier"))
    with pytest.raises(LatentvizError, match="not a classifier"):
        loading.load_classifier("ct-dcgan")
    with pytest.raises(ModelFileError, match="no zoo model"):
        loading.load_generator(str(tmp_path / "nothing"))


def test_pixel_profile_follows_the_frames() -> None:
    g = loading.load_generator("ct-medxgan")
    s = InterpolationSession(g, None, g.sample_latents(1, seed=3), None, n_frames=6)
    prof = s.pixel_profile(20, 41)
    assert prof.shape == (6,)
    np.testing.assert_allclose(prof, s.path.frames[:, 0, 20, 41].numpy())
    # the path starts at the negative (z2 = 0) and ends at the latent itself
    end = g.generate(g.sample_latents(1, seed=3))
    assert abs(prof[-1] - float(end[0, 0, 20, 41])) < 1e-4
    assert not torch.equal(s.path.frames[0], s.path.frames[-1])
    with pytest.raises(LatentvizError, match="outside"):
        s.pixel_profile(64, 0)
