"""Reconstructors for Voynov–Babenko training: see an image pair, predict (direction k, shift ε)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LeNetReconstructor", "ResNetReconstructor", "make_reconstructor"]


class _Heads(nn.Module):
    def __init__(self, features: int, k: int) -> None:
        super().__init__()
        self.direction = nn.Linear(features, k)  # logits over the K directions (CE)
        self.shift = nn.Linear(features, 1)  # ε regression (L1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.direction(h), self.shift(h).squeeze(1)


class LeNetReconstructor(nn.Module):
    """LeNet-5-shaped reconstructor (as in Voynov & Babenko and Schön et al.).

    The two images are stacked on the channel axis; an adaptive pool makes it size-agnostic.

    Parameters
    ----------
    k
        Number of directions.
    channels
        Image channels (1 for CT/X-ray).
    width
        Channel multiplier over LeNet's 6/16/120.
    """

    def __init__(self, k: int, channels: int = 1, width: int = 2) -> None:
        super().__init__()
        c1, c2, c3 = 6 * width, 16 * width, 120 * width
        self.features = nn.Sequential(
            nn.Conv2d(2 * channels, c1, 5, padding=2),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=2),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 5, padding=2),
            nn.BatchNorm2d(c3),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(c3, 84 * width),
            nn.BatchNorm1d(84 * width),
            nn.ReLU(),
        )
        self.heads = _Heads(84 * width, k)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.features(torch.cat([x0, x1], dim=1)))


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class ResNetReconstructor(nn.Module):
    """A small ResNet reconstructor (three strided residual blocks, global pooling)."""

    def __init__(self, k: int, channels: int = 1, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(2 * channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            _Block(width, 2 * width),
            _Block(2 * width, 4 * width),
            _Block(4 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.heads = _Heads(4 * width, k)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.features(torch.cat([x0, x1], dim=1)))


def make_reconstructor(kind: str, k: int, channels: int = 1) -> nn.Module:
    """``"lenet"`` or ``"resnet"``."""
    if kind == "lenet":
        return LeNetReconstructor(k, channels)
    if kind == "resnet":
        return ResNetReconstructor(k, channels)
    raise ValueError(f"reconstructor must be 'lenet' or 'resnet', got {kind!r}")
