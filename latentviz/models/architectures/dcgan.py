"""DCGAN-style generator and discriminator at 64 or 128 px (Radford et al. 2016).

Stabilised as is now common: spectral norm in the discriminator (Miyato et al.
2018), trained with the hinge loss; the trainer keeps an EMA of the generator.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from latentviz.errors import ShapeError

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "check_image_size"]


def check_image_size(image_size: int) -> int:
    """Number of 2× up/down-sampling stages between 4 px and ``image_size``."""
    n = math.log2(image_size / 4) if image_size >= 8 else -1
    if n != int(n) or n < 1:
        raise ShapeError(f"image_size must be a power of two >= 8 (e.g. 64 or 128), got {image_size}")
    return int(n)


class DCGANGenerator(nn.Module):
    """Flat latent ``(N, D)`` → image ``(N, 1, S, S)`` in [-1, 1].

    ``Linear`` to a 4×4 map, then stride-2 ``ConvTranspose2d`` + BatchNorm + ReLU
    stages that halve the channels, then a 3×3 conv and ``tanh``.

    Parameters
    ----------
    latent_dim
        Size of z (seed 000 used 32 on CT).
    image_size
        64 or 128 (any power of two ≥ 8).
    width
        Channels of the last stage; the first has ``width * 2**(stages-1)``.
    channels
        Image channels.
    """

    def __init__(
        self, latent_dim: int = 32, image_size: int = 64, width: int = 32, channels: int = 1
    ) -> None:
        super().__init__()
        stages = check_image_size(image_size)
        self.latent_dim = latent_dim
        self.image_size = image_size
        c0 = width * 2 ** (stages - 1)
        self._c0 = c0
        # The first layer that consumes z: SeFa factorises its weight (Shen & Zhou 2021).
        self.latent_layer = nn.Linear(latent_dim, c0 * 16)
        layers: list[nn.Module] = [nn.BatchNorm2d(c0), nn.ReLU(inplace=True)]
        c = c0
        for i in range(stages):
            c_out = max(width, c // 2) if i < stages - 1 else width
            layers += [
                nn.ConvTranspose2d(c, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
            c = c_out
        layers += [nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        # Conv weights in channels-last (NHWC) order: oneDNN's fast kernels on CPUs, about
        # 1.2x at batch 1 and 1.8x at batch 64 here; loaded weights keep this layout.
        self.to(memory_format=torch.channels_last)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim == 4:  # accept the classic (N, D, 1, 1) too
            z = z.flatten(1)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ShapeError(f"expected latents (N, {self.latent_dim}), got {tuple(z.shape)}")
        h = self.latent_layer(z).view(-1, self._c0, 4, 4)
        return self.body(h).contiguous()  # images leave in the usual NCHW layout


class DCGANDiscriminator(nn.Module):
    """Image ``(N, 1, S, S)`` → one unbounded score per image (hinge loss).

    Stride-2 4×4 convs with spectral norm and LeakyReLU(0.2), no BatchNorm.
    """

    def __init__(self, image_size: int = 64, width: int = 32, channels: int = 1) -> None:
        super().__init__()
        stages = check_image_size(image_size)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(stages):
            layers += [spectral_norm(nn.Conv2d(c_in, c, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            c_in, c = c, min(c * 2, width * 8)
        self.features = nn.Sequential(*layers)
        self.head = spectral_norm(nn.Linear(c_in * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1)).squeeze(1)
