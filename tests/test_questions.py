"""Bad answers are refused with a message naming the question, and nothing is written."""

from __future__ import annotations

import pytest

from harness.project import render

BAD_ANSWERS = [
    ("project_name", "", "empty"),
    ("project_name", "   ", "empty"),
    ("project_name", "9 lives", "must start with a letter"),
    ("project_name", "churn/model", "must start with a letter"),
    ("package_name", "", "empty"),
    ("package_name", "Churn-Model", "not a Python import name"),
    ("package_name", "2fast", "not a Python import name"),
    ("package_name", "class", "Python keyword"),
    ("package_name", "match", "Python keyword"),
    ("package_name", "json", "shadow"),
    ("package_name", "mlflow", "shadow"),
    ("package_name", "tests", "shadow"),
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
    ("serving", "streaming", "serving"),
]


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
    assert not destination.exists()


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
