"""MkDocs hook: the team edits that the upgrade tests make, listed from tests/team_edits.py.

A page marks the spot with ``<!-- upgrade-edits -->``; the hook replaces it with the
list, so the upgrade guide claims exactly what the tests prove.
"""

from __future__ import annotations

from typing import Any

from template_data import ROOT  # noqa: F401  (puts the repository on sys.path)

from tests.team_edits import EDITS

MARKER = "<!-- upgrade-edits -->"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, "\n".join(f"- {edit}" for edit in EDITS) + "\n")
