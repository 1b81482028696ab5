"""The ``latentviz`` console command.

Each subcommand lives in its own module ``latentviz.cli.<name>`` and defines

* ``HELP``: a one-line summary;
* ``add_arguments(parser)``: its options;
* ``run(args) -> int``: the work (thin: it calls the library layers).

The CLI only parses arguments, calls the layers and prints; errors that a user can
cause (:class:`latentviz.errors.LatentvizError`) are printed as one line, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Sequence

from latentviz import __version__
from latentviz.errors import LatentvizError

__all__ = ["SUBCOMMANDS", "build_parser", "main", "print_json"]

# In the order ``latentviz --help`` lists them.
SUBCOMMANDS = (
    "info",
    "phantom",
    "train",
    "zoo",
    "discover",
    "explain",
    "evaluate",
    "bench",
    "serve",
    "batch",
)


def print_json(obj: object) -> None:
    """Print ``obj`` as indented JSON (numpy scalars and arrays converted)."""
    print(json.dumps(obj, indent=2, default=_json_default))


def _json_default(o: object) -> object:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "__fspath__"):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _available() -> list[str]:
    return [n for n in SUBCOMMANDS if importlib.util.find_spec(f"latentviz.cli.{n}") is not None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latentviz",
        description="Look inside generative models of medical images and explain classifiers.",
    )
    parser.add_argument("--version", action="version", version=f"latentviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _available():
        mod = importlib.import_module(f"latentviz.cli.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 1
    try:
        return int(args._run(args) or 0)
    except LatentvizError as exc:
        print(f"latentviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"latentviz {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
