"""Quality figures: the factor-distribution realism separates real-like samples from bad ones."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from latentviz.data.phantoms import generate
from latentviz.directions import FactorRegressor
from latentviz.models import Generator, quality


class _Bank(nn.Module):
    """Returns the first len(z) images of a fixed bank, ignoring z (a 'perfect' model)."""

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("bank", images)
        self.latent_layer = nn.Linear(4, 1)  # unused; generators in latentviz have one

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.bank[: len(z)]


def test_factor_realism_ranks_real_like_samples_above_a_collapsed_model() -> None:
    size, n = 32, 300
    reg = FactorRegressor.for_phantom("ct", size=size, n=400, steps=80, progress=False)
    real = torch.as_tensor(generate("ct", n, size=size, seed=4242).images)
    good = Generator(_Bank(real), (4,), name="bank", device="cpu")
    collapsed = Generator(_Bank(real[:1].expand(n, -1, -1, -1).clone()), (4,), name="one", device="cpu")
    q = quality.factor_realism(good, reg, "ct", n=n, seed=11, baseline=collapsed)
    assert set(q["factor_w1_model"]) == set(reg.names)
    assert q["factor_fd_model"] < 3 * q["factor_fd_real_vs_real"] + 0.1
    assert q["factor_fd_baseline"] > 5 * q["factor_fd_model"]
    w1_good = np.mean(list(q["factor_w1_model"].values()))
    w1_bad = np.mean(list(q["factor_w1_baseline"].values()))
    assert w1_bad > 3 * w1_good
