"""Toy models with a known answer, built in milliseconds for the explain tests.

* ``ToyDecoder``: a fixed linear map then tanh, ``x = tanh(W z + b)`` on a 16×16 grid. The
  first ``D1`` latent dims (z1, anatomy) drive smooth background patterns; the last ``D2``
  (z2, pathology) paint Gaussian blobs at KNOWN places, so z2 = 0 is the negative class and
  the lesion mask is known. Its exact inverse ``atanh`` then the pseudo-inverse of ``W`` is the
  encoder of the autoencoder variant.
* ``TinyCNN``: two convolutions, global pooling and a 2-logit head; trained for a few dozen
  Adam steps to tell blob (z2 > 0) from no blob.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from latentviz.models import Classifier, Generator

SIZE = 16
D1, D2 = 6, 2
BLOB_CENTERS = ((4.0, 10.0), (6.0, 13.0))  # (row, col) of the two z2 blobs: the lesion
BLOB_SIGMA = 1.6


def lesion_mask(size: int = SIZE) -> torch.Tensor:
    """Where the z2 blobs paint: pixels within 3 px of a blob centre (≈ 1.9 σ)."""
    r = torch.arange(size).float()
    rr, cc = torch.meshgrid(r, r, indexing="ij")
    return torch.stack([((rr - cy) ** 2 + (cc - cx) ** 2) <= 3.0**2 for cy, cx in BLOB_CENTERS]).any(0)


def _basis(channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(123)
    r = torch.linspace(-1, 1, SIZE)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    smooth = [
        torch.cos(math.pi * (k % 3 + 1) * xx / 2 + k) * torch.sin(math.pi * (k // 3 + 1) * yy / 2)
        for k in range(D1)
    ]
    rows = torch.arange(SIZE).float()
    ry, rx = torch.meshgrid(rows, rows, indexing="ij")
    blobs = [torch.exp(-((ry - cy) ** 2 + (rx - cx) ** 2) / (2 * BLOB_SIGMA**2)) for cy, cx in BLOB_CENTERS]
    w = torch.stack([0.12 * s for s in smooth] + [1.2 * b for b in blobs], dim=-1)  # (H, W, D)
    gains = torch.tensor([1.0, 0.8, 0.6][:channels])
    w = gains.view(-1, 1, 1, 1) * w.unsqueeze(0)  # (C, H, W, D)
    b = -0.3 + 0.05 * torch.randn(channels, SIZE, SIZE, generator=gen)
    return w.reshape(-1, D1 + D2), b.reshape(-1)


class ToyDecoder(nn.Module):
    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        w, b = _basis(channels)
        self.channels = channels
        self.latent_layer = nn.Linear(D1 + D2, w.shape[0])
        with torch.no_grad():
            self.latent_layer.weight.copy_(w)
            self.latent_layer.bias.copy_(b)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.latent_layer(z)).view(-1, self.channels, SIZE, SIZE)


class ToyEncoder(nn.Module):
    """Exact inverse of :class:`ToyDecoder` on its range (atanh then least squares)."""

    def __init__(self, decoder: ToyDecoder) -> None:
        super().__init__()
        w = decoder.latent_layer.weight.detach()
        self.register_buffer("pinv", torch.linalg.pinv(w))
        self.register_buffer("bias", decoder.latent_layer.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.atanh(x.flatten(1).clamp(-0.999, 0.999)) - self.bias
        return h @ self.pinv.T


class BlobDetector(nn.Module):
    """An analytic CNN: a zero-mean Gaussian matched filter (bright and dark blob channels),
    ReLU, a thresholding 1×1 conv (the Grad-CAM layer), ReLU, global average pooling, and a
    2-logit head whose positive logit grows with the bright-blob response only (weights set,
    not trained; on 256 samples it separates z2 > 0.8 from z2 = 0 perfectly)."""

    def __init__(self, channels: int = 1, scale: float = 300.0, offset: float = 5.1) -> None:
        super().__init__()
        r = torch.arange(7).float() - 3
        yy, xx = torch.meshgrid(r, r, indexing="ij")
        t = torch.exp(-(yy**2 + xx**2) / (2 * BLOB_SIGMA**2))
        t = (t - t.mean()) / t.norm()
        conv1 = nn.Conv2d(channels, 2, 7, padding=3, bias=False)
        conv2 = nn.Conv2d(2, 2, 1)
        head = nn.Linear(2, 2)
        with torch.no_grad():
            conv1.weight.copy_(torch.stack([t, -t]).unsqueeze(1).expand(2, channels, 7, 7) / channels)
            conv2.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
            conv2.bias.fill_(-0.5)  # threshold above the smooth background's response
            head.weight.copy_(torch.tensor([[0.0, 0.0], [scale, 0.0]]))  # dark-blob channel unused
            head.bias.copy_(torch.tensor([0.0, -offset]))
        self.features = nn.Sequential(conv1, nn.ReLU(), conv2, nn.ReLU())
        self.gradcam_layer = conv2
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def positive_latents(n: int, seed: int) -> torch.Tensor:
    """z1 ~ N(0, I), z2 = |N(0, I)| + 0.8: a bright blob (the positive class)."""
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, D1, generator=g)
    z2 = torch.randn(n, D2, generator=g).abs() + 0.8
    return torch.cat([z1, z2], 1)


def make_generator(channels: int = 1, encoder: bool = False) -> Generator:
    dec = ToyDecoder(channels)
    enc = ToyEncoder(dec) if encoder else None
    return Generator(
        dec,
        latent_shape=(D1 + D2,),
        split_sizes=None if encoder else (D1, D2),
        encoder=enc,
        name=f"toy-{'ae' if encoder else 'cond'}-{channels}ch",
        device="cpu",
    )


def make_classifier(channels: int = 1) -> Classifier:
    """The analytic :class:`BlobDetector` as a softmax classifier (target 1 = blob)."""
    return Classifier(
        BlobDetector(channels), activation="softmax", target=1, name="blob-detector", device="cpu"
    )


def make_style_autoencoder(seed: int = 0) -> Generator:
    """A tiny untrained StyleGAN2 with a W+ encoder on the 16 px grid (style-walk methods)."""
    from latentviz.models.architectures.stylegan import StyleGAN2Generator
    from latentviz.models.style import StyleGenerator

    torch.manual_seed(seed)
    m = StyleGAN2Generator(SIZE, z_dim=8, w_dim=8, n_mlp=2, channel_base=64, channel_max=8, encoder="w+")
    return StyleGenerator(m, "w+", clamp_output=True, device="cpu")
