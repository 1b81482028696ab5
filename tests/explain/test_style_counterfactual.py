"""Counterfactual walks with a style-based model."""

from __future__ import annotations

import torch
from torch import nn

from latentviz.directions.style import attfind
from latentviz.explain.style_counterfactual import style_counterfactual
from latentviz.models import Classifier
from latentviz.models.architectures.stylegan import StyleGAN2Generator
from latentviz.models.style import StyleGenerator


class _Mean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = 20 * (x.mean(dim=(1, 2, 3)) - self.centre)
        return torch.stack([-v, v], 1)


def _setup():
    torch.manual_seed(0)
    m = StyleGAN2Generator(16, z_dim=8, w_dim=8, n_mlp=2, channel_base=64, channel_max=8, encoder="w")
    g = StyleGenerator(m, "w", device="cpu")
    net = _Mean()
    with torch.no_grad():
        net.centre = float(g(g.sample_latents(64, seed=1)).mean())
    return g, Classifier(net, output="logits", device="cpu")


def test_the_walk_flips_the_classifier_and_reports_where() -> None:
    g, clf = _setup()
    attrs = attfind(g, clf, target=1, k=3, n_images=4, candidates=None, progress=False)
    w = g.sample_latents(1, seed=3)
    s = torch.cat(g.styles(w), 1)
    cf = style_counterfactual(g, clf, attrs, latent=s, target=1, max_amount=30, n_steps=31)
    p0 = cf.probability[0]
    assert cf.flipped
    assert (cf.probability[cf.index] < 0.5) == (p0 >= 0.5)
    assert cf.frames.shape == (31, 1, 16, 16) and cf.difference.abs().max() > 0
    assert cf.to_dict()["flipped"] is True


def test_a_walk_that_cannot_flip_says_so() -> None:
    g, clf = _setup()
    attrs = attfind(g, clf, target=1, k=1, n_images=2, candidates=4, progress=False)
    x = g(g.sample_latents(1, seed=4))
    cf = style_counterfactual(g, clf, attrs, image=x, target=1, max_amount=1e-4, n_steps=3)
    assert not cf.flipped and cf.index == 2
