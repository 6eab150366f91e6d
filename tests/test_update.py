"""Moving a generated project up a level with `copier update`, with the team's edits in place."""

from __future__ import annotations

import filecmp
import subprocess
from collections.abc import Callable

import pytest
import yaml
from copier import run_recopy, run_update

from extensions.ladder import BUILT_LEVELS, project_has
from harness.matrix import ROOT
from harness.project import Project, render
from harness.team_edits import (
    OWN_CI_STEP,
    assert_edits_survived,
    assert_merged_cleanly,
    changes_from,
    edit_like_a_team,
)

TEAM = {"project_name": "Clinic", "author_name": "Clinic ML"}

UPGRADES = [(low, high) for low in BUILT_LEVELS for high in BUILT_LEVELS if high > low]
# The files a level changes rather than adds: its lines sit in one block mid-file (see
# docs/upgrading.md). In src/, the wiring module alone.
SHARED_FILES = {
    ".copier-answers.yml",
    ".gitignore",
    "Makefile",
    "README.md",
    "params.yaml",
    "pyproject.toml",
    "src/{package}/wiring.py",
    "tests/conftest.py",
    ".github/workflows/ci.yml",
    ".github/workflows/cd.yml",
    ".github/CODEOWNERS",
    "Dockerfile",
}


@pytest.fixture(scope="session")
def fresh(template, tmp_path_factory) -> Callable[[int], Project]:
    """A fresh render of the team's project at a level, made once per session: read only."""
    renders: dict[int, Project] = {}

    def at(level: int) -> Project:
        if level not in renders:
            destination = tmp_path_factory.mktemp(f"fresh-L{level}") / "clinic"
            renders[level] = render(template, destination, **TEAM, mlops_level=level)
        return renders[level]

    return at


@pytest.mark.slow
class UpgradeWithTheTeamsEdits:
    """One climb, from `low` to `high`, of a project the team has edited and set up.

    A class per climb (TestUpgrade_L1_to_L2, ...), so that xdist runs the climbs side
    by side: each takes a minute.
    """

    low: int
    high: int

    def test_upgrade_keeps_the_teams_edits(self, template, fresh, tmp_path):
        project = render(template, tmp_path / "clinic", **TEAM, mlops_level=self.low)
        project.git_commit_all("Render the template")
        project.make("setup")
        project.git_commit_all("Lock the environment")
        had_workflow = (project.path / ".github" / "workflows" / "ci.yml").exists()
        edit_like_a_team(project)
        edits = changes_from(fresh(self.low), project)

        project.update(mlops_level=self.high)

        assert project.answers["mlops_level"] == self.high
        assert_merged_cleanly(project)
        assert_edits_survived(project)
        assert changes_from(fresh(self.high), project) == edits, (
            "the diff holds only the template's changes"
        )
        if had_workflow:
            workflow = project.path / ".github" / "workflows" / "ci.yml"
            assert workflow.read_text().endswith(OWN_CI_STEP)
        if self.high - self.low > 1:
            # A jump ends where the climb from the level below ends: the same fresh render
            # plus the same edits (asserted above), whose own tests and pipeline that climb
            # runs. A jump checks that the project installs and lints.
            project.make("lint")
            return
        project.make("setup")
        project.make("lint", "test")
        has = project_has(project.answers)
        registered = project.make("repro" if has.dvc else "pipeline")
        if not has.audit:  # no approval below level 3: a winner is the champion
            assert "as champion" in registered
        elif not has.continuous_training:  # level 3: a person approves every champion
            assert "as challenger" in registered and "make promote VERSION=" in registered
        else:  # level 4: the policy promotes, or says why not
            assert "as champion" in registered or "not promoted by policy" in registered


for _low, _high in UPGRADES:
    _name = f"TestUpgrade_L{_low}_to_L{_high}"
    _body = {"low": _low, "high": _high, "weight": 2 * _high}
    globals()[_name] = type(_name, (UpgradeWithTheTeamsEdits,), _body)


