"""The direction-method registry: declarations, option checks, needs, and that every front end
(CLI discover / serve / evaluate directions, core.loading, the evaluation) lists exactly it."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import latentviz
from latentviz.bounds import Bound
from latentviz.directions import DirectionSet
from latentviz.directions import registry as reg
from latentviz.directions.discover import discover
from latentviz.directions.registry import (
    LABELS,
    LATENT_LAYER,
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    get_method,
    method_names,
    methods,
    option,
    register_method,
)
from latentviz.errors import LatentvizError, ModelFileError, OptionError, ShapeError, UnknownMethodError

BUILTIN = (
    "sefa",
    "ganspace",
    "voynov",
    "probe",
    "centroid",
    "sefa-style",
    "ganspace-w",
    "attfind",
    "random",
    "axes",
)


def _action(parser: argparse.ArgumentParser, dest: str) -> argparse.Action:
    return next(a for a in parser._actions if a.dest == dest)


def _parser(module: str) -> argparse.ArgumentParser:
    import importlib

    p = argparse.ArgumentParser()
    importlib.import_module(module).add_arguments(p)
    return p


@pytest.fixture
def style_method() -> Iterator[type[DirectionMethod]]:
    """A method registered from outside the package with one decorator (as a style-based
    generator family would register "sefa-style"); unregistered afterwards."""

    @register_method
    class StyleSeFa(DirectionMethod):
        name = "sefa-style-test"
        label = "SeFa on style layers (test)"
        needs = frozenset({LATENT_LAYER})
        interactive = True
        evaluated_by_default = False

        @dataclass
        class Options(MethodOptions):
            k: int | None = option(None, "directions", "eigenvectors kept", bound=Bound(1, None))
            gain: float = option(1.0, "gain", "scale of each direction's score", interval=(0.0, 10.0))

        def run(self, generator, options, inputs):
            ds = get_method("sefa").run(generator, get_method("sefa").options(k=options.k), inputs)
            return DirectionSet(
                ds.directions,
                ds.names,
                np.asarray(ds.scores) * options.gain,
                self.name,
                {"gain": options.gain},
                ds.model_sha256,
                ds.latent_space,
            )

    yield StyleSeFa
    reg.unregister_method("sefa-style-test")


# -- declarations ------------------------------------------------------------------------------
def test_builtin_methods_declare_name_label_needs_and_options() -> None:
    assert method_names() == BUILTIN
    for m in methods():
        assert m.label and m.summary and m.needs <= set(reg.NEEDS)
        for name, spec in m.Options.specs().items():
            assert spec.label and spec.doc, (m.name, name)
        m.options()  # the defaults satisfy their own declarations
    assert get_method("sefa").needs == {LATENT_LAYER}
    assert get_method("probe").needs == get_method("centroid").needs == {LABELS}
    assert get_method("probe").reference


def test_options_are_checked_against_their_declarations() -> None:
    voynov = get_method("voynov")
    assert voynov.options(steps=20).steps == 20
    for bad in (
        {"steps": 0},
        {"variant": "diagonal"},
        {"lr": -1.0},
        {"batch_size": 2.5},
        {"baselines": "no"},
    ):
        with pytest.raises(OptionError):
            voynov.options(**bad)
    with pytest.raises(OptionError, match="one that sefa declares"):
        get_method("sefa").options(steps=3)
    assert get_method("probe").options(factors=["size"]).factors == ("size",)
    with pytest.raises(OptionError):
        get_method("probe").options(factors="size")  # a sequence of names, not one string


def test_unknown_method_is_a_typed_error() -> None:
    with pytest.raises(UnknownMethodError, match="unknown direction method 'pca'") as exc:
        get_method("pca")
    assert isinstance(exc.value, OptionError) and isinstance(exc.value, ValueError)
    assert list(BUILTIN) == exc.value.known


def test_needs_are_checked_before_running(blob_generator) -> None:
    # the blob toy has a latent layer but no phantom behind it
    assert get_method("sefa").missing(blob_generator) == []
    assert get_method("probe").missing(blob_generator) == [LABELS]
    assert get_method("probe").missing(blob_generator, DiscoveryInputs(kind="ct")) == []
    with pytest.raises(ModelFileError, match="cannot tell which phantom"):
        get_method("probe")(blob_generator)

    class NoLayer:
        module = object()
        name = "bare"

    assert get_method("sefa").missing(NoLayer()) == [LATENT_LAYER]
    with pytest.raises(ShapeError):
        get_method("sefa").check_needs(NoLayer(), DiscoveryInputs())


def test_registration_is_checked(style_method) -> None:
    with pytest.raises(ValueError, match="taken"):

        @register_method
        class Impostor(DirectionMethod):
            name = "sefa"
            label = "not SeFa"

    with pytest.raises(ValueError, match="name and a label"):

        @register_method
        class Nameless(DirectionMethod):
            pass

    with pytest.raises(ValueError, match="unknown requirements"):

        @register_method
        class Needy(DirectionMethod):
            name = "needy-test"
            label = "needy"
            needs = frozenset({"a gpu"})

    assert get_method("sefa").label.startswith("SeFa")


# -- the wrapper ---------------------------------------------------------------------------------
def test_discover_wrapper_equals_the_method_and_keeps_the_old_keywords(blob_generator) -> None:
    direct = get_method("sefa")(blob_generator, k=3)
    # the older API passed every keyword to every method; those sefa does not take are dropped
    old = discover(blob_generator, "sefa", 3, steps=10, n_samples=5, seed=1, progress=False)
    np.testing.assert_array_equal(direct.directions, old.directions)
    assert old.method == "sefa" and len(old) == 3
    with pytest.raises(OptionError, match="one that sefa declares"):
        discover(blob_generator, "sefa", 3, gamma=2)
    with pytest.raises(OptionError):
        discover(blob_generator, "ganspace", 0)
    import latentviz.directions.discover as discover_module

    assert discover_module.METHODS == method_names()


def test_a_registered_method_reaches_discover_and_the_cli(style_method, blob_generator) -> None:
    ds = discover(blob_generator, "sefa-style-test", 2, gain=2.0)
    base = discover(blob_generator, "sefa", 2)
    assert ds.method == "sefa-style-test"
    np.testing.assert_allclose(ds.scores, 2 * np.asarray(base.scores))
    assert "sefa-style-test" in _action(_parser("latentviz.cli.discover"), "method").choices
    assert "sefa-style-test" in _action(_parser("latentviz.cli.serve"), "method").choices
    assert "sefa-style-test" in _action(_parser("latentviz.cli._evaluate_directions"), "methods").choices
    args = _parser("latentviz.cli.discover").parse_args(
        ["--model", "m", "--method", "sefa-style-test", "--out", "o", "--gain", "3", "--k", "2"]
    )
    assert reg.options_from_arguments(get_method("sefa-style-test"), args) == {"k": 2, "gain": 3.0}
    assert reg.method_label("sefa-style-test") == "SeFa on style layers (test)"
    assert reg.method_label("some-old-method") == "some-old-method"


# -- every front end lists exactly the registry ------------------------------------------------------
def test_cli_choices_and_lists_equal_the_registry() -> None:
    import latentviz.directions.discover as discover_module
    from latentviz.core import loading

    assert tuple(_action(_parser("latentviz.cli.discover"), "method").choices) == method_names()
    evaluate = _parser("latentviz.cli._evaluate_directions")
    assert tuple(_action(evaluate, "methods").choices) == method_names()
    assert tuple(_action(evaluate, "methods").default) == method_names(evaluated_by_default=True)
    serve = _parser("latentviz.cli.serve")
    assert tuple(_action(serve, "method").choices) == method_names(interactive=True)
    assert tuple(loading.DISCOVERY_METHODS) == method_names(interactive=True)
    assert loading.DISCOVERY_METHODS["ganspace"] == dict(get_method("ganspace").quick)
    assert discover_module.METHODS == method_names()


def test_every_declared_option_has_a_discover_flag() -> None:
    p = _parser("latentviz.cli.discover")
    dests = {a.dest for a in p._actions}
    for m in methods():
        assert set(m.Options.specs()) <= dests, m.name
    # the older flags still parse, to the same options
    args = p.parse_args(
        [
            "--model",
            "m",
            "--method",
            "voynov",
            "--out",
            "o",
            "--steps",
            "7",
            "--no-baselines",
            "--batch-size",
            "4",
        ]
    )
    assert reg.options_from_arguments(get_method("voynov"), args) == {
        "steps": 7,
        "baselines": False,
        "batch_size": 4,
    }
    args = p.parse_args(
        ["--model", "m", "--method", "centroid", "--out", "o", "--strata", "3", "--samples", "9"]
    )
    assert reg.options_from_arguments(get_method("centroid"), args) == {"n_strata": 3, "n_samples": 9}
    args = p.parse_args(["--model", "m", "--method", "sefa", "--out", "o", "--steps", "7"])
    with pytest.raises(OptionError, match="one that sefa declares"):
        reg.options_from_arguments(get_method("sefa"), args)


def test_no_front_end_keeps_its_own_method_list() -> None:
    # No module outside a method's own declares a literal list of two or more method names.
    root = Path(latentviz.__file__).parent
    names = set(BUILTIN)
    offenders = []
    for path in root.rglob("*.py"):
        if "explain" in path.relative_to(root).parts or path.name == "explanation.py":
            continue  # the explanation methods have their own registry
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exported = {
            id(n.value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
        }
        for node in ast.walk(tree):
            if id(node) in exported:
                continue  # __all__ lists function names such as sefa and ganspace
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                consts = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if len(consts & names) >= 2:
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []


def test_evaluation_checks_methods_and_options_before_training(blob_generator) -> None:
    from latentviz.directions.evaluation import evaluate_directions

    with pytest.raises(UnknownMethodError):
        evaluate_directions(blob_generator, ["sefa", "pca"])
    with pytest.raises(OptionError):
        evaluate_directions(blob_generator, ["voynov"], voynov_steps=0)
    with pytest.raises(LatentvizError, match="cannot tell which phantom"):
        evaluate_directions(blob_generator, ["sefa"])


def test_assignments_read_values_as_their_declared_type() -> None:
    assert reg.parse_assignment("voynov.steps=300") == ("voynov", "steps", 300)
    assert reg.parse_assignment("voynov.baselines=no") == ("voynov", "baselines", False)
    assert reg.parse_assignment("voynov.k=none") == ("voynov", "k", None)
    assert reg.parse_assignment("probe.factors=size, brightness") == (
        "probe",
        "factors",
        ("size", "brightness"),
    )
    for bad in ("voynov.steps", "voynov.steps=many", "sefa.steps=3", "voynov.baselines=maybe"):
        with pytest.raises(OptionError):
            reg.parse_assignment(bad)
    with pytest.raises(UnknownMethodError):
        reg.parse_assignment("pca.k=3")
