"""``latentviz zoo list``."""

from __future__ import annotations

import json

from latentviz import zoo
from latentviz.cli import main


def test_zoo_list_text_and_json(capsys) -> None:
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    for name in zoo.names():
        assert name in out
    assert "recipe:  latentviz train" in out and "AUC" in out
    assert main(["zoo", "list", "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)
    assert {c["name"] for c in cards} == set(zoo.names())
    assert all(
        {"kind", "image_size", "file_bytes", "recipe", "train_seconds", "quality"} <= set(c) for c in cards
    )
