"""MkDocs hook: the team edits that the upgrade tests make, listed from harness/team_edits.py.

A page marks the spot with ``<!-- upgrade-edits -->``; the hook replaces it with the
list, so the upgrade guide claims exactly what the tests prove.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.team_edits import EDITS  # noqa: E402  (needs ROOT on sys.path)

MARKER = "<!-- upgrade-edits -->"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, "\n".join(f"- {edit}" for edit in EDITS) + "\n")
