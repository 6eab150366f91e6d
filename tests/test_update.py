"""Moving a generated project up a level with `copier update`, with the team's edits in place."""

from __future__ import annotations

import filecmp

import pytest

from extensions.ladder import BUILT_LEVELS, project_has
from tests.matrix import ROOT
from tests.project import render
from tests.team_edits import (
    OWN_CI_STEP,
    assert_edits_survived,
    assert_merged_cleanly,
    edit_like_a_team,
)

TEAM = {"project_name": "Clinic", "author_name": "Clinic ML"}

UPGRADES = [(low, high) for low in BUILT_LEVELS for high in BUILT_LEVELS if high > low]


@pytest.mark.slow
class UpgradeWithTheTeamsEdits:
    """One climb, from `low` to `high`, of a project the team has edited and set up.

    A class per climb (TestUpgrade_L1_to_L2, ...), so that xdist runs the climbs side
    by side: each takes a minute.
    """

    low: int
    high: int

    def test_upgrade_keeps_the_teams_edits(self, template, tmp_path):
        project = render(template, tmp_path / "clinic", **TEAM, mlops_level=self.low)
        project.git_commit_all("Render the template")
        project.make("setup")
        project.git_commit_all("Lock the environment")
        had_workflow = (project.path / ".github" / "workflows" / "ci.yml").exists()
        edit_like_a_team(project)

        project.update(mlops_level=self.high)

        assert project.answers["mlops_level"] == self.high
        assert_merged_cleanly(project)
        assert_edits_survived(project)
        if had_workflow:
            workflow = project.path / ".github" / "workflows" / "ci.yml"
            assert workflow.read_text().endswith(OWN_CI_STEP)
        project.make("setup")
        project.make("lint", "test")
        main_job = "repro" if project_has(project.answers).dvc else "pipeline"
        assert "as champion" in project.make(main_job)


for _low, _high in UPGRADES:
    _name = f"TestUpgrade_L{_low}_to_L{_high}"
    globals()[_name] = type(_name, (UpgradeWithTheTeamsEdits,), {"low": _low, "high": _high})


@pytest.mark.slow
@pytest.mark.parametrize(("low", "high"), UPGRADES, ids=[f"L{a}-to-L{b}" for a, b in UPGRADES])
def test_an_upgraded_project_is_a_fresh_render_of_the_higher_level(template, tmp_path, low, high):
    climbed = render(template, tmp_path / "climbed" / "clinic", **TEAM, mlops_level=low)
    climbed.git_commit_all("Render the template")
    climbed.update(mlops_level=high)
    fresh = render(template, tmp_path / "fresh" / "clinic", **TEAM, mlops_level=high)
    assert climbed.files() == fresh.files()
    _, mismatched, errors = filecmp.cmpfiles(
        climbed.path, fresh.path, sorted(fresh.files()), shallow=False
    )
    assert mismatched == errors == []


def test_downgrade_is_refused_and_changes_nothing(template, tmp_path):
    project = render(template, tmp_path / "clinic", **TEAM, mlops_level=2)
    project.git_commit_all("Render the template")
    before = {path: (project.path / path).read_bytes() for path in project.files()}

    with pytest.raises(ValueError, match="mlops_level cannot go down from 2 to 1") as refused:
        project.update(mlops_level=1)

    assert "delete level 2's files" in str(refused.value)
    assert project.answers["mlops_level"] == 2
    assert {path: (project.path / path).read_bytes() for path in project.files()} == before
    assert project.run("git", "status", "--porcelain") == ""


@pytest.mark.parametrize("level", BUILT_LEVELS)
def test_update_with_unchanged_answers_changes_nothing(template, tmp_path, level):
    project = render(template, tmp_path / "clinic", **TEAM, mlops_level=level)
    project.git_commit_all("Render the template")
    project.update(mlops_level=level)
    assert project.run("git", "status", "--porcelain") == ""


# A line of the README that level 2 rewrites, as a team might reword it.
LEVEL_1_LINE = (
    "make train      # train the model; the run is tracked in MLflow (sqlite:///mlflow.db)"
)
REWORDED = "make train      # train on the clinic export; runs go to our MLflow server"


def test_an_edit_on_a_line_the_update_rewrites_conflicts_as_the_docs_show(template, tmp_path):
    project = render(template, tmp_path / "clinic", **TEAM, mlops_level=1)
    project.git_commit_all("Render the template")
    readme = project.path / "README.md"
    readme.write_text(readme.read_text().replace(LEVEL_1_LINE, REWORDED))
    project.git_commit_all("Our own words for make train")

    project.update(mlops_level=2)

    assert project.run("git", "diff", "--name-only", "--diff-filter=U").split() == ["README.md"]
    guide = (ROOT / "docs" / "upgrading.md").read_text()
    marker = "<!-- quoted by tests/test_update.py -->\n```text\n"
    shown = guide.split(marker, 1)[1].split("```", 1)[0]
    assert shown.startswith("<<<<<<< before updating\n" + REWORDED)
    assert shown in readme.read_text()
