"""The error phantom functions raise for bad arguments."""

from __future__ import annotations

from latentviz.errors import LatentvizError

__all__ = ["PhantomArgumentError"]


class PhantomArgumentError(LatentvizError, ValueError):
    """An argument of a phantom function is invalid; the message names it and why."""
