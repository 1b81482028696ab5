"""Small toy models for the widget tests (no zoo needed)."""

from __future__ import annotations

import torch
from torch import nn

from latentviz.models import Classifier, Generator


class ToyDecoder(nn.Module):
    """A tiny DCGAN-like decoder: Linear → ConvTranspose stack → Tanh."""

    def __init__(self, size: int, latent: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(latent, 16 * 4 * 4), nn.Unflatten(1, (16, 4, 4))]
        s = 4
        while s < size:
            layers += [nn.ConvTranspose2d(16, 16, 4, 2, 1), nn.ReLU()]
            s *= 2
        layers += [nn.Conv2d(16, 1, 3, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        with torch.no_grad():  # a random decoder is nearly flat; sharpen it so shifts are visible
            for m in self.net.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    m.weight.normal_(0.0, 0.15)

    @property
    def latent_layer(self) -> nn.Module:
        return self.net[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def toy_generator(size: int = 32, latent: int = 8, seed: int = 0, **kwargs) -> Generator:
    torch.manual_seed(seed)
    return Generator(
        ToyDecoder(size, latent), latent_shape=(latent,), device="cpu", name=f"toy{size}", **kwargs
    )


def toy_classifier(seed: int = 1) -> Classifier:
    """Probability rises with mean brightness (so direction shifts move it)."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1)
    )
    with torch.no_grad():
        net[-1].weight.mul_(20.0)
    return Classifier(net, activation="sigmoid", device="cpu", name="toyclf")
