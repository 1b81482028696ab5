"""Find the first layer that consumes the latent, and read its weight as a ``(M, D)`` matrix."""

from __future__ import annotations

import torch
from torch import nn

from latentviz.errors import ShapeError

__all__ = ["find_latent_layer", "latent_weight"]


def find_latent_layer(generator: object) -> nn.Module:
    """The first layer of ``generator.module`` that consumes z.

    latentviz architectures expose it as ``module.latent_layer``. For other modules the
    first ``nn.Linear`` with ``in_features == D``, or ``nn.ConvTranspose2d`` / ``nn.Conv2d``
    with ``in_channels == D`` (a DCGAN's ``(N, D, 1, 1)`` input), in registration order,
    is taken.

    Raises
    ------
    ShapeError
        If no such layer exists.
    """
    module = getattr(generator, "module", generator)
    layer = getattr(module, "latent_layer", None)
    if isinstance(layer, nn.Module):
        return layer
    dim = int(getattr(generator, "latent_dim", 0))
    if isinstance(module, nn.Module):
        for sub in module.modules():
            if isinstance(sub, nn.Linear) and sub.in_features == dim:
                return sub
            if isinstance(sub, (nn.ConvTranspose2d, nn.Conv2d)) and sub.in_channels == dim:
                return sub
    raise ShapeError(
        f"{getattr(generator, 'name', type(module).__name__)} has no `latent_layer` and no Linear/"
        f"ConvTranspose2d layer taking {dim} inputs; SeFa needs the first layer that consumes z"
    )


def latent_weight(layer: nn.Module) -> torch.Tensor:
    """The layer's weight as ``A`` with shape ``(M, D)``: one row per output unit.

    ``Linear`` weights are ``(out, D)`` already; a ``ConvTranspose2d`` weight
    ``(D, C, kh, kw)`` becomes ``(C·kh·kw, D)``; a ``Conv2d`` weight ``(C, D, kh, kw)``
    becomes ``(C·kh·kw, D)``.
    """
    w = getattr(layer, "weight", None)
    if not isinstance(w, torch.Tensor):
        raise ShapeError(f"{type(layer).__name__} has no weight tensor")
    w = w.detach().to("cpu", torch.float64)
    if isinstance(layer, nn.ConvTranspose2d) or (w.ndim == 4 and not isinstance(layer, nn.Conv2d)):
        return w.reshape(w.shape[0], -1).T
    if isinstance(layer, nn.Conv2d):
        return w.permute(0, 2, 3, 1).reshape(-1, w.shape[1])
    if w.ndim != 2:
        raise ShapeError(f"cannot read a {tuple(w.shape)} weight as a (M, D) matrix")
    return w
