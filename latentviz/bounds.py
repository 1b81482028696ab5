"""Declared bounds of the options that cost compute (steps, restarts, …).

Every public entry point that takes a step or restart count checks it here, on the
server side, so a value typed into a browser or a notebook cannot exceed what latentviz
declares. Views build their widget ranges from the same declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

from latentviz.errors import OptionError

__all__ = [
    "IG_STEPS",
    "INVERT_PLATEAU_DB",
    "INVERT_PLATEAU_WINDOW",
    "INVERT_REFINE_EVALS",
    "INVERT_RESTARTS",
    "INVERT_STEPS",
    "LIG_STEPS",
    "NOISE_SAMPLES",
    "OCCLUSION_WINDOW",
    "PERTURBATION_STEPS",
    "Bound",
    "OptionSpec",
    "RealBound",
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


@dataclass(frozen=True)
class RealBound:
    """Inclusive real range ``low … high`` (``None``: unbounded on that side)."""

    low: float | None = None
    high: float | None = None

    def describe(self) -> str:
        """The range in words, for messages."""
        if self.low is not None and self.high is not None:
            return f"a number in {self.low:g} … {self.high:g}"
        if self.low is not None:
            return f"a number >= {self.low:g}"
        if self.high is not None:
            return f"a number <= {self.high:g}"
        return "a number"

    def check(self, option: str, value: object) -> float:
        """Return ``value`` as a ``float`` or raise :class:`~latentviz.errors.OptionError`."""
        if isinstance(value, bool) or not isinstance(value, Real):
            raise OptionError(option, value, self.describe())
        v = float(value)
        if v != v or (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
            raise OptionError(option, value, self.describe())
        return v


@dataclass(frozen=True)
class OptionSpec:
    """Declaration of one option: label, doc, range and choices.

    Views build their widgets from it and the server enforces it (:meth:`check`), so a
    bound is written once. Used by :class:`latentviz.core.ExplanationOptions` and by every
    :class:`latentviz.explain.Explainer`'s ``options``.

    Attributes
    ----------
    label
        Short label for a widget.
    doc
        One-line description.
    bound
        Integer (:class:`Bound`) or real (:class:`RealBound`) range; ``None`` for others.
    choices
        Allowed values (``None``: any within ``bound``); for a tuple-valued option, the
        allowed members.
    optional
        ``None`` is allowed too.
    """

    label: str
    doc: str
    bound: Bound | RealBound | None = None
    choices: tuple[Any, ...] | None = None
    optional: bool = False

    @property
    def low(self) -> int | float | None:
        return None if self.bound is None else self.bound.low

    @property
    def high(self) -> int | float | None:
        return None if self.bound is None else self.bound.high

    def check(self, name: str, value: Any) -> None:
        """Raise :class:`~latentviz.errors.OptionError` if ``value`` is not allowed."""
        if value is None and self.optional:
            return
        if self.bound is not None:
            self.bound.check(name, value)
        if self.choices is not None:
            members = value if isinstance(value, (tuple, list)) else (value,)
            if isinstance(value, (tuple, list)) and not value:
                raise OptionError(name, value, "a non-empty subset of " + repr(list(self.choices)))
            for m in members:
                if m not in self.choices:
                    raise OptionError(name, value, "one of " + ", ".join(repr(c) for c in self.choices))


# Library-wide caps: generous for research use, small enough that one call cannot take
# the machine down (IG/LIG at 10**6 steps would allocate ~16 GB).
INVERT_RESTARTS = Bound(1, 256)
INVERT_STEPS = Bound(0, 100_000)
INVERT_REFINE_EVALS = Bound(0, 100_000)
INVERT_PLATEAU_DB = RealBound(0.0, 10.0)  # PSNR gain (dB) below which inversion has plateaued
INVERT_PLATEAU_WINDOW = Bound(2, 10_000)  # steps (or L-BFGS evaluations) the gain is taken over
IG_STEPS = Bound(1, 4096)
LIG_STEPS = Bound(1, 4096)
NOISE_SAMPLES = Bound(1, 4096)  # SmoothGrad's noisy copies per image
PERTURBATION_STEPS = Bound(1, 4096)  # deletion/insertion curve points
OCCLUSION_WINDOW = Bound(1, 512)  # occlusion patch side and stride, pixels
