"""Toy generators with known answers for the direction tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latentviz.models import Generator

FACTORS = ("x_position", "size", "brightness")


class BlobModule(nn.Module):
    """z (D) → a Gaussian blob whose x-position, size and brightness are linear in z.

    ``latent_layer`` maps z to the three factors; its weight rows are ``scale · a_i`` with
    orthonormal ``a_i``, so the true factor directions are known (``self.axes``).
    """

    def __init__(self, dim: int = 8, size: int = 24, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g))
        self.register_buffer("axes", q[:, :3].T.contiguous())  # (3, D) orthonormal
        self.latent_layer = nn.Linear(dim, 3)
        with torch.no_grad():
            self.latent_layer.weight.copy_(self.axes * torch.tensor([[3.0], [2.0], [1.0]]))
            self.latent_layer.bias.zero_()
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
        self.register_buffer("xx", xx)
        self.register_buffer("yy", yy)

    def factors(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.axes.T  # (N, 3): standard normal under the prior

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        f = self.latent_layer(z) / torch.tensor([3.0, 2.0, 1.0], device=z.device)
        cx = 0.25 * f[:, 0, None, None]
        s = 0.3 * torch.exp(0.25 * f[:, 1, None, None])
        b = 0.55 + 0.2 * torch.tanh(f[:, 2, None, None] / 2)
        blob = torch.exp(-((self.xx - cx) ** 2 + self.yy**2) / (2 * s**2))
        return (2 * b * blob - 1).unsqueeze(1)


def blob_factors(module: BlobModule):
    """Analytic factor read-out from images (centre of mass, spread, peak), batched."""

    def read(images: torch.Tensor) -> dict[str, np.ndarray]:
        x = (images[:, 0] + 1) / 2
        w = x / x.sum(dim=(1, 2), keepdim=True)
        cx = (w * module.xx).sum(dim=(1, 2))
        spread = torch.sqrt((w * (module.yy**2)).sum(dim=(1, 2)))
        peak = x.flatten(1).max(dim=1).values
        return {
            "x_position": cx.cpu().numpy(),
            "size": spread.cpu().numpy(),
            "brightness": peak.cpu().numpy(),
        }

    return read


@pytest.fixture
def blob_generator() -> Generator:
    return Generator(BlobModule(), latent_shape=(8,), name="blob", device="cpu")


class ConvToy(nn.Module):
    """A small random DCGAN-like decoder: every latent dim changes the image."""

    def __init__(self, dim: int = 6, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.latent_layer = nn.Linear(dim, 32 * 4 * 4)
        self.net = nn.Sequential(
            nn.Unflatten(1, (32, 4, 4)),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.latent_layer(z))


@pytest.fixture
def conv_generator() -> Generator:
    return Generator(ConvToy(), latent_shape=(6,), name="convtoy", device="cpu")
