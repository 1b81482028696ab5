"""The medXGAN generator G(z1, z2) (Dravid et al., CVPR-W 2022, §3).

``concat(z1, z2)`` → Linear → reshape → ConvTranspose stack (BatchNorm + ReLU) →
Tanh. z1 ~ N(0, I) carries anatomy; z2 is a pathology code vector, all zeros for
the negative class and N(0, I) for the positive class.
"""

from __future__ import annotations

import torch

from latentviz.errors import ShapeError
from latentviz.models.architectures.dcgan import DCGANGenerator

__all__ = ["MedXGANGenerator"]


class MedXGANGenerator(DCGANGenerator):
    """G(z1, z2) on the flat latent ``concat(z1, z2)`` of size ``anatomy_dim + pathology_dim``.

    Parameters
    ----------
    anatomy_dim, pathology_dim
        Sizes of z1 and z2 (the paper: 100 and 10 for chest X-ray).
    image_size, width, channels
        As for :class:`~latentviz.models.architectures.dcgan.DCGANGenerator`.
    """

    def __init__(
        self,
        anatomy_dim: int = 100,
        pathology_dim: int = 10,
        image_size: int = 64,
        width: int = 32,
        channels: int = 1,
    ) -> None:
        super().__init__(anatomy_dim + pathology_dim, image_size, width, channels)
        self.anatomy_dim = anatomy_dim
        self.pathology_dim = pathology_dim

    @property
    def split_sizes(self) -> tuple[int, int]:
        return (self.anatomy_dim, self.pathology_dim)

    def forward_split(self, z1: torch.Tensor, z2: torch.Tensor | None = None) -> torch.Tensor:
        """G(z1, z2); ``z2=None`` renders the negative class (z2 = 0)."""
        if z1.ndim != 2 or z1.shape[1] != self.anatomy_dim:
            raise ShapeError(f"z1 must be (N, {self.anatomy_dim}), got {tuple(z1.shape)}")
        if z2 is None:
            z2 = z1.new_zeros(z1.shape[0], self.pathology_dim)
        return self(torch.cat([z1, z2], dim=1))
