"""The recommendation reaches the questionnaire: mlops_level's default, help and the final note."""

from __future__ import annotations

import pytest

from extensions.ladder import BUILT_LEVELS, copier_config, project_has, recommend
from harness.matrix import render_jinja
from harness.project import render

ASSESSMENT = {
    "team_size": "small",
    "project_stage": "mvp",
    "release_cadence": "monthly",
    "compliance": False,
}


def test_default_level_is_the_recommendation(template, tmp_path):
    project = render(template, tmp_path / "project", project_name="Churn", **ASSESSMENT)
    assert project.answers["mlops_level"] == recommend(ASSESSMENT)[0] == 2


def test_default_level_is_capped_at_the_highest_built_level(template, tmp_path):
    answers = {**ASSESSMENT, "project_stage": "scaled"}
    project = render(template, tmp_path / "project", project_name="Churn", **answers)
    assert recommend(answers)[0] == 4
    assert project.answers["mlops_level"] == min(4, max(BUILT_LEVELS))


def test_without_assessment_the_default_is_level_one(template, tmp_path):
    project = render(template, tmp_path / "project", project_name="Churn", assess_maturity=False)
    assert project.answers["mlops_level"] == 1
    assert "team_size" not in project.answers


def test_level_help_shows_the_recommendation_and_reason():
    level, reason = recommend(ASSESSMENT)
    help_text = render_jinja(
        copier_config()["mlops_level"]["help"], assess_maturity=True, **ASSESSMENT
    )
    assert f"Recommended: {level}, because {reason}" in help_text


@pytest.mark.parametrize(("chosen", "warned"), [(1, False), (2, False), (3, True), (4, True)])
def test_after_copy_message_warns_two_levels_above_the_recommendation(chosen, warned):
    solo = {"team_size": "solo", "project_stage": "research", "release_cadence": "rarely"}
    message = render_jinja(
        copier_config()["_message_after_copy"],
        project_name="Churn",
        mlops_level=chosen,
        has=project_has({"mlops_level": chosen}),
        assess_maturity=True,
        compliance=False,
        _copier_conf={"dst_path": "churn"},
        **solo,
    )
    assert ("more machinery than your team needs" in message) is warned
    if warned:
        assert (
            "recommends level 1 because a small research team needs tracked experiments" in message
        )
