"""Checks of the CI and template-update workflows."""

from __future__ import annotations

import shutil

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
