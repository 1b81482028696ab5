"""``latentviz evaluate directions``: a description in --help and a warning on the heavy default."""

from __future__ import annotations

import subprocess
import sys

from latentviz.cli import main


def _help() -> str:
    out = subprocess.run(
        [sys.executable, "-m", "latentviz", "evaluate", "directions", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return " ".join(out.split())


def test_help_describes_the_command_and_its_run_time() -> None:
    text = _help()
    assert "Discover directions in a zoo generator" in text and "Spearman" in text
    assert "15–83 min" in text and "--voynov-steps 300" in text


def test_heavy_voynov_default_warns_before_it_starts(capsys) -> None:
    # an unknown model stops the run right after the warning
    assert main(["evaluate", "directions", "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("warning: Voynov–Babenko for 3000 steps") and "no-such-model" in err
    assert main(["evaluate", "directions", "--model", "no-such-model", "--voynov-steps", "300"]) == 2
    assert "warning" not in capsys.readouterr().err
    assert main(["evaluate", "directions", "--model", "no-such-model", "--methods", "sefa"]) == 2
    assert "warning" not in capsys.readouterr().err
