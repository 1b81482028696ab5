"""The explanation-method registry: one declaration per method, read by every front end.

Each method is one :class:`Explainer` subclass that declares, once,

* ``key``: its name in the registry, the CLI and the stores (``"ig"``, ``"occlusion"``);
* ``label``: its title in figures and widgets;
* ``needs``: what it needs beyond the classifier: ``"generator"`` (a conditional (z1, z2)
  generator and an inversion of the image), ``"autoencoder"`` (a generator with an encoder)
  or ``"layer"`` (the classifier's Grad-CAM layer);
* ``options``: ``{name: Option(default, OptionSpec(label, doc, bound, choices))}``;

and implements the verb ``attribute(inputs, target=..., **options) -> Attribution``.
Subclassing registers it (``__init_subclass__``, as torchio records its transforms), so
the notebook panel, the dashboard, ``latentviz explain``, ``latentviz evaluate
explanations`` and ``latentviz batch`` all read :func:`explainers` and keep no list.

:func:`attribute_all` is the one pipeline every front end runs: the same methods, the
same declared defaults, the same numbers.

Examples
--------
>>> from latentviz.explain import registry
>>> "ig" in registry.keys()
True
>>> registry.get("ig").defaults()["n_steps"]
32
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from latentviz.bounds import OptionSpec
from latentviz.errors import ArgumentError, LatentvizError, OptionError
from latentviz.explain.attribution import Attribution

__all__ = [
    "NEEDS",
    "Explainer",
    "MissingModelError",
    "Option",
    "attribute_all",
    "available",
    "default_methods",
    "explainers",
    "get",
    "keys",
    "labels",
    "method_options",
    "option",
]

#: What a method may need beyond the classifier.
NEEDS = ("generator", "autoencoder", "layer")

# Modules whose import registers the built-in methods, in the order front ends list them.
_BUILTIN = (
    "latentviz.explain.counterfactual",
    "latentviz.explain.lig",
    "latentviz.explain.baselines",
    "latentviz.explain.latent_shift",
    "latentviz.explain.methods",
)

_REGISTRY: dict[str, type[Explainer]] = {}


class MissingModelError(LatentvizError, ValueError):
    """A method was asked for without the model (or inversion) it needs."""


@dataclass(frozen=True)
class Option:
    """One declared option of a method: its default and its :class:`OptionSpec`."""

    default: Any
    spec: OptionSpec


def option(default: Any, label: str, doc: str, bound: Any = None, choices: tuple | None = None) -> Option:
    """Shorthand for ``Option(default, OptionSpec(label, doc, bound, choices))``."""
    return Option(default, OptionSpec(label, doc, bound, choices, optional=default is None))


class Explainer:
    """Base class of every explanation method: subclassing with a ``key`` registers it.

    Attributes
    ----------
    key
        Registry name (``""``: an abstract helper, not registered).
    label
        Title in figures and widgets.
    needs
        Subset of :data:`NEEDS`.
    options
        ``{name: Option}``: each option's default, bound and doc, declared once.
    default
        Part of the default selection of the front ends.

    Subclasses whose constructor is not ``cls(classifier)`` override :meth:`build`; those
    that explain latents rather than images (``needs`` ``"generator"``) override
    :meth:`explain`, which the pipeline calls with the image and its inversion.
    """

    key: ClassVar[str] = ""
    label: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()
    options: ClassVar[dict[str, Option]] = {}
    default: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        key = cls.__dict__.get("key", "")
        if not key:
            return
        unknown = set(cls.needs) - set(NEEDS)
        if unknown:
            raise ArgumentError(f"{cls.__name__}.needs has unknown entries {sorted(unknown)}; use {NEEDS}")
        old = _REGISTRY.get(key)
        if old is not None and old.__qualname__ != cls.__qualname__:
            raise ArgumentError(
                f"explanation method {key!r} is registered twice ({old.__name__}, {cls.__name__})"
            )
        cls.label = cls.__dict__.get("label") or key
        _REGISTRY[key] = cls

    # -- declarations ---------------------------------------------------------------------
    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The declared default of every option."""
        return {name: o.default for name, o in cls.options.items()}

    @classmethod
    def specs(cls) -> dict[str, OptionSpec]:
        """The declared :class:`OptionSpec` of every option."""
        return {name: o.spec for name, o in cls.options.items()}

    @classmethod
    def resolve(cls, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every declared option: the defaults, updated by ``options``, checked.

        Raises
        ------
        OptionError
            For an undeclared option or a value outside its declared bound.
        """
        out = cls.defaults()
        for name, value in (options or {}).items():
            if name not in cls.options:
                allowed = ", ".join(cls.options) or "no options"
                raise OptionError(f"{cls.key}.{name}", value, f"a declared option ({allowed})")
            out[name] = value
        for name, spec in cls.specs().items():
            spec.check(f"{cls.key}.{name}", out[name])
        return out

    @classmethod
    def missing(cls, generator: Any = None, autoencoder: Any = None) -> str | None:
        """Why this method cannot run with these models (``None``: it can)."""
        if "generator" in cls.needs and (generator is None or not generator.is_conditional):
            return "a conditional generator (a (z1, z2) medXGAN-style model)"
        if "autoencoder" in cls.needs and (autoencoder is None or not autoencoder.has_encoder):
            return "an autoencoder/VAE generator with an encoder"
        return None

    @classmethod
    def build(cls, classifier: Any, *, generator: Any = None, autoencoder: Any = None) -> Explainer:
        """An instance for these models (the pipeline's constructor)."""
        return cls(classifier)  # type: ignore[call-arg]

    # -- the verb ---------------------------------------------------------------------------
    def attribute(self, inputs: Any, target: int | None = None, **options: Any) -> Attribution:
        """Attribute the classifier's ``target`` score to ``inputs`` (every method's verb)."""
        raise NotImplementedError(f"{type(self).__name__} must implement attribute()")

    def explain(
        self, images: torch.Tensor, target: int | None = None, inversion: Any = None, **options: Any
    ) -> Attribution:
        """The pipeline's call: ``images`` and, for generator methods, their ``inversion``."""
        return self.attribute(images, target=target, **options)


def _load() -> None:
    for name in _BUILTIN:
        importlib.import_module(name)


def explainers() -> dict[str, type[Explainer]]:
    """Every registered method, ``{key: class}``, in listing order."""
    _load()
    return dict(_REGISTRY)


def keys() -> tuple[str, ...]:
    """Every registered key (the CLI's ``choices``, the evaluation's rows)."""
    return tuple(explainers())


def labels() -> dict[str, str]:
    """``{key: label}`` for figures and widgets."""
    return {k: c.label for k, c in explainers().items()}


def get(key: str) -> type[Explainer]:
    """The method registered as ``key``.

    Raises
    ------
    OptionError
        For an unknown key, listing the registered ones.
    """
    reg = explainers()
    if key not in reg:
        raise OptionError("method", key, "one of " + ", ".join(reg))
    return reg[key]


def available(generator: Any = None, autoencoder: Any = None) -> tuple[str, ...]:
    """The keys that can run with these models, in listing order."""
    return tuple(k for k, c in explainers().items() if c.missing(generator, autoencoder) is None)


def default_methods() -> tuple[str, ...]:
    """The methods front ends compute unless told otherwise."""
    return tuple(k for k, c in explainers().items() if c.default)


def method_options(
    methods: Iterable[str], options: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """``{key: resolved options}`` of ``methods``: declared defaults updated by ``options``."""
    opts = dict(options or {})
    unknown = set(opts) - set(keys())
    if unknown:
        raise OptionError("options", sorted(unknown), "options keyed by registered methods")
    return {m: get(m).resolve(opts.get(m)) for m in methods}


def attribute_all(
    classifier: Any,
    images: torch.Tensor,
    methods: Iterable[str],
    *,
    generator: Any = None,
    autoencoder: Any = None,
    inversion: Any = None,
    target: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Attribution]:
    """Run ``methods`` on ``images`` with their declared defaults (updated by ``options``).

    The one pipeline behind the notebook panel, the dashboard, ``latentviz explain``,
    the evaluation and the batch jobs.

    Parameters
    ----------
    classifier
        The classifier to explain.
    images
        ``(N, C, H, W)`` images in [-1, 1].
    methods
        Registry keys.
    generator, autoencoder
        The models that methods with ``needs`` use.
    inversion
        The :class:`~latentviz.explain.InversionResult` of ``images`` (needed by
        generator methods).
    target
        Class to explain (default: the classifier's).
    options
        ``{key: {option: value}}`` overriding the declared defaults.

    Returns
    -------
    dict
        ``{key: Attribution}`` in the order of ``methods``.
    """
    methods = list(methods)
    resolved = method_options(methods, options)
    out: dict[str, Attribution] = {}
    for m in methods:
        cls = get(m)
        why = cls.missing(generator, autoencoder)
        if why is not None:
            raise MissingModelError(f"method {m!r} ({cls.label}) needs {why}")
        if "generator" in cls.needs and inversion is None:
            raise MissingModelError(f"method {m!r} ({cls.label}) needs the inversion of the images")
        explainer = cls.build(classifier, generator=generator, autoencoder=autoencoder)
        out[m] = explainer.explain(images, target=target, inversion=inversion, **resolved[m])
    return out
