"""Device selection: cuda, then mps, then cpu, with an explicit override."""

from __future__ import annotations

import os

import torch

__all__ = ["pick_device"]


def pick_device(override: str | torch.device | None = None) -> torch.device:
    """Return the device latentviz computes on.

    Parameters
    ----------
    override
        A device string such as ``"cpu"`` or ``"cuda:1"``. When ``None``, the
        environment variable ``LATENTVIZ_DEVICE`` is used if set, else the first
        available of ``cuda``, ``mps`` and ``cpu``.

    Returns
    -------
    torch.device

    Examples
    --------
    >>> pick_device("cpu")
    device(type='cpu')
    """
    choice = override if override is not None else os.environ.get("LATENTVIZ_DEVICE")
    if choice is not None:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {choice!r} was asked for but CUDA is not available")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(f"device {choice!r} was asked for but MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
