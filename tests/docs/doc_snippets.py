"""Run the ``python`` blocks of a Markdown page and collect what each one prints.

A page's runnable blocks are fenced ```` ```python ```` (blocks fenced ```` ```py ```` are shown
but not run: notebook-only code such as widgets); the ```` ```text ```` block right after
one (if any) is its expected output. With ``shell=True`` a ```` ```bash ```` block whose every
line is a ``latentviz ...`` command runs too, in its place, through ``latentviz.cli.main``
(each command must exit 0). All blocks of a page run in order in one interpreter (so
later blocks see earlier names), in a given working folder.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Snippet", "extract_snippets", "run_snippets"]

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARK = "----- latentviz doc snippet {} -----"


@dataclass
class Snippet:
    """One ``python`` block, its expected output (or None) and the line it starts on."""

    code: str
    expected: str | None
    line: int


def _shell_code(body: str) -> str | None:
    """Python that runs a bash block of ``latentviz`` commands, or None for another block."""
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if not lines or not all(ln.startswith("latentviz ") for ln in lines):
        return None
    code = ["import shlex as _shlex", "from latentviz.cli import main as _latentviz"]
    for ln in lines:
        code.append(f"assert _latentviz(_shlex.split({ln!r})[1:]) == 0, {ln!r}")
    return "\n".join(code) + "\n"


def extract_snippets(markdown: str, shell: bool = False) -> list[Snippet]:
    """The ``python`` blocks of ``markdown``, each with the ``text`` block that follows it;
    with ``shell``, ``bash`` blocks of ``latentviz`` commands too (as Python that runs them)."""
    fences = [(m.group(1), m.group(2), m.start(), m.end()) for m in _FENCE.finditer(markdown)]
    out: list[Snippet] = []
    for i, (lang, body, start, end) in enumerate(fences):
        if shell and lang == "bash" and (code := _shell_code(body)) is not None:
            body = code
        elif lang != "python":
            continue
        expected = None
        if i + 1 < len(fences):
            nlang, nbody, nstart, _ = fences[i + 1]
            if nlang == "text" and not markdown[end:nstart].strip():
                expected = nbody
        out.append(Snippet(body, expected, markdown.count("\n", 0, start) + 1))
    return out


def run_snippets(snippets: list[Snippet], cwd: Path, timeout: float = 300) -> list[str]:
    """Run the snippets in one fresh interpreter in ``cwd``; the output of each, in order.

    Raises
    ------
    AssertionError
        When the script fails; the message holds its output and the failing block's line.
    """
    parts = []
    for i, s in enumerate(snippets):
        parts.append(f"print({_MARK.format(i)!r}, flush=True)\n{s.code}")
    script = Path(cwd).resolve() / "_doc_snippets.py"
    script.write_text("\n".join(parts))
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    chunks = re.split(r"^----- latentviz doc snippet (\d+) -----\n", proc.stdout, flags=re.M)
    outputs = {int(chunks[j]): chunks[j + 1] for j in range(1, len(chunks) - 1, 2)}
    if proc.returncode != 0:
        failed = snippets[max(outputs, default=0)] if snippets else None
        line = failed.line if failed else "?"
        raise AssertionError(
            f"the block at line {line} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    return [outputs.get(i, "") for i in range(len(snippets))]
