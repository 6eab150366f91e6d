"""Checks of the CD workflow and the repository governance files."""

from __future__ import annotations

import re

import yaml

from harness.project import (
    check_jsonschema,
)


class CDChecks:
    """The CD workflow: valid, least privilege, approval before the champion moves."""

    def test_promotion_waits_for_the_production_environment(self, project):
        workflow = yaml.safe_load((project.path / ".github" / "workflows" / "cd.yml").read_text())
        assert workflow["permissions"] == {}
        assert workflow["concurrency"]["cancel-in-progress"] is False
        jobs = workflow["jobs"]
        assert jobs["promote"]["environment"] == "production"
        assert jobs["promote"]["needs"] == "image"
        assert jobs["image"]["permissions"]["packages"] == "write"
        assert "packages" not in jobs["promote"]["permissions"]
        for job in jobs.values():
            for step in job["steps"]:
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


class RepoGovernanceChecks:
    """CODEOWNERS, Dependabot and the pull-request checklist."""

    def test_dependabot_matches_its_schema(self, project):
        check_jsonschema(project.path / ".github" / "dependabot.yml", "vendor.dependabot")

    def test_codeowners_names_only_paths_that_exist_or_will(self, project):
        for line in (project.path / ".github" / "CODEOWNERS").read_text().splitlines():
            if not line.strip() or line.startswith("#") or line.startswith("*"):
                continue
            path = line.split()[0].lstrip("/").rstrip("/")
            will_exist = path.startswith(("audit", "reports", "data"))  # written by the jobs
            assert will_exist or (project.path / path).exists(), path

    def test_the_pull_request_template_has_the_model_checklist(self, project):
        checklist = (project.path / ".github" / "pull_request_template.md").read_text()
        for item in (
            "Data version",
            "Validation report",
            "Gate metrics",
            "Model card",
            "make audit",
        ):
            assert item in checklist
