"""The registry of direction-discovery methods: one declaration per method, read by every front end.

A method is a :class:`DirectionMethod` subclass in one module, registered with
:func:`register_method` (as zennit registers composites with ``@register_composite``). It
declares

* ``name`` (the key on the command line and in :class:`DirectionSet.method`) and ``label``
  (for figures and the dashboard);
* ``needs``: what it cannot run without (:data:`LATENT_LAYER`, :data:`ENCODER`,
  :data:`CLASSIFIER`, :data:`LABELS`), and ``uses``: what it takes when present;
* ``Options``: a :class:`MethodOptions` dataclass whose fields carry an :class:`OptionSpec`
  (label, doc, bound, choices) made with :func:`option`; the bounds are checked before
  the method runs and the CLI builds its flags from the same declarations;
* :meth:`DirectionMethod.run`, the work.

:func:`~latentviz.directions.discover.discover`, ``latentviz discover``, ``latentviz
evaluate directions``, :func:`latentviz.core.loading.discover` and the dashboard all iterate
over :func:`methods`; none keeps a list of its own.

The built-in methods are found by importing every module of :mod:`latentviz.directions` on
first use, so a new method in that package is one new file. A method elsewhere (another
package, a style-based generator family) registers by being imported, or without an import
through an entry point in the group :data:`ENTRY_POINT_GROUP`::

    @register_method
    class StyleSeFa(DirectionMethod):
        name = "sefa-style"
        label = "SeFa on the style layers"
        needs = frozenset({LATENT_LAYER})

        @dataclass
        class Options(MethodOptions):
            k: int | None = option(None, "directions", "eigenvectors kept", bound=Bound(1, None))

        def run(self, generator, options, inputs):
            ...

This module imports neither torch nor any method, so that listing names stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from numbers import Real
from typing import Any, ClassVar, TypeVar

from latentviz.bounds import Bound
from latentviz.errors import ArgumentError, LatentvizError, ModelFileError, OptionError, UnknownMethodError

__all__ = [
    "CLASSIFIER",
    "ENCODER",
    "ENTRY_POINT_GROUP",
    "LABELS",
    "LATENT_LAYER",
    "NEEDS",
    "SEED",
    "DirectionMethod",
    "DiscoveryInputs",
    "MethodOptions",
    "OptionSpec",
    "add_option_arguments",
    "get_method",
    "method_label",
    "method_names",
    "methods",
    "option",
    "options_from_arguments",
    "parse_assignment",
    "phantom_kind",
    "register_method",
    "unregister_method",
]

#: The generator has a first layer that consumes z (``module.latent_layer``; SeFa reads it).
LATENT_LAYER = "latent layer"
#: The generator encodes images (a VAE's ``encode``).
ENCODER = "encoder"
#: A classifier is passed in :class:`DiscoveryInputs`.
CLASSIFIER = "classifier"
#: Ground-truth labels: a phantom the model was trained on (or an explicit ``kind``).
LABELS = "labels"
#: A style-based generator (:class:`~latentviz.models.style.StyleGenerator`).
STYLE = "style-based generator"
#: Every requirement a method may declare.
NEEDS = (LATENT_LAYER, ENCODER, CLASSIFIER, LABELS, STYLE)

#: Entry-point group through which another package registers direction methods.
ENTRY_POINT_GROUP = "latentviz.direction_methods"

#: The declared range of seeds (shared by every method's ``seed`` option).
SEED = Bound(0, 2**32 - 1)


# -- options ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptionSpec:
    """Declaration of one method option: label, doc, type and allowed values.

    The same declaration drives :meth:`MethodOptions.check` (on the server side), the CLI
    flags of ``latentviz discover`` and any widget a view builds, so a bound is written once.

    Attributes
    ----------
    label
        Short label for a widget or a table.
    doc
        One-line description (the CLI help).
    type
        ``int``, ``float``, ``str`` or ``bool``; the member type for ``many`` options.
    bound
        Inclusive integer range (``int`` options).
    interval
        Inclusive ``(low, high)`` float range, ``None`` for an open side (``float`` options).
    choices
        Allowed values (``str`` options).
    optional
        ``None`` is allowed too.
    many
        A sequence of ``type`` values (a tuple), e.g. factor names.
    flag
        Command-line flag (default ``--`` + the field name with ``-`` for ``_``; a ``bool``
        option that defaults to True gets ``--no-…``).
    """

    label: str
    doc: str
    type: type = str
    bound: Bound | None = None
    interval: tuple[float | None, float | None] | None = None
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    many: bool = False
    flag: str | None = None

    def describe(self) -> str:
        """The allowed values in words, for messages."""
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.bound is not None:
            text = self.bound.describe()
        elif self.interval is not None:
            lo, hi = self.interval
            text = f"a number in [{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        else:
            text = f"a {self.type.__name__}"
        if self.many:
            text = f"a sequence, each {text}"
        return text + (" (or None)" if self.optional else "")

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` normalised (tuples for ``many``) or raise :class:`OptionError`."""
        if value is None:
            if self.optional:
                return None
            raise OptionError(name, value, self.describe())
        if self.many:
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise OptionError(name, value, self.describe())
            members = tuple(value)
            if not members:
                raise OptionError(name, value, self.describe())
            return tuple(self._check_one(name, v) for v in members)
        return self._check_one(name, value)

    def _check_one(self, name: str, value: Any) -> Any:
        if self.type is bool:
            if not isinstance(value, bool):
                raise OptionError(name, value, "True or False")
            return value
        if self.type is int:
            return (self.bound or Bound()).check(name, value)
        if self.type is float:
            if isinstance(value, bool) or not isinstance(value, Real) or value != value:
                raise OptionError(name, value, self.describe())
            lo, hi = self.interval or (None, None)
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise OptionError(name, value, self.describe())
            return float(value)
        if not isinstance(value, self.type):
            raise OptionError(name, value, self.describe())
        if self.choices is not None and value not in self.choices:
            raise OptionError(name, value, self.describe())
        return value


