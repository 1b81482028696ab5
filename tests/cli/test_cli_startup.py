"""The console command starts lazily: listing commands imports none of them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from latentviz.cli import SUBCOMMANDS, build_parser, main


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_listed_help_equals_the_module_help(name: str) -> None:
    assert SUBCOMMANDS[name] == importlib.import_module(f"latentviz.cli.{name}").HELP


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["info", "--help"]])
def test_version_and_help_import_neither_torch_nor_other_commands(argv: list[str]) -> None:
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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    last = out.strip().splitlines()[-1]
    assert last.startswith("NOTORCH"), last
    expected = [f"latentviz.cli.{argv[0]}"] if argv[0] in SUBCOMMANDS else []
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
