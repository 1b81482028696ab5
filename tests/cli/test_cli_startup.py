"""The console command starts lazily: listing commands imports none of them."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from latentviz.cli import SUBCOMMANDS, build_parser, main


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_listed_help_equals_the_module_help(name: str) -> None:
    assert SUBCOMMANDS[name] == importlib.import_module(f"latentviz.cli.{name}").HELP


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["info", "--help"]])
def test_version_and_help_import_neither_torch_nor_other_commands(argv: list[str], tmp_path) -> None:
    code = (
        "import sys\n"
        "from latentviz.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('latentviz.cli.'))\n"
        "print('TORCH' if 'torch' in sys.modules else 'NOTORCH', loaded)\n"
    )
    env = {**os.environ, "LATENTVIZ_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    last = out.strip().splitlines()[-1]
    assert last.startswith("NOTORCH"), last
    expected = ["latentviz.cli._help_cache", f"latentviz.cli.{argv[0]}"] if argv[0] in SUBCOMMANDS else []
    assert last == f"NOTORCH {expected!r}"


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in text


def test_full_parser_still_parses_every_command() -> None:
    parser = build_parser()
    args = parser.parse_args(["info", "x.dcm", "--json"])
    assert args.command == "info" and args.json and callable(args._run)


def test_unknown_command_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["nosuchcommand"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def _run_help(argv: list[str], cache: str) -> tuple[str, str]:
    """Help page and the latentviz.cli/torch modules a fresh interpreter loaded for it."""
    code = (
        "import sys\n"
        "from latentviz.cli import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "mods = sorted(m for m in sys.modules if m == 'torch' or m.startswith('latentviz.cli.'))\n"
        "print('\\nMODULES', code, mods)\n"
    )
    env = {**os.environ, "LATENTVIZ_CACHE_DIR": cache, "COLUMNS": "100"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    page, _, mods = out.stdout.rpartition("\nMODULES ")
    return page, mods.strip()


@pytest.mark.parametrize("argv", [["explain", "--help"], ["evaluate", "directions", "--help"]])
def test_a_subcommand_help_is_built_once_then_printed_without_torch(argv: list[str], tmp_path) -> None:
    first, mods = _run_help(argv, str(tmp_path))
    assert "torch" in mods and "usage: latentviz " in first  # built: the registries were imported
    again, mods = _run_help(argv, str(tmp_path))
    assert again == first  # the same page, byte for byte
    assert mods == "0 ['latentviz.cli._help_cache']"  # no torch, no subcommand module


def test_the_help_cache_follows_the_code_and_the_terminal(tmp_path, monkeypatch) -> None:
    from latentviz.cli import _help_cache

    monkeypatch.setenv("LATENTVIZ_CACHE_DIR", str(tmp_path))
    _help_cache.store(["zoo", "--help"], "page")
    assert _help_cache.load(["zoo", "--help"]) == "page"
    assert _help_cache.load(["zoo", "-h"]) is None  # another argv, another page
    monkeypatch.setenv("COLUMNS", "37")
    assert _help_cache.load(["zoo", "--help"]) is None  # argparse wraps to the width
    monkeypatch.delenv("COLUMNS")
    real = _help_cache._code_fingerprint()
    monkeypatch.setattr(_help_cache, "_code_fingerprint", lambda: [*real, ("new.py", 1, 1)])
    assert _help_cache.load(["zoo", "--help"]) is None  # a changed module: built again
    assert _help_cache.wants_help(["explain", "x.dcm", "-h"]) and not _help_cache.wants_help(
        ["explain", "--", "--help"]
    )


def test_an_unwritable_cache_still_prints_the_help(tmp_path, monkeypatch, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LATENTVIZ_CACHE_DIR", str(blocker))
    with pytest.raises(SystemExit) as exc:
        main(["zoo", "--help"])
    assert exc.value.code == 0
    assert "usage: latentviz zoo" in capsys.readouterr().out
