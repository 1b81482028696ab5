"""Every error latentviz raises on purpose is typed (issue 14, item 14)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import latentviz
from latentviz import errors

PACKAGE = Path(latentviz.__file__).parent


def _plain_raises(name: str) -> list[str]:
    """``file:line`` of every ``raise name(...)`` in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name) and func.id == name:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_no_plain_value_error_is_raised() -> None:
    assert _plain_raises("ValueError") == []


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_a_latentviz_error(name: str) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, errors.LatentvizError)


def test_argument_error_is_still_a_value_error() -> None:
    with pytest.raises(ValueError, match="bad"):
        raise errors.ArgumentError("bad")
