"""Classifiers: a small CNN for the phantoms, and an optional torchvision ResNet."""

from __future__ import annotations

import torch
from torch import nn

from latentviz.errors import DependencyMissingError

__all__ = ["PhantomCNN", "ResNetClassifier"]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class PhantomCNN(nn.Module):
    """Four conv blocks (two 3×3 convs + BN + ReLU each), max-pooling between them (each
    pooling and ReLU its own module, used once, as DeepLift and LRP require),
    global average pooling and a linear head giving ``num_classes`` logits.

    ``gradcam_layer`` is the last conv block (1/8 of the input resolution);
    ``features(x)`` is the pooled penultimate activation, used as the feature space
    of the offline Fréchet distance in :mod:`latentviz.models.quality`.

    Parameters
    ----------
    num_classes
        Logits returned (2: softmax over negative/positive).
    width
        Channels of the first block; doubled per block up to ``4 * width``.
    channels
        Image channels.
    """

    def __init__(self, num_classes: int = 2, width: int = 16, channels: int = 1) -> None:
        super().__init__()
        w = [width, width * 2, width * 4, width * 4]
        self.block1 = _block(channels, w[0])
        self.block2 = _block(w[0], w[1])
        self.block3 = _block(w[1], w[2])
        self.block4 = _block(w[2], w[3])
        # One pooling module per use (no parameters, so the state dict is unchanged):
        # DeepLift and LRP hook each module once per forward pass.
        self.pool1, self.pool2, self.pool3 = nn.MaxPool2d(2), nn.MaxPool2d(2), nn.MaxPool2d(2)
        self.head = nn.Linear(w[3], num_classes)
        self.num_classes = num_classes
        # Conv weights channels-last (NHWC): oneDNN's fast CPU kernels, about 1.5x forward and
        # 1.1-1.2x forward + backward here; loaded weights keep this layout.
        self.to(memory_format=torch.channels_last)

    @property
    def gradcam_layer(self) -> nn.Module:
        """The last conv block (a property, so it is not saved twice in the state dict)."""
        return self.block4

    @property
    def gradcam_blocks(self) -> list[nn.Module]:
        """Every conv block in forward order (full, 1/2, 1/4 and 1/8 of the input side)."""
        return [self.block1, self.block2, self.block3, self.block4]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``(N, 4 * width)`` (global average pool of block 4)."""
        h = self.pool1(self.block1(x))
        h = self.pool2(self.block2(h))
        h = self.pool3(self.block3(h))
        return self.block4(h).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ResNetClassifier(nn.Module):
    """torchvision's ResNet-18 adapted to 1-channel input and ``num_classes`` logits.

    Raises
    ------
    DependencyMissingError
        When torchvision is not installed.
    """

    def __init__(self, num_classes: int = 2, channels: int = 1) -> None:
        super().__init__()
        try:
            from torchvision.models import resnet18
        except ImportError as exc:
            raise DependencyMissingError(
                "the ResNet classifier needs torchvision: pip install torchvision "
                "(the small PhantomCNN, architecture 'cnn-classifier', needs nothing extra)"
            ) from exc
        net = resnet18(weights=None, num_classes=num_classes)
        net.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
        self.net = net
        self.num_classes = num_classes

    @property
    def gradcam_layer(self) -> nn.Module:
        return self.net.layer4

    def features(self, x: torch.Tensor) -> torch.Tensor:
        n = self.net
        h = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        h = n.layer4(n.layer3(n.layer2(n.layer1(h))))
        return torch.flatten(n.avgpool(h), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.fc(self.features(x))
