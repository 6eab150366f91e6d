"""MkDocs hook: the level recommendation, generated from extensions/ladder.py.

Markers in a page and what replaces them:

- ``<!-- assessment-questions -->``: the questions the rules read, with their choices
  as copier.yml words them;
- ``<!-- recommendation-rules -->``: the RULES table, in the order it is evaluated;
- ``<!-- no-assessment -->``: the level and reason used when the assessment is skipped.
"""

from __future__ import annotations

from typing import Any

from template_data import cell, choice_pairs, code, ladder, load_questions, prose, yaml_scalar

QUESTIONS = "<!-- assessment-questions -->"
RULES = "<!-- recommendation-rules -->"
NO_ASSESSMENT = "<!-- no-assessment -->"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if not any(marker in markdown for marker in (QUESTIONS, RULES, NO_ASSESSMENT)):
        return markdown
    questions = load_questions()
    return (
        markdown.replace(QUESTIONS, questions_table(questions))
        .replace(RULES, rules_table(questions))
        .replace(NO_ASSESSMENT, no_assessment())
    )


def rule_inputs(questions: dict[str, dict[str, Any]]) -> list[str]:
    """Every answer some rule reads, in copier.yml's order."""
    names = {name for conditions, _, _ in ladder.RULES for name in conditions}
    return [name for name in questions if name in names] + sorted(names - set(questions))


def questions_table(questions: dict[str, dict[str, Any]]) -> str:
    lines = ["| question | asks | choices |", "|---|---|---|"]
    for name in rule_inputs(questions):
        question = questions.get(name, {})
        pairs = choice_pairs(question)
        if pairs:
            choices = "<br>".join(f"{code(yaml_scalar(v))}: {prose(label)}" for label, v in pairs)
        else:
            choices = f"{code('true')} or {code('false')}"
        lines.append(
            f"| {code(name)} | {cell(prose(question.get('help', '')))} | {cell(choices)} |"
        )
    return "\n".join(lines) + "\n"


def rules_table(questions: dict[str, dict[str, Any]]) -> str:
    lines = ["| # | when | level | reason |", "|---|---|---|---|"]
    for number, (conditions, level, reason) in enumerate(ladder.RULES, start=1):
        when = " and ".join(
            condition(name, allowed, questions) for name, allowed in conditions.items()
        )
        lines.append(
            f"| {number} | {cell(when or 'any other answers')} "
            f"| {level} {ladder.LEVELS[level]} | {cell(reason)} |"
        )
    return "\n".join(lines) + "\n"


def condition(name: str, allowed: set[Any], questions: dict[str, dict[str, Any]]) -> str:
    """``project_stage`` is ``scaled`` (Many models in production)."""
    labels = {yaml_scalar(v): label for label, v in choice_pairs(questions.get(name, {}))}
    order = list(labels)
    values = sorted(map(yaml_scalar, allowed), key=lambda v: order.index(v) if v in order else 99)
    words = [code(v) + (f" ({prose(labels[v])})" if v in labels else "") for v in values]
    return f"{code(name)} is " + " or ".join(words)


def no_assessment() -> str:
    level = ladder.MIN_LEVEL
    return (
        f"level {level} ({ladder.LEVELS[level]}), with the reason “{ladder.NO_ASSESSMENT_REASON}”"
    )
