"""What the docs hooks read from the template: copier.yml and extensions/ladder.py.

Shared by the hooks in this folder (MkDocs puts the folder on ``sys.path`` while it
loads a hook). Nothing here is copied by hand from the template: pages are filled
from these two files at build time, so they cannot drift from them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COPIER_YML = ROOT / "copier.yml"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from extensions import ladder  # noqa: E402  (needs ROOT on sys.path)

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def load_questions(path: Path = COPIER_YML) -> dict[str, dict[str, Any]]:
    """The questions of copier.yml in file order, read the way copier reads them.

    Copier's own loader resolves ``!include`` and several YAML documents, and turns
    the short form ``name: default`` into ``{"default": default}``; keys starting
    with ``_`` are settings, not questions.
    """
    from copier._template import filter_config, load_template_config

    return filter_config(load_template_config(path))[1]


def question_type(question: dict[str, Any]) -> str:
    """The declared type, or the one copier infers from the default. A yaml question whose
    validator requires an integer is an int (copier.yml types it yaml only so that a word
    such as "three" reaches the validator's message)."""
    if question.get("type") == "yaml" and "is not integer" in question.get("validator", ""):
        return "int"
    if question.get("type"):
        return str(question["type"])
    inferred = type(question.get("default")).__name__
    return inferred if inferred in {"bool", "int", "float", "str"} else "yaml"


def choice_pairs(question: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of every choice, whatever form copier.yml gives them in."""
    choices = question.get("choices") or []
    if isinstance(choices, dict):
        items = list(choices.items())
    else:
        items = [
            tuple(choice) if isinstance(choice, list | tuple) and len(choice) == 2 else (choice,)
            for choice in choices
        ]
    pairs = []
    for item in items:
        label, value = (item[0], item[0]) if len(item) == 1 else item
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        pairs.append((str(label), value))
    return pairs


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and bool(JINJA.search(value))


def yaml_scalar(value: Any) -> str:
    """A value as it would be written in YAML (true, 3, solo)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def code(text: str) -> str:
    """Inline code that survives backticks inside ``text``."""
    text = " ".join(str(text).split())
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: Any) -> str:
    """Help text on one line, with any Jinja shown as code."""
    text = " ".join(str(text).split())
    return JINJA.sub(lambda match: code(match.group(0)), text)


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell: pipes outside code spans are escaped."""
    parts = re.split(r"(`+.*?`+)", text)
    return "".join(part if part.startswith("`") else part.replace("|", "\\|") for part in parts)


def as_bool(value: Any) -> bool:
    """Copier's reading of a rendered ``when``: empty, false, no, 0, none… are false."""
    text = str(value).strip().lower()
    try:
        return bool(float(text))
    except ValueError:
        return text not in {"", "n", "no", "f", "false", "off", "~", "null", "none"}


def levels_where(expression: str) -> list[int] | None:
    """The levels at which a templated ``when`` holds, or None if it reads other answers.

    An expression that depends on the level alone (``asked('serving')`` reads it too) is
    rendered once per level, with the template's Jinja globals; any other expression is
    shown as written.
    """
    from jinja2 import Environment, StrictUndefined, meta

    env = Environment(extensions=[ladder.LadderGlobals], undefined=StrictUndefined)
    try:
        names = meta.find_undeclared_variables(env.parse(expression)) - set(env.globals)
        if names - {"mlops_level"}:
            return None
        template = env.from_string(expression)
        return [
            level for level in sorted(ladder.LEVELS) if as_bool(template.render(mlops_level=level))
        ]
    except Exception:  # an expression these docs cannot evaluate is shown as written
        return None


def level_span(levels: list[int]) -> str:
    """[2, 3, 4] -> 'levels 2-4' (with an en dash); [3] -> 'level 3'."""
    if len(levels) == 1:
        return f"level {levels[0]}"
    if levels == list(range(levels[0], levels[-1] + 1)):
        return f"levels {levels[0]}\N{EN DASH}{levels[-1]}"
    return "levels " + ", ".join(map(str, levels))
