"""MkDocs hook: the feature table, generated from extensions/ladder.py at build time.

A page marks the spot with ``<!-- feature-table -->``; the hook replaces it with one row
per feature: what it gives, which level or answer brings it, and what it needs.
"""

from __future__ import annotations

from typing import Any

from template_data import cell, code, ladder

MARKER = "<!-- feature-table -->"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, feature_table())


def brought_by(name: str) -> str:
    """'level 2', '`serving=online`, from level 2', or '`online` with `monitoring`'."""
    if name in ladder.COMBINED_FEATURES:
        return " with ".join(code(part) for part in ladder.COMBINED_FEATURES[name])
    for level, names in ladder.LEVEL_FEATURES.items():
        if name in names:
            return f"level {level} ({ladder.LEVELS[level]})"
    for (question, value), names in ladder.CHOICE_FEATURES.items():
        if name in names:
            return f"{code(f'{question}={value}')}, from level {ladder.ASKED_FROM[question]}"
    raise ladder.FeatureTableError(f"nothing brings {name!r}")


def feature_table() -> str:
    lines = ["| feature | gives | brought by | needs |", "|---|---|---|---|"]
    for name, feature in ladder.FEATURES.items():
        needs = ", ".join(code(needed) for needed in feature.requires) or "—"
        lines.append(f"| {code(name)} | {cell(feature.gives)} | {brought_by(name)} | {needs} |")
    return "\n".join(lines) + "\n"
