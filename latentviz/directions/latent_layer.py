"""Find the first layer that consumes the latent, and read its weight as a ``(M, D)`` matrix.

Works on plain modules and on TorchScript modules (``torch.jit.script`` / ``torch.jit.load``),
whose submodules keep the original class name in ``original_name``.
"""

from __future__ import annotations

import torch
from torch import nn

from latentviz.errors import ShapeError
from latentviz.models.latent_layer import layer_inputs, layer_kind, resolve_latent_layer

__all__ = ["find_latent_layer", "latent_weight", "layer_kind", "resolve_latent_layer"]

def find_latent_layer(generator: object) -> nn.Module:
    """The first layer of ``generator.module`` that consumes z.

    In this order: the generator's own ``latent_layer`` (``Generator(..., latent_layer=)``),
    the module's ``latent_layer`` attribute (latentviz architectures define it), then the
    first ``Linear`` with ``in_features == D``, or ``ConvTranspose2d`` / ``Conv2d`` with
    ``in_channels == D`` (a DCGAN's ``(N, D, 1, 1)`` input), in registration order. Scripted
    modules are searched the same way.

    Raises
    ------
    ShapeError
        If no such layer exists.
    """
    own = getattr(generator, "latent_layer", None)
    if isinstance(own, nn.Module):
        return own
    module = getattr(generator, "module", generator)
    layer = getattr(module, "latent_layer", None) if isinstance(module, nn.Module) else None
    if isinstance(layer, nn.Module):
        return layer
    dim = int(getattr(generator, "latent_dim", 0))
    if isinstance(module, nn.Module):
        for sub in module.modules():
            kind = layer_kind(sub)
            if kind is not None and layer_inputs(sub, kind) == dim:
                return sub
    raise ShapeError(
        f"{getattr(generator, 'name', type(module).__name__)} has no `latent_layer` and no Linear/"
        f"ConvTranspose2d layer taking {dim} inputs; SeFa needs the first layer that consumes z: "
        "name it with Generator(..., latent_layer='NAME') or wrap_generator(..., latent_layer='NAME') "
        "(a submodule or a parameter name such as '0.weight')"
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
    kind = layer_kind(layer)
    if kind == "ConvTranspose2d" or (w.ndim == 4 and kind is None):
        return w.reshape(w.shape[0], -1).T
    if kind == "Conv2d":
        return w.permute(0, 2, 3, 1).reshape(-1, w.shape[1])
    if w.ndim != 2:
        raise ShapeError(f"cannot read a {tuple(w.shape)} weight as a (M, D) matrix")
    return w
