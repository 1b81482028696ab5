"""A cache of subcommand help pages, so ``latentviz NAME --help`` does not import torch.

A subcommand's options take their defaults and choices from the registries (explanation
methods, direction methods, trainers), which import torch and captum: building the parser
costs seconds. The help text only changes when latentviz's code, the installed
distributions (plugins register methods through entry points), the Python interpreter or the
terminal width change, so the first
``--help`` of a command builds the parser and stores the text, and later ones print the
stored copy. The key is a hash of all of those; any change makes a new entry.

The cache lives in ``$LATENTVIZ_CACHE_DIR`` (default ``$XDG_CACHE_HOME/latentviz`` or
``~/.cache/latentviz``), under ``help/``. It is only a cache: when the folder cannot be read or
written, help is built as without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from latentviz import __version__

__all__ = ["cache_dir", "help_key", "load", "store", "wants_help"]

_PACKAGE = Path(__file__).resolve().parents[1]


def wants_help(argv: Sequence[str]) -> bool:
    """True when ``argv`` asks for a help page (``-h``/``--help`` before any ``--``)."""
    for word in argv:
        if word == "--":
            return False
        if word in ("-h", "--help"):
            return True
    return False


def cache_dir() -> Path:
    """Where help pages are kept."""
    root = os.environ.get("LATENTVIZ_CACHE_DIR")
    if root:
        return Path(root) / "help"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "latentviz" / "help"


def _code_fingerprint() -> list[tuple[str, int, int]]:
    """``(path, mtime_ns, size)`` of every module of the installed package (a few ms)."""
    out = []
    stack = [_PACKAGE]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False) and e.name != "__pycache__":
                stack.append(Path(e.path))
            elif e.name.endswith(".py"):
                st = e.stat()
                out.append((os.path.relpath(e.path, _PACKAGE), st.st_mtime_ns, st.st_size))
    return sorted(out)


def _installed() -> list[tuple[str, int]]:
    """The installed distributions (``*.dist-info``/``*.egg-info`` on ``sys.path``, with their
    mtimes): a plugin that registers methods through an entry point changes the choices, and
    installing or removing one changes this list. Reading the folders costs a few ms, parsing
    every entry-point file a few hundred."""
    out = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as it:
                for e in it:
                    if e.name.endswith((".dist-info", ".egg-info")):
                        out.append((e.name, e.stat().st_mtime_ns))
        except OSError:
            continue
    return sorted(out)


def help_key(argv: Sequence[str]) -> str:
    """Hash of everything the help page of ``argv`` depends on."""
    h = hashlib.sha256()
    width = shutil.get_terminal_size().columns  # argparse wraps to the terminal's width
    parts = [__version__, sys.executable, sys.version, str(width), repr(list(argv))]
    parts += [repr(_code_fingerprint()), repr(_installed())]
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def load(argv: Sequence[str]) -> str | None:
    """The stored help page of ``argv``, or None."""
    try:
        return (cache_dir() / f"{help_key(argv)}.txt").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def store(argv: Sequence[str], text: str) -> None:
    """Keep ``text`` as the help page of ``argv`` (atomically; failures are ignored)."""
    folder = cache_dir()
    path = folder / f"{help_key(argv)}.txt"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, "utf-8")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
