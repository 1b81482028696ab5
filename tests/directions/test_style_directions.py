"""Directions for style-based generators: GANSpace in W, SeFa on style weights, AttFind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from latentviz.directions import DirectionSet
from latentviz.directions.style import attfind, ganspace_w, lift_set, sefa_style
from latentviz.errors import DirectionSetMismatchError, LatentError
from latentviz.models import Classifier
from latentviz.models.architectures.stylegan import StyleGAN2Generator
from latentviz.models.style import StyleGenerator


@pytest.fixture(scope="module")
def gen() -> StyleGenerator:
    torch.manual_seed(0)
    m = StyleGAN2Generator(16, z_dim=8, w_dim=8, n_mlp=2, channel_base=64, channel_max=8)
    return StyleGenerator(m, "w", device="cpu")


class _Bright(nn.Module):
    """Logit = 8 · (mean brightness of the image's top-left quarter)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = 8 * x[:, :, :8, :8].mean(dim=(1, 2, 3))
        return torch.stack([-v, v], 1)


def test_ganspace_w_all_layers_is_a_w_set_and_matches_numpy_pca(gen: StyleGenerator) -> None:
    ds = ganspace_w(gen, k=3, n_samples=4000)
    assert ds.latent_space == "w" and ds.directions.shape == (3, 8)
    w = gen.sample_latents(4000, seed=0).numpy().astype(np.float64)
    _, s, vt = np.linalg.svd(w - w.mean(0), full_matrices=False)
    for i in range(3):
        assert abs(float(ds.directions[i] @ vt[i])) > 0.99
    np.testing.assert_allclose(ds.sigmas, s[:3] / np.sqrt(len(w) - 1), rtol=0.02)
    ds.check_compatible(gen)


def test_a_layer_range_lifts_into_w_plus_and_is_refused_in_w(gen: StyleGenerator) -> None:
    ds = ganspace_w(gen, k=2, n_samples=2000, layers="fine")
    assert ds.latent_space == "w+" and ds.params["layers"] == [4, 5]
    v = ds.directions.reshape(2, gen.num_ws, gen.w_dim)
    assert np.all(v[:, :4] == 0) and np.all(np.abs(v[:, 4:]).sum(2) > 0)
    with pytest.raises(DirectionSetMismatchError, match="latent space"):
        ds.check_compatible(gen)
    ds.check_compatible(gen.in_space("w+"))
    # Moving along it in W+ changes the fine styles only.
    gp = gen.in_space("w+")
    z0 = gp.sample_latents(1, seed=3)
    moved = ds.shift(z0, 0, 2.0).view(gen.num_ws, gen.w_dim) - z0.view(gen.num_ws, gen.w_dim)
    assert moved[:4].abs().max() == 0 and moved[4:].abs().max() > 0
    # lift_set gives the same vectors as asking for the range directly.
    lifted = lift_set(ganspace_w(gen, k=2, n_samples=2000), gen, "fine")
    np.testing.assert_allclose(lifted.directions, ds.directions, atol=1e-6)


def test_sefa_style_equals_the_official_normalisation(gen: StyleGenerator) -> None:
    ds = sefa_style(gen, k=4, layers="coarse")
    m = gen.module
    convs = [m.conv1.conv, m.convs[0].conv]  # coarse = styles 0–1 at 16 px; toRGB excluded
    weight = torch.cat([c.modulation.weight for c in convs]).detach().double().numpy().T  # (w_dim, units)
    weight = weight / np.linalg.norm(weight, axis=0, keepdims=True)
    values, vectors = np.linalg.eig(weight @ weight.T)
    order = np.argsort(values.real)[::-1]
    np.testing.assert_allclose(ds.scores, values.real[order][:4], rtol=1e-6)
    base = ds.directions.reshape(4, gen.num_ws, gen.w_dim)[:, 0]
    base = base / np.linalg.norm(base, axis=1, keepdims=True)
    for i in range(4):
        assert abs(float(base[i] @ vectors[:, order[i]].real)) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(LatentError, match="w_dim"):
        sefa_style(gen, k=99)


def test_attfind_finds_the_channels_that_move_the_classifier(gen: StyleGenerator) -> None:
    clf = Classifier(_Bright(), output="logits", device="cpu")
    ds = attfind(gen, clf, target=1, k=3, n_images=4, candidates=None, progress=False)
    gs = gen.in_space("s")
    assert ds.latent_space == "s" and ds.directions.shape == (3, gs.latent_dim)
    assert np.all(np.diff(ds.scores) <= 1e-9) and ds.scores[0] > 0
    # Re-measure the top coordinate's effect independently.
    s0 = gs.sample_latents(4, seed=0)
    with torch.no_grad():
        p0 = clf.probability(gs(s0).clamp(-1, 1), 1)  # the classifier sees the image range
        moved = ds.shift(s0, 0, 3.0)
        p1 = clf.probability(gs(moved).clamp(-1, 1), 1)
    assert float((p1 - p0).mean()) == pytest.approx(float(ds.scores[0]), abs=1e-4)
    # The first-order preselection keeps the exact winner.
    fast = attfind(gen, clf, target=1, k=1, n_images=4, candidates=16, progress=False)
    assert fast.params["coordinates"][0] == ds.params["coordinates"][0]


def test_style_sets_round_trip_and_refuse_another_model(gen: StyleGenerator, tmp_path: Path) -> None:
    ds = sefa_style(gen, k=2, layers="2:4")
    ds.save(tmp_path / "d")
    back = DirectionSet.load(tmp_path / "d", generator=gen.in_space("w+"))
    assert back.params["layers"] == [2, 3]
    torch.manual_seed(9)
    other = StyleGenerator(StyleGAN2Generator(16, 8, 8, n_mlp=2, channel_base=64, channel_max=8), "w+")
    with pytest.raises(DirectionSetMismatchError):
        DirectionSet.load(tmp_path / "d", generator=other)


def test_flat_latent_models_are_told_to_use_the_other_methods() -> None:
    with pytest.raises(LatentError, match="not a style-based"):
        ganspace_w(object())
