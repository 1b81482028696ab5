"""The explorer session with a style-based model: W sets run in W+, layer ranges, truncation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz.core.explorer import ExplorerSession
from latentviz.directions.style import attfind, ganspace_w
from latentviz.errors import LatentvizError
from latentviz.models import Classifier
from latentviz.models.architectures.stylegan import StyleGAN2Generator
from latentviz.models.style import StyleGenerator


@pytest.fixture(scope="module")
def gen() -> StyleGenerator:
    torch.manual_seed(0)
    m = StyleGAN2Generator(32, z_dim=8, w_dim=8, n_mlp=2, channel_base=128, channel_max=8)
    with torch.no_grad():
        m.w_avg.normal_()
    return StyleGenerator(m, "w", device="cpu")


def test_a_w_set_runs_in_w_plus_and_layer_ranges_move_only_their_layers(gen: StyleGenerator) -> None:
    ds = ganspace_w(gen, k=3, n_samples=2000)
    s = ExplorerSession(gen, ds, seed=1)
    assert s.generator.latent_space == "w+" and s.layer_choices() == ["coarse", "middle", "fine", "all"]
    assert s.layer_resolutions("fine") == [32]
    base = s.latents().view(gen.num_ws, gen.w_dim)
    s.set_value(0, 2.0)
    all_layers = s.latents().view(gen.num_ws, gen.w_dim) - base
    assert (all_layers.abs().sum(1) > 0).all()
    frame_all = s.render()
    state = s.set_layers("fine")
    assert state.layers == "fine" and state.values[0] == 2.0
    fine = s.latents().view(gen.num_ws, gen.w_dim) - base
    assert fine[:6].abs().max() == 0 and fine[6:].abs().max() > 0
    # Each edited layer moves by the same 2 σ along the W direction as with all layers.
    torch.testing.assert_close(fine[6:], all_layers[6:], atol=1e-5, rtol=1e-5)
    assert not np.array_equal(s.render().png, frame_all.png)
    with pytest.raises(LatentvizError):
        s.set_layers("tiny")


def test_truncation_pulls_towards_the_mean_w(gen: StyleGenerator) -> None:
    s = ExplorerSession(gen, ganspace_w(gen, k=2, n_samples=1000), seed=2)
    s.set_truncation(0.1)
    z = s.latents().view(gen.num_ws, gen.w_dim)
    w = gen.sample_latents(1, seed=2)[0]
    torch.testing.assert_close(z[3], gen.w_avg + 0.1 * (w - gen.w_avg), atol=1e-5, rtol=1e-5)


def test_a_stylespace_set_runs_in_s_without_a_layer_control(gen: StyleGenerator) -> None:
    class _Net(torch.nn.Module):
        def forward(self, x):
            v = 6 * x.mean(dim=(1, 2, 3))
            return torch.stack([-v, v], 1)

    clf = Classifier(_Net(), output="logits", device="cpu")
    ds = attfind(gen, clf, k=2, n_images=2, candidates=8, progress=False)
    s = ExplorerSession(gen, ds, clf, seed=0)
    assert s.generator.latent_space == "s" and s.layer_choices() == []
    p0 = s.render().probability
    s.set_value(0, 3.0)
    assert s.render().probability != p0
