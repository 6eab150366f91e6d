"""MkDocs hook: the questions reference, generated from copier.yml at build time.

A page marks the spot with ``<!-- copier-questions -->``; the hook replaces it with a
summary table and one section per question, in copier.yml's order. A question added
to copier.yml appears on the next build without touching the docs.
"""

from __future__ import annotations

from typing import Any

from template_data import (
    cell,
    choice_pairs,
    code,
    is_templated,
    level_span,
    levels_where,
    load_questions,
    prose,
    question_type,
    yaml_scalar,
)

MARKER = "<!-- copier-questions -->"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, questions_markdown(load_questions()))


def questions_markdown(questions: dict[str, dict[str, Any]]) -> str:
    lines = ["| question | type | asked |", "|---|---|---|"]
    for name, question in questions.items():
        lines.append(
            f"| [{code(name)}](#{name}) | {question_type(question)} | {cell(asked(question))} |"
        )
    for name, question in questions.items():
        lines += ["", f"## {name}", "", *section(question)]
    return "\n".join(lines) + "\n"


def section(question: dict[str, Any]) -> list[str]:
    lines = []
    if question.get("help"):
        lines += [prose(question["help"]), ""]
    lines.append(f"- **Type:** {question_type(question)}")
    if question.get("multiselect"):
        lines.append("- **Answer:** any number of the choices")
    lines.append(f"- **Default:** {default(question)}")
    lines.append(f"- **Asked:** {asked(question)}")
    if question.get("validator"):
        lines.append("- **Validated:** a bad answer is refused with a message that names the fix")
    if question.get("secret"):
        lines.append("- **Secret:** not written to the answers file")
    pairs = choice_pairs(question)
    if pairs and all(label == yaml_scalar(value) for label, value in pairs):
        lines.append("- **Choices:** " + ", ".join(code(label) for label, _ in pairs))
    elif pairs:
        lines += ["", "| choice | value |", "|---|---|"]
        lines += [
            f"| {cell(prose(label))} | {code(yaml_scalar(value))} |" for label, value in pairs
        ]
    return lines


def default(question: dict[str, Any]) -> str:
    if "default" not in question:
        return "none; an answer is required"
    value = question["default"]
    if is_templated(value):
        return f"computed: {code(value.strip())}"
    labels = {yaml_scalar(v): label for label, v in choice_pairs(question)}
    text = code(yaml_scalar(value))
    label = labels.get(yaml_scalar(value))
    return f"{text}: {prose(label)}" if label and label != yaml_scalar(value) else text


def asked(question: dict[str, Any]) -> str:
    when = question.get("when", True)
    if not is_templated(when):
        return "always" if when not in (False, "false", "False") else "never; computed, not asked"
    expression = " ".join(when.split())
    levels = levels_where(expression)
    if levels is not None:
        return f"at {level_span(levels) if levels else 'no level'} ({code(expression)})"
    return f"when {code(expression)} is true"
