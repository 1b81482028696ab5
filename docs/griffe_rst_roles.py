"""Griffe extension for the API reference: Sphinx roles in docstrings become inline code.

latentviz's numpy-style docstrings name other objects with Sphinx roles
(``:class:`~latentviz.data.MedicalImage```), which Markdown would show literally. This turns
each role into inline code with the name a reader expects (the last component when the
target starts with ``~``, as Sphinx does). mkdocs.yml loads it for mkdocstrings.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|mod|meth|attr|data|obj|exc|const):`(~?)([^`]+)`")


def replace_roles(text: str) -> str:
    """``:role:`~a.b.C``` → ```C```, ``:role:`a.b.C``` → ```a.b.C```."""

    def code(match: re.Match[str]) -> str:
        tilde, target = match.groups()
        return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"

    return ROLE.sub(code, text)


class RstRoles(griffe.Extension):
    """Rewrite the docstring of every object as it is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = replace_roles(obj.docstring.value)