def option(
    default: Any,
    label: str,
    doc: str,
    *,
    kind: type | None = None,
    bound: Bound | None = None,
    interval: tuple[float | None, float | None] | None = None,
    choices: Iterable[Any] | None = None,
    optional: bool | None = None,
    many: bool = False,
    flag: str | None = None,
) -> Any:
    """A dataclass field carrying its :class:`OptionSpec` in ``metadata["spec"]``.

    The type (``kind``) is taken from ``bound`` (int), ``interval`` (float), ``choices``
    (their type) or the default when not given; a ``None`` default makes the option optional.

    Examples
    --------
    >>> @dataclass
    ... class Options(MethodOptions):
    ...     steps: int = option(300, "steps", "Adam steps", bound=Bound(1, 10_000))
    >>> Options(steps=20).check().steps
    20
    """
    choices = tuple(choices) if choices is not None else None
    if kind is None:
        if bound is not None:
            kind = int
        elif interval is not None:
            kind = float
        elif choices:
            kind = _type_of(choices[0])
        elif default is not None and not many:
            kind = _type_of(default)
        else:
            kind = str
    spec = OptionSpec(
        label,
        doc,
        kind,
        bound,
        interval,
        choices,
        default is None if optional is None else optional,
        many,
        flag,
    )
    return field(default=default, metadata={"spec": spec})


def _type_of(value: Any) -> type:
    """``bool``, ``int``, ``float`` or ``str``: the option type of a default value."""
    for t in (bool, int, float):
        if isinstance(value, t):
            return t
    return str


@dataclass
class MethodOptions:
    """Base of a method's options: each field declared once with :func:`option`."""

    @classmethod
    def specs(cls) -> dict[str, OptionSpec]:
        """Every option's declaration, in field order."""
        return {f.name: f.metadata["spec"] for f in fields(cls)}

    @classmethod
    def spec(cls, name: str) -> OptionSpec:
        """The declaration of option ``name``."""
        return cls.specs()[name]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every option's default value."""
        return {
            f.name: (f.default if f.default is not MISSING else f.default_factory())  # type: ignore[misc]
            for f in fields(cls)
        }

    def check(self) -> MethodOptions:
        """Enforce every declaration, normalise the values in place and return ``self``.

        Raises
        ------
        OptionError
            Naming the option, the value and what is allowed.
        """
        for name, spec in self.specs().items():
            object.__setattr__(self, name, spec.check(name, getattr(self, name)))
        return self

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict (tuples as lists, for JSON)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


# -- inputs ----------------------------------------------------------------------------------
@dataclass
class DiscoveryInputs:
    """What a method may take besides the generator and its options (objects, not settings).

    Attributes
    ----------
    classifier
        A :class:`~latentviz.models.Classifier` (methods that need :data:`CLASSIFIER`).
    regressor
        A trained :class:`~latentviz.directions.FactorRegressor` (labels for ``probe``).
    kind
        The phantom whose ground truth gives the labels (default: the one the generator was
        trained on, see :func:`phantom_kind`).
    progress
        Show progress bars.
    """

    classifier: Any = None
    regressor: Any = None
    kind: str | None = None
    progress: bool = True


