"""Reconstructors for Voynov–Babenko training: see an image pair, predict (direction k, shift ε)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from latentviz.errors import ArgumentError

__all__ = ["LeNetReconstructor", "ResNetReconstructor", "make_reconstructor"]


class _Heads(nn.Module):
    def __init__(self, features: int, k: int) -> None:
        super().__init__()
        self.direction = nn.Linear(features, k)  # logits over the K directions (CE)
        self.shift = nn.Linear(features, 1)  # ε regression (L1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.direction(h), self.shift(h).squeeze(1)


class LeNetReconstructor(nn.Module):
    """LeNet-5 reconstructor, as in Voynov & Babenko and Schön et al.

    The two images are stacked on the channel axis and go through LeNet-5's three
    unpadded 5×5 convolutions (6, 16 and 120 channels, max-pooling after the first two)
    and its 84-unit hidden layer. A 4×4 adaptive average pool before the hidden layer
    keeps a coarse map of *where* the pair differs and makes the network size-agnostic;
    inputs under 32 px are zero-padded up to 32 px.

    Parameters
    ----------
    k
        Number of directions.
    channels
        Image channels (1 for CT/X-ray).
    width
        Channel multiplier over LeNet-5's 6/16/120/84 (1 is the original).
    """

    MIN_SIZE = 32

    def __init__(self, k: int, channels: int = 1, width: int = 1) -> None:
        super().__init__()
        c1, c2, c3, hidden = 6 * width, 16 * width, 120 * width, 84 * width
        self.features = nn.Sequential(
            nn.Conv2d(2 * channels, c1, 5),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 5),
            nn.BatchNorm2d(c3),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(c3 * 16, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
        )
        self.heads = _Heads(hidden, k)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([x0, x1], dim=1)
        pad_h, pad_w = max(0, self.MIN_SIZE - x.shape[-2]), max(0, self.MIN_SIZE - x.shape[-1])
        if pad_h or pad_w:
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return self.heads(self.features(x))


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
    raise ArgumentError(f"reconstructor must be 'lenet' or 'resnet', got {kind!r}")
