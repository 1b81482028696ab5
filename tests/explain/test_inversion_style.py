"""Inversion into W and W+ of a style-based model, from its encoder or at random."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from latentviz.explain.fidelity import mse
from latentviz.explain.inversion import invert
from latentviz.models import Classifier
from latentviz.models.architectures.stylegan import StyleGAN2Generator
from latentviz.models.style import StyleGenerator


class _Mean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = 4 * x.mean(dim=(1, 2, 3))
        return torch.stack([-v, v], 1)


@pytest.mark.parametrize("space", ["w", "w+"])
def test_inversion_lowers_the_error_from_the_encoder_start(space: str) -> None:
    torch.manual_seed(0)
    m = StyleGAN2Generator(16, z_dim=8, w_dim=8, n_mlp=2, channel_base=64, channel_max=8, encoder="w+")
    g = StyleGenerator(m, space, device="cpu")
    clf = Classifier(_Mean(), output="logits", device="cpu")
    with torch.no_grad():
        x = g(g.sample_latents(2, seed=5))  # images the model can make
        start = mse(g(g.encode(x)), x)
    res = invert(g, clf, x, restarts=1, steps=40, init="encoder", refine=None, progress=False)
    assert res.z.shape == (2, g.latent_dim)
    assert (mse(res.reconstruction, x) < start).all()