def phantom_kind(generator: object) -> str:
    """The phantom a zoo generator was trained on (its config's ``data``, or its name prefix).

    Raises
    ------
    ModelFileError
        When neither tells (supervised methods then need an explicit ``kind``).
    """
    from latentviz.data.phantoms import KINDS

    config = getattr(generator, "config", {}) or {}
    for cand in (str(config.get("data", "")), str(getattr(generator, "name", "")).split("-")[0]):
        if cand in KINDS:
            return cand
    raise ModelFileError(
        f"cannot tell which phantom {getattr(generator, 'name', 'the model')} was trained on; "
        "supervised methods need phantom labels (pass kind=)"
    )


# -- methods -----------------------------------------------------------------------------------
class DirectionMethod:
    """One direction-discovery method: its declaration and :meth:`run`.

    Subclasses set the class attributes below, declare ``Options`` and implement
    :meth:`run`; :func:`register_method` makes them known. Calling the registered instance
    (``get_method("sefa")(generator, k=4)``) checks the options and the needs, then runs.

    Attributes
    ----------
    name
        Registry key, CLI choice and :attr:`DirectionSet.method`.
    label
        Human-readable name with its reference (figures, dashboard).
    summary
        One line on what the method does.
    needs, uses
        Requirements from :data:`NEEDS` it cannot run without / takes when present.
    Options
        The :class:`MethodOptions` dataclass of its settings.
    quick
        Option overrides for interactive front ends (a dashboard start-up, a notebook
        one-liner), where the defaults of a paper-sized run would take minutes.
    interactive
        Fast enough to run when a dashboard or a notebook one-liner starts.
    evaluated_by_default
        ``latentviz evaluate directions`` runs it when no methods are named.
    reference
        Its set is the reference the others are compared with in the evaluation (cosine
        to the probe directions); reference methods run first.
    order
        Where it is listed (CLI choices, tables): ascending, then by registration.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()
    uses: ClassVar[frozenset[str]] = frozenset()
    Options: ClassVar[type[MethodOptions]] = MethodOptions
    quick: ClassVar[Mapping[str, Any]] = {}
    interactive: ClassVar[bool] = False
    evaluated_by_default: ClassVar[bool] = True
    reference: ClassVar[bool] = False
    order: ClassVar[int] = 100

    # -- declaration helpers ----------------------------------------------------------------
    def options(self, **values: Any) -> MethodOptions:
        """The method's options from ``values`` (the rest at their defaults), checked.

        Raises
        ------
        OptionError
            For an option the method does not declare, or a value outside its declaration.
        """
        specs = self.Options.specs()
        unknown = sorted(set(values) - set(specs))
        if unknown:
            raise OptionError(unknown[0], values[unknown[0]], _declared_by(self.name, specs))
        return self.Options(**values).check()

    def evaluation_options(self, generator: Any, k: int) -> dict[str, Any]:
        """Options of a run in ``latentviz evaluate directions`` asking for ``k`` directions."""
        return {"k": k} if "k" in self.Options.specs() else {}

    def missing(self, generator: object, inputs: DiscoveryInputs | None = None) -> list[str]:
        """The requirements in ``needs`` that ``generator`` and ``inputs`` do not meet (empty:
        the method can run). Never raises; views use it to grey a method out."""
        inputs = inputs or DiscoveryInputs()
        out = []
        for need in sorted(self.needs):
            try:
                _require(need, generator, inputs)
            except LatentvizError:
                out.append(need)
        return out

    def check_needs(self, generator: object, inputs: DiscoveryInputs) -> None:
        """Raise the :class:`~latentviz.errors.LatentvizError` that says which need is unmet."""
        for need in sorted(self.needs):
            _require(need, generator, inputs)

    # -- the work ------------------------------------------------------------------------------
    def run(self, generator: Any, options: Any, inputs: DiscoveryInputs) -> Any:
        """Discover directions of ``generator`` with checked ``options``; a ``DirectionSet``."""
        raise NotImplementedError

    def __call__(self, generator: Any, inputs: DiscoveryInputs | None = None, **options: Any) -> Any:
        """Check ``options`` and the needs, then :meth:`run`; returns a ``DirectionSet``."""
        opts = self.options(**options)
        inputs = inputs or DiscoveryInputs()
        self.check_needs(generator, inputs)
        return self.run(generator, opts, inputs)

    def __repr__(self) -> str:
        return f"<direction method {self.name!r}: {self.label}>"


def _declared_by(method: str, specs: Mapping[str, OptionSpec]) -> str:
    # OptionError says "<option> must be <this>".
    return f"one that {method} declares ({', '.join(specs) or 'it declares none'})"


def _require(need: str, generator: object, inputs: DiscoveryInputs) -> None:
    name = getattr(generator, "name", "the generator")
    if need == LATENT_LAYER:
        from latentviz.directions.latent_layer import find_latent_layer

        find_latent_layer(generator)  # raises ShapeError saying what it looked for
    elif need == ENCODER:
        if not getattr(generator, "has_encoder", False):
            raise ModelFileError(f"{name} has no encoder")
    elif need == CLASSIFIER:
        if inputs.classifier is None:
            raise LatentvizError("this method needs a classifier (DiscoveryInputs.classifier)")
    elif need == LABELS:
        if inputs.kind is None:
            phantom_kind(generator)
    elif need == STYLE:
        from latentviz.models.style import StyleGenerator

        if not isinstance(generator, StyleGenerator):
            raise LatentvizError(f"{name} is not a style-based generator (W, W+ and StyleSpace methods)")
    else:
        raise LatentvizError(f"unknown requirement {need!r}; declare needs from {NEEDS}")


# -- the registry ------------------------------------------------------------------------------
_REGISTRY: dict[str, DirectionMethod] = {}
_LOCK = threading.RLock()
_LOADED = False

M = TypeVar("M", bound=type[DirectionMethod])


def register_method(cls: M) -> M:
    """Class decorator: register one instance of the :class:`DirectionMethod` subclass ``cls``.

    Raises
    ------
    ValueError
        For a class without ``name`` or ``label``, requirements outside :data:`NEEDS`, or a
        name another class already holds (the same class defined again replaces itself).
    """
    if not (isinstance(cls, type) and issubclass(cls, DirectionMethod)):
        raise TypeError(f"register_method decorates DirectionMethod subclasses, not {cls!r}")
    if not cls.name or not cls.label:
        raise ArgumentError(f"{cls.__qualname__} must declare a name and a label")
    bad = (cls.needs | cls.uses) - set(NEEDS)
    if bad:
        raise ArgumentError(f"{cls.name}: unknown requirements {sorted(bad)}; choose from {NEEDS}")
    unknown_quick = set(cls.quick) - set(cls.Options.specs())
    if unknown_quick:
        raise ArgumentError(f"{cls.name}: quick options {sorted(unknown_quick)} are not declared in Options")
    with _LOCK:
        old = _REGISTRY.get(cls.name)
        if old is not None and _qualified(type(old)) != _qualified(cls):
            raise ArgumentError(f"direction method {cls.name!r} is taken by {_qualified(type(old))}")
        _REGISTRY[cls.name] = cls()
    return cls


def unregister_method(name: str) -> None:
    """Forget method ``name`` (tests, or a plug-in replacing a built-in)."""
    with _LOCK:
        _REGISTRY.pop(name, None)


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _load() -> None:
    """Import every module of :mod:`latentviz.directions` and the entry points, once."""
    global _LOADED
    if _LOADED:
        return
    with _LOCK:
        if _LOADED:
            return
        _LOADED = True  # set first: a module imported below may itself list methods
        try:
            package = importlib.import_module("latentviz.directions")
            for info in pkgutil.iter_modules(package.__path__):
                if not info.name.startswith("_"):
                    importlib.import_module(f"latentviz.directions.{info.name}")
            from importlib.metadata import entry_points

            for ep in entry_points(group=ENTRY_POINT_GROUP):
                ep.load()  # the module registers its methods when imported
        except BaseException:
            _LOADED = False  # try again next time rather than keep a partial registry
            raise


def methods(**where: Any) -> list[DirectionMethod]:
    """Every registered method in registration order, optionally filtered by attributes.

    Examples
    --------
    >>> [m.name for m in methods(interactive=True)]  # doctest: +SKIP
    ['sefa', 'ganspace', 'voynov']
    """
    _load()
    with _LOCK:
        found = sorted(_REGISTRY.values(), key=lambda m: m.order)  # stable: then registration
    return [m for m in found if all(getattr(m, k) == v for k, v in where.items())]


def method_names(**where: Any) -> tuple[str, ...]:
    """The names of :func:`methods` (the CLI choices)."""
    return tuple(m.name for m in methods(**where))


def get_method(name: str) -> DirectionMethod:
    """The registered method ``name``.

    Raises
    ------
    UnknownMethodError
        Naming the registered methods (an :class:`OptionError`, so also a ``ValueError``).
    """
    _load()
    with _LOCK:
        found = _REGISTRY.get(name) if isinstance(name, str) else None
    if found is None:
        raise UnknownMethodError("direction method", name, list(method_names()))
    return found


def method_label(name: str) -> str:
    """The label of method ``name``, or ``name`` itself for a set made by an unregistered method."""
    try:
        return get_method(name).label
    except UnknownMethodError:
        return name


def add_option_arguments(parser: Any, chosen: Callable[[], Iterable[DirectionMethod]] = methods) -> None:
    """Add one command-line flag per option declared by any method (``latentviz discover``).

    Every flag defaults to ``None`` (= the method's own default); a flag shared by several
    methods appears once and its help names each method with its own doc and default.
    """
    seen: dict[str, list[tuple[str, OptionSpec, DirectionMethod]]] = {}
    for m in chosen():
        for name, spec in m.Options.specs().items():
            seen.setdefault(_flag(name, spec, m.Options), []).append((name, spec, m))
    for flag, owners in seen.items():
        name, spec, _ = owners[0]
        plain = spec.type in (bool, str) and spec.choices is None  # nothing to say beyond the doc
        shared = len({o.describe() for _, o, _ in owners}) == 1  # the same bound for every method
        parts = []
        for _, own_spec, m in owners:
            text = f"{m.name}: {own_spec.doc} (default {m.Options.defaults()[name]}"
            parts.append(text + ("" if plain or shared else f"; {own_spec.describe()}") + ")")
        allowed = f"; {spec.describe()}" if shared and not plain else ""
        help_text = ("; ".join(parts) + allowed).replace("%", "%%")
        if spec.type is bool:
            on = owners[0][2].Options.defaults()[name]
            action = "store_false" if on else "store_true"
            parser.add_argument(flag, dest=name, action=action, default=None, help=help_text)
            continue
        kwargs: dict[str, Any] = {"dest": name, "default": None, "help": help_text}
        kwargs["metavar"] = flag.lstrip("-").replace("-", "_").upper()
        if spec.type in (int, float):
            kwargs["type"] = spec.type
        if spec.choices is not None:
            kwargs["choices"] = spec.choices
            del kwargs["metavar"]  # argparse lists the choices
        if spec.many:
            kwargs["nargs"] = "+"
        parser.add_argument(flag, **kwargs)


def _flag(name: str, spec: OptionSpec, options: type[MethodOptions]) -> str:
    if spec.flag:
        return spec.flag
    stem = name.replace("_", "-")
    if spec.type is bool and options.defaults()[name] is True:
        return f"--no-{stem}"
    return f"--{stem}"


def options_from_arguments(method: DirectionMethod, args: Any) -> dict[str, Any]:
    """The options of ``method`` that ``args`` (from :func:`add_option_arguments`) sets.

    Raises
    ------
    OptionError
        For a flag given on the command line that ``method`` does not take.
    """
    specs = method.Options.specs()
    given: dict[str, Any] = {}
    for m in methods():
        for name, spec in m.Options.specs().items():
            value = getattr(args, name, None)
            if value is None or name in given:
                continue
            if name not in specs:
                raise OptionError(
                    _flag(name, spec, m.Options),
                    value,
                    _declared_by(method.name, specs),
                )
            given[name] = value
    return given


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """``"METHOD.OPTION=VALUE"`` → ``(method, option, value)`` with ``VALUE`` read as the
    option's declared type (``none`` for an optional option; commas separate ``many``
    members). Used by ``latentviz evaluate directions --option``.

    Raises
    ------
    OptionError
        For a malformed assignment, an unknown method or option, or an unreadable value.

    Examples
    --------
    >>> parse_assignment("voynov.steps=300")
    ('voynov', 'steps', 300)
    """
    head, sep, raw = text.partition("=")
    method, dot, name = head.strip().partition(".")
    if not (sep and dot and method and name):
        raise OptionError("option", text, "METHOD.OPTION=VALUE, e.g. voynov.steps=300")
    m = get_method(method)
    specs = m.Options.specs()
    if name not in specs:
        raise OptionError(name, raw, _declared_by(method, specs))
    spec = specs[name]
    raw = raw.strip()
    if spec.optional and raw.lower() == "none":
        return method, name, None
    parts = [p.strip() for p in raw.split(",")] if spec.many else [raw]
    try:
        values = [_read(spec.type, p) for p in parts]
    except ValueError:
        raise OptionError(name, raw, spec.describe()) from None
    return method, name, tuple(values) if spec.many else values[0]


def _read(kind: type, text: str) -> Any:
    if kind is bool:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ArgumentError(text)
    return kind(text)