@pytest.mark.slow
@pytest.mark.parametrize(("low", "high"), UPGRADES, ids=[f"L{a}-to-L{b}" for a, b in UPGRADES])
def test_an_upgraded_project_is_a_fresh_render_of_the_higher_level(
    template, fresh, tmp_path, low, high
):
    climbed = render(template, tmp_path / "climbed" / "clinic", **TEAM, mlops_level=low)
    climbed.git_commit_all("Render the template")
    climbed.update(mlops_level=high)
    rendered = fresh(high)
    assert climbed.files() == rendered.files()
    _, mismatched, errors = filecmp.cmpfiles(
        climbed.path, rendered.path, sorted(rendered.files()), shallow=False
    )
    assert mismatched == errors == []


@pytest.mark.parametrize("serving", ["batch", "online"])
def test_a_climb_adds_files_and_changes_only_the_shared_ones(template, tmp_path, serving):
    """Every file of a lower level is byte-identical at every higher level, but the shared
    files: a level adds files, and plugs them in through the wiring module."""
    renders = {
        level: render(
            template,
            tmp_path / f"L{level}" / "clinic",
            **TEAM,
            mlops_level=level,
            **({"serving": serving} if level > 1 else {}),
        )
        for level in BUILT_LEVELS
    }
    shared = {path.format(package=renders[1].package) for path in SHARED_FILES}
    for low, high in UPGRADES:
        common = sorted(renders[low].files() & renders[high].files())
        _, changed, errors = filecmp.cmpfiles(
            renders[low].path, renders[high].path, common, shallow=False
        )
        assert not errors
        assert set(changed) <= shared, f"L{low} to L{high} changes {set(changed) - shared}"
        assert renders[low].files() <= renders[high].files(), "a climb removes no file"


DOWNGRADES = [(high, low) for high in BUILT_LEVELS for low in BUILT_LEVELS if low < high]


@pytest.mark.parametrize(("high", "low"), DOWNGRADES, ids=[f"L{a}-to-L{b}" for a, b in DOWNGRADES])
def test_downgrade_is_refused_and_changes_nothing(template, tmp_path, high, low):
    project = render(template, tmp_path / "clinic", **TEAM, mlops_level=high)
    project.git_commit_all("Render the template")
    before = {path: (project.path / path).read_bytes() for path in project.files()}

    with pytest.raises(
        ValueError, match=f"mlops_level cannot go down from {high} to {low}"
    ) as refused:
        project.update(mlops_level=low)

    assert f"delete level {high}'s files" in str(refused.value)
    assert project.answers["mlops_level"] == high
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


def test_questions_first_asked_on_the_way_up_take_their_default_or_the_answer_given(
    template, tmp_path
):
    defaults = render(template, tmp_path / "defaults" / "clinic", **TEAM, mlops_level=2)
    defaults.git_commit_all("Render the template")
    defaults.update(mlops_level=4)
    assert defaults.answers["data_remote"] == "local"
    assert defaults.answers["orchestrator"] == "github"
    assert defaults.answers["audit_anchor"] == "mlflow"

    given = render(template, tmp_path / "given" / "clinic", **TEAM, mlops_level=2)
    given.git_commit_all("Render the template")
    given.update(
        mlops_level=4, data_remote="s3", orchestrator="kubeflow", audit_anchor="s3-object-lock"
    )
    assert given.answers["data_remote"] == "s3" and given.answers["orchestrator"] == "kubeflow"
    assert "url = s3://" in (given.path / ".dvc" / "config").read_text()
    assert (given.path / "pipelines" / "kubeflow.py").is_file()
    assert (given.path / "src" / given.package / "governance" / "anchor_store.py").is_file()


