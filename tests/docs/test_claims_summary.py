"""README's claims summary is generated from docs/claims.md and kept fresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_scripts import load_docs_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def summary():
    return load_docs_script("claims_summary")


def test_readme_block_is_generated_from_the_claims_page(summary) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = summary.claims((ROOT / "docs" / "claims.md").read_text(encoding="utf-8"))
    assert len({paper for paper, _, _ in rows}) == 3  # one section per seed paper
    assert summary.update(readme, summary.render(rows)) == readme, "run: python docs/claims_summary.py"
    assert summary.main(["--check"]) == 0


def test_the_verdict_keeps_its_head_and_the_table_its_rows(summary) -> None:
    page = """# Claims

## Paper A

| claim | experiment | figure | verdict |
|---|---|---|---|
| maps localise | IoU \\| pointing | +0.3 [+0.2, +0.4] | **supported** (cxr, n = 200) |
| it adds up | error | 0.99 | **not supported** for the public variant; ours adds up |
| robust | rank | -0.04 | **undecided**: the interval holds 0. More later |

1. `a command`

## Still open

- no table here
"""
    rows = summary.claims(page)
    assert rows == [
        ("Paper A", "maps localise", "**supported** (cxr, n = 200)"),
        ("Paper A", "it adds up", "**not supported** for the public variant"),
        ("Paper A", "robust", "**undecided**"),
    ]
    block = summary.render(rows)
    assert block.startswith(summary.BEGIN) and block.endswith(summary.END)
    with pytest.raises(ValueError, match="markers"):
        summary.update("no markers", block)
    with pytest.raises(ValueError, match="no claim tables"):
        summary.claims("# nothing")
