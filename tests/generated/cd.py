"""Checks of the CD workflow and the repository governance files."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from harness.actions import ActionCall, make_origin, run_workflow
from harness.github_api import FakeGitHub
from harness.oidc import OidcIssuer
from harness.project import Project, check_jsonschema
from harness.stand_ins import checkout
from tests.generated.base import ALIASES, SET_ALIAS, once_per_level, only_where, registered

# The newest promote event of a work tree's audit trail.
LAST_EVENT = "audit/trail.jsonl"


def last_event(path: Path) -> dict:
    return json.loads((path / LAST_EVENT).read_text().splitlines()[-1])


def audit_checked(work: Project, clone: Path, store: str) -> int:
    """`make audit`'s check on a clone of the origin against the shared MLflow store, run
    with the team's environment: the number of events it verified (it must pass)."""
    done = subprocess.run(
        [
            str(work.path / ".venv" / "bin" / "python"),
            "-c",
            AUDIT.format(package=work.package, store=store),
        ],
        cwd=clone,
        env=work.env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["events"]


def checkout_beside(work: Project):
    """actions/checkout, with the project's local DVC remote next to the clone, as it is
    next to every clone of the team's (a relative remote path resolves against `.dvc/`)."""
    url = re.search(r"url = (.+)", (work.path / ".dvc" / "config").read_text()).group(1)
    storage = (work.path / ".dvc" / url.strip()).resolve()

    def stand_in(call: ActionCall) -> None:
        checkout(call)
        beside = call.workspace.parent / storage.name
        if not beside.exists():
            beside.symlink_to(storage)

    return stand_in


def propose_candidate(work: Project) -> str:
    """Training proposes: train, evaluate and register a new version, which must come out
    as the challenger (the champion moves only through a promotion). Its version."""
    for job in ("train", "evaluate"):
        work.run(f".venv/bin/{work.package}", job)
    candidate, role = registered(work.run(f".venv/bin/{work.package}", "register"))
    assert role == "challenger"
    return candidate


class CDChecks:
    """The CD workflow: valid, least privilege, approval before the champion moves."""

    def test_promotion_waits_for_the_production_environment(self, project):
        workflow = yaml.safe_load((project.path / ".github" / "workflows" / "cd.yml").read_text())
        assert workflow["permissions"] == {}
        assert workflow["concurrency"]["cancel-in-progress"] is False
        jobs = workflow["jobs"]
        assert jobs["promote"]["environment"] == "production"
        assert jobs["promote"]["needs"] == ["image", "request"]
        assert "environment" not in jobs["request"]  # asked before anyone approves
        assert jobs["image"]["permissions"]["packages"] == "write"
        assert "packages" not in jobs["promote"]["permissions"]
        for job in jobs.values():
            for step in job["steps"]:
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]

    @once_per_level
    @only_where(
        lambda has: has.local_remote and not has.kubernetes,
        "the deploy job needs a cluster; a cloud remote, its bucket",
    )
    def test_a_release_story_run_as_github_runs_it(self, project, champion, tmp_path):
        """A challenger, a promotion requested by one person and approved by another;
        refused: a self-approval, a challenger that moved after the request, an environment
        without reviewers. Each job in a fresh clone, GitHub's API answered by a fake."""
        work = project.copy(tmp_path / "team")
        package = project.package
        candidate = propose_candidate(work)
        assert work.python(ALIASES.format(package=package))["champion"] == champion
        work.make("push")  # its data to the copy's own remote, next to it
        work.git_commit_all("Records of the new challenger")  # the trail goes with the code
        origin = make_origin(work, tmp_path / "origin.git")
        secrets = {"MLFLOW_TRACKING_URI": f"sqlite:///{work.path / 'mlflow.db'}"}
        cd = ".github/workflows/cd.yml"

        def release(api: FakeGitHub, approver: str | None, folder: str, between=None, version=""):
            kwargs = {
                "event": "workflow_dispatch",
                "inputs": {"model_version": version},
                "secrets": secrets,
                "api": api,
                "actor": "alice",
                "stand_ins": {"actions/checkout": checkout_beside(work)},
            }
            waiting = run_workflow(origin, cd, tmp=tmp_path / folder, **kwargs)
            if approver is None:  # no reviewers: nothing waits
                return waiting
            assert waiting["promote"].result == "waiting", waiting["request"].report()
            if between:
                between()
            api.approve(waiting.run_id, approver)
            return run_workflow(origin, cd, tmp=tmp_path / folder, resume=waiting, **kwargs)

        with FakeGitHub(origin.repository) as api:
            api.add_environment("production", reviewers=["alice", "bob"])
            own = release(api, "alice", "self-approved")
            assert own["promote"].result == "failure" and "four eyes" in own["promote"].log
            moved = release(
                api,
                "bob",
                "moved",
                between=lambda: work.python(
                    SET_ALIAS.format(package=package), "challenger", champion
                ),
            )
            assert "request the promotion again" in moved["promote"].log
            work.python(SET_ALIAS.format(package=package), "challenger", candidate)
            approved = release(api, "bob", "approved")
            assert approved["promote"].result == "success", approved["promote"].report()
            aliases = work.python(ALIASES.format(package=package))
            assert aliases["champion"] == candidate
            assert work.python(SERVED.format(package=package)).endswith(f"/{candidate}")
            origin.clone(tmp_path / "after")
            event = last_event(tmp_path / "after")
            assert event["event"] == "promote" and event["version"] == candidate
            assert (event["approver"], event["requester"]) == ("bob", "alice")
            assert event["model_digest"].startswith("sha256:") and event["data_md5"]
            # A rollback: the run by hand names the version before, approved like any other,
            # and what scoring loads is that version again.
            rollback = release(api, "bob", "rollback", version=champion)
            assert rollback["promote"].result == "success", rollback["promote"].report()
        assert work.python(ALIASES.format(package=package))["champion"] == champion
        assert work.python(SERVED.format(package=package)).endswith(f"/{champion}")
        clone = tmp_path / "after-rollback"
        origin.clone(clone)
        event = last_event(clone)
        assert (event["version"], event["previous"]) == (champion, candidate)
        assert (event["approver"], event["requester"]) == ("bob", "alice")
        # `make audit`'s check on a clone of the origin, against the shared store: green.
        assert audit_checked(work, clone, secrets["MLFLOW_TRACKING_URI"]) > 0
        with FakeGitHub(origin.repository) as api:
            api.add_environment("production")  # no required reviewers
            unguarded = release(api, None, "unguarded")
            assert "no required reviewers" in unguarded["promote"].log
        assert work.python(ALIASES.format(package=package))["champion"] == champion

    @only_where(
        lambda has: has.cloud_remote and not has.kubernetes,
        "the story above runs on a local remote; the deploy job needs a cluster",
    )
    def test_an_approved_promotion_logs_in_and_checks_the_cloud_remote(
        self, project, champion, tmp_path
    ):
        """The release story's approved promotion on a cloud remote: the promote job logs in
        with its OIDC token, points DVC at DVC_REMOTE_URL (a folder stands in for the
        bucket) and finds the candidate's data there before the champion moves; the event
        names both people, the digest and the data hash, and `make audit` holds on a clone
        of the origin. (The refusals do not depend on the remote: the story above.)"""
        work = project.copy(tmp_path / "team")
        package = project.package
        candidate = propose_candidate(work)
        bucket = tmp_path / "bucket"
        work.run(".venv/bin/dvc", "remote", "modify", "--local", "storage", "url", str(bucket))
        work.run(".venv/bin/dvc", "push")
        work.git_commit_all("Records of the new challenger")
        origin = make_origin(work, tmp_path / "origin.git")
        store = f"sqlite:///{work.path / 'mlflow.db'}"
        role_arn = "arn:aws:iam::123456789012:role/cd"
        with FakeGitHub(origin.repository) as api, OidcIssuer() as issuer:
            api.add_environment("production", reviewers=["alice", "bob"])
            release = {
                "event": "workflow_dispatch",
                "inputs": {"model_version": ""},
                "secrets": {"MLFLOW_TRACKING_URI": store},
                "vars": {"DVC_REMOTE_URL": str(bucket), "AWS_ROLE_ARN": role_arn},
                "env": issuer.env,
                "api": api,
                "actor": "alice",
                "tmp": tmp_path / "release",
            }
            waiting = run_workflow(origin, ".github/workflows/cd.yml", **release)
            assert waiting["promote"].result == "waiting", waiting["request"].report()
            api.approve(waiting.run_id, "bob")
            done = run_workflow(origin, ".github/workflows/cd.yml", resume=waiting, **release)
        promote = done["promote"].check()
        assert f"DVC reaches S3 as the role {role_arn}" in promote.log
        assert issuer.audiences == ["sts.amazonaws.com"]
        assert work.python(ALIASES.format(package=package))["champion"] == candidate
        clone = origin.clone(tmp_path / "after")
        event = last_event(clone)
        assert event["event"] == "promote" and event["version"] == candidate
        assert (event["approver"], event["requester"]) == ("bob", "alice")
        assert event["model_digest"].startswith("sha256:") and event["data_md5"]
        assert audit_checked(work, clone, store) > 0


# The model the project's scoring loads now (`make predict`, the scoring job, the service).
SERVED = """
import json
from {package}.tracking.store import use_tracking_store
from {package}.wiring import default_model_uri
use_tracking_store()
print(json.dumps(default_model_uri()))
"""

# `make audit`'s check, on a clone of the origin against the shared store.
AUDIT = """
import json, os
os.environ["MLFLOW_TRACKING_URI"] = "{store}"
from {package}.governance.audit import recorded_heads, verify
print(json.dumps({{"events": verify(recorded_heads())}}))
"""


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
