"""Turn what a user types (a zoo name, a method name) into models and direction sets.

Shared by the one-liners of both front ends (``DirectionExplorer.from_zoo`` and the
dashboard's ``--model``), so neither view resolves names itself.
"""

from __future__ import annotations

from typing import Any

from latentviz.directions import DirectionSet
from latentviz.errors import LatentvizError
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["DISCOVERY_METHODS", "discover", "load_classifier", "load_generator"]

#: Direction-discovery methods a one-liner can name, and their quick default options.
DISCOVERY_METHODS: dict[str, dict[str, Any]] = {
    "sefa": {},
    "ganspace": {"n_samples": 20_000},
    "voynov": {"steps": 300, "baselines": False},
}


def load_generator(model: str | Generator) -> Generator:
    """A :class:`Generator` from itself or from a zoo name."""
    if isinstance(model, Generator):
        return model
    if isinstance(model, str):
        from latentviz import zoo

        obj = zoo.load(model)
        if not isinstance(obj, Generator):
            raise LatentvizError(f"zoo model {model!r} is a {type(obj).__name__}, not a generator")
        return obj
    raise LatentvizError(f"expected a Generator or a zoo name, got {type(model).__name__}")


def load_classifier(classifier: str | Classifier | None) -> Classifier | None:
    """A :class:`Classifier` from itself, a zoo name, or None."""
    if classifier is None or isinstance(classifier, Classifier):
        return classifier
    if isinstance(classifier, str):
        from latentviz import zoo

        obj = zoo.load(classifier)
        if not isinstance(obj, Classifier):
            raise LatentvizError(f"zoo model {classifier!r} is a {type(obj).__name__}, not a classifier")
        return obj
    raise LatentvizError(f"expected a Classifier, a zoo name or None, got {type(classifier).__name__}")


def discover(generator: Generator, method: str = "sefa", k: int = 6, **options: Any) -> DirectionSet:
    """Directions of ``generator`` by ``method`` through :func:`latentviz.directions.discover`,
    with the quick defaults of :data:`DISCOVERY_METHODS` unless ``options`` override them."""
    from latentviz.directions.discover import discover as run_discovery

    if method not in DISCOVERY_METHODS:
        raise LatentvizError(f"unknown direction method {method!r}; choose one of {list(DISCOVERY_METHODS)}")
    return run_discovery(generator, method, k, **{**DISCOVERY_METHODS[method], **options})
