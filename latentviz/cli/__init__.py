"""The ``latentviz`` console command.

Each subcommand lives in its own module ``latentviz.cli.<name>`` and defines

* ``HELP``: a one-line summary;
* ``add_arguments(parser)``: its options;
* ``run(args) -> int``: the work (thin: it calls the library layers).

The CLI only parses arguments, calls the layers and prints; errors that a user can
cause (:class:`latentviz.errors.LatentvizError`) are printed as one line, exit code 2.

Start-up is lazy: ``latentviz --version`` and ``latentviz --help`` import no subcommand,
and ``latentviz NAME ...`` imports only ``latentviz.cli.NAME`` (the one-line helps of the
others come from :data:`SUBCOMMANDS`, which a test keeps equal to each module's ``HELP``).
``latentviz NAME --help`` prints a cached copy of the page when this code has printed it
before (:mod:`latentviz.cli._help_cache`), so it imports neither torch nor the registries.
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

__all__ = ["MODEL_FORMS", "SUBCOMMANDS", "add_latent_shape_argument", "build_parser", "main", "print_json"]

#: What every --model / --classifier flag takes (one resolver: latentviz.models.resolve).
MODEL_FORMS = "zoo name, latentviz model file (.safetensors + .json) or TorchScript file"


def add_latent_shape_argument(p: argparse.ArgumentParser) -> None:
    """``--latent-shape``: the latent shape of a TorchScript generator given to ``--model``."""
    p.add_argument(
        "--latent-shape",
        default=None,
        metavar="SHAPE",
        help="latent shape of a TorchScript --model, e.g. 16 or 16,1,1 (default: the "
        "\"latent_shape\" in NAME.json beside it, else what its first layer takes)",
    )

# name -> one-line help, in the order ``latentviz --help`` lists them. Kept here so that
# listing the commands imports none of them (torch, dask and Panel take seconds).
SUBCOMMANDS: dict[str, str] = {
    "info": "describe a medical image (DICOM file or folder, NIfTI, PNG/JPEG/TIFF, NPZ); no identifiers",
    "phantom": "render a phantom dataset (cxr, ct, brain, their -hard variants) with labels, masks, factors",
    "train": "train a classifier, DCGAN, VAE, medXGAN, StyleGAN2 or style-based autoencoder",
    "zoo": "list the bundled models (name, kind, size, recipe, training time, quality)",
    "discover": "discover latent directions (sefa, ganspace, voynov, probe, centroid) and draw them",
    "explain": "explain a classifier's decision on one image (medXGAN counterfactual, Grad-CAM, IG, LIG)",
    "evaluate": "evaluate explanations (or directions) against ground truth on phantoms",
    "bench": "run the benchmarks and print a table of medians and ratios",
    "serve": "serve the dashboard (directions, explanations, interpolation) in a browser",
    "batch": "encode / explain / evaluate a cohort in batches on dask (a local cluster or yours)",
    "import": "import a StyleGAN2 checkpoint (rosinality .pt, NVIDIA .pkl) as safetensors; runs no code",
}


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


def build_parser(load: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser.

    Parameters
    ----------
    load
        Subcommands whose modules are imported and whose options are added; the others are
        listed by name and help only (enough for ``--help`` and for choosing a command).
        ``None`` loads every subcommand.
    """
    parser = argparse.ArgumentParser(
        prog="latentviz",
        description="Look inside generative models of medical images and explain classifiers.",
    )
    parser.add_argument("--version", action="version", version=f"latentviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = set(SUBCOMMANDS) if load is None else set(load)
    for name in _available():
        if name not in chosen:
            sub.add_parser(name, help=SUBCOMMANDS[name])
            continue
        mod = importlib.import_module(f"latentviz.cli.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is one), without parsing."""
    for word in argv:
        if word in SUBCOMMANDS:
            return word
        if not word.startswith("-"):
            return None
    return None


def _help(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """Print the help page ``argv`` asks for, building it only when it is not cached."""
    import contextlib
    import io

    from latentviz.cli import _help_cache

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            parser.parse_args(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:  # e.g. "--help" given as an option's value: nothing was printed
        code = 0
    text = out.getvalue()
    if code == 0 and text:
        _help_cache.store(argv, text)
    sys.stdout.write(text)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(argv)
    if command is not None:
        from latentviz.cli import _help_cache

        if _help_cache.wants_help(argv):
            cached = _help_cache.load(argv)
            if cached is not None:  # the page of this code and terminal width: no imports
                sys.stdout.write(cached)
                raise SystemExit(0)  # as argparse's own --help does
            raise SystemExit(_help(build_parser(load=[command]), argv))
    parser = build_parser(load=[command] if command else [])
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
