"""The Panel dashboard: the notebook views, served to people who do not run notebooks.

Three tabs (Directions, Explain, Interpolation) are thin Panel views over the same
:mod:`latentviz.core` sessions as the notebook widgets. Models load once per process
(:func:`load_resources`); every browser session gets its own :class:`DashboardSession`.
Start it with ``latentviz serve`` (see :mod:`latentviz.cli.serve`) or :func:`serve`.

Needs the ``dashboard`` extra (``pip install 'latentviz[dashboard]'``). Panel is imported
on first use of a name below, so :mod:`latentviz.dashboard.server`'s port check stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_MODEL",
    "DashboardConfig",
    "DashboardSession",
    "Resources",
    "ServeOptions",
    "app_factory",
    "check_port_free",
    "load_resources",
    "serve",
]

_WHERE = {
    "DEFAULT_MODEL": "resources",
    "DashboardConfig": "resources",
    "Resources": "resources",
    "load_resources": "resources",
    "DashboardSession": "app",
    "app_factory": "app",
    "ServeOptions": "server",
    "check_port_free": "server",
    "serve": "server",
}


def _require_panel() -> None:
    try:
        import holoviews  # noqa: F401
        import panel  # noqa: F401
    except ImportError as exc:  # depends on the install
        from latentviz.errors import DependencyMissingError

        raise DependencyMissingError(
            f"latentviz.dashboard needs {exc.name}: pip install 'latentviz[dashboard]'"
        ) from exc


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'latentviz.dashboard' has no attribute {name!r}")
    if _WHERE[name] != "server":
        _require_panel()
    return getattr(importlib.import_module(f"latentviz.dashboard.{_WHERE[name]}"), name)
