"""The Python examples in the docs run, and print what the docs say they print."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_snippets import extract_snippets, run_snippets

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["own-data.md", "getting-started.md"]
# Pages whose ```bash blocks of latentviz commands run too (getting-started's include serve).
SHELL_PAGES = {"own-data.md"}


def test_extract_pairs_code_with_following_output() -> None:
    md = "x\n```python\nprint(1)\n```\n\n```text\n1\n```\n```python\na = 2\n```\n```bash\nls\n```\n"
    snippets = extract_snippets(md)
    assert [s.code for s in snippets] == ["print(1)\n", "a = 2\n"]
    assert [s.expected for s in snippets] == ["1\n", None]
    assert [s.line for s in snippets] == [2, 9]


def test_shell_blocks_of_latentviz_commands_run_only_when_asked(tmp_path: Path) -> None:
    md = "```bash\nlatentviz zoo list\n```\n\n```bash\npip install x\n```\n"
    assert extract_snippets(md) == []
    (snippet,) = extract_snippets(md, shell=True)
    assert "ct-classifier" in run_snippets([snippet], tmp_path)[0]


def test_run_reports_the_failing_block(tmp_path: Path) -> None:
    snippets = extract_snippets("```python\nprint('ok')\n```\n\n```python\nraise ValueError('boom')\n```\n")
    with pytest.raises(AssertionError, match="line 5"):
        run_snippets(snippets, tmp_path)


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run_and_match(page: str, tmp_path: Path) -> None:
    pytest.importorskip("nilearn")
    if page == "own-data.md":
        pytest.importorskip("monai")  # the dev extra installs it
    snippets = extract_snippets((DOCS / page).read_text(), shell=page in SHELL_PAGES)
    assert snippets, f"{page} has no python examples"
    outputs = run_snippets(snippets, tmp_path)
    for snippet, output in zip(snippets, outputs, strict=True):
        if snippet.expected is not None:
            assert output == snippet.expected, f"{page}, block at line {snippet.line}"
