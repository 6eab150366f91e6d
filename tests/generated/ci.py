"""Checks of the CI and template-update workflows."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from harness.actions import make_origin, run_workflow
from harness.github_api import FakeGitHub
from harness.project import (
    check_jsonschema,
)
from tests.generated.base import actionlint, once_per_level


class CIChecks:
    """The GitHub Actions workflow and the pre-commit hooks."""

    def test_every_workflow_is_valid_and_actionlint_clean(self, project):
        """Every workflow of the project (CI, CD, training, template updates) against the
        workflow schema, then actionlint over all of them once, `run:` scripts included."""
        for workflow in sorted((project.path / ".github" / "workflows").glob("*.yml")):
            check_jsonschema(workflow, "vendor.github-workflows")
        assert shutil.which("shellcheck"), "actionlint checks run: scripts with shellcheck"
        actionlint(project.path)

    def test_pre_commit_hooks_pass_on_the_rendered_project(self, project):
        project.run(".venv/bin/pre-commit", "validate-config")
        project.run(".venv/bin/pre-commit", "run", "--all-files")


class TemplateUpdatesChecks:
    """The weekly workflow that opens a pull request with the template's newest release."""

    def test_the_workflow_is_valid_least_privilege_and_weekly(self, project):
        path = project.path / ".github" / "workflows" / "template-update.yml"
        workflow = yaml.safe_load(path.read_text())
        assert workflow[True]["schedule"][0]["cron"] and "workflow_dispatch" in workflow[True]
        assert workflow["permissions"] == {}
        (job,) = workflow["jobs"].values()
        assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
        steps = " ".join(step.get("run", "") for step in job["steps"])
        assert "copier update --trust --defaults --conflict inline" in steps
        assert "gh pr create" in steps and "Conflicts to resolve" in steps

    @once_per_level
    def test_the_workflow_run_as_github_runs_it_finds_nothing_to_update(self, project, tmp_path):
        """Right after rendering, the workflow run as GitHub runs it (a fresh full clone, the
        runner's environment, git with no identity of its own) updates to the release the
        project was made from: nothing to commit, no pull request, the origin unchanged."""
        origin = make_origin(project, tmp_path / "origin.git")
        before = origin.sha()
        workflow = ".github/workflows/template-update.yml"
        with FakeGitHub(origin.repository) as api:
            result = run_workflow(origin, workflow, event="schedule", tmp=tmp_path, api=api)
        update = result.check()["update"]
        assert result.unsupported == []
        assert update.summary == "Already at the newest release.\n"
        assert update.step("Open a pull request").outcome == "skipped"
        assert origin.sha() == before and api.requests == []

    @once_per_level
    def test_a_new_release_opens_a_pull_request_as_github_runs_it(
        self, project, template, tmp_path
    ):
        """A template release with a new line in README.md: the workflow, run as GitHub runs
        it, pushes the update to its own branch and opens a pull request without conflicts."""
        release = tmp_path / "template"
        subprocess.run(["git", "clone", "--quiet", str(template), str(release)], check=True)
        readme = release / "template" / "README.md.jinja"
        readme.write_text(readme.read_text() + "\nA line of the new release.\n")
        for command in (["commit", "--quiet", "-am", "Release 100"], ["tag", "100.0.0"]):
            subprocess.run(["git", "-C", str(release), *command], check=True)
        origin = make_origin(project, tmp_path / "origin.git")
        work = origin.clone(tmp_path / "work")
        answers = work / ".copier-answers.yml"
        answers.write_text(answers.read_text().replace(str(template), str(release)))
        for command in (["commit", "--quiet", "-am", "Follow the release"], ["push", "--quiet"]):
            subprocess.run(["git", "-C", str(work), *command], check=True)
        workflow = ".github/workflows/template-update.yml"
        with FakeGitHub(origin.repository) as api:
            run_workflow(origin, workflow, event="workflow_dispatch", tmp=tmp_path, api=api).check()
        (pull,) = api.pulls
        assert pull["title"] == "Template release 100.0.0"
        assert pull["head"]["ref"] == "template-update/100.0.0" and pull["base"]["ref"] == "main"
        assert "No conflicts: every change merged cleanly." in pull["body"]
        updated = origin.show("README.md", "template-update/100.0.0")
        assert updated.endswith("A line of the new release.\n")
        assert origin.subjects("template-update/100.0.0")[0] == (
            "Update to the template's release 100.0.0"
        )
