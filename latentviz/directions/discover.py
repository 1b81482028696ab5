"""One entry point over every registered method: ``discover(generator, method, ...) -> DirectionSet``.

A thin, backward-compatible wrapper over :mod:`latentviz.directions.registry`: the keyword
arguments of the older one-function API are handed to the chosen method as its options
(those it does not declare are dropped, as before); new code can call the method itself,
``get_method("voynov")(generator, steps=300)``.

The supervised methods need labels. For a zoo model trained on a phantom they come from
the phantom's ground truth: ``probe`` labels prior samples with a factor regressor
(:class:`FactorRegressor`, trained on the same phantom), and ``centroid`` encodes (VAE) or
inverts (GAN) fresh phantom images whose factors are known exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.registry import DiscoveryInputs, get_method, method_names, phantom_kind

__all__ = ["discover", "phantom_kind"]  # and METHODS, the registered names (module __getattr__)

# Keywords of the one-function API before the registry; each method takes those it declares.
_LEGACY_OPTIONS = frozenset(
    {
        "factors",
        "n_samples",
        "layer",
        "steps",
        "variant",
        "reconstructor",
        "batch_size",
        "lr",
        "baselines",
        "baseline_steps",
        "checkpoint",
        "precision",
        "n_strata",
        "seed",
    }
)


def __getattr__(name: str) -> Any:
    # METHODS is read from the registry when asked for (a method may register later).
    if name == "METHODS":
        return method_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def discover(
    generator: Any,
    method: str,
    k: int | None = None,
    *,
    regressor: Any = None,
    kind: str | None = None,
    classifier: Any = None,
    progress: bool = True,
    factors: Sequence[str] | None = None,
    **options: Any,
) -> DirectionSet:
    """Run one registered discovery method.

    Parameters
    ----------
    generator
        A :class:`latentviz.models.Generator`.
    method
        A registered method name (:func:`~latentviz.directions.registry.method_names`:
        ``"sefa"``, ``"ganspace"``, ``"voynov"``, ``"probe"``, ``"centroid"``, …).
    k
        Number of directions, for methods that take ``k`` (None: the method's default).
    regressor, kind, classifier, progress
        Inputs (:class:`~latentviz.directions.registry.DiscoveryInputs`): a trained factor
        regressor (``probe`` labels), the phantom giving the labels, a classifier, and
        progress bars.
    factors, **options
        The method's options (see its ``Options``); ``None`` means the method's default.
        The keywords of the older API (``n_samples``, ``steps``, ``variant``, ``n_strata``,
        …) are dropped for methods that do not declare them.

    Raises
    ------
    UnknownMethodError
        For a method no module registered (an ``OptionError``, also a ``ValueError``).
    OptionError
        For an option outside its declared bound, or one no method of the old API knew.

    Examples
    --------
    >>> ds = discover(zoo.load("ct-dcgan"), "sefa", k=6)  # doctest: +SKIP
    """
    m = get_method(method)
    declared = m.Options.specs()
    given = {"k": k, "factors": factors, **options}
    chosen: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue  # None = the method's default, as in the older API
        if name in declared:
            chosen[name] = value
        elif name not in _LEGACY_OPTIONS and name != "k":
            m.options(**{name: value})  # raises the OptionError naming the method's options
    inputs = DiscoveryInputs(classifier=classifier, regressor=regressor, kind=kind, progress=progress)
    return m(generator, inputs, **chosen)
