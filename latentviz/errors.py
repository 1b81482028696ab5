"""Typed errors raised by latentviz.

Every error a user can provoke with bad input (a corrupt file, a wrong shape, NaN
latents, a model file of the wrong architecture, …) is a subclass of
:class:`LatentvizError`, so callers can catch one type and show its message.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "BudgetExceededError",
    "ChecksumError",
    "DependencyMissingError",
    "DirectionSetMismatchError",
    "ImageReadError",
    "ImageTooLargeError",
    "ImageValueError",
    "LatentError",
    "LatentvizError",
    "ModelFileError",
    "OptionError",
    "ShapeError",
    "StoreIntegrityError",
    "TargetError",
    "UnknownColormapError",
    "UnknownMethodError",
    "UploadTooLargeError",
]


class LatentvizError(Exception):
    """Base class of every error latentviz raises on purpose."""


class ImageReadError(LatentvizError, ValueError):
    """A file could not be read as a medical image.

    Parameters
    ----------
    path
        The offending file (or folder), shown in the message.
    reason
        Why it failed, in words a user understands.
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageValueError(LatentvizError, ValueError):
    """An image's values cannot be used: NaN or infinite pixels, or another value scale."""


class ImageTooLargeError(ImageReadError):
    """An image's header declares more pixels (or frames/slices) than latentviz decodes.

    Raised before any pixel is decoded; the limits are in :mod:`latentviz.data.limits`.
    """


class DependencyMissingError(LatentvizError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class ShapeError(LatentvizError, ValueError):
    """An array or tensor has a shape the operation cannot take."""


class LatentError(LatentvizError, ValueError):
    """A latent batch is malformed: wrong shape, NaN or infinite values."""


class ModelFileError(LatentvizError, ValueError):
    """A weights file or its config does not match what was asked for."""


class ChecksumError(ModelFileError):
    """A weights file's sha256 differs from the one recorded beside it."""


class DirectionSetMismatchError(LatentvizError, ValueError):
    """A direction set was built for another model or latent space."""


class UploadTooLargeError(LatentvizError, ValueError):
    """An uploaded file is larger than the configured limit."""


class StoreIntegrityError(LatentvizError, ValueError):
    """A results store's part is corrupt or misplaced, or its rows miss or repeat images.

    Parameters
    ----------
    path
        The offending part file, or the store folder for a store-wide problem.
    reason
        What is wrong, in words a user understands.
    part
        The part's number, when one part is at fault.
    """

    def __init__(self, path: object, reason: str, part: int | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.part = part
        super().__init__(f"{self.path}: {reason}")


class OptionError(LatentvizError, ValueError):
    """An option is outside its declared range (or not one of its choices).

    Parameters
    ----------
    option
        The option's name, as the caller spelled it (``"restarts"``, ``"n_steps"``, …).
    value
        The value that was refused.
    allowed
        What is allowed, in words (``"1 … 32"``, ``"'black', 'zero' or 'blur'"``).
    """

    def __init__(self, option: str, value: object, allowed: str) -> None:
        self.option, self.value, self.allowed = option, value, allowed
        super().__init__(f"{option}={value!r} is not allowed; {option} must be {allowed}")


class UnknownColormapError(OptionError):
    """A colormap name matplotlib does not know (an :class:`OptionError` on ``colormap``).

    Parameters
    ----------
    name
        The refused name.
    known
        The names that are accepted (shown in the message, shortened).
    """

    def __init__(self, name: object, known: list[str]) -> None:
        self.name, self.known = name, list(known)
        common = [n for n in ("viridis", "magma", "inferno", "gray", "RdBu_r", "jet") if n in self.known]
        super().__init__(
            "colormap",
            name,
            f"a matplotlib colormap name (unknown colormap; e.g. {', '.join(common)}; "
            f"{len(self.known)} known, see latentviz.core.render.colormap_names())",
        )


class UnknownMethodError(OptionError):
    """A method name no registry holds (an :class:`OptionError` on ``method``).

    Parameters
    ----------
    registry
        What kind of method was asked for (``"direction method"``).
    name
        The refused name.
    known
        The registered names.
    """

    def __init__(self, registry: str, name: object, known: list[str]) -> None:
        super().__init__("method", name, "one of " + ", ".join(repr(k) for k in known))
        self.registry, self.known = registry, list(known)
        self.args = (f"unknown {registry} {name!r}; choose one of {self.known}",)

    def __str__(self) -> str:
        return str(self.args[0])


class ArgumentError(LatentvizError, ValueError):
    """An argument has a value the operation cannot take.

    The typed form of what used to be a plain ``ValueError`` (an unknown method or variant
    name, a count below its minimum, labels of a single class, a direction set made by
    another method, …); still a ``ValueError``, so older ``except ValueError`` callers work.
    """


class BudgetExceededError(LatentvizError):
    """A session spent its compute budget (time or memory) on the served dashboard."""


class TargetError(ShapeError, ArgumentError):
    """A classifier target that names no class: an index outside ``0..n_classes-1``, an
    unknown class name, or per-sample targets of another length than the batch.

    Parameters
    ----------
    message
        What was refused and the valid range (indices, and the names when known).
    target
        The refused target.
    n_classes
        How many classes the classifier has (None when unknown).
    """

    def __init__(self, message: str, target: object = None, n_classes: int | None = None) -> None:
        super().__init__(message)
        self.target, self.n_classes = target, n_classes
