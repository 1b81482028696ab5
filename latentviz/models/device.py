"""Device selection (cuda, then mps, then cpu, with an explicit override) and a counter of
device→host reads for hot-loop tests."""

from __future__ import annotations

import os
import sys

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["HostSyncCounter", "pick_device", "to_device_async"]


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


def to_device_async(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a host tensor to ``device`` without stalling the host: through pinned memory
    and an asynchronous copy on CUDA, a plain ``to`` elsewhere."""
    device = torch.device(device)
    if device.type != "cuda" or t.device.type != "cpu":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


class HostSyncCounter(TorchFunctionMode):
    """Count the tensor operations that read device memory back to the host.

    On an accelerator each of these waits for every kernel queued before it, so a hot loop
    should make none per step. The counter sees them on any device, the CPU included, so a
    test on a CPU-only machine proves the loop that an accelerator would run is free of
    them. On CUDA, ``torch.cuda.set_sync_debug_mode("warn")`` is the driver-level check.

    Counted: ``item``, ``tolist``, ``numpy``, ``cpu``, ``nonzero``, ``__bool__``,
    ``__int__``, ``__float__``, ``__index__``, ``masked_select``, ``unique`` and indexing
    or assignment with a boolean mask. ``events`` lists them in order. Reads made inside
    torch's own Python code are left out (``include_torch=True`` counts them): the
    optimisers keep their step counters as host tensors on purpose and read those, which
    costs no sync on any device.

    Examples
    --------
    >>> import torch
    >>> with HostSyncCounter() as syncs:
    ...     y = torch.ones(3).sum()
    ...     _ = float(y)
    >>> syncs.count
    1
    """

    READS = frozenset(
        {"item", "tolist", "numpy", "cpu", "nonzero", "__bool__", "__int__", "__float__",
         "__index__", "masked_select", "unique", "argwhere"}
    )  # fmt: skip

    def __init__(self, include_torch: bool = False) -> None:
        super().__init__()
        self.include_torch = include_torch
        self.events: list[str] = []

    @property
    def count(self) -> int:
        """Number of host reads seen so far."""
        return len(self.events)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        event = None
        if name in self.READS:
            event = name
        elif name in ("__getitem__", "__setitem__") and len(args) > 1 and _has_bool_mask(args[1]):
            event = f"{name}[bool mask]"
        if event is not None and (self.include_torch or not _called_from_torch()):
            self.events.append(event)
        return func(*args, **(kwargs or {}))


_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


def _called_from_torch() -> bool:
    frame = sys._getframe(2)  # the tensor method's caller: above this helper and the mode's hook
    while frame is not None and frame.f_code.co_filename.startswith(_TORCH_DIR + "overrides"):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_filename.startswith(_TORCH_DIR)


def _has_bool_mask(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)
