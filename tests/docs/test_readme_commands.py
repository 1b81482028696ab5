"""Every ``latentviz`` command in README.md parses, and the runnable ones run.

A command that names only a subcommand (``latentviz batch``) is a mention: the subcommand
must exist. Every other command must parse with the real parser. ``zoo list`` runs as
written; the caption's ``explain`` runs with its budget cut (steps, restarts, IG/LIG steps,
frames appended, no L-BFGS polish: the options a user types are kept), since its full default takes minutes.
``serve`` only parses (it blocks).
"""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path

import pytest

from latentviz.cli import SUBCOMMANDS, build_parser, main
from latentviz.explain import report

README = Path(__file__).resolve().parents[2] / "README.md"
CUT = ["--steps", "2", "--restarts", "1", "--ig-steps", "2", "--lig-steps", "2", "--frames", "2", "--quiet"]


def readme_commands(text: str) -> list[str]:
    """``latentviz ...`` commands in inline code and in bash blocks, in order, deduplicated."""
    inline = re.findall(r"`(latentviz [^`\n]+)`", text)
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip().startswith("latentviz ")]
    return list(dict.fromkeys(inline + lines))


def test_readme_has_commands() -> None:
    cmds = readme_commands(README.read_text())
    assert any(c.startswith("latentviz explain ") for c in cmds) and "latentviz serve" in cmds


@pytest.mark.parametrize("command", readme_commands(README.read_text()))
def test_readme_command_parses(command: str) -> None:
    argv = shlex.split(command)[1:]
    assert argv[0] in SUBCOMMANDS, command
    if len(argv) == 1 and argv[0] != "serve":
        return  # a mention of the subcommand
    try:
        build_parser([argv[0]]).parse_args(argv)
    except SystemExit as exc:  # argparse refuses: the README shows a command that fails
        pytest.fail(f"README command does not parse: {command} (exit {exc.code})")


def test_readme_zoo_list_runs(capsys) -> None:
    assert "latentviz zoo list" in readme_commands(README.read_text())
    assert main(["zoo", "list"]) == 0 and "ct-classifier" in capsys.readouterr().out


def test_readme_caption_explain_runs(tmp_path, monkeypatch) -> None:
    cmd = next(c for c in readme_commands(README.read_text()) if c.startswith("latentviz explain "))
    monkeypatch.chdir(tmp_path)
    # no L-BFGS polish either (the CLI has no option for it yet)
    monkeypatch.setattr(report, "invert", functools.partial(report.invert, refine=None))
    assert main([*shlex.split(cmd)[1:], *CUT]) == 0
    out = shlex.split(cmd)[shlex.split(cmd).index("--out") + 1]
    assert (tmp_path / out / "explanation.png").is_file()
