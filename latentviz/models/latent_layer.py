"""Name the layer of a generator that consumes the latent, in plain and TorchScript modules.

TorchScript submodules (``torch.jit.script`` / ``torch.jit.load``) are ``RecursiveScriptModule``
objects that keep their class name in ``original_name``; :func:`layer_kind` reads either.
"""

from __future__ import annotations

import torch
from torch import nn

from latentviz.errors import ArgumentError

__all__ = ["layer_inputs", "layer_kind", "resolve_latent_layer"]

_KINDS = (nn.Linear, nn.ConvTranspose2d, nn.Conv2d)


def layer_kind(layer: object) -> str | None:
    """``"Linear"``, ``"ConvTranspose2d"`` or ``"Conv2d"`` for such a layer, scripted or not."""
    for cls in _KINDS:
        if isinstance(layer, cls):
            return cls.__name__
    if isinstance(layer, torch.jit.ScriptModule):
        name = getattr(layer, "original_name", "")
        return name if name in {c.__name__ for c in _KINDS} else None
    return None


def layer_inputs(layer: nn.Module, kind: str) -> int:
    """How many latent scalars the layer takes (in_features or in_channels)."""
    w = layer.weight
    if kind == "Linear":
        return int(getattr(layer, "in_features", w.shape[1]))
    if kind == "ConvTranspose2d":
        return int(getattr(layer, "in_channels", w.shape[0]))
    return int(getattr(layer, "in_channels", w.shape[1]))


class _Matrix(nn.Module):
    """A named ``(M, D)`` parameter that is not a layer's weight, read as one."""

    def __init__(self, weight: torch.Tensor, name: str) -> None:
        super().__init__()
        self.weight = weight
        self.name = name


def resolve_latent_layer(module: nn.Module, spec: str | nn.Module) -> nn.Module:
    """The layer ``spec`` names in ``module``: a submodule, its dotted name (``"0"``,
    ``"mapping.fc"``), or a parameter name (``"0.weight"``; another 2-D parameter is read
    as a ``(M, D)`` matrix). Works in TorchScript modules too.

    Raises
    ------
    ArgumentError
        When ``module`` has no such submodule or parameter (the message lists some names).
    """
    if isinstance(spec, nn.Module):
        return spec
    modules = dict(module.named_modules())
    if spec in modules:
        return modules[spec]
    owner, _, leaf = spec.rpartition(".")
    if leaf == "weight" and owner in modules:
        return modules[owner]
    params = dict(module.named_parameters())
    if spec in params and params[spec].ndim == 2:
        return _Matrix(params[spec], spec)
    known = [n for n, p in params.items() if p.ndim >= 2][:8]
    raise ArgumentError(
        f"latent_layer {spec!r} is neither a submodule nor a 2-D parameter of the module; "
        f"weights it has: {', '.join(known) or 'none'}"
    )


