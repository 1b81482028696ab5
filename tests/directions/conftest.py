"""Toy generators with known answers for the direction tests."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import nn

from latentviz.models import Generator

FACTORS = ("x_position", "size", "brightness")


@pytest.fixture(autouse=True)
def _one_thread():
    # Many small ops: with the 2 cores shared by other jobs, 2 torch threads spin-wait and
    # run up to 10x slower than one.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


class PhantomToy(nn.Module):
    """z (D) → a ``ct`` phantom re-rendered from factors that are known functions of z.

    ``rotation``, ``z_position`` and ``breast_size`` move along orthonormal axes
    ``self.axes[0..2]``; every other factor is held at one patient's value.
    """

    SPEC: ClassVar[dict[str, tuple[float, float, float, float]]] = {
        "rotation": (0.0, 4.0, -12.0, 12.0),
        "z_position": (0.5, 0.15, 0.0, 1.0),
        "breast_size": (0.5, 0.2, 0.0, 1.0),
    }  # name: (centre, gain per unit, lo, hi)

    def __init__(self, dim: int = 6, size: int = 32, seed: int = 0) -> None:
        super().__init__()
        from latentviz.data.phantoms import generate

        g = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g))
        self.register_buffer("axes", q[:, :3].T.contiguous())
        self.latent_layer = nn.Linear(dim, 3, bias=False)
        with torch.no_grad():
            self.latent_layer.weight.copy_(self.axes)
        base = generate("ct", 1, size=size, seed=seed, labels=np.zeros(1, dtype=np.int64)).factors
        self.base = {k: float(v[0]) for k, v in base.items()}
        self.size = size

    def factor_values(self, z: torch.Tensor) -> dict[str, np.ndarray]:
        u = self.latent_layer(z.float()).detach().cpu().numpy()
        out = {k: np.full(len(u), v, np.float32) for k, v in self.base.items()}
        for j, (name, (c, gain, lo, hi)) in enumerate(self.SPEC.items()):
            out[name] = np.clip(c + gain * u[:, j], lo, hi).astype(np.float32)
        return out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        from latentviz.data.phantoms import render

        images = render("ct", self.factor_values(z), size=self.size, seed=0).images
        return torch.as_tensor(images, device=z.device)


@pytest.fixture(scope="module")
def phantom_generator() -> Generator:
    return Generator(PhantomToy(), latent_shape=(6,), name="phantom-toy", device="cpu")


@pytest.fixture
def blob_reader(blob_generator):
    return blob_factors(blob_generator.module)
