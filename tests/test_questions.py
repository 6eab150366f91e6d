"""Bad answers are refused with a message naming the question, and nothing is written."""

from __future__ import annotations

import pytest
import yaml

from extensions.ladder import BUILT_LEVELS, LEVELS
from harness.matrix import ROOT, render_jinja
from harness.project import render

BAD_ANSWERS = [
    ("project_name", "", "empty"),
    ("project_name", "   ", "empty"),
    ("project_name", "9 lives", "must start with a letter"),
    ("project_name", "churn/model", "must start with a letter"),
    ("package_name", "", "empty"),
    ("package_name", "Churn-Model", "not a Python import name"),
    ("package_name", "2fast", "not a Python import name"),
    ("package_name", "churn model", "not a Python import name"),
    ("package_name", "class", "Python keyword"),
    ("package_name", "match", "Python keyword"),
    ("package_name", "json", "shadow"),
    ("package_name", "mlflow", "shadow"),
    ("package_name", "tests", "shadow"),
    ("package_name", "churn_", "must end with a letter or a digit"),
    ("project_description", "", "empty"),
    ("author_name", " ", "empty"),
    ("author_email", "", "not an e-mail address"),
    ("author_email", "team.example.com", "not an e-mail address"),
    ("author_email", "team@localhost", "not an e-mail address"),
    ("python_version", "3.9", "python_version"),
    ("python_version", "3.14", "python_version"),
    ("python_version", "3.1", "python_version"),
    ("mlops_level", 0, "does not exist"),
    ("mlops_level", 5, "does not exist"),
    ("mlops_level", -1, "does not exist"),
    ("mlops_level", "three", "does not exist"),
    ("mlops_level", "2.5", "does not exist"),
    ("serving", "streaming", "serving"),
]

# The whole message each bad answer ends with: the question, the answer and the fix.
LEVELS_TO_CHOOSE = "choose 1 (Scripted), 2 (Automated), 3 (Governed) or 4 (Self-optimising)"
MESSAGES = {
    ("project_name", ""): 'project_name is empty; give a name such as "Churn Model"',
    ("project_name", "9 lives"): "project_name '9 lives' must start with a letter and use "
    "only letters, digits, spaces, '-' and '_' (at most 64 characters), e.g. \"Churn Model\"",
    ("package_name", "churn model"): "package_name 'churn model' is not a Python import name; "
    "use lowercase letters, digits and underscores, starting with a letter (e.g. churn_model)",
    ("package_name", "class"): "package_name 'class' is a Python keyword; choose another, "
    "e.g. class_model",
    ("package_name", "churn_"): "package_name 'churn_' ends with '_'; the distribution and "
    "image names made from it ('churn-') must end with a letter or a digit, e.g. churn",
    ("project_description", ""): "project_description is empty; write one sentence about "
    "the project",
    ("author_name", " "): "author_name is empty; give a person or team name",
    ("author_email", "team@localhost"): "author_email 'team@localhost' is not an e-mail "
    "address; use the form name@example.com",
    ("mlops_level", 5): f"mlops_level 5 does not exist; {LEVELS_TO_CHOOSE}",
    ("mlops_level", "three"): f"mlops_level three does not exist; {LEVELS_TO_CHOOSE}",
}

CHOICES = {"python_version": ["3.10", "3.11", "3.12", "3.13"], "serving": ["batch", "online"]}


def refusal(error: BaseException) -> str:
    """The message a refused answer ends with, on one line as a terminal shows it."""
    return " ".join(str(error).split())


@pytest.mark.parametrize(
    ("question", "answer", "reason"),
    BAD_ANSWERS,
    ids=[f"{question}={answer!r}" for question, answer, _ in BAD_ANSWERS],
)
def test_bad_answer_is_refused_and_writes_nothing(template, tmp_path, question, answer, reason):
    destination = tmp_path / "project"
    data = {"project_name": "Churn Model", "mlops_level": 2, question: answer}
    with pytest.raises(ValueError, match=question) as refused:
        render(template, destination, **data)
    assert reason in str(refused.value)
    if question in CHOICES:  # copier's own check names the question, the answer, the choices
        assert refusal(refused.value) == (
            f"Invalid choice for '{question}': '{answer}' is not in {CHOICES[question]}"
        )
    else:
        prefix = f"Validation error for question '{question}': "
        assert refusal(refused.value).startswith(prefix)
        if (question, answer) in MESSAGES:
            assert refusal(refused.value) == prefix + MESSAGES[question, answer]
    assert not destination.exists()


@pytest.mark.parametrize("level", BUILT_LEVELS[1:])
def test_a_downgrade_names_both_levels_and_what_to_keep(level):
    """From every level the message names both levels, why, and the answer to keep; below
    the top level the user may also choose a higher one. (tests/test_update.py runs every
    downgrade through copier; here the validator is rendered as copier renders it.)"""
    copier_yml = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    message = render_jinja(
        copier_yml["mlops_level"]["validator"],
        mlops_level=level - 1,
        levels=LEVELS,
        built_levels=BUILT_LEVELS,
        previous_level=lambda: level,
    )
    keep = f"Keep mlops_level={level}"
    if level < max(BUILT_LEVELS):
        keep += " or choose a higher level"
    assert " ".join(message.split()) == (
        f"mlops_level cannot go down from {level} to {level - 1}: the update would delete "
        f"level {level}'s files, edited or not. {keep}"
    )


def test_good_answers_are_accepted(template, tmp_path):
    project = render(
        template,
        tmp_path / "project",
        project_name="Churn Model",
        author_email="ana.lopez@data.example.org",
        python_version="3.10",
    )
    assert project.answers["package_name"] == "churn_model"
    assert 'requires-python = ">=3.10"' in (project.path / "pyproject.toml").read_text()


def test_project_name_defaults_to_the_folder_name(template, tmp_path):
    project = render(template, tmp_path / "fraud-detector")
    assert project.answers["project_name"] == "Fraud Detector"
    assert project.answers["package_name"] == "fraud_detector"
