"""Declared bounds of the options that cost compute (steps, restarts, …).

Every public entry point that takes a step or restart count checks it here, on the
server side, so a value typed into a browser or a notebook cannot exceed what latentviz
declares. Views build their widget ranges from the same declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

from latentviz.errors import OptionError

__all__ = [
    "IG_STEPS",
    "INVERT_REFINE_EVALS",
    "INVERT_RESTARTS",
    "INVERT_STEPS",
    "LIG_STEPS",
    "NOISE_SAMPLES",
    "PERTURBATION_STEPS",
    "Bound",
]


@dataclass(frozen=True)
class Bound:
    """Inclusive integer range ``low … high`` (``None``: unbounded on that side)."""

    low: int | None = None
    high: int | None = None

    def describe(self) -> str:
        """The range in words, for messages."""
        if self.low is not None and self.high is not None:
            return f"an integer in {self.low} … {self.high}"
        if self.low is not None:
            return f"an integer >= {self.low}"
        if self.high is not None:
            return f"an integer <= {self.high}"
        return "an integer"

    def check(self, option: str, value: object) -> int:
        """Return ``value`` as an ``int`` or raise :class:`~latentviz.errors.OptionError`."""
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise OptionError(option, value, self.describe())
        v = int(value)
        if (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
            raise OptionError(option, value, self.describe())
        return v


# Library-wide caps: generous for research use, small enough that one call cannot take
# the machine down (IG/LIG at 10**6 steps would allocate ~16 GB).
INVERT_RESTARTS = Bound(1, 256)
INVERT_STEPS = Bound(0, 100_000)
INVERT_REFINE_EVALS = Bound(0, 100_000)
IG_STEPS = Bound(1, 4096)
LIG_STEPS = Bound(1, 4096)
NOISE_SAMPLES = Bound(1, 4096)  # SmoothGrad's noisy copies per image
PERTURBATION_STEPS = Bound(1, 4096)  # deletion/insertion curve points