def test_climbing_one_level_at_a_time_ends_where_jumping_does(template, tmp_path):
    stepwise = render(template, tmp_path / "stepwise" / "clinic", **TEAM, mlops_level=1)
    stepwise.git_commit_all("Render the template")
    for level in BUILT_LEVELS[1:]:
        stepwise.update(mlops_level=level)
        stepwise.git_commit_all(f"Level {level}")
    jump = render(template, tmp_path / "jump" / "clinic", **TEAM, mlops_level=1)
    jump.git_commit_all("Render the template")
    jump.update(mlops_level=max(BUILT_LEVELS))
    assert stepwise.files() == jump.files()
    _, mismatched, errors = filecmp.cmpfiles(
        stepwise.path, jump.path, sorted(jump.files()), shallow=False
    )
    assert mismatched == errors == []


def test_recopy_reproduces_the_project(template, tmp_path):
    project = render(template, tmp_path / "clinic", **TEAM, mlops_level=4, serving="online")
    project.git_commit_all("Render the template")
    run_recopy(project.path, defaults=True, unsafe=True, quiet=True, overwrite=True)
    assert project.run("git", "status", "--porcelain") == ""


def clone(template, path):
    subprocess.run(["git", "clone", "--quiet", str(template), str(path)], check=True)
    return path


def cut_a_release(template, version: str, appended: dict) -> None:
    """Append text to files of the template, commit, and tag the commit `version`."""
    for path, text in appended.items():
        path.write_text(path.read_text() + text)
    identity = ["-c", "user.name=Template test", "-c", "user.email=test@example.com"]
    for command in (["add", "--all"], ["commit", "--quiet", "-m", version], ["tag", version]):
        subprocess.run(["git", *identity, *command], cwd=template, check=True)


def test_the_template_update_workflow_brings_a_newer_release(template, tmp_path):
    """What .github/workflows/template-update.yml runs, against a template with a new tag."""
    newer = clone(template, tmp_path / "template")
    project = render(newer, tmp_path / "clinic", **TEAM, mlops_level=2)
    project.git_commit_all("Render the template")
    readme = newer / "template" / "README.md.jinja"
    cut_a_release(newer, "99.99.100", {readme: "\nA sentence of the newer release.\n"})
    workflow = yaml.safe_load(
        (project.path / ".github" / "workflows" / "template-update.yml").read_text()
    )
    (job,) = workflow["jobs"].values()
    script = next(step["run"] for step in job["steps"] if "copier update" in step.get("run", ""))
    flags = script.split("copier update", 1)[1].split("\n", 1)[0].split()
    run_update(project.path, **copier_options(flags))
    assert project.answers["_commit"] == "99.99.100"
    assert "A sentence of the newer release." in (project.path / "README.md").read_text()
    assert project.answers["mlops_level"] == 2, "the level stays"


def test_a_component_removed_by_hand_stays_removed_through_a_release(template, tmp_path):
    """As docs/upgrading.md shows: a level 4 team drops the Kubernetes manifests."""
    newer = clone(template, tmp_path / "template")
    project = render(newer, tmp_path / "clinic", **TEAM, mlops_level=4, serving="online")
    project.git_commit_all("Render the template")
    project.run("git", "rm", "-r", "--quiet", "deploy/k8s")
    project.git_commit_all("Deploy with our platform, not the Kubernetes manifests")
    (manifest,) = (newer / "template").glob("*deploy*/k8s/base/*deployment.yaml*")
    cut_a_release(newer, "99.99.100", {manifest: "# changed by the newer release\n"})

    project.update(vcs_ref="99.99.100")

    assert project.answers["_commit"] == "99.99.100"
    assert not (project.path / "deploy").exists()
    assert_merged_cleanly(project)


def copier_options(flags: list[str]) -> dict:
    """The workflow's `copier update` flags as run_update's arguments."""
    known = {"--trust": ("unsafe", True), "--defaults": ("defaults", True)}
    options: dict = {"quiet": True, "overwrite": True}
    for index, flag in enumerate(flags):
        if flag in known:
            options[known[flag][0]] = known[flag][1]
        elif flag == "--conflict":
            options["conflict"] = flags[index + 1]
    assert options.get("unsafe") and options.get("defaults"), flags
    return options
