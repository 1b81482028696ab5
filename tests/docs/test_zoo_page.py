"""docs/zoo.md carries the zoo's model cards as ``latentviz zoo list --markdown`` prints them."""

from __future__ import annotations

from pathlib import Path

from latentviz import zoo
from latentviz.cli.zoo import markdown

PAGE = Path(__file__).resolve().parents[2] / "docs" / "zoo.md"
BEGIN, END = "<!-- zoo list --markdown: begin -->\n", "<!-- zoo list --markdown: end -->"


def test_zoo_page_matches_the_bundled_cards() -> None:
    text = PAGE.read_text()
    block = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert block == markdown(zoo.list_models()), (
        "docs/zoo.md is stale: paste the output of `latentviz zoo list --markdown` between the markers"
    )
    for name in zoo.names():
        assert f"`{name}`" in block
