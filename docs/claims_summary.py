"""Write README's summary of the seed papers' claims from ``docs/claims.md``.

Usage, from the repository root::

    python docs/claims_summary.py           # rewrite the block in README.md
    python docs/claims_summary.py --check   # exit 1 if README's block is stale

``docs/claims.md`` has one section per seed paper (``## …``) with a table whose first
column is the claim and whose last column is the verdict. The summary keeps each claim and
the head of its verdict (the bold verdict and its scope, up to the first ``:``, ``;`` or
sentence end) and links to the page for the figures, intervals and commands.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

__all__ = ["BEGIN", "END", "claims", "render", "update"]

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "docs" / "claims.md"
README = ROOT / "README.md"
BEGIN = "<!-- claims summary (generated from docs/claims.md by `python docs/claims_summary.py`): begin -->"
END = "<!-- claims summary: end -->"


def _cells(row: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` inside a cell is not a separator)."""
    parts = re.split(r"(?<!\\)\|", row.strip().strip("|"))
    return [p.strip() for p in parts]


def _verdict_head(verdict: str) -> str:
    """The verdict up to the first ``:``, ``;`` or sentence end."""
    cut = re.search(r"[:;]|\.\s", verdict)
    return (verdict[: cut.start()] if cut else verdict).strip().rstrip(".")


def claims(text: str) -> list[tuple[str, str, str]]:
    """``(paper, claim, verdict head)`` of every table row of the claims page, in order."""
    out: list[tuple[str, str, str]] = []
    paper = ""
    for line in text.splitlines():
        if line.startswith("## "):
            paper = line[3:].strip()
        elif paper and line.startswith("|") and not re.match(r"^\|\s*-", line):
            cells = _cells(line)
            if len(cells) < 2 or cells[0] == "claim":
                continue
            out.append((paper, cells[0], _verdict_head(cells[-1])))
    if not out:
        raise ValueError("docs/claims.md has no claim tables")
    return out


def render(rows: list[tuple[str, str, str]]) -> str:
    """The README block, markers included."""
    lines = [BEGIN, "", "| paper | claim | verdict on our data |", "|---|---|---|"]
    lines += [f"| {paper} | {claim} | {verdict} |" for paper, claim, verdict in rows]
    lines += ["", "Figures, intervals and the command of each: [docs/claims.md](docs/claims.md).", "", END]
    return "\n".join(lines)


def update(readme: str, block: str) -> str:
    """``readme`` with its block between the markers replaced by ``block``."""
    if BEGIN not in readme or END not in readme:
        raise ValueError("README.md has no claims-summary markers")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that README is up to date")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    new = update(readme, render(claims(CLAIMS.read_text(encoding="utf-8"))))
    if args.check:
        if new != readme:
            print("README.md's claims summary is stale: run python docs/claims_summary.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
